"""foncier.api."""

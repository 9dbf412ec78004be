"""foncier.scripts."""

"""foncier.maps."""

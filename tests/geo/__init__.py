"""Tests of the spatial engine (foncier.geo)."""

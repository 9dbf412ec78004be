"""The built-in synthetic sample territory (Soissonnais et Valois), for demos and tests, offline.

>>> from foncier.layers.sample import build_sample_territory
>>> sample = build_sample_territory("small", seed=2023)
>>> sample.layers["parcels"].crs.to_epsg()
2154

Modules, one per concept: :mod:`.communes` (real communes, synthetic outlines), :mod:`.rivers` (the Aisne and
its tributaries), :mod:`.zoning` (zones d'activite, brownfields, woods, PLU), :mod:`.network` (roads,
interchanges, railways, hubs), :mod:`.hazards` (flood zones, protected areas), :mod:`.parcels` (cadastre),
:mod:`.dem` (relief) and :mod:`.territory` (the orchestrator).
"""

from foncier.layers.sample.territory import SampleTerritory, build_sample_territory, small_window

__all__ = ["SampleTerritory", "build_sample_territory", "small_window"]

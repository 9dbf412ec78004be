"""Hubs (airport, interchanges, freight stations) from the territory file."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import geopandas as gpd

from foncier.geo.crs import WGS84
from foncier.layers.fetch.sources._common import (
    FetchContext,
    SourceResult,
    _finish,
)
from foncier.layers.workspace import file_checksum

logger = logging.getLogger(__name__)


def territory_hubs(ctx: FetchContext) -> SourceResult:
    """The territory's hubs (e.g. Paris-CDG) as the ``hubs`` layer."""
    result = SourceResult()
    hubs = ctx.territory.hubs
    if not hubs:
        result.failures.append("hubs: the territory file lists no hub (Paris-CDG is hub_id CDG)")
        return result
    gdf = gpd.GeoDataFrame(
        {"hub_id": [h.hub_id for h in hubs], "nom": [h.nom for h in hubs], "kind": [h.kind for h in hubs]},
        geometry=gpd.points_from_xy([h.lon for h in hubs], [h.lat for h in hubs]),
        crs=WGS84,
    )
    source = f"territory file {ctx.territory.source or ctx.territory.name}"
    _finish(result, "hubs", gdf, source=source, entries=[], vintage=ctx.territory.name)
    if "hubs" in result.provenance and ctx.territory.source and Path(ctx.territory.source).is_file():
        result.provenance["hubs"] = replace(result.provenance["hubs"], checksum=file_checksum(ctx.territory.source))
    return result

"""The terrain model (Copernicus GLO-30 tiles)."""

from __future__ import annotations

import logging

import numpy as np

from foncier.layers.fetch import dem as dem_mod
from foncier.layers.fetch.sources._common import (
    FetchContext,
    SourceResult,
    make_provenance,
)

logger = logging.getLogger(__name__)


def fetch_dem_layer(ctx: FetchContext) -> SourceResult:
    """The DEM (Copernicus GLO-30) over the territory, resampled to Lambert-93."""
    result = SourceResult()
    s = ctx.settings
    bounds = tuple(float(v) for v in ctx.footprint.bounds)
    dem = dem_mod.fetch_dem(ctx.client, bounds, resolution=s.dem_resolution_m, margin=s.dem_margin_m)  # type: ignore[arg-type]
    result.failures += dem.failures
    result.missing += dem.missing
    result.entries += dem.entries
    result.dem = dem
    if dem.array is not None:
        base = s.base_url("dem")
        result.provenance["dem"] = make_provenance(
            "dem",
            f"{base}/{{tile}}/{{tile}}.tif windows ({', '.join(dem.tiles)}), "
            f"bilinear to EPSG:2154 at {s.dem_resolution_m:g} m",
            dem.entries,
            int(np.isfinite(dem.array).sum()),
            vintage="Copernicus DEM GLO-30 (EGM2008 heights)",
        )
    return result

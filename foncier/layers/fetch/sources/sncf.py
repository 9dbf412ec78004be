"""Rail lines and stations from the SNCF open data exports."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from foncier.layers.fetch.sources._common import (
    SNCF_DATASETS,
    FetchContext,
    SourceResult,
    _features,
    _finish,
    _get_json,
    _in_footprint,
    frame_from_features,
)
from foncier.layers.formats import to_canonical

logger = logging.getLogger(__name__)


def fetch_rail(ctx: FetchContext, layers: Sequence[str] = ("rail_lines", "rail_stations")) -> SourceResult:
    """Rail lines and stations (SNCF open data exports) near the territory."""
    result = SourceResult()
    base = ctx.settings.base_url("sncf")
    buffer_m = ctx.settings.rail_buffer_km * 1000.0
    for layer in layers:
        dataset = SNCF_DATASETS[layer]
        url = f"{base}/{dataset}/exports/geojson"
        sub = SourceResult()
        data = _get_json(ctx, sub, url, label=f"{layer}: SNCF {dataset}")
        result.failures += sub.failures
        result.missing += sub.missing
        result.entries += sub.entries
        if data is None:
            continue
        gdf = _in_footprint(ctx, frame_from_features(_features(data)), buffer_m=buffer_m)
        if not gdf.empty:
            gdf = to_canonical(gdf, layer)
        _finish(result, layer, gdf, source=url, entries=sub.entries, vintage="current (SNCF open data)")
    return result

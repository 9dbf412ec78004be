"""Flood zones: GPU servitudes PM1 (API Carto) or the Georisques WFS, and the PPR classifier."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import shapely

from foncier.geo.hazards import _BLUE_RE as _BLUE_RE  # re-exported for foncier.layers.fetch.sources
from foncier.geo.hazards import _RED_RE as _RED_RE
from foncier.geo.hazards import classify_ppr, classify_ppr_zone
from foncier.layers.fetch.sources._common import (
    _MAX_PAGES,
    LICENCES,
    FetchContext,
    SourceResult,
    _dedupe,
    _features,
    _finish,
    _get_json,
    _in_footprint,
    _progress,
    frame_from_features,
    query_tiles,
)
from foncier.layers.fetch.sources.apicarto import _gpu_features

logger = logging.getLogger(__name__)


def flood_level(*values: Any) -> str | None:
    """``red`` / ``blue`` from a PPR zone's labels (the label fallback of
    :func:`foncier.geo.hazards.classify_ppr_zone`); None when the labels cannot place it (rule to read).

    Examples
    --------
    >>> flood_level("Zone rouge"), flood_level("B1"), flood_level("Zone de prescriptions"), flood_level("verte")
    ('red', 'blue', 'blue', None)
    """
    level = classify_ppr_zone(None, None, values)[0]
    return None if level == "to_read" else level


def _classify_flood(
    gdf: gpd.GeoDataFrame, columns: Sequence[str], result: SourceResult, *, category: str = ""
) -> gpd.GeoDataFrame:
    """Classify PPR zones with the one classifier (CNIG codes first, then ``columns`` as labels); zones it
    cannot place are kept as level ``to_read`` ("PPR zone, rule to read") and counted in a warning."""
    if gdf.empty:
        return gdf
    classified = classify_ppr(gdf, columns, category=category)
    gdf = gdf.assign(
        level=classified["level"].astype("string"),
        hazard=classified["hazard"].astype("string"),
        typereglement=classified["typereglement"].astype("string"),
    )
    to_read = int((classified["level"] == "to_read").sum())
    if to_read:
        result.warnings.append(
            f"flood: {to_read} PPR zone(s) neither red nor blue by their code or labels kept as "
            "'PPR zone, rule to read' (sites touching them are flagged)"
        )
    return gdf


def fetch_flood_gpu(ctx: FetchContext) -> SourceResult:
    """Flood zones from the PPR easements (SUP PM1) of the Géoportail de l'urbanisme via API Carto."""
    result = SourceResult()
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), "flood"):
        features.extend(_gpu_features(ctx, result, "gpu/assiette-sup-s", box, {"categorie": "PM1"}))
    features = _dedupe(features, "gid")
    gdf = _in_footprint(ctx, frame_from_features(features))
    gdf = _classify_flood(
        gdf, ("typeass", "nomass", "libelle", "nomsuplitt", "code_zone_reglement"), result, category="PM1"
    )
    source = f"{ctx.settings.base_url('apicarto')}/gpu/assiette-sup-s?categorie=PM1&geom={{tile}}"
    _finish(result, "flood", gdf, source=source, entries=result.entries, vintage="current (GPU SUP PM1)")
    return result


def _swap_if_latlon(gdf: gpd.GeoDataFrame, footprint_lonlat: shapely.Geometry) -> gpd.GeoDataFrame:
    """Swap x/y when a WFS answered in latitude/longitude order (EPSG:4326 axis order)."""
    if gdf.empty:
        return gdf
    b = gdf.total_bounds
    fw, fs, fe, fn = footprint_lonlat.bounds
    looks_latlon = fs - 2 <= b[0] <= fn + 2 and fw - 2 <= b[1] <= fe + 2 and not (fw - 2 <= b[0] <= fe + 2)
    if looks_latlon:
        swapped = shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy[:, ::-1])
        return gdf.set_geometry(gpd.GeoSeries(swapped, index=gdf.index, crs=gdf.crs))
    return gdf


def fetch_flood_georisques(ctx: FetchContext) -> SourceResult:
    """Flood zones of the PPRN from the Georisques WFS (``ms:PPRN_ZONE_INOND``, ``code_zone_reglement``)."""
    result = SourceResult()
    base = ctx.settings.base_url("georisques")
    count = ctx.settings.georisques_page_size
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), "flood"):
        w, s, e, n = box
        start = 0
        for _ in range(_MAX_PAGES):
            params = {
                "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "ms:PPRN_ZONE_INOND",
                "OUTPUTFORMAT": "geojson", "BBOX": f"{s},{w},{n},{e},urn:ogc:def:crs:EPSG::4326",
                "COUNT": count, "STARTINDEX": start,
            }  # fmt: skip
            data = _get_json(ctx, result, base, params, label=f"georisques PPRN {box}")
            feats = _features(data)
            features.extend(feats)
            start += count
            matched = data.get("numberMatched") if isinstance(data, dict) else None
            if data is None or len(feats) < count or (isinstance(matched, int | float) and start >= matched):
                break
    features = _dedupe(features, "id_zone")
    gdf = _swap_if_latlon(frame_from_features(features), ctx.footprint_lonlat)
    gdf = _in_footprint(ctx, gdf)
    gdf = _classify_flood(gdf, ("code_zone_reglement", "lib_zone_reglement", "typezone", "libelle"), result)
    source = f"{base}?SERVICE=WFS&REQUEST=GetFeature&TYPENAMES=ms:PPRN_ZONE_INOND&BBOX={{tile}}"
    _finish(result, "flood", gdf, source=source, entries=result.entries, vintage="current (Georisques)",
            licence=LICENCES["flood_georisques"])  # fmt: skip
    return result


def fetch_flood(ctx: FetchContext) -> SourceResult:
    """Flood zones from the service chosen by ``settings.flood_service``."""
    if ctx.settings.flood_service == "georisques":
        return fetch_flood_georisques(ctx)
    return fetch_flood_gpu(ctx)

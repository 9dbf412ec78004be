"""IGN API Carto: GPU zoning (``gpu/zone-urba``) and nature zones (``nature/...``)."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import pandas as pd

from foncier.geo.crs import WGS84
from foncier.layers.fetch.sources._common import (
    _MAX_PAGES,
    NATURE_KINDS,
    FetchContext,
    SourceResult,
    _dedupe,
    _features,
    _finish,
    _get_json,
    _in_footprint,
    _progress,
    _split,
    frame_from_features,
    geom_param,
    query_tiles,
)
from foncier.layers.formats import to_canonical
from foncier.layers.schemas import ZONING_TYPES

logger = logging.getLogger(__name__)


GPU_CAP = 5000
"""Features API Carto asks the GPU WFS for (``count=5000``); it does not page beyond them."""


def _more_to_come(data: Any, returned: int) -> bool:
    """Whether a GeoServer answer without a usable ``numberMatched`` (absent, or ``totalFeatures`` "unknown")
    still says that more features match: a ``next`` link, or :data:`GPU_CAP` features returned."""
    links = data.get("links") if isinstance(data, dict) else None
    has_next = isinstance(links, list) and any(isinstance(k, dict) and k.get("rel") == "next" for k in links)
    return has_next or returned >= GPU_CAP


def _gpu_features(
    ctx: FetchContext,
    result: SourceResult,
    resource: str,
    box: tuple[float, float, float, float],
    extra: dict[str, str],
    depth: int = 0,
) -> list[dict[str, Any]]:
    """Features of a GPU resource over ``box``, splitting the box while the service caps its answer."""
    base = ctx.settings.base_url("apicarto")
    data = _get_json(ctx, result, f"{base}/{resource}", {**extra, "geom": geom_param(box)}, label=f"{resource} {box}")
    if data is None:
        return []
    feats = _features(data)
    matched = data.get("numberMatched", data.get("totalFeatures")) if isinstance(data, dict) else None
    if not isinstance(matched, int | float) and _more_to_come(data, len(feats)):
        matched = len(feats) + 1  # GeoServer did not count ("unknown") but says there is more: capped
    if isinstance(matched, int | float) and matched > len(feats):
        if depth < ctx.settings.gpu_max_split_depth:
            logger.info("%s: %d of %d features over %s; splitting the tile", resource, len(feats), matched, box)
            out: list[dict[str, Any]] = []
            for sub in _split(box):
                out.extend(_gpu_features(ctx, result, resource, sub, extra, depth + 1))
            return out
        result.failures.append(
            f"{resource}: the service returned {len(feats)} of {int(matched)} features over {box} even after "
            f"{depth} splits (lower query_tile_deg)"
        )
    return feats


def fetch_plu(ctx: FetchContext) -> SourceResult:
    """Zoning of the urban plans through API Carto: PLU/PLUi zones (``gpu/zone-urba``), carte communale sectors
    (``gpu/secteur-cc``) and communes under the RNU (``gpu/municipality``, ``is_rnu``), see
    :mod:`foncier.layers.fetch.sources.gpu`."""
    from foncier.layers.fetch.sources.gpu import fetch_cc_sectors, fetch_rnu_communes

    result = SourceResult()
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), "plu"):
        features.extend(_gpu_features(ctx, result, "gpu/zone-urba", box, {}))
    features = _dedupe(features, "gid")
    base = ctx.settings.base_url("apicarto")
    source = f"{base}/gpu/{{zone-urba,secteur-cc,municipality}}?geom={{tile}}"
    gdf = _in_footprint(ctx, frame_from_features(features))
    extra = [f for f in (fetch_cc_sectors(ctx, result), fetch_rnu_communes(ctx, result)) if not f.empty]
    if extra:
        frames = [f.to_crs(WGS84) for f in ([gdf] if not gdf.empty else []) + extra]
        gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
    if not gdf.empty:
        gdf = to_canonical(gdf, "plu")
        unknown = ~gdf["typezone"].isin(ZONING_TYPES).fillna(False).to_numpy(dtype=bool)
        if unknown.any():
            values = sorted({str(v) for v in gdf.loc[unknown, "typezone"]})
            result.warnings.append(
                f"plu: {int(unknown.sum())} zone(s) with an unknown typezone dropped ({', '.join(values[:8])})"
            )
            gdf = gdf[~unknown]
    _finish(result, "plu", gdf, source=source, entries=result.entries, vintage="current (GPU)")
    return result


def _nature_features(
    ctx: FetchContext, result: SourceResult, resource: str, box: tuple[float, float, float, float]
) -> list[dict[str, Any]]:
    base = ctx.settings.base_url("apicarto")
    limit = ctx.settings.nature_page_size
    start = 0
    out: list[dict[str, Any]] = []
    for _ in range(_MAX_PAGES):
        params = {"geom": geom_param(box), "_start": start, "_limit": limit}
        data = _get_json(ctx, result, f"{base}/nature/{resource}", params, label=f"nature/{resource} {box}")
        if data is None:
            break
        feats = _features(data)
        out.extend(feats)
        matched = data.get("numberMatched") if isinstance(data, dict) else None
        start += limit
        if (
            not feats
            or (isinstance(matched, int | float) and start >= matched)
            or (matched is None and len(feats) < limit)
        ):
            break
    return out


def fetch_protected(ctx: FetchContext) -> SourceResult:
    """Natura 2000 (habitats, birds), ZNIEFF 1 and 2, nature reserves and national park cores from API Carto
    nature (:data:`foncier.layers.fetch.sources._common.NATURE_KINDS`)."""
    result = SourceResult()
    tiles = query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg)
    frames = []
    jobs = [(resource, box) for resource in NATURE_KINDS for box in tiles]
    collected: dict[str, list[dict[str, Any]]] = {r: [] for r in NATURE_KINDS}
    for resource, box in _progress(ctx, jobs, "protected"):
        collected[resource].extend(_nature_features(ctx, result, resource, box))
    for resource, kind in NATURE_KINDS.items():
        feats = _dedupe(collected[resource], "sitecode" if resource.startswith("natura") else "id_mnhn")
        if not feats:
            continue
        gdf = frame_from_features(feats)
        code_col = next((c for c in ("sitecode", "id_mnhn", "code") if c in gdf.columns), None)
        name_col = next((c for c in ("sitename", "nom", "lib_znieff") if c in gdf.columns), None)
        out = gpd.GeoDataFrame(
            {
                "kind": kind,
                "code": gdf[code_col].astype("string")
                if code_col
                else pd.Series(pd.NA, index=gdf.index, dtype="string"),
                "nom": gdf[name_col].astype("string")
                if name_col
                else pd.Series(pd.NA, index=gdf.index, dtype="string"),
                "url": gdf["url"].astype("string")
                if "url" in gdf.columns
                else pd.Series(pd.NA, index=gdf.index, dtype="string"),
            },
            geometry=gdf.geometry,
            crs=WGS84,
        )
        if kind == "pn_coeur":  # keep the cores: the text of the zone must say so
            text = gdf.drop(columns="geometry").astype("string").fillna("").agg(" ".join, axis=1).str.lower()
            core = text.str.contains("coeur|cœur", regex=True).to_numpy(dtype=bool)
            if (~core).any():
                result.warnings.append(
                    f"protected: {int((~core).sum())} national park zone(s) not marked as a core left out"
                )
            out = out[core]
        frames.append(out)
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84) if frames else frame_from_features([])
    gdf = _in_footprint(ctx, gdf)
    source = f"{ctx.settings.base_url('apicarto')}/nature/{{{','.join(NATURE_KINDS)}}}?geom={{tile}}"
    _finish(result, "protected", gdf, source=source, entries=result.entries, vintage="current (INPN)")
    return result

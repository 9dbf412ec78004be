"""Communes (outlines, population) from geo.api.gouv.fr."""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import geopandas as gpd
import pandas as pd

from foncier.layers.fetch.sources._common import (
    COMMUNE_FIELDS,
    FetchContext,
    SourceResult,
    _dedupe,
    _features,
    _finish,
    _get_json,
    _progress,
    frame_from_features,
)
from foncier.layers.formats import to_canonical

logger = logging.getLogger(__name__)


def fetch_communes(ctx: FetchContext) -> SourceResult:
    """Communes with outlines and population from geo.api.gouv.fr (by EPCI, then any listed commune)."""
    result = SourceResult()
    base = ctx.settings.base_url("geo")
    common = {"fields": COMMUNE_FIELDS, "format": "geojson", "geometry": "contour"}
    features: list[dict[str, Any]] = []
    for siren in _progress(ctx, ctx.territory.epci_sirens, "communes (EPCI)"):
        data = _get_json(ctx, result, f"{base}/epcis/{siren}/communes", common, label=f"EPCI {siren}")
        features.extend(_features(data))
    wanted = ctx.territory.communes
    got = {str((f.get("properties") or {}).get("code")) for f in features}
    extra = [c for c in wanted if c not in got]
    if ctx.territory.epcis and extra:
        result.warnings.append(
            f"communes: {len(extra)} listed commune(s) are not in the EPCIs; fetched one by one: "
            + ", ".join(extra[:10])
        )
    for code in _progress(ctx, extra, "communes"):
        data = _get_json(ctx, result, f"{base}/communes", {"code": code, **common}, label=f"commune {code}")
        feats = [f for f in _features(data) if str((f.get("properties") or {}).get("code")) == code]
        if data is not None and not feats:
            result.failures.append(f"commune {code}: unknown to {base}/communes")
        features.extend(feats)
    if wanted:
        keep = set(wanted)
        features = [f for f in features if str((f.get("properties") or {}).get("code")) in keep]
        found = {str((f.get("properties") or {}).get("code")) for f in features}
        if keep <= found:  # an EPCI that failed was made up for commune by commune
            recovered = [f for f in result.failures if f.startswith("EPCI ")]
            result.failures = [f for f in result.failures if not f.startswith("EPCI ")]
            result.warnings += [f"communes: {f} (its communes were fetched one by one)" for f in recovered]
    features = _dedupe(features, "code")
    if not features:
        return result
    gdf = to_canonical(frame_from_features(features), "communes")
    if "population" in gdf.columns:
        gdf["population"] = pd.to_numeric(gdf["population"], errors="coerce")
    source = f"{base}/epcis/{{siren}}/communes?{urllib.parse.urlencode(common)}"
    _finish(result, "communes", gdf, source=source, entries=result.entries, vintage="current (geo.api.gouv.fr)")
    return result


def fetch_labour_communes(ctx: FetchContext) -> SourceResult:
    """Communes of the territory file's ``labour_departments`` from geo.api.gouv.fr, for the labour pool.

    ``/departements/{code}/communes?fields=nom,code,population&format=geojson&geometry=contour``: outlines
    and total population (INSEE populations légales). The working-age population is not served there: the
    labour pool then counts total population and says so (``labour_pool_basis``).
    """
    result = SourceResult()
    departments = list(ctx.territory.labour_departments)
    base = ctx.settings.base_url("geo")
    if not departments:  # nothing asked: an empty layer (the labour pool counts the territory's communes only)
        result.warnings.append("labour_communes: the territory file lists no labour_departments")
        empty = gpd.GeoDataFrame(
            {"insee": pd.Series(dtype=str), "nom": pd.Series(dtype=str), "population": pd.Series(dtype="Int64")},
            geometry=gpd.GeoSeries([], crs="EPSG:2154"),
        )
        _finish(result, "labour_communes", empty, source="territory file (no labour_departments)", entries=[])
        return result
    params = {"fields": "nom,code,population", "format": "geojson", "geometry": "contour"}
    features: list[dict[str, Any]] = []
    for dep in _progress(ctx, departments, "communes (labour pool)"):
        data = _get_json(ctx, result, f"{base}/departements/{dep}/communes", params, label=f"department {dep}")
        feats = _features(data)
        if data is not None and not feats:
            result.failures.append(f"department {dep}: no commune in the answer of {base}/departements/{dep}/communes")
        features.extend(feats)
    features = _dedupe(features, "code")
    if not features:
        return result
    gdf = to_canonical(frame_from_features(features), "communes")
    gdf = gdf[[c for c in ("insee", "nom", "population", "geometry") if c in gdf.columns]]
    if "population" in gdf.columns:
        gdf["population"] = pd.to_numeric(gdf["population"], errors="coerce")
    source = f"{base}/departements/{{code}}/communes?{urllib.parse.urlencode(params)}"
    _finish(result, "labour_communes", gdf, source=source, entries=result.entries, vintage="current (geo.api.gouv.fr)")
    return result

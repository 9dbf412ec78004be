"""Communes (outlines, population) from geo.api.gouv.fr."""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

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

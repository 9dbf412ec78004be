"""Brownfields from Cerema Cartofriches."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Sequence
from typing import Any

import pandas as pd

from foncier.layers.fetch.http import (
    build_url,
)
from foncier.layers.fetch.sources._common import (
    _MAX_PAGES,
    FetchContext,
    SourceResult,
    T,
    _dedupe,
    _features,
    _finish,
    _get_json,
    _progress,
    frame_from_features,
)
from foncier.layers.formats import to_canonical

logger = logging.getLogger(__name__)


def _rebase(next_url: str, base: str, anchor: str) -> str:
    """Point a ``next`` link at the configured base (a mirror answers with the official host's links)."""
    if next_url.startswith(base):
        return next_url
    parts = urllib.parse.urlsplit(next_url)
    if anchor in parts.path:
        rest = parts.path[parts.path.index(anchor) :]
        return f"{base}{rest}" + (f"?{parts.query}" if parts.query else "")
    return next_url


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _site_id_from_feature_id(gdf: pd.DataFrame) -> pd.DataFrame:
    """The ``geofriches`` API gives the site id as the feature's ``id`` (django-rest-framework-gis
    ``id_field``), not among the properties as the file exports do: take it from there when missing."""
    if "_feature_id" not in gdf.columns:
        return gdf
    from_feature = gdf["_feature_id"].astype("string")
    if "site_id" in gdf.columns:
        gdf["site_id"] = gdf["site_id"].astype("string").fillna(from_feature)
    else:
        gdf["site_id"] = from_feature
    return gdf.drop(columns=[c for c in ("_feature_id", "id") if c in gdf.columns])


def fetch_friches(ctx: FetchContext) -> SourceResult:
    """Brownfields from Cerema Cartofriches (``geofriches``), following the ``next`` links."""
    result = SourceResult()
    s = ctx.settings
    base = s.base_url("cartofriches")
    codes = ctx.commune_codes
    features: list[dict[str, Any]] = []
    for batch in _progress(ctx, _chunks(codes, s.cartofriches_batch), "friches"):
        url: str | None = build_url(
            f"{base}/geofriches/", {"code_insee": ",".join(batch), "page_size": s.cartofriches_page_size}
        )
        seen: set[str] = set()
        while url and url not in seen and len(seen) < _MAX_PAGES:
            seen.add(url)
            data = _get_json(ctx, result, url, label=f"friches of {batch[0]}..{batch[-1]}")
            if data is None:
                break
            features.extend(_features(data))
            nxt = data.get("next") if isinstance(data, dict) else None
            url = _rebase(str(nxt), base, "/geofriches/") if nxt else None
    features = _dedupe(features, "site_id")
    gdf = frame_from_features(features)
    gdf = _site_id_from_feature_id(gdf)
    if not gdf.empty and "comm_insee" in gdf.columns:
        gdf = gdf[gdf["comm_insee"].astype(str).isin(set(codes))]
    if not gdf.empty:
        gdf = to_canonical(gdf, "friches")
        for col in ("site_statut",):
            if col not in gdf.columns:
                gdf[col] = pd.NA
        if "site_id" in gdf.columns:
            gdf["site_id"] = gdf["site_id"].astype("string")
    source = f"{base}/geofriches/?code_insee={{codes}}"
    _finish(result, "friches", gdf, source=source, entries=result.entries, vintage="current (Cartofriches)")
    return result

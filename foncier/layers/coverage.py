"""What each constraint layer of a workspace actually covers, from its provenance ``state``.

A layer fetched in full (``complete``) covers the territory. A ``partial`` layer lacks some of it: when the
state names the missing communes (INSEE codes), the layer covers the other communes; when it does not say
what is missing, nothing can be trusted to be covered. The criteria of a site outside its layer's coverage are
NaN, so its constraint is *unverified* (docs/CONSTRAINTS.md), never passed.
"""

from __future__ import annotations

import logging
import re

import geopandas as gpd
import pandas as pd
import shapely

logger = logging.getLogger(__name__)

__all__ = ["CONSTRAINT_LAYERS", "constraint_coverage"]

CONSTRAINT_LAYERS: tuple[str, ...] = ("plu", "flood", "protected", "prescriptions")
"""Layers whose gaps leave constraints unverified."""

_INSEE_RE = re.compile(r"\b(?:\d{5}|2[AB]\d{3})\b")


def constraint_coverage(
    provenance: pd.DataFrame | None, communes: gpd.GeoDataFrame | None
) -> dict[str, shapely.Geometry]:
    """Coverage of each *partial* constraint layer (complete or unknown-state layers are not listed).

    Parameters
    ----------
    provenance : DataFrame or None
        The workspace's ``provenance`` table (``layer``, ``state``).
    communes : GeoDataFrame or None
        The communes (``insee``), EPSG:2154.

    Returns
    -------
    dict of str to shapely geometry
        For each partial layer: the union of the communes not named as missing in its state; an empty polygon
        when the state names no commune (or there are no communes): no site is covered.
    """
    out: dict[str, shapely.Geometry] = {}
    if provenance is None or provenance.empty or "state" not in provenance.columns:
        return out
    for _, row in provenance.iterrows():
        layer, state = str(row.get("layer", "")), str(row.get("state", "") or "")
        if layer not in CONSTRAINT_LAYERS or not state.startswith("partial"):
            continue
        missing = set(_INSEE_RE.findall(state))
        if missing and communes is not None and "insee" in communes.columns:
            kept = communes[~communes["insee"].astype(str).isin(missing)]
            out[layer] = shapely.union_all(kept.geometry.to_numpy())
        else:
            out[layer] = shapely.Polygon()
        logger.warning("layer '%s' is partial (%s): sites outside what it covers are unverified", layer, state[:120])
    return out

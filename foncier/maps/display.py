"""Geometry generalisation for display: simplify in Lambert-93, reproject, round, keep few attributes.

A web map does not need centimetre coordinates nor every attribute: each layer is simplified with its own
tolerance (metres, in Lambert-93 where metres are metres), reprojected to longitude/latitude (what Leaflet
draws), rounded to a few decimals (5 decimals are about 1 m, 6 about 0.1 m) and stripped to the columns a
tooltip or popup shows. This keeps the site map of the full territory within a few megabytes.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.geo.crs import LAMBERT93, WGS84

logger = logging.getLogger(__name__)


def _as_lambert93(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValueError("layer has no CRS; foncier layers are in Lambert-93 (EPSG:2154)")
    return gdf if gdf.crs.to_epsg() == 2154 else gdf.to_crs(LAMBERT93)


def generalise(gdf: gpd.GeoDataFrame, *, tolerance_m: float, decimals: int) -> gpd.GeoDataFrame:
    """Simplify (topology-preserving) in Lambert-93, reproject to EPSG:4326 and round coordinates.

    Empty and null geometries are dropped (with their rows).

    Raises
    ------
    ValueError
        When ``gdf`` has no CRS.
    """
    if gdf.empty:
        return gdf.to_crs(WGS84) if gdf.crs is not None else gdf
    l93 = _as_lambert93(gdf)
    geoms = l93.geometry.to_numpy()
    if tolerance_m > 0:
        polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
        simplified = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
        # a simplification that empties a small polygon keeps the original
        geoms = np.where(polygonal & shapely.is_empty(simplified), geoms, simplified)
    out = gpd.GeoDataFrame(l93.drop(columns=l93.geometry.name), geometry=geoms, crs=LAMBERT93).to_crs(WGS84)
    scale = 10.0**decimals
    rounded = shapely.transform(out.geometry.to_numpy(), lambda xy: np.round(xy * scale) / scale)
    out = out.set_geometry(rounded)
    keep = ~(out.geometry.isna() | out.geometry.is_empty)
    if not keep.all():
        logger.debug("dropped %d empty geometries", int((~keep).sum()))
    return out[keep]


def _plain(value: Any, float_decimals: int | None) -> Any:
    """A JSON-friendly Python value (NaN/NA to None, numpy scalars to Python, floats rounded)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if float_decimals is not None:
            value = round(value, float_decimals)
            if value == int(value) and abs(value) < 1e15:
                return int(value)
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def feature_collection(
    gdf: gpd.GeoDataFrame,
    *,
    columns: Sequence[str] = (),
    rename: Mapping[str, str] | None = None,
    float_decimals: int | None = 3,
    extra: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection dict of ``gdf`` (already generalised, EPSG:4326).

    Parameters
    ----------
    gdf : GeoDataFrame
        Features in EPSG:4326.
    columns : sequence of str
        Attribute columns to keep (missing ones are ignored).
    rename : mapping, optional
        Short property names for the kept columns (smaller pages).
    float_decimals : int or None
        Decimals kept in float properties.
    extra : sequence of mappings, optional
        One mapping of additional properties per row (in row order).
    """
    rename = dict(rename or {})
    present = [c for c in columns if c in gdf.columns]
    geoms = shapely.to_geojson(gdf.geometry.to_numpy())
    records = gdf[present].to_dict("records") if present else [{} for _ in range(len(gdf))]
    features = []
    for i, (geom, rec) in enumerate(zip(geoms, records, strict=True)):
        props = {rename.get(k, k): _plain(v, float_decimals) for k, v in rec.items()}
        if extra is not None:
            props.update(extra[i])
        features.append({"type": "Feature", "geometry": json.loads(geom), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def latlon_bounds(gdf: gpd.GeoDataFrame) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of ``gdf`` in degrees (what Leaflet's fitBounds takes)."""
    if gdf.crs is None:
        raise ValueError("layer has no CRS; foncier layers are in Lambert-93 (EPSG:2154)")
    minx, miny, maxx, maxy = gdf.to_crs(WGS84).total_bounds
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def label_points(gdf: gpd.GeoDataFrame, decimals: int = 6) -> list[tuple[float, float]]:
    """A point inside each geometry, as ``(lat, lon)``, for numbered markers and labels."""
    if gdf.empty:
        return []
    pts = _as_lambert93(gdf).geometry.representative_point().to_crs(WGS84)
    return [(round(float(p.y), decimals), round(float(p.x), decimals)) for p in pts]

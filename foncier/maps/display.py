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


def _lonlat(points: Any) -> list[tuple[float, float]]:
    """``(lat, lon)`` of Lambert-93 shapely points, rounded to 5 decimals."""
    gs = gpd.GeoSeries(list(points), crs=LAMBERT93).to_crs(WGS84)
    return [(round(float(p.y), 5), round(float(p.x), 5)) for p in gs]


def town_labels(communes: gpd.GeoDataFrame) -> list[list[Any]]:
    """``[lat, lon, name, population]`` of each commune (a point inside it), most populated first."""
    if communes.empty or "nom" not in communes.columns:
        return []
    l93 = _as_lambert93(communes)
    pop = pd.to_numeric(l93["population"], errors="coerce").fillna(0) if "population" in l93.columns else 0
    l93 = l93.assign(_pop=pop).sort_values("_pop", ascending=False)
    pts = _lonlat(l93.geometry.representative_point())
    return [[lat, lon, str(n), int(p)] for (lat, lon), n, p in zip(pts, l93["nom"], l93["_pop"], strict=True)]


def road_labels(roads: gpd.GeoDataFrame, *, spacing_m: float = 12_000.0) -> list[list[Any]]:
    """``[lat, lon, ref]`` points along each numbered road (N2, N31, A1, D1...), one every ``spacing_m``.

    The lines of one reference are merged; labels sit at the middle of each merged piece and then every
    ``spacing_m`` along the longer ones, so that a road is named wherever one looks at it.
    """
    if roads.empty or "ref" not in roads.columns:
        return []
    l93 = _as_lambert93(roads)
    out: list[list[Any]] = []
    for ref, group in l93[l93["ref"].notna() & (l93["ref"].astype(str) != "")].groupby("ref"):
        merged = shapely.line_merge(shapely.union_all(group.geometry.to_numpy()))
        pieces = [g for g in shapely.get_parts(merged) if g.length > 500]
        points = []
        for line in pieces:
            n = max(1, int(line.length // spacing_m))
            points += [line.interpolate((i + 0.5) * line.length / n) for i in range(n)]
        out += [[lat, lon, str(ref)] for lat, lon in _lonlat(points)]
    return out


def ring_labels(isochrones: gpd.GeoDataFrame) -> list[list[Any]]:
    """``[lat, lon, minutes]`` of each isochrone ring: its northernmost point (rings are labelled at the top)."""
    if isochrones.empty or "minutes" not in isochrones.columns:
        return []
    l93 = _as_lambert93(isochrones)
    out: list[list[Any]] = []
    for minutes, group in l93.groupby("minutes"):
        coords = shapely.get_coordinates(shapely.union_all(group.geometry.to_numpy()).boundary)
        if len(coords) == 0:
            continue
        top = coords[coords[:, 1].argmax()]
        ((lat, lon),) = _lonlat([shapely.Point(top)])
        out.append([lat, lon, int(minutes)])
    return out


def point_lonlat(geom: Any) -> tuple[float, float]:
    """``(lat, lon)`` of a Lambert-93 point."""
    return _lonlat([geom])[0]

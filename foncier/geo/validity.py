"""Valid polygonal geometries for what foncier writes out (exports), also after a reprojection.

Reprojecting a valid polygon can make it invalid: two rings a few centimetres apart in Lambert-93 can touch
or cross once their coordinates are rounded in degrees, a thin sliver can fold over itself. Every exported
geometry goes through :func:`valid_polygons` after its last transformation.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

logger = logging.getLogger(__name__)

_POLYGONAL = ("Polygon", "MultiPolygon")


def _polygonal_part(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """The polygonal part of a geometry (a repair may give a GeometryCollection with lines or points)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in _POLYGONAL:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in _POLYGONAL and not g.is_empty]
    if not parts:
        return shapely.Polygon()
    merged = shapely.union_all(parts)
    return merged


def valid_polygons(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """Repair invalid (multi)polygons, keeping only their polygonal parts; valid ones are returned as they are.

    Parameters
    ----------
    geoms : GeoSeries
        Polygonal geometries (any CRS).

    Returns
    -------
    GeoSeries
        Same index and CRS; each invalid geometry replaced by ``make_valid(g)`` restricted to its
        polygonal parts (lines and points left by the repair are dropped: a site stays an area). Missing
        geometries stay missing.

    Notes
    -----
    ``make_valid`` (GEOS, "linework" method) keeps every vertex, so the repaired area equals the original
    area up to the self-overlaps it resolves.
    """
    arr = np.asarray(geoms.to_numpy(), dtype=object)
    present = ~shapely.is_missing(arr)
    invalid = present & ~shapely.is_valid(arr)
    if not invalid.any():
        return geoms
    out = arr.copy()
    repaired = shapely.make_valid(arr[invalid])
    out[invalid] = [_polygonal_part(g) for g in repaired]
    logger.info("repaired %d invalid geometr%s", int(invalid.sum()), "y" if invalid.sum() == 1 else "ies")
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs, name=geoms.name)


def to_crs_valid(gdf: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to ``crs`` and repair the geometries the reprojection made invalid.

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> ring = shapely.Polygon([(700000, 6900000), (700100, 6900000), (700100, 6900100), (700000, 6900100)])
    >>> out = to_crs_valid(gpd.GeoDataFrame(geometry=[ring], crs="EPSG:2154"), "EPSG:4326")
    >>> bool(out.geometry.is_valid.all()), out.crs.to_epsg()
    (True, 4326)
    """
    out = gdf.to_crs(crs)
    return out.set_geometry(valid_polygons(out.geometry))

"""Coordinate reference systems: Lambert-93 as the working CRS, checks for plausible French data."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
from pyproj import CRS

logger = logging.getLogger(__name__)

LAMBERT93 = "EPSG:2154"
"""The canonical CRS of every layer (RGF93 v1 / Lambert-93), metres."""

WGS84 = "EPSG:4326"
"""Longitude/latitude (used by web maps, GeoJSON and the API's ``bbox``)."""

#: Metropolitan France (with a margin) in Lambert-93 metres: (xmin, ymin, xmax, ymax).
FRANCE_BOUNDS_L93 = (50_000.0, 6_000_000.0, 1_300_000.0, 7_150_000.0)
#: Metropolitan France (with a margin) in degrees: (lon_min, lat_min, lon_max, lat_max).
FRANCE_BOUNDS_LONLAT = (-6.0, 41.0, 10.0, 51.6)


def is_lambert93(crs: Any) -> bool:
    """Return True when ``crs`` is Lambert-93 (EPSG:2154)."""
    if crs is None:
        return False
    try:
        return CRS.from_user_input(crs).to_epsg() == 2154
    except Exception:  # pyproj raises several types for unknown input
        return False


def bounds_within(bounds: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    """Return True when the rectangle ``bounds`` lies inside ``box`` (both xmin, ymin, xmax, ymax)."""
    xmin, ymin, xmax, ymax = bounds
    bxmin, bymin, bxmax, bymax = box
    return bool(xmin >= bxmin and ymin >= bymin and xmax <= bxmax and ymax <= bymax)


def guess_crs_from_bounds(bounds: tuple[float, float, float, float]) -> str | None:
    """Guess whether coordinates are lon/lat or Lambert-93 from their extent over France.

    Returns ``WGS84``, ``LAMBERT93`` or None when neither fits.
    """
    if bounds_within(bounds, FRANCE_BOUNDS_LONLAT):
        return WGS84
    if bounds_within(bounds, FRANCE_BOUNDS_L93):
        return LAMBERT93
    return None


def to_lambert93(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject ``gdf`` to Lambert-93 (a no-op copy-free return when it already is).

    Raises
    ------
    ValueError
        When ``gdf`` has no CRS: reprojection needs to know where it comes from.
    """
    if gdf.crs is None:
        raise ValueError("GeoDataFrame has no CRS; cannot reproject to Lambert-93")
    if is_lambert93(gdf.crs):
        return gdf
    return gdf.to_crs(LAMBERT93)

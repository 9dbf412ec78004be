"""Terrain: slope from a DEM (Horn's method) and area-weighted zonal slope statistics per site.

The DEM comes as a numpy array plus its affine transform (rasterio convention: ``transform * (col, row)``
gives the top-left corner of a cell). Zonal statistics use :mod:`exactextract`, which weights every cell
by the exact fraction of it covered by the polygon.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from pyproj import CRS

from foncier.errors import CRSError, Problem
from foncier.geo.crs import LAMBERT93, is_lambert93
from foncier.geo.overlay import require_lambert93

logger = logging.getLogger(__name__)


def _pixel_size(transform: Affine) -> tuple[float, float]:
    """(x, y) cell size in CRS units of a north-up transform."""
    if abs(transform.b) > 1e-12 or abs(transform.d) > 1e-12:
        raise ValueError("rotated or sheared rasters are not supported (transform.b/d must be 0)")
    xres, yres = abs(float(transform.a)), abs(float(transform.e))
    if xres == 0 or yres == 0:
        raise ValueError("raster transform has a zero cell size")
    return xres, yres


def slope_percent(dem: np.ndarray, transform: Affine, *, nodata: float | None = None) -> np.ndarray:
    """Slope of a DEM in percent, with Horn's (1981) third-order finite differences.

    Parameters
    ----------
    dem : numpy.ndarray
        2-D elevations (metres), in a projected CRS whose units are metres (EPSG:2154).
    transform : affine.Affine
        North-up geotransform of ``dem`` (cell size ``transform.a`` by ``-transform.e``).
    nodata : float, optional
        Value marking missing elevations (NaN is always missing).

    Returns
    -------
    numpy.ndarray
        Array of the shape of ``dem`` (float32 for a float32 DEM, else float64); NaN where the elevation
        is missing.

    Notes
    -----
    With the 3x3 window ``a b c / d e f / g h i`` around a cell, cell sizes :math:`\\Delta x, \\Delta y`:

    .. math::
        \\frac{\\partial z}{\\partial x} = \\frac{(c + 2f + i) - (a + 2d + g)}{8 \\Delta x}, \\quad
        \\frac{\\partial z}{\\partial y} = \\frac{(g + 2h + i) - (a + 2b + c)}{8 \\Delta y}, \\quad
        s = 100 \\sqrt{(\\partial z / \\partial x)^2 + (\\partial z / \\partial y)^2}

    (the same as ``gdaldem slope -p``). Missing neighbours, and neighbours beyond the edge of the array,
    take the value of the centre cell, so border cells get a (slightly damped) slope instead of NaN. The
    neighbours are views of one padded copy of the DEM (memory: a few arrays of the DEM's size).
    """
    arr = np.asarray(dem)
    if arr.ndim != 2:
        raise ValueError(f"DEM must be 2-D, got shape {arr.shape}")
    xres, yres = _pixel_size(transform)
    dtype = np.result_type(arr.dtype, np.float32)  # float32 stays float32 (memory), ints become floats
    pad = np.pad(arr.astype(dtype), 1, mode="constant", constant_values=np.nan)
    if nodata is not None and np.isfinite(nodata):
        pad[pad == nodata] = np.nan
    rows, cols = arr.shape

    def win(dr: int, dc: int) -> np.ndarray:  # a view: no copy of the DEM per neighbour
        return pad[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]

    slope = _horn(
        win(-1, -1), win(-1, 0), win(-1, 1), win(0, -1), win(0, 1), win(1, -1), win(1, 0), win(1, 1), xres, yres
    )
    centre = win(0, 0)
    slope[np.isnan(centre)] = np.nan  # Horn ignores the centre cell itself
    # cells with a missing neighbour (edge of the array, nodata): recompute them alone, missing -> centre
    r, c = np.nonzero(np.isnan(slope) & np.isfinite(centre))
    if len(r):
        z0 = centre[r, c]

        def nb(dr: int, dc: int) -> np.ndarray:
            v = pad[r + 1 + dr, c + 1 + dc]
            return np.where(np.isfinite(v), v, z0)

        slope[r, c] = _horn(
            nb(-1, -1), nb(-1, 0), nb(-1, 1), nb(0, -1), nb(0, 1), nb(1, -1), nb(1, 0), nb(1, 1), xres, yres
        )
    return slope


def _horn(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    d: np.ndarray,
    f: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    i: np.ndarray,
    xres: float,
    yres: float,
) -> np.ndarray:
    """Horn's slope (percent) from the 8 neighbours ``a b c / d . f / g h i`` of each cell."""
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8.0 * xres)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8.0 * yres)
    out: np.ndarray = 100.0 * np.hypot(dzdx, dzdy)
    return out


def zonal_slope(
    sites: gpd.GeoDataFrame,
    slope: np.ndarray,
    transform: Affine,
    crs: Any = LAMBERT93,
    *,
    nodata: float | None = None,
) -> pd.DataFrame:
    """Area-weighted mean and maximum slope of each site (exactextract).

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Polygons in EPSG:2154.
    slope : numpy.ndarray
        2-D slope raster in percent (see :func:`slope_percent`); NaN = missing.
    transform : affine.Affine
        North-up geotransform of ``slope``.
    crs : CRS-like, default EPSG:2154
        CRS of the raster; must be Lambert-93 like the sites.
    nodata : float, optional
        Extra value marking missing cells.

    Returns
    -------
    pandas.DataFrame
        Aligned on ``sites.index``, columns

        - ``slope_mean_pct`` :math:`= \\sum_k c_k s_k / \\sum_k c_k` with :math:`c_k` the fraction of cell
          :math:`k` covered by the site (exact cell coverage);
        - ``slope_max_pct`` :math:`= \\max_{k: c_k > 0} s_k`, the steepest cell touching the site.

        NaN for a site outside the raster or over missing cells only.
    """
    require_lambert93(sites, "sites")
    if not is_lambert93(crs):
        raise CRSError(
            [Problem(f"raster CRS is {crs!r}; expected {LAMBERT93}", source="dem")],
            title="slope raster is not in Lambert-93",
        )
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    arr = np.asarray(slope, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"slope raster must be 2-D, got shape {arr.shape}")
    out = pd.DataFrame({"slope_mean_pct": np.nan, "slope_max_pct": np.nan}, index=sites.index, dtype=float)
    if len(sites) == 0:
        return out
    _pixel_size(transform)
    if transform.a <= 0:
        raise ValueError("raster columns must run west to east (transform.a > 0)")
    rows, cols = arr.shape
    xmin, xmax = transform.c, transform.c + cols * transform.a
    if transform.e < 0:  # north-up, the usual layout
        ymax, ymin = transform.f, transform.f + rows * transform.e
    else:  # south-up: flip to the north-up layout exactextract expects
        ymin, ymax = transform.f, transform.f + rows * transform.e
        arr = arr[::-1]
    nd = float(nodata) if nodata is not None and np.isfinite(nodata) else -9999.0
    arr = np.where(np.isfinite(arr), arr, nd)
    source = NumPyRasterSource(arr, xmin, ymin, xmax, ymax, nodata=nd, srs_wkt=CRS.from_user_input(LAMBERT93).to_wkt())
    feats = gpd.GeoDataFrame({"_row": np.arange(len(sites))}, geometry=sites.geometry.values, crs=sites.crs)
    feats = feats[~feats.geometry.is_empty & feats.geometry.notna()]
    if len(feats) == 0:
        return out
    result = exact_extract(source, feats, ["mean", "max"], include_cols=["_row"], output="pandas")
    rows_idx = result["_row"].to_numpy(dtype=np.int64)
    out.iloc[rows_idx, 0] = result["mean"].to_numpy(dtype=float)
    out.iloc[rows_idx, 1] = result["max"].to_numpy(dtype=float)
    return out

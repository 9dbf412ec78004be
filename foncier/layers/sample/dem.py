"""Digital elevation model of the sample territory.

The Soissonnais is a limestone plateau (about 140-220 m, higher to the south towards the Foret de Retz and the
Tardenois) cut by the valley of the Aisne (floor about 35-50 m) and of its tributaries. The model is a smooth
plateau surface into which every river of :mod:`.rivers` cuts a valley: a flat floor that slopes gently
downstream, and sides rising to the plateau along a smoothstep profile, which gives slopes of 10 to 30 % on
the valley sides, as on the real coteaux.

The surface is computed on a 100 m grid (Euclidean distance transform to the rivers) and interpolated to the
output grid with a cubic spline, which keeps the build fast and light in memory.
"""

from __future__ import annotations

import logging

import affine
import numpy as np
import shapely
from scipy import ndimage

from foncier.layers.sample._geom import FloatArray
from foncier.layers.sample.rivers import River

logger = logging.getLogger(__name__)

_COARSE_M = 100.0
_PAD_M = 4000.0


def dem_grid(
    bounds: tuple[float, float, float, float], cell: float, margin: float = 2000.0
) -> tuple[affine.Affine, int, int]:
    """Grid covering ``bounds`` plus ``margin``, aligned on multiples of the coarse step.

    Returns
    -------
    transform : affine.Affine
        North-up transform of square ``cell`` cells.
    width, height : int
        Number of columns and rows.
    """
    xmin, ymin, xmax, ymax = bounds
    x0 = np.floor((xmin - margin) / _COARSE_M) * _COARSE_M
    y1 = np.ceil((ymax + margin) / _COARSE_M) * _COARSE_M
    x1 = np.ceil((xmax + margin) / _COARSE_M) * _COARSE_M
    y0 = np.floor((ymin - margin) / _COARSE_M) * _COARSE_M
    width = round(float(x1 - x0) / cell)
    height = round(float(y1 - y0) / cell)
    return affine.Affine(cell, 0.0, float(x0), 0.0, -cell, float(y1)), width, height


def _smooth_noise(shape: tuple[int, int], scale_cells: float, rng: np.random.Generator) -> FloatArray:
    """Isotropic smooth noise of unit standard deviation, with features about ``scale_cells`` cells wide."""
    white = rng.normal(0.0, 1.0, shape)
    smooth = ndimage.gaussian_filter(white, sigma=scale_cells / 2.0, mode="reflect")
    return np.asarray(smooth / max(float(smooth.std()), 1e-12), dtype=np.float64)


def build_dem(
    bounds: tuple[float, float, float, float],
    rivers: list[tuple[River, shapely.LineString]],
    rng: np.random.Generator,
    *,
    cell: float = 25.0,
) -> tuple[np.ndarray, affine.Affine]:
    """Build the elevation model over ``bounds`` (plus a 2 km margin).

    The surface is computed on a 100 m grid (padded by 4 km so that rivers just outside still shape the
    valleys) and interpolated to ``cell`` with a cubic spline: the relief is smooth at that scale, and the
    build stays light (the full 25 m model takes a few tens of MB).

    Parameters
    ----------
    bounds : tuple of float
        (xmin, ymin, xmax, ymax) of the territory, Lambert-93 metres.
    rivers : list of (River, LineString)
        Rivers cutting valleys into the plateau.
    rng : numpy.random.Generator
        Random source.
    cell : float
        Cell size (m); must divide 100.

    Returns
    -------
    dem : ndarray of float32, shape (rows, cols)
        Elevation in metres.
    transform : affine.Affine
        Grid transform (EPSG:2154).
    """
    transform, width, height = dem_grid(bounds, cell)
    factor = round(_COARSE_M / cell)
    if factor < 1 or abs(factor * cell - _COARSE_M) > 1e-9:
        raise ValueError(f"cell size must divide {_COARSE_M:.0f} m, got {cell}")
    pad = int(_PAD_M / _COARSE_M)
    cw = width // factor + 2 * pad
    ch = height // factor + 2 * pad
    cx0 = transform.c - pad * _COARSE_M
    cy1 = transform.f + pad * _COARSE_M

    # plateau: higher to the south (Retz, Tardenois), smooth undulations
    ys = cy1 - (np.arange(ch) + 0.5) * _COARSE_M
    south = np.clip((bounds[3] - ys) / (bounds[3] - bounds[1]), 0.0, 1.0)
    plateau = 150.0 + 45.0 * south[:, None] ** 1.3 + 13.0 * _smooth_noise((ch, cw), 30.0, rng)
    plateau += 4.0 * _smooth_noise((ch, cw), 8.0, rng)
    plateau = np.clip(plateau, 135.0, 225.0)
    width_noise = 1.0 + 0.1 * _smooth_noise((ch, cw), 30.0, rng)

    z = plateau.copy()
    for river, line in rivers:
        n = int(shapely.length(line) / (_COARSE_M / 2)) + 2
        frac = np.linspace(0.0, 1.0, n)
        pts = shapely.get_coordinates(shapely.line_interpolate_point(line, frac, normalized=True))
        col = np.floor((pts[:, 0] - cx0) / _COARSE_M).astype(int)
        row = np.floor((cy1 - pts[:, 1]) / _COARSE_M).astype(int)
        inside = (row >= 0) & (row < ch) & (col >= 0) & (col < cw)
        if not inside.any():
            continue
        floor_z = np.full((ch, cw), np.nan)
        floor_z[row[inside], col[inside]] = river.floor_elevation(frac[inside])
        d, (ir, ic) = ndimage.distance_transform_edt(np.isnan(floor_z), sampling=_COARSE_M, return_indices=True)
        fz = floor_z[ir, ic]
        half = river.floor_half_width * width_noise
        side = river.side_width * width_noise
        t = np.clip((d - half) / side, 0.0, 1.0)
        s = t * t * (3.0 - 2.0 * t)
        valley = fz + 0.004 * np.minimum(d, half) + (plateau - fz) * s
        np.minimum(z, valley, out=z)
        logger.debug("dem: cut the valley of the %s", river.name)
    z += 0.8 * _smooth_noise((ch, cw), 3.0, rng)
    core = z[pad : pad + height // factor, pad : pad + width // factor]
    fine = ndimage.zoom(core, factor, order=3, mode="nearest", grid_mode=True, output=np.float32)
    return np.ascontiguousarray(fine[:height, :width]), transform

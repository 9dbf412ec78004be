"""Private geometry helpers of the sample territory: projection, shapes and the recursive polygon splitter.

Everything here works on numpy arrays of shapely 2 geometries (vectorised; no Python loop per feature).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

from foncier.geo.crs import LAMBERT93, WGS84

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
GeomArray = npt.NDArray[np.object_]

#: Parts smaller than this (m2) are dropped when polygons are cut (slivers of floating-point noise).
MIN_PART_AREA = 2.0
#: Parcels smaller than this (m2) are not kept when blocks are cut (slivers along curved edges).
MIN_PARCEL_AREA = 20.0


@lru_cache(maxsize=1)
def _to_l93_transformer() -> Transformer:
    """The WGS84 -> Lambert-93 transformer (built once)."""
    return Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)


def lonlat_to_l93(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project longitudes/latitudes (degrees, WGS84) to Lambert-93 metres.

    Parameters
    ----------
    lon, lat : array_like
        Coordinates in degrees.

    Returns
    -------
    x, y : ndarray of float64
        Lambert-93 coordinates, same shape as the input.
    """
    x, y = _to_l93_transformer().transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def lonlat_line(coords: Sequence[tuple[float, float]]) -> shapely.LineString:
    """Return a Lambert-93 line through ``coords`` given as (lon, lat) pairs."""
    arr = np.asarray(coords, dtype=float)
    x, y = lonlat_to_l93(arr[:, 0], arr[:, 1])
    return shapely.linestrings(np.column_stack([x, y]))


def chaikin(xy: FloatArray, iterations: int = 2) -> FloatArray:
    """Smooth an open polyline by Chaikin corner cutting, keeping both end points.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Vertices.
    iterations : int
        Number of corner-cutting passes (each roughly doubles the vertex count).

    Returns
    -------
    ndarray, shape (m, 2)
    """
    pts = np.asarray(xy, dtype=float)
    for _ in range(iterations):
        if len(pts) < 3:
            return pts
        q = 0.75 * pts[:-1] + 0.25 * pts[1:]
        r = 0.25 * pts[:-1] + 0.75 * pts[1:]
        inner = np.empty((2 * len(q), 2))
        inner[0::2] = q
        inner[1::2] = r
        pts = np.vstack([pts[:1], inner[1:-1], pts[-1:]])
    return pts


def oriented_rectangles(
    cx: npt.ArrayLike, cy: npt.ArrayLike, width: npt.ArrayLike, height: npt.ArrayLike, angle: npt.ArrayLike
) -> GeomArray:
    """Return rectangles centred on (cx, cy), ``width`` along the direction ``angle`` (radians), ``height`` across.

    All arguments broadcast to one length; the result is an array of Polygons.
    """
    cx_, cy_, w, h, a = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, dtype=float)) for v in (cx, cy, width, height, angle))
    )
    ux, uy = np.cos(a) * w / 2, np.sin(a) * w / 2
    vx, vy = -np.sin(a) * h / 2, np.cos(a) * h / 2
    corners = np.stack(
        [
            np.stack([cx_ - ux - vx, cy_ - uy - vy], -1),
            np.stack([cx_ + ux - vx, cy_ + uy - vy], -1),
            np.stack([cx_ + ux + vx, cy_ + uy + vy], -1),
            np.stack([cx_ - ux + vx, cy_ - uy + vy], -1),
            np.stack([cx_ - ux - vx, cy_ - uy - vy], -1),
        ],
        axis=-2,
    )
    return np.asarray(shapely.polygons(corners.reshape(-1, 5, 2)), dtype=object)


def blobs(
    cx: npt.ArrayLike,
    cy: npt.ArrayLike,
    radius: npt.ArrayLike,
    rng: np.random.Generator,
    *,
    roughness: float = 0.22,
    n_vertices: int = 48,
    elongation: npt.ArrayLike = 1.0,
    angle: npt.ArrayLike | None = None,
) -> GeomArray:
    """Return star-shaped organic polygons ("blobs") around centres.

    The radius varies smoothly with the bearing (a few low harmonics with random phases), which gives the
    irregular outline of a village, a wood or a protected area.

    Parameters
    ----------
    cx, cy : array_like
        Centres (metres).
    radius : array_like
        Mean radius (metres).
    rng : numpy.random.Generator
        Random source (drawn in a fixed order: deterministic).
    roughness : float
        Relative amplitude of the outline's waviness (0 gives ellipses).
    n_vertices : int
        Vertices per outline.
    elongation : array_like
        Ratio of the long to the short axis (1 = round).
    angle : array_like or None
        Direction of the long axis in radians (random when None).

    Returns
    -------
    ndarray of Polygon
    """
    cx_, cy_, r, el = np.broadcast_arrays(
        np.atleast_1d(np.asarray(cx, float)),
        np.atleast_1d(np.asarray(cy, float)),
        np.atleast_1d(np.asarray(radius, float)),
        np.atleast_1d(np.asarray(elongation, float)),
    )
    n = cx_.size
    theta = np.linspace(0.0, 2 * np.pi, n_vertices, endpoint=False)
    harmonics = np.arange(2, 6)
    amp = rng.uniform(0.3, 1.0, (n, harmonics.size)) * roughness / harmonics
    phase = rng.uniform(0, 2 * np.pi, (n, harmonics.size))
    ang = rng.uniform(0, np.pi, n) if angle is None else np.broadcast_to(np.asarray(angle, float), (n,))
    wave = 1.0 + np.sum(amp[:, :, None] * np.cos(harmonics[None, :, None] * theta + phase[:, :, None]), axis=1)
    wave = np.clip(wave, 0.35, None)
    a = r * np.sqrt(el)
    b = r / np.sqrt(el)
    lx = (a[:, None] * np.cos(theta)) * wave
    ly = (b[:, None] * np.sin(theta)) * wave
    ca, sa = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x = cx_[:, None] + lx * ca - ly * sa
    y = cy_[:, None] + lx * sa + ly * ca
    ring = np.stack([x, y], -1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return np.asarray(shapely.polygons(ring), dtype=object)


def polygon_parts(geoms: npt.ArrayLike, min_area: float = MIN_PART_AREA) -> tuple[GeomArray, IntArray]:
    """Explode geometries into their polygon parts, dropping lines, points, empties and slivers.

    Parameters
    ----------
    geoms : array_like of geometries
        Results of overlay operations (may be collections).
    min_area : float
        Parts smaller than this (m2) are dropped.

    Returns
    -------
    parts : ndarray of Polygon
    index : ndarray of int
        Position in ``geoms`` each part comes from.
    """
    arr = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(arr, return_index=True)
    # collections may hold multipolygons: a second pass flattens them
    nested = shapely.get_type_id(parts) == 6
    if nested.any():
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        index = np.concatenate([index[~nested], index[nested][sub_idx]])
    keep = shapely.get_type_id(parts) == 3
    parts, index = parts[keep], index[keep]
    keep = shapely.area(parts) >= min_area
    return np.asarray(parts[keep], dtype=object), np.asarray(index[keep], dtype=np.int64)


TargetFunction = Callable[[FloatArray, FloatArray, IntArray], FloatArray]
"""``target(x, y, kind) -> area``: the wanted parcel area (m2) at centroids ``(x, y)`` for block kinds ``kind``."""


def split_polygons(
    polygons: GeomArray,
    kinds: IntArray,
    target: TargetFunction,
    rng: np.random.Generator,
    *,
    strip_probability: FloatArray,
    max_aspect: FloatArray,
    jitter_sigma: float = 0.35,
    max_levels: int = 48,
) -> tuple[GeomArray, IntArray]:
    """Cut polygons recursively into parcels that tile them exactly.

    At each level every polygon larger than 1.5 times its wanted area is cut in two by a straight line
    perpendicular to the long axis of its minimum rotated rectangle (or, with probability
    ``strip_probability[kind]`` while the piece is not already longer than ``max_aspect[kind]``, along that
    axis, which makes the long strips of French open fields). Both halves are the intersections of the polygon
    with two half-planes sharing the same cut line, so they never overlap and leave no gap. All polygons of
    one level are cut at once with shapely's array functions.

    Parameters
    ----------
    polygons : ndarray of Polygon
        Blocks to cut.
    kinds : ndarray of int
        Block kind code per polygon (indexes ``strip_probability`` and ``max_aspect``; passed to ``target``).
    target : callable
        Wanted parcel area at a position for a kind, see :data:`TargetFunction`.
    rng : numpy.random.Generator
        Random source.
    strip_probability, max_aspect : ndarray of float
        Per kind code.
    jitter_sigma : float
        Log-normal spread of the wanted area between blocks (children inherit a third of it again).
    max_levels : int
        Safety bound on the recursion depth.

    Returns
    -------
    parcels : ndarray of Polygon
    source : ndarray of int
        Index in ``polygons`` of the block each parcel comes from.
    """
    polys = np.asarray(polygons, dtype=object)
    src = np.arange(len(polys), dtype=np.int64)
    kind = np.asarray(kinds, dtype=np.int64)
    jitter = np.exp(rng.normal(0.0, jitter_sigma, len(polys)))
    done_polys: list[GeomArray] = []
    done_src: list[IntArray] = []
    for level in range(max_levels):
        if len(polys) == 0:
            break
        area = shapely.area(polys)
        cent = shapely.centroid(polys)
        wanted = target(shapely.get_x(cent), shapely.get_y(cent), kind) * jitter
        cut = area > 1.5 * wanted
        done_polys.append(polys[~cut])
        done_src.append(src[~cut])
        polys, src, kind, jitter = polys[cut], src[cut], kind[cut], jitter[cut]
        n = len(polys)
        if n == 0:
            break
        logger.debug("split level %d: %d polygons to cut", level, n)
        env = shapely.oriented_envelope(polys)
        co = shapely.get_coordinates(env)
        if len(co) != 5 * n:  # degenerate envelopes (lines): cannot be cut, keep as they are
            ok = shapely.get_type_id(env) == 3
            done_polys.append(polys[~ok])
            done_src.append(src[~ok])
            polys, src, kind, jitter, env = polys[ok], src[ok], kind[ok], jitter[ok], env[ok]
            n = len(polys)
            co = shapely.get_coordinates(env)
        co = co.reshape(n, 5, 2)
        e1 = co[:, 1] - co[:, 0]
        e2 = co[:, 2] - co[:, 1]
        l1 = np.hypot(e1[:, 0], e1[:, 1])
        l2 = np.hypot(e2[:, 0], e2[:, 1])
        long_is_1 = l1 >= l2
        length_long = np.where(long_is_1, l1, l2)
        length_short = np.where(long_is_1, l2, l1)
        aspect = length_long / np.maximum(length_short, 1e-9)
        along = (rng.random(n) < strip_probability[kind]) & (aspect * 2.0 < max_aspect[kind])
        # cut direction: perpendicular to u; by default u is the long axis
        u_long = np.where(long_is_1[:, None], e1, e2) / np.maximum(length_long, 1e-9)[:, None]
        u = np.where(along[:, None], np.column_stack([-u_long[:, 1], u_long[:, 0]]), u_long)
        span = np.where(along, length_short, length_long)
        v = np.column_stack([-u[:, 1], u[:, 0]])
        centre = co[:, :4].mean(axis=1)
        offset = rng.uniform(-0.17, 0.17, n) * span
        p0 = centre + u * offset[:, None]
        reach = (length_long + length_short)[:, None] * 1.5 + 10.0
        p1 = p0 - v * reach
        p2 = p0 + v * reach
        box_a = np.stack([p1, p2, p2 - u * reach, p1 - u * reach, p1], axis=1)
        box_b = np.stack([p1, p2, p2 + u * reach, p1 + u * reach, p1], axis=1)
        halves = np.concatenate(
            [shapely.intersection(polys, shapely.polygons(box_a)), shapely.intersection(polys, shapely.polygons(box_b))]
        )
        parts, idx = polygon_parts(halves, min_area=MIN_PARCEL_AREA)
        parent = np.concatenate([np.arange(n), np.arange(n)])[idx]
        polys = parts
        src = src[parent]
        kind = kind[parent]
        jitter = jitter[parent] * np.exp(rng.normal(0.0, jitter_sigma / 3, len(parts)))
    else:
        logger.warning("split_polygons stopped at max_levels=%d with %d polygons left", max_levels, len(polys))
    done_polys.append(polys)
    done_src.append(src)
    return np.concatenate(done_polys), np.concatenate(done_src)

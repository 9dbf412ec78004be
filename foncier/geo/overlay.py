"""Overlay criteria: shares of a site covered by a layer, distances, dominant zoning.

All functions take GeoDataFrames in Lambert-93 (EPSG:2154, metres) and return a :class:`pandas.Series`
aligned on the index of their first argument. Spatial joins go through the STRtree of the target
geometries (``GeometryArray.sindex``, cached by geopandas) and only the intersecting pairs are clipped.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.errors import CRSError, Problem
from foncier.geo.crs import LAMBERT93, is_lambert93
from foncier.geo.zoning import ZONING_CLASSES, classify_zones, destdomi_code
from foncier.geo.zoning import zoning_class as _zoning_class

logger = logging.getLogger(__name__)

Where: TypeAlias = pd.Series | np.ndarray | Callable[[gpd.GeoDataFrame], Any] | None
"""A row filter: a boolean Series/array aligned on the layer, or a function of the layer returning one."""

_POLYGONAL_TYPE_IDS = (3, 6)  # Polygon, MultiPolygon
MAX_PIECE_VERTICES = 256
"""Targets with more vertices than this are subdivided before overlays (see :func:`subdivide`)."""


def require_lambert93(gdf: gpd.GeoDataFrame | gpd.GeoSeries, name: str) -> None:
    """Raise :class:`foncier.errors.CRSError` unless ``gdf`` is in Lambert-93 (EPSG:2154).

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        The layer to check.
    name : str
        Layer name, quoted in the error message.
    """
    if not isinstance(gdf, gpd.GeoDataFrame | gpd.GeoSeries):
        raise TypeError(f"{name}: expected a GeoDataFrame or GeoSeries, got {type(gdf).__name__}")
    crs = gdf.crs
    if crs is None:
        raise CRSError(
            [Problem(f"no CRS; expected {LAMBERT93} (Lambert-93, metres)", source=name, column="geometry")],
            title=f"layer '{name}' has no CRS",
        )
    if not is_lambert93(crs):
        raise CRSError(
            [
                Problem(
                    f"CRS is {crs.to_string()}; expected {LAMBERT93} (reproject with foncier.geo.crs.to_lambert93)",
                    source=name,
                    column="geometry",
                )
            ],
            title=f"layer '{name}' is not in Lambert-93",
        )


def _geoms(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """The geometries of ``gdf`` as a numpy object array."""
    return np.asarray(gdf.geometry.values, dtype=object)


def _select(layer: gpd.GeoDataFrame, where: Where) -> gpd.GeoDataFrame:
    """Rows of ``layer`` kept by ``where`` (see :data:`Where`)."""
    if where is None:
        return layer
    mask = where(layer) if callable(where) else where
    mask_arr = np.asarray(mask.reindex(layer.index) if isinstance(mask, pd.Series) else mask)
    if mask_arr.shape != (len(layer),):
        raise ValueError(f"where: expected {len(layer)} booleans, got shape {mask_arr.shape}")
    return layer[np.asarray(pd.Series(mask_arr).fillna(False), dtype=bool)]


def _polygonal(geoms: np.ndarray, name: str) -> np.ndarray:
    """Keep the non-empty polygonal geometries, repairing invalid ones."""
    keep = np.isin(shapely.get_type_id(geoms), _POLYGONAL_TYPE_IDS) & ~shapely.is_empty(geoms)
    if not keep.all():
        logger.debug("%s: %d non-polygonal or empty geometries ignored", name, int((~keep).sum()))
    out: np.ndarray = geoms[keep]
    invalid = ~shapely.is_valid(out)
    if invalid.any():
        logger.warning("%s: repairing %d invalid polygon(s)", name, int(invalid.sum()))
        out = out.copy()
        out[invalid] = shapely.make_valid(out[invalid])
    return out


def _pairs(
    targets: gpd.GeoDataFrame | gpd.GeoSeries, geoms: np.ndarray, predicate: str
) -> tuple[np.ndarray, np.ndarray]:
    """(feature index, target index) pairs satisfying ``predicate(feature, target)``, via the targets' STRtree."""
    if len(geoms) == 0 or len(targets) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty
    fi, ti = targets.geometry.values.sindex.query(geoms, predicate=predicate)
    return np.asarray(fi, dtype=np.int64), np.asarray(ti, dtype=np.int64)


def subdivide(geoms: np.ndarray, *, max_vertices: int = MAX_PIECE_VERTICES) -> tuple[np.ndarray, np.ndarray]:
    """Split large polygons into small pieces (like PostGIS ``ST_Subdivide``) for fast overlays.

    Polygons with more than ``max_vertices`` vertices are cut in two halves of their bounding box (across
    its longer side), recursively, all of them at once per level; multi-part results are exploded. The
    pieces do not overlap, so areas computed on them add up to the areas of the originals.

    Returns
    -------
    pieces : numpy.ndarray
        The pieces (the geometries themselves when nothing is too large).
    owner : numpy.ndarray of int
        Index in ``geoms`` of the geometry each piece comes from.
    """
    geoms = np.asarray(geoms, dtype=object)
    owner = np.arange(len(geoms))
    if len(geoms) == 0 or int(shapely.get_num_coordinates(geoms).max()) <= max_vertices:
        return geoms, owner
    done_p: list[np.ndarray] = []
    done_o: list[np.ndarray] = []
    pieces = geoms
    for _ in range(32):
        small = shapely.get_num_coordinates(pieces) <= max_vertices
        done_p.append(pieces[small])
        done_o.append(owner[small])
        if small.all():
            break
        big, big_owner = pieces[~small], owner[~small]
        xmin, ymin, xmax, ymax = shapely.bounds(big).T
        wide = (xmax - xmin) >= (ymax - ymin)
        xmid, ymid = (xmin + xmax) / 2, (ymin + ymax) / 2
        first = shapely.box(xmin, ymin, np.where(wide, xmid, xmax), np.where(wide, ymax, ymid))
        second = shapely.box(np.where(wide, xmid, xmin), np.where(wide, ymin, ymid), xmax, ymax)
        halves = np.concatenate([shapely.intersection(big, first), shapely.intersection(big, second)])
        parts, idx = shapely.get_parts(halves, return_index=True)
        keep = np.isin(shapely.get_type_id(parts), _POLYGONAL_TYPE_IDS) & (shapely.area(parts) > 0)
        pieces, owner = parts[keep], np.concatenate([big_owner, big_owner])[idx[keep]]
    else:  # pragma: no cover - 32 halvings always suffice for real data
        done_p.append(pieces)
        done_o.append(owner)
    return np.concatenate(done_p), np.concatenate(done_o)


def _targets(targets: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray, Any]:
    """Target geometries ready for overlay: (pieces, owner, tree); large targets are subdivided, small ones
    keep the STRtree cached by geopandas."""
    tgeoms = _geoms(targets)
    pieces, owner = subdivide(tgeoms)
    if pieces is tgeoms:
        return tgeoms, owner, targets.geometry.values.sindex
    return pieces, owner, shapely.STRtree(pieces)


def _query(tree: Any, geoms: np.ndarray, predicate: str) -> tuple[np.ndarray, np.ndarray]:
    if len(geoms) == 0 or len(tree) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty
    fi, ti = tree.query(geoms, predicate=predicate)
    return np.asarray(fi, dtype=np.int64), np.asarray(ti, dtype=np.int64)


def covered_area(targets: gpd.GeoDataFrame | gpd.GeoSeries, polygons: np.ndarray) -> np.ndarray:
    """Area (m2) of each target covered by the union of ``polygons`` (overlaps counted once).

    Large targets are first cut into small pieces (:func:`subdivide`). Pieces lying wholly inside one
    polygon are detected with a prepared ``contains`` test and not clipped; the others are intersected with
    each polygon they meet and, where several polygons meet the same piece, the clips are unioned before
    measuring. Piece areas are summed per target.
    """
    n = len(targets)
    tgeoms, owner, tree = _targets(targets)
    tarea = shapely.area(tgeoms)
    out = np.zeros(len(tgeoms), dtype=float)
    pi, ti = _query(tree, polygons, "intersects")
    if len(pi):
        shapely.prepare(polygons)
        full = shapely.contains(polygons[pi], tgeoms[ti])
        full_targets = np.unique(ti[full])
        out[full_targets] = tarea[full_targets]
        rest = ~np.isin(ti, full_targets)
        pi, ti = pi[rest], ti[rest]
    if len(pi):
        clips = shapely.intersection(tgeoms[ti], polygons[pi])
        counts = np.bincount(ti, minlength=len(tgeoms))
        single = counts[ti] == 1
        out[ti[single]] = shapely.area(clips[single])
        multi = ~single
        if multi.any():
            mt, mp = ti[multi], clips[multi]
            order = np.argsort(mt, kind="stable")
            mt, mp = mt[order], mp[order]
            starts = np.flatnonzero(np.r_[True, mt[1:] != mt[:-1]])
            for s, e in zip(starts, np.r_[starts[1:], len(mt)], strict=True):
                out[mt[s]] = shapely.union_all(mp[s:e]).area
    return np.bincount(owner, weights=np.minimum(out, tarea), minlength=n)


def share_in(sites: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, *, where: Where = None) -> pd.Series:
    """Share of each site's area covered by the union of (matching) polygons.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Polygonal features (EPSG:2154).
    polygons : geopandas.GeoDataFrame
        Covering layer (EPSG:2154); non-polygonal rows are ignored.
    where : boolean Series/array or callable, optional
        Keep only these rows of ``polygons`` (e.g. ``lambda f: f["level"] == "red"``).

    Returns
    -------
    pandas.Series
        Aligned on ``sites.index``, in [0, 1]:

        .. math:: s_i = \\frac{|S_i \\cap \\bigcup_k P_k|}{|S_i|}

        Overlapping polygons are not double counted. ``NaN`` for a site of zero area.
    """
    require_lambert93(sites, "sites")
    require_lambert93(polygons, "polygons")
    polys = _polygonal(_geoms(_select(polygons, where)), "polygons")
    area = shapely.area(_geoms(sites))
    covered = covered_area(sites, polys)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area > 0, np.clip(covered / np.where(area > 0, area, 1.0), 0.0, 1.0), np.nan)
    return pd.Series(share, index=sites.index, name="share", dtype=float)


def share_flood(sites: gpd.GeoDataFrame, flood: gpd.GeoDataFrame, *, level: str = "red") -> pd.Series:
    """Share of each site's area in flood zones of ``level`` ("red": building prohibited, "blue": conditions).

    See :func:`share_in` for the formula.
    """
    if "level" not in flood:
        raise ValueError("flood layer has no 'level' column")
    return share_in(sites, flood, where=flood["level"].astype(str).str.lower() == level).rename(f"share_flood_{level}")


def share_flood_red(sites: gpd.GeoDataFrame, flood: gpd.GeoDataFrame) -> pd.Series:
    """Share of each site's area in red flood zones (building prohibited)."""
    return share_flood(sites, flood, level="red")


def share_flood_blue(sites: gpd.GeoDataFrame, flood: gpd.GeoDataFrame) -> pd.Series:
    """Share of each site's area in blue flood zones (building under conditions)."""
    return share_flood(sites, flood, level="blue")


def share_protected(
    sites: gpd.GeoDataFrame, protected: gpd.GeoDataFrame, *, kinds: Sequence[str] | None = None
) -> pd.Series:
    """Share of each site's area in protected areas (Natura 2000, ZNIEFF), all kinds or only ``kinds``.

    Overlapping designations (a ZNIEFF inside a Natura 2000 site) count once; see :func:`share_in`.
    """
    where = None if kinds is None else protected["kind"].astype(str).isin(list(kinds))
    return share_in(sites, protected, where=where).rename("share_protected")


def brownfield_polygons(friches: gpd.GeoDataFrame, *, parcels: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Polygons standing for the brownfields: polygon friches as they are, point friches as land.

    A point friche (Cartofriches often publishes points) becomes the cadastral parcel(s) holding it when
    ``parcels`` is given (the CONTRACTS rule: "point friches count as the parcel holding them"). A point in
    no parcel (on a road, or no parcels given) becomes a disc of the friche's declared surface,
    radius :math:`\\sqrt{A / \\pi}` with :math:`A` = ``site_surface_m2``; a point with neither is ignored
    (and logged).
    """
    require_lambert93(friches, "friches")
    geoms = _geoms(friches)
    type_ids = shapely.get_type_id(geoms)
    is_poly = np.isin(type_ids, _POLYGONAL_TYPE_IDS) & ~shapely.is_empty(geoms)
    is_point = (type_ids == 0) & ~shapely.is_empty(geoms)
    out = [geoms[is_poly]]
    points = geoms[is_point]
    unplaced = np.ones(len(points), dtype=bool)
    if len(points) and parcels is not None and len(parcels):
        require_lambert93(parcels, "parcels")
        pi, ti = _pairs(parcels, points, "intersects")
        unplaced[np.unique(pi)] = False
        out.append(_geoms(parcels)[np.unique(ti)])
    if unplaced.any():
        if "site_surface_m2" in friches:
            surface = pd.to_numeric(friches["site_surface_m2"], errors="coerce").to_numpy(dtype=float)[is_point]
        else:
            surface = np.full(len(points), np.nan)
        ok = unplaced & np.isfinite(surface) & (surface > 0)
        if (unplaced & ~ok).any():
            logger.warning("friches: %d point(s) in no parcel and without surface ignored", int((unplaced & ~ok).sum()))
        out.append(shapely.buffer(points[ok], np.sqrt(surface[ok] / np.pi), quad_segs=8))
    return gpd.GeoDataFrame(geometry=np.concatenate(out), crs=LAMBERT93)


def share_brownfield(
    sites: gpd.GeoDataFrame, friches: gpd.GeoDataFrame, *, parcels: gpd.GeoDataFrame | None = None
) -> pd.Series:
    """Share of each site's area on brownfields (friches).

    Point friches count as the parcel(s) holding them (needs ``parcels``), else as a disc of their declared
    surface; see :func:`brownfield_polygons`. The share is :func:`share_in` of those polygons.
    """
    return share_in(sites, brownfield_polygons(friches, parcels=parcels)).rename("share_brownfield")


def distance_to(sites: gpd.GeoDataFrame, features: gpd.GeoDataFrame, *, where: Where = None) -> pd.Series:
    """Straight-line distance (m) from each site to the nearest (matching) feature, 0 when they meet.

    Parameters
    ----------
    sites, features : geopandas.GeoDataFrame
        EPSG:2154.
    where : boolean Series/array or callable, optional
        Keep only these rows of ``features``.

    Returns
    -------
    pandas.Series
        :math:`d_i = \\min_k \\operatorname{dist}(S_i, F_k)` (nearest-neighbour query of the features'
        STRtree); ``NaN`` when there is no feature.
    """
    require_lambert93(sites, "sites")
    require_lambert93(features, "features")
    feats = _select(features, where)
    feats = feats[~feats.geometry.is_empty & feats.geometry.notna()]
    out = np.full(len(sites), np.nan)
    if len(feats) == 0 or len(sites) == 0:
        if len(sites):
            logger.warning("distance_to: no feature to measure to; distances are NaN")
        return pd.Series(out, index=sites.index, name="distance_m")
    idx, dist = feats.geometry.values.sindex.nearest(_geoms(sites), return_all=False, return_distance=True)
    out[np.asarray(idx[0])] = dist
    return pd.Series(out, index=sites.index, name="distance_m")


def _normalise(text: Any) -> str:
    """Upper-case ASCII without spaces (None/NaN give '')."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return ""
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", "", s).upper()


def _is_activity_destination(destdomi: Any) -> bool:
    """True when a PLU ``destdomi`` is the CNIG code 02 (activité) or its label ("activités économiques");
    not "activité agricole" (07) nor "mixte" (03). See :func:`foncier.geo.zoning.destdomi_code`."""
    return destdomi_code(destdomi) == "02"


def zoning_class(plu: gpd.GeoDataFrame) -> pd.Series:
    """Classify PLU zones into :data:`foncier.geo.zoning.ZONING_CLASSES` (see
    :func:`foncier.geo.zoning.classify_zones` for the CNIG rules)."""
    return _zoning_class(plu)


def intersection_areas(a: np.ndarray, b: np.ndarray, *, workers: int | None = None) -> np.ndarray:
    """Areas of the pairwise intersections ``a[i] & b[i]``, in up to ``workers`` threads (GEOS releases the
    GIL; default up to 4, the CPU count); the same values as ``shapely.area(shapely.intersection(a, b))``."""
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if workers <= 1 or len(a) < 20_000:
        return np.asarray(shapely.area(shapely.intersection(a, b)), dtype=float)
    bounds = np.linspace(0, len(a), workers + 1).astype(int)

    def chunk(k: int) -> np.ndarray:
        lo, hi = bounds[k], bounds[k + 1]
        return np.asarray(shapely.area(shapely.intersection(a[lo:hi], b[lo:hi])), dtype=float)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.concatenate(list(pool.map(chunk, range(workers))))


def class_areas(
    targets: gpd.GeoDataFrame | gpd.GeoSeries, polygons: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Area of each target in each class: returns ``(class_names, areas)`` with ``areas`` of shape
    ``(n_targets, n_classes)``. Polygons of a class are assumed not to overlap (a zoning plan is a partition).
    Large targets are subdivided first (:func:`subdivide`).
    """
    names, codes = np.unique(np.asarray(classes, dtype=object).astype(str), return_inverse=True)
    tgeoms, owner, tree = _targets(targets)
    areas = np.zeros((len(targets), len(names)), dtype=float)
    pi, ti = _query(tree, polygons, "intersects")
    if len(pi) == 0:
        return names, areas
    shapely.prepare(polygons)
    full = shapely.contains(polygons[pi], tgeoms[ti])
    a = np.empty(len(pi), dtype=float)
    a[full] = shapely.area(tgeoms[ti[full]])
    rest = ~full
    a[rest] = intersection_areas(tgeoms[ti[rest]], polygons[pi[rest]])  # parcels across zone edges
    np.add.at(areas, (owner[ti], codes[pi]), a)
    return names, areas


def dominant_zoning_detail(sites: gpd.GeoDataFrame, plu: gpd.GeoDataFrame) -> pd.DataFrame:
    """Dominant zoning class of each site and whether that class is presumed (read from a label only).

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        EPSG:2154.
    plu : geopandas.GeoDataFrame
        PLU zones, carte communale sectors and RNU communes (``typezone``, ``destdomi``, ``libelle``,
        optionally ``typesect``), classified by :func:`foncier.geo.zoning.classify_zones`.

    Returns
    -------
    pandas.DataFrame
        Aligned on ``sites.index``: ``zoning_class``, one of :data:`ZONING_CLASSES`,
        :math:`\\arg\\max_c |S_i \\cap Z_c|`, where the part of the site covered by no zone competes as
        "none" (nothing known there); ties go to the first class in :data:`ZONING_CLASSES` order.
        ``zoning_presumed``: 1.0 when the zones of that class covering the site were classified from their
        label only (CNIG ``destdomi`` 00/99/missing), else 0.0.
    """
    require_lambert93(sites, "sites")
    require_lambert93(plu, "plu")
    detail = classify_zones(plu)
    classes = detail["zoning_class"].to_numpy()
    # a presumed class is a class of its own for the area count, merged back after
    keyed = np.where(detail["presumed"].to_numpy(dtype=bool), classes.astype(str) + "\x00p", classes.astype(str))
    geoms = _geoms(plu)
    keep = np.isin(shapely.get_type_id(geoms), _POLYGONAL_TYPE_IDS) & ~shapely.is_empty(geoms)
    polys = _polygonal(geoms[keep], "plu")
    names, areas = class_areas(sites, polys, keyed[keep])
    total = shapely.area(_geoms(sites))
    full = np.zeros((len(sites), len(ZONING_CLASSES)), dtype=float)
    presumed_area = np.zeros((len(sites), len(ZONING_CLASSES)), dtype=float)
    for j, name in enumerate(names):
        base, _, flag = str(name).partition("\x00")
        full[:, ZONING_CLASSES.index(base)] += areas[:, j]
        if flag:
            presumed_area[:, ZONING_CLASSES.index(base)] += areas[:, j]
    none_col = ZONING_CLASSES.index("none")
    full[:, none_col] += np.maximum(total - areas.sum(axis=1), 0.0)
    best = np.argmax(full, axis=1)
    rows = np.arange(len(sites))
    presumed = (presumed_area[rows, best] > 0.5 * full[rows, best]).astype(float)
    return pd.DataFrame(
        {
            "zoning_class": np.asarray(ZONING_CLASSES, dtype=object)[best],
            "zoning_presumed": presumed,
        },
        index=sites.index,
    )


def dominant_zoning(sites: gpd.GeoDataFrame, plu: gpd.GeoDataFrame) -> pd.Series:
    """Dominant zoning class of each site, by largest intersection area (see :func:`dominant_zoning_detail`).

    Returns
    -------
    pandas.Series
        One of :data:`ZONING_CLASSES` per site: :math:`\\arg\\max_c |S_i \\cap Z_c|`, the part of the site
        covered by no zone competing as "none".
    """
    return dominant_zoning_detail(sites, plu)["zoning_class"].rename("zoning_class")


def dominant_value(
    targets: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, column: str, *, min_share: float = 0.0
) -> pd.Series:
    r"""Value of ``column`` of the polygons covering the largest part of each target.

    .. math:: d_t = \operatorname{argmax}_k \; \lvert t \cap \bigcup_{p:\,c_p = k} p \rvert

    Parameters
    ----------
    targets : geopandas.GeoDataFrame
        Polygons (e.g. parcels), EPSG:2154.
    polygons : geopandas.GeoDataFrame
        A partition (e.g. the PLU zoning), EPSG:2154, with ``column``.
    column : str
        Attribute whose dominant value is wanted (e.g. ``typezone``).
    min_share : float, default 0
        Below this share of the target's area covered by the dominant value, the answer is missing.

    Returns
    -------
    pandas.Series
        Aligned on ``targets.index``; missing (None) where no polygon covers the target.
    """
    require_lambert93(targets, "targets")
    require_lambert93(polygons, "polygons")
    out = pd.Series([None] * len(targets), index=targets.index, dtype=object, name=column)
    if len(targets) == 0 or len(polygons) == 0:
        return out
    valid = polygons[column].notna().to_numpy()
    names, areas = class_areas(targets, _geoms(polygons)[valid], polygons[column].to_numpy()[valid])
    if len(names) == 0:
        return out
    best = areas.argmax(axis=1)
    best_area = areas[np.arange(len(targets)), best]
    total = shapely.area(_geoms(targets))
    share = np.divide(best_area, total, out=np.zeros_like(best_area), where=total > 0)
    keep = (best_area > 0) & (share >= min_share)
    values = np.asarray(names, dtype=object)[best]
    out[keep] = values[keep]
    return out

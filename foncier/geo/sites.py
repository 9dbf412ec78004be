"""Candidate sites: which parcels are available, and how contiguous available parcels group into sites.

A site is a group of contiguous available parcels (touching, or closer than a small gap such as a lane),
large enough for an industrial plant; its id is stable for the same parcels (DESIGN.md, "Candidate sites").
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from foncier.geo.availability import DEFAULT_BUILT_THRESHOLD, ECONOMIC_ZONING, parcel_availability
from foncier.geo.crs import LAMBERT93
from foncier.geo.overlay import _geoms, require_lambert93

logger = logging.getLogger(__name__)

SITE_COLUMNS = ("site_id", "area_m2", "n_parcels", "min_lot_m2", "max_lot_m2", "communes", "parcel_ids")
"""Attribute columns of the ``sites`` layer (docs/CONTRACTS.md), besides ``geometry``."""

__all__ = [
    "ECONOMIC_ZONING",
    "LINEAGE_COLUMNS",
    "SITE_COLUMNS",
    "apply_site_ids",
    "available_parcels",
    "candidate_sites",
    "parcel_groups",
    "site_flags",
    "site_id",
    "smallest_site_area",
    "stable_site_ids",
]


def site_id(parcel_ids: Collection[str]) -> str:
    """Stable site id: ``"S"`` + the first 10 hex digits of the SHA-1 of the sorted parcel ids joined by ",".

    >>> site_id(["022580000A0100", "022580000A0099"])
    'S9ca3d1e145'
    """
    joined = ",".join(sorted(str(p) for p in parcel_ids))
    return "S" + hashlib.sha1(joined.encode("utf-8")).hexdigest()[:10]


def available_parcels(
    parcels: gpd.GeoDataFrame,
    plu: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    friches: gpd.GeoDataFrame | None = None,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    terrains: gpd.GeoDataFrame | None = None,
    built_threshold: float = DEFAULT_BUILT_THRESHOLD,
    zone_share: float = 0.5,
) -> pd.Series:
    """Which parcels are candidates for industry: those whose availability state is ``available``.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Canonical parcels (EPSG:2154); an optional ``status`` column holds land officers' statuses.
    plu, zones, friches, buildings, terrains : geopandas.GeoDataFrame, optional
        PLU zoning, zones d'activite, brownfields, cadastre buildings and CNIG TERRAIN-ECO terrains; a missing
        layer simply contributes nothing.
    built_threshold : float, default 0.10
        Built share above which a parcel (not a brownfield) is ``built``.
    zone_share : float, default 0.5
        Minimum share of the parcel inside zones d'activite (strictly more than this).

    Returns
    -------
    pandas.Series of bool
        Aligned on ``parcels.index``: the ``candidate`` column of
        :func:`foncier.geo.availability.parcel_availability` (the rules and their order are there). In short:
        declared available by an officer, or offered for sale unoccupied by the inventory, or a brownfield
        (built or not; not reconverted nor with a project), or free land (built share at most the threshold)
        in economic zoning or mostly in a zone d'activite; never under option, sold, not for sale, occupied.
    """
    table = parcel_availability(
        parcels,
        buildings=buildings,
        plu=plu,
        zones=zones,
        friches=friches,
        terrains=terrains,
        built_threshold=built_threshold,
        zone_share=zone_share,
    )
    return table["candidate"].astype(bool).rename("available")


def _empty_sites() -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    sites = gpd.GeoDataFrame(
        {
            "site_id": pd.Series([], dtype=object),
            "area_m2": pd.Series([], dtype=float),
            "n_parcels": pd.Series([], dtype=np.int64),
            "min_lot_m2": pd.Series([], dtype=float),
            "max_lot_m2": pd.Series([], dtype=float),
            "communes": pd.Series([], dtype=object),
            "parcel_ids": pd.Series([], dtype=object),
        },
        geometry=gpd.GeoSeries([], crs=LAMBERT93),
        crs=LAMBERT93,
    )
    return sites, pd.DataFrame({"site_id": pd.Series([], dtype=object), "parcel_id": pd.Series([], dtype=object)})


def _contiguity(geoms: np.ndarray, gap_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group labels, and the ``(a, b)`` index pairs (``a < b``) of contiguous geometries."""
    n = len(geoms)
    if n == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, empty
    tree = shapely.STRtree(geoms)
    if gap_m > 0:
        a, b = tree.query(geoms, predicate="dwithin", distance=gap_m)
    else:
        a, b = tree.query(geoms, predicate="intersects")
    adjacency = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    upper = a < b
    return np.asarray(labels, dtype=np.int64), np.asarray(a[upper]), np.asarray(b[upper])


def parcel_groups(geoms: np.ndarray, *, gap_m: float = 5.0) -> np.ndarray:
    """Label of the contiguous group of each geometry (touching, overlapping, or within ``gap_m`` metres).

    Pairs come from one STRtree query (``dwithin`` predicate: exact distance <= ``gap_m``, equivalent to
    buffering each parcel by ``gap_m / 2`` and testing overlap, without building the buffers); groups are
    the connected components of the pair graph.
    """
    return _contiguity(np.asarray(geoms, dtype=object), gap_m)[0]


def _bridges(geoms: np.ndarray, a: np.ndarray, b: np.ndarray, gap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Polygons filling the gaps (lanes, ditches, digitising slivers) between contiguous parcels that do
    not touch, and the index of the first parcel of each pair.

    For parcels :math:`A, B` apart by at most :math:`g`, the fill is
    :math:`(A \\oplus g) \\cap (B \\oplus g) \\cap \\operatorname{hull}(A \\cup B)`: the land within
    :math:`g` of both parcels, kept between them (mitred buffers; vectorised over all pairs at once).
    """
    ga, gb = geoms[a], geoms[b]
    apart = ~shapely.intersects(ga, gb)
    if not apart.any():
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    ga, gb = ga[apart], gb[apart]
    near = shapely.intersection(
        shapely.buffer(ga, gap_m, join_style="mitre"), shapely.buffer(gb, gap_m, join_style="mitre")
    )
    fill = shapely.intersection(near, shapely.convex_hull(shapely.union(ga, gb)))
    return np.asarray(fill, dtype=object), a[apart]


def _dissolve(geoms: np.ndarray, fills: np.ndarray) -> tuple[shapely.Geometry, float]:
    """Union of a group's parcels (its area is the site area) and the same with the gap fills added."""
    union = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    area = float(shapely.area(union))
    if len(fills):
        return shapely.union_all(np.concatenate([[union], fills])), area
    return union, area


def candidate_sites(
    parcels: gpd.GeoDataFrame,
    *,
    gap_m: float = 5.0,
    min_area_m2: float = 10_000.0,
    id_column: str = "parcel_id",
    commune_column: str = "commune",
    workers: int | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Group contiguous parcels into candidate sites.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        The parcels to group (usually the available ones), EPSG:2154, with unique ``id_column``.
    gap_m : float, default 5.0
        Parcels closer than this (metres) are contiguous (a lane or a ditch does not split a site).
    min_area_m2 : float, default 10000
        Keep sites of at least this area.
    id_column, commune_column : str
        Parcel id and INSEE commune columns (the commune defaults to the first 5 characters of the id).
    workers : int, optional
        Threads used to dissolve the groups (default: up to 4, the CPU count); 1 runs sequentially.

    Returns
    -------
    sites : geopandas.GeoDataFrame
        The ``sites`` layer of docs/CONTRACTS.md, sorted by ``site_id``: ``site_id`` ("S" + 10 hex digits of
        the SHA-1 of the sorted parcel ids joined by ","), ``area_m2``, ``n_parcels``, ``min_lot_m2``,
        ``max_lot_m2``, ``communes`` and ``parcel_ids`` (comma-joined, sorted), ``geometry``.
    site_parcels : pandas.DataFrame
        ``site_id``, ``parcel_id``: one row per parcel of a kept site.

    Notes
    -----
    - Contiguity: :func:`parcel_groups` (STRtree ``dwithin`` pairs + connected components).
    - Geometry: the union of the parcels plus the fills of the gaps between contiguous parcels that do not
      touch (:func:`_bridges`: the land within ``gap_m`` of both, inside their convex hull), so lanes and
      slivers narrower than ``gap_m`` are closed, like a morphological closing but computed pair by pair on
      simple parcels (a closing of a large union by buffers is several times slower); it always covers every
      parcel it lists.
    - ``area_m2`` is the area of the union of the *parcels* (the land one can buy; overlaps between
      cadastral sheets counted once), not of the closed outline, which also holds the lanes;
      ``min_lot_m2``/``max_lot_m2`` are the smallest and largest parcel areas (geometry, m2).
    - Groups whose summed parcel area is below ``min_area_m2`` are dropped before any union (the sum bounds
      the union area from above), so the cost is driven by the kept sites only.
    """
    require_lambert93(parcels, "parcels")
    if gap_m < 0:
        raise ValueError("gap_m must be >= 0")
    if id_column not in parcels:
        raise ValueError(f"parcels have no '{id_column}' column")
    geoms_all = _geoms(parcels)
    usable = np.isin(shapely.get_type_id(geoms_all), (3, 6)) & ~shapely.is_empty(geoms_all)
    if not usable.all():
        logger.warning("candidate_sites: %d empty or non-polygonal parcels ignored", int((~usable).sum()))
    ids_all = parcels[id_column].astype(str).to_numpy(dtype=object)
    geoms, ids = geoms_all[usable], ids_all[usable]
    if len(geoms) == 0:
        return _empty_sites()
    if len(np.unique(ids)) != len(ids):
        dup = pd.Series(ids).loc[pd.Series(ids).duplicated()].unique()[:5]
        raise ValueError(f"duplicate parcel ids: {', '.join(map(str, dup))}")
    if commune_column in parcels:
        communes = parcels[commune_column].astype(str).to_numpy(dtype=object)[usable]
    else:
        communes = np.array([i[:5] for i in ids], dtype=object)

    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    labels, pa, pb = _contiguity(geoms, gap_m)
    areas = shapely.area(geoms)
    group_sum = np.bincount(labels, weights=areas)
    keep_group = group_sum >= min_area_m2
    sel = np.flatnonzero(keep_group[labels])
    if len(sel) == 0:
        return _empty_sites()
    order = sel[np.lexsort((ids[sel].astype(str), labels[sel]))]
    lab = labels[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ends = np.r_[starts[1:], len(order)]
    a_sorted = areas[order]
    min_lot = np.minimum.reduceat(a_sorted, starts)
    max_lot = np.maximum.reduceat(a_sorted, starts)

    groups = [order[s:e] for s, e in zip(starts, ends, strict=True)]
    fills_of: list[np.ndarray] = [np.array([], dtype=object)] * len(groups)
    if gap_m > 0:
        kept_pair = keep_group[labels[pa]]
        fills, first = _bridges(geoms, pa[kept_pair], pb[kept_pair], gap_m)
        if len(fills):
            group_pos = np.searchsorted(lab[starts], labels[first])
            by_group = np.argsort(group_pos, kind="stable")
            bounds = np.searchsorted(group_pos[by_group], np.arange(len(groups) + 1))
            fills_of = [fills[by_group[bounds[k] : bounds[k + 1]]] for k in range(len(groups))]
    geoms_of = [geoms[g] for g in groups]
    if workers > 1 and len(groups) > 1:
        # shapely releases the GIL in GEOS calls: the unions run in parallel threads
        with ThreadPoolExecutor(max_workers=workers) as pool:
            dissolved = list(pool.map(_dissolve, geoms_of, fills_of, chunksize=16))
    else:
        dissolved = [_dissolve(g, f) for g, f in zip(geoms_of, fills_of, strict=True)]

    rows: list[tuple[str, float, int, float, float, str, str]] = []
    out_geoms: list[shapely.Geometry] = []
    pairs_site: list[np.ndarray] = []
    pairs_parcel: list[np.ndarray] = []
    for members, (geom, area), lo, hi in zip(groups, dissolved, min_lot, max_lot, strict=True):
        if area < min_area_m2:
            continue
        pid = ids[members]  # sorted
        sid = site_id(pid)
        rows.append(
            (
                sid,
                area,
                len(members),
                float(lo),
                float(hi),
                ",".join(sorted(set(communes[members]))),
                ",".join(pid),
            )
        )
        out_geoms.append(geom)
        pairs_site.append(np.full(len(pid), sid, dtype=object))
        pairs_parcel.append(pid)
    if not rows:
        return _empty_sites()
    table = pd.DataFrame.from_records(rows, columns=list(SITE_COLUMNS))
    sites = gpd.GeoDataFrame(table, geometry=out_geoms, crs=LAMBERT93)
    sites["n_parcels"] = sites["n_parcels"].astype(np.int64)
    sites = sites.sort_values("site_id", kind="stable").reset_index(drop=True)
    site_parcels = (
        pd.DataFrame({"site_id": np.concatenate(pairs_site), "parcel_id": np.concatenate(pairs_parcel)})
        .sort_values(["site_id", "parcel_id"], kind="stable")
        .reset_index(drop=True)
    )
    if sites["site_id"].duplicated().any():  # pragma: no cover - a SHA-1 prefix collision
        raise ValueError("site id collision; two different parcel groups share a site_id")
    logger.info(
        "candidate sites: %d sites >= %.0f m2 from %d parcels (%d groups)",
        len(sites),
        min_area_m2,
        len(geoms),
        int(labels.max()) + 1,
    )
    return sites, site_parcels


DEFAULT_MIN_SITE_AREA_M2 = 10_000.0
"""Smallest candidate site when no profile says otherwise (1 ha)."""


def smallest_site_area(min_areas: Collection[float], *, default: float = DEFAULT_MIN_SITE_AREA_M2) -> float:
    """The smallest ``min_site_area_m2`` of the profiles in use (those setting one, > 0), else ``default``:
    candidate sites are built down to it so that every profile finds the sites it wants (eco-construction
    wants 0.5 ha)."""
    positive = [float(a) for a in min_areas if a and float(a) > 0]
    return min(positive) if positive else default


def site_flags(site_parcels: pd.DataFrame, availability: pd.DataFrame) -> pd.Series:
    """The availability flags of each site: the union of its parcels' flags (``demolition_reconversion``,
    ``pollution``...), ";"-joined and sorted, "" when none; indexed by ``site_id``."""
    if site_parcels.empty:
        return pd.Series([], dtype=object, name="flags")
    flags = availability.set_index("parcel_id")["flags"].astype("string").fillna("")
    joined = site_parcels.assign(flags=site_parcels["parcel_id"].map(flags).fillna(""))
    return (
        joined.groupby("site_id")["flags"]
        .agg(lambda fs: ";".join(sorted({f for s in fs for f in str(s).split(";") if f})))
        .rename("flags")
    )


LINEAGE_COLUMNS = ("old_site_id", "new_site_id", "relation", "shared_share", "recorded")


def stable_site_ids(
    site_parcels: pd.DataFrame,
    parcel_area: pd.Series,
    previous: pd.DataFrame | None,
    *,
    previous_area: pd.Series | None = None,
    keep_share: float = 0.5,
    recorded: str = "",
) -> tuple[dict[str, str], pd.DataFrame]:
    """Keep a site's id when most of its land is the same as before, and record the lineage.

    Parameters
    ----------
    site_parcels : pandas.DataFrame
        ``site_id``, ``parcel_id`` of the new sites (ids from :func:`site_id`).
    parcel_area : pandas.Series
        Area (m2) of every current parcel, indexed by parcel id.
    previous : pandas.DataFrame or None
        ``site_id``, ``parcel_id`` of the sites stored before (None or empty: first run).
    previous_area : pandas.Series, optional
        Area of each previous site (by id); default the current area of its parcels.
    keep_share : float, default 0.5
        A new site keeps an old id when the land they share (area of the parcels in both) is more than this
        share of the old site's land and of the new site's land; each old id goes to at most one new site
        (the one sharing most).

    Returns
    -------
    renames : dict
        New hash id -> id to use (only the sites that keep an older id).
    lineage : pandas.DataFrame
        :data:`LINEAGE_COLUMNS`, one row per old site that changed: ``relation`` is ``kept`` (same id, some
        parcels lost or gained), ``split``/``merged``/``replaced`` (its land went to other sites) or ``gone``
        (none of its land is in a site any more); ``shared_share`` is the share of the old site's land in
        ``new_site_id``.
    """
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in LINEAGE_COLUMNS})
    if previous is None or previous.empty or site_parcels.empty:
        return {}, empty
    prev = previous[["site_id", "parcel_id"]].astype(str)
    new = site_parcels[["site_id", "parcel_id"]].astype(str)
    area = parcel_area.astype(float)
    old_land = previous_area.astype(float) if previous_area is not None else None
    if old_land is None:
        old_land = prev.assign(a=prev["parcel_id"].map(area).fillna(0.0)).groupby("site_id")["a"].sum()
    new_land = new.assign(a=new["parcel_id"].map(area).fillna(0.0)).groupby("site_id")["a"].sum()
    pairs = prev.merge(new, on="parcel_id", suffixes=("_old", "_new"))
    pairs["a"] = pairs["parcel_id"].map(area).fillna(0.0)
    shared = pairs.groupby(["site_id_old", "site_id_new"])["a"].sum().reset_index()
    shared["of_old"] = shared["a"] / shared["site_id_old"].map(old_land).replace(0, np.nan)
    shared["of_new"] = shared["a"] / shared["site_id_new"].map(new_land).replace(0, np.nan)
    renames: dict[str, str] = {}
    taken_new: set[str] = set()
    for row in shared.sort_values(["a", "site_id_old"], ascending=[False, True]).itertuples(index=False):
        if row.site_id_old == row.site_id_new or row.site_id_new in taken_new:
            continue
        if row.of_old > keep_share and row.of_new > keep_share and row.site_id_old not in renames.values():
            if row.site_id_old in set(new["site_id"]):  # the old id is the exact id of another new site
                continue
            renames[str(row.site_id_new)] = str(row.site_id_old)
            taken_new.add(str(row.site_id_new))
    final = shared.assign(site_id_final=shared["site_id_new"].map(lambda s: renames.get(s, s)))
    rows = []
    same = set(prev["site_id"]) & set(new["site_id"])
    for old_id in sorted(set(prev["site_id"]) - same):
        mine = final[final["site_id_old"] == old_id]
        if mine.empty:
            rows.append((old_id, "", "gone", 0.0, recorded))
            continue
        kept = mine[mine["site_id_final"] == old_id]
        if len(kept):
            rows.append((old_id, old_id, "kept", round(float(kept["of_old"].iloc[0]), 4), recorded))
            continue
        relation = "split" if len(mine) > 1 else "replaced"
        for r in mine.itertuples(index=False):
            merged = final[final["site_id_final"] == r.site_id_final]["site_id_old"].nunique() > 1
            rel = "merged" if merged and relation != "split" else relation
            rows.append((old_id, str(r.site_id_final), rel, round(float(r.of_old), 4), recorded))
    lineage = pd.DataFrame(rows, columns=list(LINEAGE_COLUMNS)) if rows else empty
    return renames, lineage


def apply_site_ids(
    sites: gpd.GeoDataFrame, site_parcels: pd.DataFrame, renames: dict[str, str]
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Rename sites (``renames``: hash id -> kept id) in the sites layer and its site-parcel links."""
    if not renames:
        return sites, site_parcels
    sites = sites.copy()
    sites["site_id"] = sites["site_id"].map(lambda s: renames.get(s, s))
    site_parcels = site_parcels.copy()
    site_parcels["site_id"] = site_parcels["site_id"].map(lambda s: renames.get(s, s))
    sites = sites.sort_values("site_id", kind="stable").reset_index(drop=True)
    site_parcels = site_parcels.sort_values(["site_id", "parcel_id"], kind="stable").reset_index(drop=True)
    return sites, site_parcels

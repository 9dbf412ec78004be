"""Road network: a routable graph of travel times, shortest paths, times to hubs and isochrones.

The graph is compiled once from the canonical ``roads`` layer into a :class:`scipy.sparse.csr_matrix` of
travel times in minutes, and every query is one call of :func:`scipy.sparse.csgraph.dijkstra`:

- nodes are the end vertices of every line and the interior vertices shared by two lines or more
  (OpenStreetMap junctions), after snapping vertices of different lines closer than ``snap_tolerance``;
- an edge is the piece of a line between two consecutive nodes; its weight is the travel time
  ``t = L / (v * 1000 / 60)`` minutes for a length ``L`` in metres at ``v`` km/h;
- one-way lines only get the edge in their digitised direction.

Points off the network (sites, hubs, commune centres) are snapped to the nearest node of the main (largest
strongly connected) component and pay an *access leg*: the straight-line distance to that node at
``access_speed_kmh`` (30 km/h by default: driveways, farm tracks and the last lanes missing from the data).

Everything here is pure: no file or network I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from foncier.geo.overlay import require_lambert93
from foncier.geo.speeds import SpeedModel, Vehicle

logger = logging.getLogger(__name__)

DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 110.0,
    "trunk": 90.0,
    "primary": 80.0,
    "secondary": 70.0,
    "tertiary": 60.0,
    "unclassified": 50.0,
    "residential": 30.0,
    "service": 20.0,
    "motorway_link": 60.0,
    "trunk_link": 50.0,
    "primary_link": 50.0,
    "secondary_link": 40.0,
    "tertiary_link": 40.0,
    "track": 15.0,
    "living_street": 15.0,
}
"""Fallback speeds (km/h) by road class, used when a road has no valid ``speed_kmh``."""

LIMITED_ACCESS = frozenset({"motorway", "trunk"})
"""Road classes one cannot leave between two junctions (motorways, expressways)."""

FALLBACK_SPEED_KMH = 30.0
"""Speed used for a road whose class is unknown and which has no valid ``speed_kmh``."""

ACCESS_SPEED_KMH = 30.0
"""Default speed of the straight-line access leg between a point and its nearest graph node."""

_MIN_WEIGHT = 1e-9  # minutes; keeps explicit zero-length edges routable
_LARGE_SNAP_M = 2_000.0  # a warning is logged when a point is further than this from the network


def _m_per_min(speed_kmh: float) -> float:
    """Metres travelled in one minute at ``speed_kmh``."""
    if not np.isfinite(speed_kmh) or speed_kmh <= 0:
        raise ValueError(f"speed must be a positive number of km/h, got {speed_kmh!r}")
    return float(speed_kmh) * 1000.0 / 60.0


@dataclass
class RoadSegments:
    """The pieces of road lines between two consecutive nodes (undirected, before parallel edges merge).

    Attributes
    ----------
    u, v : numpy.ndarray
        Node indices at the start and end of each piece (in digitising order).
    minutes : numpy.ndarray
        Travel time along the piece.
    oneway : numpy.ndarray
        True when the piece can only be driven from ``u`` to ``v``.
    access : numpy.ndarray
        False for limited-access roads (classes in :data:`LIMITED_ACCESS`): one can only get on or off at
        their nodes (interchanges), not along them.
    coords : numpy.ndarray
        ``(m, 2)`` vertex coordinates of all the road lines.
    start, stop : numpy.ndarray
        Each piece is ``coords[start:stop + 1]``.
    """

    u: np.ndarray
    v: np.ndarray
    minutes: np.ndarray
    oneway: np.ndarray
    access: np.ndarray
    coords: np.ndarray
    start: np.ndarray
    stop: np.ndarray

    def geometries(self) -> np.ndarray:
        """The pieces as shapely LineStrings (built on demand, vectorised)."""
        count = self.stop - self.start + 1
        piece = np.repeat(np.arange(len(count)), count)
        rank = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        vertex = np.repeat(self.start, count) + rank
        return np.asarray(shapely.linestrings(self.coords[vertex], indices=piece), dtype=object)


@dataclass
class RoadGraph:
    """A directed road graph weighted by travel time.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        ``(n, n)`` travel times in minutes; ``matrix[i, j]`` is the time of the edge ``i -> j``.
    xy : numpy.ndarray
        ``(n, 2)`` node coordinates in EPSG:2154 metres.
    edge_u, edge_v : numpy.ndarray
        Endpoints (node indices) of every directed edge (the rows of ``matrix``).
    edge_minutes, edge_length_m : numpy.ndarray
        Travel time and length of every directed edge.
    main : numpy.ndarray
        Boolean mask of the nodes in the largest strongly connected component; points are snapped there so
        that every snapped point can reach, and be reached from, every other one.
    segments : RoadSegments or None
        The line pieces between nodes with their shape (for isochrones and maps).
    crs : str
        Always ``"EPSG:2154"``.
    """

    matrix: csr_matrix
    xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_minutes: np.ndarray
    edge_length_m: np.ndarray
    main: np.ndarray
    segments: RoadSegments | None = None
    crs: str = "EPSG:2154"
    vehicle: str | None = None
    _transposed: csr_matrix | None = field(default=None, init=False, repr=False)
    _tree_main: cKDTree | None = field(default=None, init=False, repr=False)
    _tree_all: cKDTree | None = field(default=None, init=False, repr=False)
    _main_idx: np.ndarray | None = field(default=None, init=False, repr=False)
    _lengths: csr_matrix | None = field(default=None, init=False, repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.xy.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return int(self.edge_u.shape[0])

    @property
    def lengths(self) -> csr_matrix:
        """``(n, n)`` lengths (metres) of the edges of :attr:`matrix`, same sparsity."""
        if self._lengths is None:
            n = self.n_nodes
            self._lengths = csr_matrix((self.edge_length_m, (self.edge_u, self.edge_v)), shape=(n, n))
        return self._lengths

    @property
    def transposed(self) -> csr_matrix:
        """The reversed graph (``T[j, i] = matrix[i, j]``), compiled once, for times *to* a target."""
        if self._transposed is None:
            self._transposed = self.matrix.T.tocsr()
        return self._transposed

    def snap(self, xy: np.ndarray, *, main_component: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Snap points to their nearest node.

        Parameters
        ----------
        xy : numpy.ndarray
            ``(k, 2)`` coordinates in EPSG:2154.
        main_component : bool, default True
            Only snap to nodes of the largest strongly connected component.

        Returns
        -------
        nodes : numpy.ndarray of int
            Index of the nearest node of each point.
        distance_m : numpy.ndarray of float
            Straight-line distance from each point to its node.
        """
        pts = np.asarray(xy, dtype=float).reshape(-1, 2)
        if main_component:
            if self._tree_main is None:
                self._main_idx = np.flatnonzero(self.main)
                self._tree_main = cKDTree(self.xy[self._main_idx])
            dist, local = self._tree_main.query(pts)
            assert self._main_idx is not None
            nodes = self._main_idx[np.asarray(local, dtype=np.int64)]
        else:
            if self._tree_all is None:
                self._tree_all = cKDTree(self.xy)
            dist, nodes = self._tree_all.query(pts)
        dist = np.asarray(dist, dtype=float)
        far = int(np.count_nonzero(dist > _LARGE_SNAP_M))
        if far:
            logger.warning(
                "%d point(s) lie more than %.0f m from the road network (max %.0f m); "
                "their access leg dominates the travel time",
                far,
                _LARGE_SNAP_M,
                float(dist.max()),
            )
        return np.asarray(nodes, dtype=np.int64), dist


def _road_speeds(roads: gpd.GeoDataFrame, speeds: Mapping[str, float] | None) -> np.ndarray:
    """Speed (km/h) of every road row.

    Precedence: ``speeds[class]`` when the caller gives a mapping naming the class (a scenario), else the
    row's own ``speed_kmh`` when positive, else :data:`DEFAULT_SPEEDS_KMH` for the class, else
    :data:`FALLBACK_SPEED_KMH`.
    """
    n = len(roads)
    classes = roads["class"].astype("object").to_numpy() if "class" in roads else np.full(n, None, dtype=object)
    default = np.array([DEFAULT_SPEEDS_KMH.get(str(c), FALLBACK_SPEED_KMH) for c in classes], dtype=float)
    if "speed_kmh" in roads:
        own = pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(dtype=float)
        out = np.where(np.isfinite(own) & (own > 0), own, default)
    else:
        out = default
    if speeds:
        override = np.array([speeds.get(str(c), np.nan) for c in classes], dtype=float)
        bad = [k for k, v in speeds.items() if not (np.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"speeds must be positive km/h; bad classes: {', '.join(map(str, bad))}")
        out = np.where(np.isfinite(override), override, out)
    return out


def _oneway(roads: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean one-way flag of every road row (missing = two-way)."""
    if "oneway" not in roads:
        return np.zeros(len(roads), dtype=bool)
    col = roads["oneway"]
    if col.dtype == bool:
        return np.asarray(col.to_numpy(dtype=bool), dtype=bool)
    values = col.astype("object").to_numpy()
    truthy = {True, "1", "true", "True", "yes", "TRUE", "Y", "y", "O", "oui"}
    return np.array([(v in truthy) if v is not None and v == v else False for v in values], dtype=bool)


def _cluster_vertices(coords: np.ndarray, vpart: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge identical vertices, then vertices of different lines closer than ``tol``.

    Returns the cluster label of every vertex and the ``(k, 2)`` coordinates of the clusters.
    """
    q = np.round(coords * 1000.0).astype(np.int64)  # exact dedup at the millimetre
    qmin = q.min(axis=0)
    span = q.max(axis=0) - qmin + 1
    if float(span[0]) * float(span[1]) < 2.0**62:
        key = (q[:, 0] - qmin[0]) * span[1] + (q[:, 1] - qmin[1])
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:  # pragma: no cover - continental extents only
        _, first, inverse = np.unique(q, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    pts = coords[first]
    n_unique = pts.shape[0]
    if tol <= 0 or n_unique < 2:
        return inverse, pts
    pairs = cKDTree(pts).query_pairs(tol, output_type="ndarray")
    if len(pairs):
        # vertices of the same line are never merged (dense digitising must not collapse edges)
        owner = vpart[first]
        pairs = pairs[owner[pairs[:, 0]] != owner[pairs[:, 1]]]
    if not len(pairs):
        return inverse, pts
    adjacency = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n_unique, n_unique))
    n_clusters, labels = connected_components(adjacency, directed=False)
    counts = np.bincount(labels, minlength=n_clusters).astype(float)
    cx = np.bincount(labels, weights=pts[:, 0], minlength=n_clusters) / counts
    cy = np.bincount(labels, weights=pts[:, 1], minlength=n_clusters) / counts
    logger.debug("snapping merged %d vertex pairs closer than %.2f m", len(pairs), tol)
    return labels[inverse], np.column_stack([cx, cy])


def build_road_graph(
    roads: gpd.GeoDataFrame,
    *,
    speeds: Mapping[str, float] | None = None,
    snap_tolerance: float = 1.0,
    vehicle: Vehicle | None = None,
    speed_model: SpeedModel | None = None,
    built_up: Any = None,
) -> RoadGraph:
    """Compile the roads layer into a routable travel-time graph.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Canonical roads layer (EPSG:2154): LineString/MultiLineString geometries and the columns
        ``class``, ``speed_kmh`` and ``oneway`` (missing columns fall back to class speeds and two-way).
    speeds : mapping of str to float, optional
        Speeds (km/h) by road class that *override* the layer's ``speed_kmh`` (e.g. a heavy-goods scenario).
    snap_tolerance : float, default 1.0
        Vertices of different lines closer than this (metres) are merged into one node (digitising gaps).
    vehicle : {"car", "hgv"}, optional
        When given, edge times come from the calibrated :class:`~foncier.geo.speeds.SpeedModel` for this
        vehicle (free-flow factor, town speeds, junction penalties) instead of the raw speeds; ``speeds`` must
        then be None.
    speed_model : SpeedModel, optional
        The calibration (default :data:`foncier.geo.speeds.DEFAULT_SPEED_MODEL`); only with ``vehicle``.
    built_up : GeoSeries, GeoDataFrame or shapely geometry, optional
        Built-up areas (:func:`foncier.geo.speeds.built_up_areas`): road pieces whose middle lies inside are
        urban, and so are the junctions inside. A boolean ``urban`` column of ``roads`` takes precedence.

    Returns
    -------
    RoadGraph

    Notes
    -----
    Nodes are line end vertices plus interior vertices shared by two lines or more; an edge joins two
    consecutive nodes along a line with the weight

    .. math:: t_{uv} = \\frac{L_{uv}}{v \\cdot 1000 / 60} \\quad \\text{(minutes)}

    where :math:`L_{uv}` is the length of the line between the two nodes (metres) and :math:`v` its speed
    (km/h). Two-way lines give both directions; one-way lines only the digitised direction. Parallel edges
    keep the fastest. Everything is vectorised (no per-edge Python loop).

    With a ``vehicle``, :math:`v` is the calibrated speed of :meth:`SpeedModel.edge_speeds` and every edge
    :math:`u \\to v` of an ordinary (not limited-access) road that ends at a junction :math:`v` (three
    distinct neighbours or more) also pays the junction delay :math:`p_v` (urban or rural):
    :math:`t_{uv} = L_{uv} / v + p_v`.

    Raises
    ------
    foncier.errors.CRSError
        When ``roads`` is not in EPSG:2154.
    ValueError
        When there is no usable line.
    """
    require_lambert93(roads, "roads")
    if snap_tolerance < 0:
        raise ValueError("snap_tolerance must be >= 0")
    geoms = np.asarray(roads.geometry.values, dtype=object)
    parts, part_row = shapely.get_parts(geoms, return_index=True)
    linear = np.isin(shapely.get_type_id(parts), (1, 2))  # LineString, LinearRing
    usable = linear & ~shapely.is_empty(parts) & (shapely.get_num_coordinates(parts) >= 2)
    if not usable.all():
        logger.warning("roads: ignored %d non-linear or degenerate part(s)", int((~usable).sum()))
    parts, part_row = parts[usable], part_row[usable]
    if len(parts) == 0:
        raise ValueError("roads layer has no usable line geometry")

    coords, vpart = shapely.get_coordinates(parts, return_index=True)
    coords = np.asarray(coords, dtype=float)
    nv = coords.shape[0]
    vc, cluster_xy = _cluster_vertices(coords, vpart, snap_tolerance)
    n_clusters = cluster_xy.shape[0]
    n_parts = len(parts)

    same_next = vpart[1:] == vpart[:-1]
    is_end = np.ones(nv, dtype=bool)
    is_end[1:-1] = ~same_next[1:] | ~same_next[:-1]  # first or last vertex of its part
    # interior vertices shared between different parts are nodes
    pair_key = np.unique(vc.astype(np.int64) * n_parts + vpart)
    parts_per_cluster = np.bincount(pair_key // n_parts, minlength=n_clusters)
    is_node = is_end | (parts_per_cluster[vc] >= 2)

    seg = np.zeros(nv, dtype=float)
    seg[1:] = np.where(same_next, np.hypot(*(coords[1:] - coords[:-1]).T), 0.0)
    cum = np.cumsum(seg)

    nidx = np.flatnonzero(is_node)
    a, b = nidx[:-1], nidx[1:]
    within = vpart[a] == vpart[b]
    a, b = a[within], b[within]
    u, v = vc[a], vc[b]
    length = cum[b] - cum[a]
    row = part_row[vpart[a]]

    model: SpeedModel | None = None
    piece_urban = np.zeros(len(row), dtype=bool)
    if vehicle is not None:
        if speeds:
            raise ValueError("give either speeds (raw class speeds) or a vehicle (calibrated speeds), not both")
        from foncier.geo.speeds import DEFAULT_SPEED_MODEL

        model = speed_model or DEFAULT_SPEED_MODEL
        piece_urban = _urban_pieces(roads, row, coords, a, b, cum, built_up)
        classes = roads["class"].astype(str).to_numpy() if "class" in roads else np.full(len(roads), "unknown")
        limits = (
            pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(dtype=float)
            if "speed_kmh" in roads
            else np.full(len(roads), np.nan)
        )
        speed = model.edge_speeds(classes[row], limits[row], piece_urban, vehicle)
    else:
        speed = _road_speeds(roads, speeds)[row]
    minutes = length / (speed * 1000.0 / 60.0)
    oneway = _oneway(roads)[row]
    if "class" in roads:
        access = ~roads["class"].astype(str).isin(LIMITED_ACCESS).to_numpy(dtype=bool)[row]
    else:
        access = np.ones(len(row), dtype=bool)
    piece = u != v
    pieces = (
        u[piece],
        v[piece],
        np.maximum(minutes[piece], _MIN_WEIGHT),
        oneway[piece],
        access[piece],
        a[piece],
        b[piece],
    )

    eu = np.concatenate([u, v[~oneway]])
    ev = np.concatenate([v, u[~oneway]])
    ew = np.concatenate([minutes, minutes[~oneway]])
    el = np.concatenate([length, length[~oneway]])
    loop = eu == ev
    eu, ev, ew, el = eu[~loop], ev[~loop], ew[~loop], el[~loop]
    if len(eu) == 0:
        raise ValueError("roads layer gives no edge (every line collapses under the snap tolerance)")
    if model is not None and vehicle is not None:
        ea = np.concatenate([access, access[~oneway]])[~loop]
        eurb = np.concatenate([piece_urban, piece_urban[~oneway]])[~loop]
        ew = ew + _junction_delays(eu, ev, ea, eurb, n_clusters, model, vehicle)

    # keep the fastest of parallel edges
    order = np.lexsort((ew, ev, eu))
    eu, ev, ew, el = eu[order], ev[order], ew[order], el[order]
    first = np.ones(len(eu), dtype=bool)
    first[1:] = (eu[1:] != eu[:-1]) | (ev[1:] != ev[:-1])
    eu, ev, ew, el = eu[first], ev[first], ew[first], el[first]

    used = np.unique(np.concatenate([eu, ev]))
    eu = np.searchsorted(used, eu)
    ev = np.searchsorted(used, ev)
    xy = cluster_xy[used]
    n = len(used)
    ew = np.maximum(ew, _MIN_WEIGHT)
    matrix = csr_matrix((ew, (eu, ev)), shape=(n, n))
    matrix.sort_indices()

    _, labels = connected_components(matrix, directed=True, connection="strong")
    sizes = np.bincount(labels)
    main = labels == int(np.argmax(sizes))
    logger.info(
        "road graph: %d nodes, %d directed edges from %d lines; main component %d nodes (%.1f%%)",
        n,
        len(eu),
        len(roads),
        int(main.sum()),
        100.0 * main.mean(),
    )
    segments = RoadSegments(
        u=np.searchsorted(used, pieces[0]),
        v=np.searchsorted(used, pieces[1]),
        minutes=pieces[2],
        oneway=pieces[3],
        access=pieces[4],
        coords=coords,
        start=pieces[5],
        stop=pieces[6],
    )
    return RoadGraph(
        matrix=matrix,
        xy=xy,
        edge_u=eu,
        edge_v=ev,
        edge_minutes=ew,
        edge_length_m=el,
        main=main,
        segments=segments,
        vehicle=vehicle,
    )


def _urban_pieces(
    roads: gpd.GeoDataFrame,
    row: np.ndarray,
    coords: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    cum: np.ndarray,
    built_up: Any,
) -> np.ndarray:
    """Whether each road piece (vertices ``a..b``) is in a built-up area.

    A boolean ``urban`` column of ``roads`` decides where it is not null; otherwise the piece is urban when
    the point half-way along it lies in ``built_up``.
    """
    out = np.zeros(len(row), dtype=bool)
    known = np.zeros(len(row), dtype=bool)
    if "urban" in roads:
        col = roads["urban"]
        given = col.notna().to_numpy(dtype=bool)[row]
        values = col.fillna(False).astype(bool).to_numpy(dtype=bool)[row]
        out[given] = values[given]
        known = given
    if built_up is None or known.all():
        return out
    if isinstance(built_up, gpd.GeoDataFrame | gpd.GeoSeries):
        require_lambert93(built_up, "built_up")
        area = shapely.union_all(np.asarray(built_up.geometry.values, dtype=object))
    else:
        area = built_up
    if area is None or shapely.is_empty(area):
        return out
    # the point half-way along each piece
    half = (cum[a] + cum[b]) / 2.0
    k = np.clip(np.searchsorted(cum, half, side="right") - 1, a, np.maximum(b - 1, a))
    k1 = np.minimum(k + 1, b)
    span = cum[k1] - cum[k]
    frac = np.divide(half - cum[k], span, out=np.zeros_like(half), where=span > 0)
    mid = coords[k] + frac[:, None] * (coords[k1] - coords[k])
    todo = np.flatnonzero(~known)
    shapely.prepare(area)
    out[todo] = shapely.contains_xy(area, mid[todo, 0], mid[todo, 1])
    return out


def _junction_delays(
    eu: np.ndarray,
    ev: np.ndarray,
    access: np.ndarray,
    urban: np.ndarray,
    n_nodes: int,
    model: SpeedModel,
    vehicle: Vehicle,
) -> np.ndarray:
    """Minutes added to each directed edge ``eu -> ev`` for the junction it enters.

    A junction is a node with three distinct neighbours or more; the delay applies to edges of ordinary roads
    (``access``) only (motorways and expressways have interchanges, their slip roads carry the delay), and is
    the urban one when an urban road piece reaches the node.
    """
    lo, hi = np.minimum(eu, ev), np.maximum(eu, ev)
    pairs = np.unique(lo.astype(np.int64) * n_nodes + hi)
    degree = np.bincount(pairs // n_nodes, minlength=n_nodes) + np.bincount(pairs % n_nodes, minlength=n_nodes)
    node_urban = np.zeros(n_nodes, dtype=bool)
    node_urban[eu[urban]] = True
    node_urban[ev[urban]] = True
    junction = degree[ev] >= 3
    delay = model.junction_minutes(node_urban[ev], vehicle)
    return np.where(junction & access, delay, 0.0)


def build_vehicle_graphs(
    roads: gpd.GeoDataFrame | None,
    *,
    communes: gpd.GeoDataFrame | None = None,
    speed_model: SpeedModel | None = None,
) -> dict[str, RoadGraph]:
    """The calibrated car and heavy-goods-vehicle graphs of a roads layer (empty dict without roads).

    Built-up areas come from the ``communes`` (:func:`foncier.geo.speeds.built_up_areas`) when they carry a
    population; see :func:`build_road_graph` for the rest.
    """
    from foncier.geo.speeds import VEHICLES, built_up_areas

    if roads is None or len(roads) == 0:
        return {}
    built_up = None
    if communes is not None and len(communes) and "population" in communes:
        built_up = built_up_areas(communes)
    return {v: build_road_graph(roads, vehicle=v, speed_model=speed_model, built_up=built_up) for v in VEHICLES}


def _points_xy(points: Any) -> np.ndarray:
    """``(k, 2)`` coordinates of points given as an array, a GeoSeries or a GeoDataFrame.

    Non-point geometries are replaced by their representative point (a point inside the geometry).
    """
    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        require_lambert93(points, "points")
        geoms = np.asarray(points.geometry.values, dtype=object)
        not_point = shapely.get_type_id(geoms) != 0
        if not_point.any():
            geoms = geoms.copy()
            geoms[not_point] = shapely.point_on_surface(geoms[not_point])
        if shapely.is_empty(geoms).any():
            raise ValueError("empty geometry among the points to route from/to")
        return np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)]).astype(float)
    arr = np.asarray(points, dtype=float)
    if arr.ndim == 1 and arr.shape[0] == 2:
        arr = arr.reshape(1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected (k, 2) coordinates, got shape {arr.shape}")
    return arr


def _augmented(matrix: csr_matrix, nodes: np.ndarray, offsets: np.ndarray) -> csr_matrix:
    """Return ``matrix`` with one extra *virtual* source node linked to ``nodes`` with ``offsets`` minutes."""
    n = matrix.shape[0]
    order = np.lexsort((offsets, nodes))
    nodes, offsets = nodes[order], offsets[order]
    keep = np.ones(len(nodes), dtype=bool)
    keep[1:] = nodes[1:] != nodes[:-1]
    nodes, offsets = nodes[keep], np.maximum(offsets[keep], _MIN_WEIGHT)
    indptr = np.concatenate([matrix.indptr, [matrix.indptr[-1] + len(nodes)]])
    indices = np.concatenate([matrix.indices, nodes])
    data = np.concatenate([matrix.data, offsets])
    out = csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    return out


def travel_times_from(
    graph: RoadGraph,
    sources_xy: Any,
    *,
    reverse: bool = False,
    limit: float | None = None,
    access_speed_kmh: float | None = None,
    main_component: bool = True,
) -> np.ndarray:
    """Travel time (minutes) between the nearest of several sources and every node.

    Parameters
    ----------
    graph : RoadGraph
    sources_xy : array-like or GeoSeries/GeoDataFrame
        ``(k, 2)`` source coordinates (or point geometries), snapped to their nearest node.
    reverse : bool, default False
        False: time *from* the sources to each node. True: time from each node *to* the nearest source
        (one Dijkstra on the transposed graph instead of one route per node).
    limit : float, optional
        Stop exploring beyond this many minutes (unreached nodes get ``inf``).
    access_speed_kmh : float, optional
        When given, each source pays its access leg ``d / v`` (snap distance at this speed).
    main_component : bool, default True
        Snap sources to the main strongly connected component only.

    Returns
    -------
    numpy.ndarray
        ``(n_nodes,)`` minutes, :math:`T(j) = \\min_s (a_s + d(s, j))` (or :math:`d(j, s)` when reversed),
        ``inf`` when unreachable.
    """
    xy = _points_xy(sources_xy)
    if len(xy) == 0:
        raise ValueError("no source point")
    nodes, dist = graph.snap(xy, main_component=main_component)
    matrix = graph.transposed if reverse else graph.matrix
    lim = np.inf if limit is None else float(limit)
    if access_speed_kmh is None or not np.any(dist > 0):
        out = dijkstra(matrix, directed=True, indices=np.unique(nodes), min_only=True, limit=lim)
        return np.asarray(out, dtype=float)
    offsets = dist / _m_per_min(access_speed_kmh)
    aug = _augmented(matrix, nodes, offsets)
    out = dijkstra(aug, directed=True, indices=graph.n_nodes, limit=lim)
    return np.asarray(out, dtype=float)[: graph.n_nodes]


def _tree_lengths(pred: np.ndarray, step_m: np.ndarray, root: int) -> np.ndarray:
    """Sum of ``step_m`` along the predecessor tree ``pred`` up to ``root`` (pointer jumping, vectorised)."""
    n = len(pred)
    parent = np.where(pred < 0, root, pred).astype(np.int64)
    parent[root] = root
    acc = np.where(pred < 0, np.nan, step_m).astype(float)
    acc[root] = 0.0
    for _ in range(64):  # depth <= 2**64
        if np.all(parent == root):
            break
        acc = acc + np.where(parent == root, 0.0, acc[parent])
        parent = np.where(parent == root, root, parent[parent])
    acc[np.arange(n) == root] = 0.0
    return acc


def routes_to(
    graph: RoadGraph,
    targets_xy: Any,
    *,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> tuple[np.ndarray, np.ndarray]:
    """Time (minutes) and road length (metres) of the fastest route from every node to the nearest target.

    One Dijkstra on the reversed graph from a virtual node linked to the targets (their access legs), with
    predecessors; the length is summed along the shortest-time tree, so it is the length *of the fastest
    route* (what a route planner reports), including the straight access leg at the target.

    Returns
    -------
    minutes, metres : numpy.ndarray
        ``(n_nodes,)`` each; ``inf`` / ``NaN`` when the node cannot reach any target.
    """
    xy = _points_xy(targets_xy)
    if len(xy) == 0:
        raise ValueError("no target point")
    nodes, dist = graph.snap(xy)
    n = graph.n_nodes
    offsets = dist / _m_per_min(access_speed_kmh)
    aug = _augmented(graph.transposed, nodes, offsets)
    times, pred = dijkstra(aug, directed=True, indices=n, return_predecessors=True)
    times = np.asarray(times, dtype=float)
    pred = np.asarray(pred, dtype=np.int64)
    # length of the step j -> pred[j] in the original direction: edge j -> pred[j]; from the virtual node,
    # the access leg of the target reached
    step = np.zeros(n + 1, dtype=float)
    real = np.flatnonzero((pred[:n] >= 0) & (pred[:n] < n))
    if len(real):
        step[real] = np.asarray(graph.lengths[real, pred[real]], dtype=float).ravel()
    from_hub = np.flatnonzero(pred[:n] == n)
    if len(from_hub):
        best = pd.Series(dist).groupby(nodes).min()
        step[from_hub] = best.reindex(from_hub).to_numpy(dtype=float)
    metres = _tree_lengths(pred, step, n)[:n]
    metres[~np.isfinite(times[:n])] = np.nan
    return times[:n], metres


def route_to_hub(
    sites: gpd.GeoDataFrame,
    graph: RoadGraph,
    hub_points: Any,
    *,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> pd.DataFrame:
    """Time and road distance of the fastest route from each site to the nearest of some hubs.

    Returns
    -------
    pandas.DataFrame
        Aligned on ``sites.index``, columns ``minutes`` (as :func:`time_to_hub`) and ``km``: length of that
        route, :math:`(d(p_i, n_i) + \\ell(n_i))/1000` with :math:`\\ell` the network length of the fastest
        route from the site node to the hub, access legs included. NaN when no hub is given.
    """
    require_lambert93(sites, "sites")
    hub_xy = _points_xy(hub_points)
    if len(sites) == 0 or len(hub_xy) == 0:
        if len(sites):
            logger.warning("no hub given: travel times and distances are NaN")
        return pd.DataFrame({"minutes": np.nan, "km": np.nan}, index=sites.index, dtype=float)
    minutes, metres = routes_to(graph, hub_xy, access_speed_kmh=access_speed_kmh)
    nodes, dist = graph.snap(_points_xy(sites))
    v = _m_per_min(access_speed_kmh)
    return pd.DataFrame(
        {"minutes": minutes[nodes] + dist / v, "km": (metres[nodes] + dist) / 1000.0}, index=sites.index
    )


def time_to_hub(
    sites: gpd.GeoDataFrame,
    graph: RoadGraph,
    hub_points: Any,
    *,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> pd.Series:
    """Road travel time (minutes) from each site to the nearest of some hubs.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Candidate sites (EPSG:2154); each is routed from its representative point (a point inside it).
    graph : RoadGraph
    hub_points : GeoDataFrame, GeoSeries or array-like
        Hub locations (points, or ``(k, 2)`` coordinates in EPSG:2154).
    access_speed_kmh : float, default 30
        Speed of the straight-line access legs at both ends.

    Returns
    -------
    pandas.Series
        Aligned on ``sites.index``:

        .. math:: T_i = \\frac{d(p_i, n_i)}{v_a} + \\min_h \\left( D(n_i, n_h) + \\frac{d(n_h, h)}{v_a} \\right)

        with :math:`n_i` the node nearest the site point :math:`p_i`, :math:`D` the network time and
        :math:`v_a` the access speed. Computed with ONE Dijkstra from the hubs on the reversed graph.
        ``NaN`` when no hub is given; ``inf`` when the hub cannot be reached.
    """
    require_lambert93(sites, "sites")
    v = _m_per_min(access_speed_kmh)
    hub_xy = _points_xy(hub_points)
    if len(sites) == 0:
        return pd.Series(np.array([], dtype=float), index=sites.index, name="time_min")
    if len(hub_xy) == 0:
        logger.warning("no hub given: travel times are NaN")
        return pd.Series(np.nan, index=sites.index, name="time_min", dtype=float)
    to_hub = travel_times_from(graph, hub_xy, reverse=True, access_speed_kmh=access_speed_kmh)
    nodes, dist = graph.snap(_points_xy(sites))
    return pd.Series(to_hub[nodes] + dist / v, index=sites.index, name="time_min")


def time_to_roissy(
    sites: gpd.GeoDataFrame,
    graph: RoadGraph,
    hubs: gpd.GeoDataFrame,
    *,
    hub_id: str = "CDG",
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> pd.Series:
    """Road travel time (minutes) from each site to Paris-CDG (Roissy).

    The hub is the row of ``hubs`` whose ``hub_id`` is ``hub_id`` ("CDG"); when absent, an airport whose
    name mentions Roissy or Gaulle. See :func:`time_to_hub` for the formula.

    Raises
    ------
    ValueError
        When no such hub is in ``hubs``.
    """
    hub = roissy_hub(hubs, hub_id=hub_id)
    if hub is None:
        raise ValueError(f"hub '{hub_id}' (Paris-CDG) not found in the hubs layer")
    return time_to_hub(sites, graph, hub, access_speed_kmh=access_speed_kmh).rename("time_to_roissy_min")


def roissy_hub(hubs: gpd.GeoDataFrame, *, hub_id: str = "CDG") -> gpd.GeoDataFrame | None:
    """Return the Paris-CDG row(s) of ``hubs`` (by ``hub_id``, else an airport named Roissy/Gaulle)."""
    if "hub_id" in hubs:
        sel = hubs[hubs["hub_id"].astype(str) == hub_id]
        if len(sel):
            return sel
    if "kind" in hubs:
        airports = hubs[hubs["kind"].astype(str) == "airport"]
        if "nom" in airports:
            names = airports["nom"].astype(str).str.lower()
            sel = airports[names.str.contains("roissy") | names.str.contains("gaulle")]
            if len(sel):
                logger.info("no hub_id '%s'; using airport '%s'", hub_id, sel["nom"].iloc[0])
                return sel
    return None


def time_to_nearest_interchange(
    sites: gpd.GeoDataFrame,
    graph: RoadGraph,
    interchanges: gpd.GeoDataFrame,
    *,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
) -> pd.Series:
    """Road travel time (minutes) from each site to the nearest motorway/trunk interchange.

    One multi-source Dijkstra from all interchanges on the reversed graph; see :func:`time_to_hub`.
    """
    return time_to_hub(sites, graph, interchanges, access_speed_kmh=access_speed_kmh).rename("time_to_interchange_min")


def _densified_times(
    graph: RoadGraph, times: np.ndarray, *, reverse: bool, step_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step_m`` metres along the roads (and their vertices), with their travel times.

    A point at fraction ``f`` of a piece ``u - v`` of time ``w`` is reached at
    :math:`\\min(T_u + f w, T_v + (1 - f) w)` (forward; the second term only if two-way), or reaches the
    target in :math:`\\min((1 - f) w + T_v, f w + T_u)` (reverse), so that the land along a road between
    two junctions is part of the isochrone, following the road's shape. Limited-access roads (motorways)
    only contribute their nodes: the land along a motorway between two interchanges is not reachable.
    """
    reached = np.isfinite(times)
    seg = graph.segments
    if seg is None:  # pragma: no cover - graphs are always built with their segments
        return graph.xy[reached], times[reached]
    useful = (reached[seg.u] | reached[seg.v]) & seg.access
    idx = np.flatnonzero(useful)
    sub = RoadSegments(
        u=seg.u[idx],
        v=seg.v[idx],
        minutes=seg.minutes[idx],
        oneway=seg.oneway[idx],
        access=seg.access[idx],
        coords=seg.coords,
        start=seg.start[idx],
        stop=seg.stop[idx],
    )
    lines = shapely.segmentize(sub.geometries(), step_m)
    coords, which = shapely.get_coordinates(lines, return_index=True)
    step = np.zeros(len(coords))
    same = which[1:] == which[:-1]
    step[1:] = np.where(same, np.hypot(*(coords[1:] - coords[:-1]).T), 0.0)
    along = np.cumsum(step)
    first = np.flatnonzero(np.r_[True, ~same])
    along -= np.repeat(along[first], np.diff(np.r_[first, len(coords)]))
    total = np.bincount(which, weights=step, minlength=len(idx))
    f = np.divide(along, total[which], out=np.zeros_like(along), where=total[which] > 0)
    w = sub.minutes[which]
    tu, tv = times[sub.u[which]], times[sub.v[which]]
    two_way = ~sub.oneway[which]
    if reverse:
        t = np.minimum((1.0 - f) * w + tv, np.where(two_way, f * w + tu, np.inf))
    else:
        t = np.minimum(tu + f * w, np.where(two_way, tv + (1.0 - f) * w, np.inf))
    return np.concatenate([graph.xy[reached], coords]), np.concatenate([times[reached], t])


def isochrones(
    graph: RoadGraph,
    hub_xy: Any,
    minutes: Iterable[float] = (15, 30, 45, 60),
    *,
    reverse: bool = False,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    max_access_m: float = 1_500.0,
    cell_m: float = 150.0,
    simplify_m: float = 25.0,
    hub_id: str | None = None,
) -> gpd.GeoDataFrame:
    """Areas reachable by road within each time budget from (or, ``reverse``, towards) some hubs.

    Parameters
    ----------
    graph : RoadGraph
    hub_xy : array-like or GeoSeries/GeoDataFrame
        Hub location(s).
    minutes : iterable of float, default (15, 30, 45, 60)
        Time budgets.
    reverse : bool, default False
        Times towards the hub instead of from it.
    access_speed_kmh : float, default 30
        Off-network speed, as for :func:`time_to_hub`.
    max_access_m : float, default 1500
        Cap of the off-network leg (so that a node reached at once does not draw a 30 km disc).
    cell_m : float, default 150
        Points are added every ``cell_m`` along the edges (so roads between junctions count), then thinned
        to one per ``cell_m`` grid cell (the one with the largest radius) before the union.
    simplify_m : float, default 25
        Douglas-Peucker tolerance of the output outlines.
    hub_id : str, optional
        When given, added as a ``hub_id`` column (the workspace ``isochrones`` layer has one).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``minutes`` (and ``hub_id``) and ``geometry`` (EPSG:2154), one row per budget, ascending.

    Notes
    -----
    Each node, and each point every ``cell_m`` metres along the edges (time interpolated along the edge),
    reached at time :math:`T_j \\le m` contributes a disc of radius
    :math:`r_j = \\min(r_{max}, (m - T_j) v_a)` (the area still reachable off the network); the isochrone
    is the union of the discs. Radii grow with :math:`m`, and each polygon is further unioned with the
    previous one, so the polygons are nested (the 30-minute area contains the 15-minute one).
    """
    budgets = sorted({float(m) for m in minutes})
    if not budgets or budgets[0] <= 0:
        raise ValueError("minutes must be positive")
    v = _m_per_min(access_speed_kmh)
    times = travel_times_from(graph, hub_xy, reverse=reverse, limit=budgets[-1], access_speed_kmh=access_speed_kmh)
    xy, t = _densified_times(graph, times, reverse=reverse, step_m=cell_m if cell_m > 0 else 100.0)
    cells = np.floor(xy / cell_m).astype(np.int64) if cell_m > 0 else None
    geoms: list[Any] = []
    previous = None
    for m in budgets:
        sel = t <= m
        radius = np.minimum((m - t[sel]) * v, max_access_m)
        pts = xy[sel]
        if cells is not None and len(pts):
            c = cells[sel]
            order = np.lexsort((-radius, c[:, 1], c[:, 0]))
            cs = c[order]
            first = np.ones(len(order), dtype=bool)
            first[1:] = np.any(cs[1:] != cs[:-1], axis=1)
            keep = order[first]
            pts, radius = pts[keep], radius[keep]
        ok = radius > 1.0
        discs = shapely.buffer(shapely.points(pts[ok]), radius[ok], quad_segs=4)
        poly = shapely.union_all(discs) if len(discs) else shapely.Polygon()
        if simplify_m > 0 and not poly.is_empty:
            poly = shapely.simplify(poly, simplify_m)
        if previous is not None:
            poly = shapely.union(poly, previous)
        geoms.append(poly)
        previous = poly
    table: dict[str, list[Any]] = {"minutes": list(budgets)}
    if hub_id is not None:
        table["hub_id"] = [hub_id] * len(budgets)
    return gpd.GeoDataFrame(table, geometry=geoms, crs=graph.crs)

"""Transport networks of the sample territory: roads, interchanges, railways, stations and hubs.

Roads
    The N2 (trunk) from Laon through Soissons and Villers-Cotterets and on, outside the territory, to
    Paris-Charles-de-Gaulle (Roissy); the N31 (trunk) towards Compiegne and its Soissons bypass; the N31 east
    towards Reims and the D1 towards Chateau-Thierry (primary); a few departmental roads through the bourgs
    (secondary); local roads linking every commune centre (the Gabriel graph of the centres: planar and
    connected); the streets and access roads of the zones d'activite.
    Lines share their exact end vertices at every junction (the network is noded), so a routable graph can be
    built from the end points alone. The trunk roads are expressways: local roads cross them on bridges and
    reach them only at interchanges, through pairs of one-way slip roads (``trunk_link``).
Railways and stations
    The real lines (SNCF codes) through the real stations of the territory, with their real UIC codes.
Hubs
    Paris-CDG (on the last vertex of the N2), the interchanges and the freight stations.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay

from foncier.geo.crs import LAMBERT93
from foncier.layers.sample._geom import FloatArray, GeomArray, IntArray, chaikin, lonlat_to_l93

logger = logging.getLogger(__name__)

CDG_LONLAT = (2.55, 49.0128)
"""Paris-Charles-de-Gaulle airport (Roissy), degrees."""

SPEED_KMH: dict[str, float] = {
    "motorway": 130.0,
    "trunk": 110.0,
    "primary": 80.0,
    "secondary": 70.0,
    "tertiary": 60.0,
    "unclassified": 50.0,
    "residential": 40.0,
    "service": 30.0,
    "motorway_link": 70.0,
    "trunk_link": 60.0,
}
"""Speed of each road class (km/h)."""

CLASS_RANK = {c: i for i, c in enumerate(SPEED_KMH)}
"""Road classes from the most to the least important."""

HALF_WIDTH_M: dict[str, float] = {
    "motorway": 20.0,
    "trunk": 14.0,
    "primary": 8.0,
    "secondary": 6.0,
    "tertiary": 5.0,
    "unclassified": 4.0,
    "residential": 8.0,
    "service": 3.0,
    "motorway_link": 6.0,
    "trunk_link": 6.0,
}
"""Half-width of the public right of way of each class (m): parcels leave this gap along the roads."""

# A waypoint is (lon, lat) or (lon, lat, interchange name).
_Waypoint = tuple[float, float] | tuple[float, float, str]

_N2_SINGLE_CARRIAGEWAY_LONLAT: tuple[tuple[float, float], ...] = (
    (3.14, 49.258),
    (3.125, 49.245),
    (3.122, 49.225),
    (3.105, 49.205),
    (3.06, 49.215),
    (3.02, 49.226),
    (2.985, 49.229),
    (2.93, 49.205),
)
"""The N2 sections with one carriageway (2x1 lanes, 80 km/h since 2018): around Villers-Cotterêts and through
the Forêt de Retz to beyond Vaumoise. The rest of the N2 is a dual carriageway at 110 km/h."""

SINGLE_CARRIAGEWAY_KMH = 80.0

_J_SOISSONS = (3.296, 49.372, "Échangeur de Soissons-Ouest (N2 / N31)")
_BELLEU = (3.345, 49.352, "Échangeur de Belleu")


@dataclass(frozen=True)
class _Road:
    """A main road: reference, name, class and waypoints (lon, lat[, interchange name])."""

    ref: str
    nom: str
    cls: str
    waypoints: tuple[_Waypoint, ...]


_TRUNKS: tuple[_Road, ...] = (
    _Road(
        "N2",
        "Route nationale 2 (vers Laon)",
        "trunk",
        (
            _J_SOISSONS,
            (3.315, 49.398),
            (3.345, 49.415, "Échangeur de Cuffies / Crouy"),
            (3.38, 49.43),
            (3.44, 49.46, "Échangeur de Laffaux"),
            (3.52, 49.52),
            (3.62, 49.565),
        ),
    ),
    _Road(
        "N2",
        "Route nationale 2 (vers Paris)",
        "trunk",
        (
            _J_SOISSONS,
            (3.288, 49.355, "Échangeur de Vauxbuin"),
            (3.265, 49.325),
            (3.23, 49.295, "Échangeur de Chaudun"),
            (3.18, 49.272),
            (3.14, 49.258),
            (3.125, 49.245, "Échangeur de Villers-Cotterêts Est"),
            (3.122, 49.225),
            (3.105, 49.205, "Échangeur de Villers-Cotterêts Sud"),
            (3.06, 49.215),
            (3.02, 49.226),
            (2.985, 49.229),
            (2.93, 49.205),
            (2.87, 49.17),
            (2.81, 49.14),
            (2.74, 49.095),
            (2.685, 49.06),
            (2.62, 49.03),
            CDG_LONLAT,
        ),
    ),
    _Road(
        "N31",
        "Route nationale 31 (vers Compiègne)",
        "trunk",
        (
            _J_SOISSONS,
            (3.255, 49.365, "Échangeur de Mercin-et-Vaux"),
            (3.21, 49.372),
            (3.17, 49.385),
            (3.13, 49.392, "Échangeur de Vic-sur-Aisne"),
            (3.08, 49.395),
            (3.04, 49.398),
            (2.96, 49.405),
            (2.90, 49.41),
            (2.83, 49.415),
        ),
    ),
    _Road("N31", "Rocade sud de Soissons (N31)", "trunk", (_J_SOISSONS, (3.31, 49.358), _BELLEU)),
)
"""Expressways (their waypoints carry the interchanges)."""

_MAIN_ROADS: tuple[_Road, ...] = (
    _Road(
        "N31",
        "Route nationale 31 (vers Reims)",
        "primary",
        (
            _BELLEU,
            (3.375, 49.362),
            (3.41, 49.368),
            (3.45, 49.366),
            (3.49, 49.357),
            (3.53, 49.343),
            (3.58, 49.33),
            (3.64, 49.315),
            (3.69, 49.305),
            (3.80, 49.285),
            (3.95, 49.26),
            (4.03, 49.25),
        ),
    ),
    _Road(
        "D1",
        "Route départementale 1 (vers Château-Thierry)",
        "primary",
        (
            (3.3246, 49.3795),
            (3.335, 49.36),
            (3.34, 49.33),
            (3.348, 49.305),
            (3.3574, 49.2789),
            (3.37, 49.245),
            (3.382, 49.207),
            (3.39, 49.16),
            (3.40, 49.10),
            (3.403, 49.045),
        ),
    ),
)
"""Primary roads (noded with the local network)."""

_SECONDARY_CHAINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("D925", "Route départementale 925", ("02722", "02131", "02487", "02210", "02148", "02758")),
    ("D2", "Route départementale 2", ("02722", "02245", "02767", "02277", "02527")),
    ("D936", "Route départementale 936", ("02810", "02568", "02718", "02307")),
    ("D17", "Route départementale 17", ("02810", "02216", "02441", "02192", "02090", "02579", "02580")),
    ("D91", "Route départementale 91", ("02795", "02643", "02201", "02822", "02810")),
    ("D14", "Route départementale 14", ("02758", "02620", "02120", "02110")),
    ("D22", "Route départementale 22", ("02110", "02432", "02520")),
    ("D1330", "Route départementale 1330", ("02580", "02665", "02022", "02520")),
    ("D6", "Route départementale 6", ("02722", "02593", "02253", "02562", "02795")),
)
"""Departmental roads through the bourgs, as chains of commune centres."""

_MAX_LOCAL_EDGE_M = 7000.0
_GRID_M = 0.01
"""Road coordinates are rounded to this grid (m) once noded."""


@dataclass(frozen=True)
class _Station:
    """A railway station (real SNCF UIC code and position)."""

    code_uic: str
    nom: str
    lon: float
    lat: float
    fret: bool
    voyageurs: bool


_STATIONS: tuple[_Station, ...] = (
    _Station("87271817", "Soissons", 3.3384, 49.3690, True, True),
    _Station("87271734", "Villers-Cotterêts", 3.0993, 49.2383, True, True),
    _Station("87271783", "Vierzy", 3.2776, 49.2909, True, True),
    _Station("87271874", "Crouy", 3.3570, 49.4037, True, True),
    _Station("87271775", "Longpont", 3.2301, 49.2726, False, True),
    _Station("87271882", "Margival", 3.4030, 49.4392, False, True),
    _Station("87271858", "Venizel", 3.3967, 49.3675, True, False),
    _Station("87271866", "Ciry-Sermoise", 3.4673, 49.3703, True, False),
    _Station("87171496", "Braine", 3.5398, 49.3331, True, False),
    _Station("87171348", "Bazoches", 3.6165, 49.3053, False, True),
    _Station("87276899", "Vic-sur-Aisne", 3.1158, 49.3966, True, False),
    _Station("87116673", "La Ferté-Milon", 3.1208, 49.1796, False, True),
    _Station("87116699", "Oulchy-Breny", 3.3525, 49.1875, True, True),
    _Station("87116681", "Neuilly-Saint-Front", 3.2707, 49.1872, True, True),
    _Station("87171355", "Mont-Notre-Dame", 3.5767, 49.2968, True, True),
    _Station("87271601", "Vaumoise", 2.9885, 49.2337, True, True),
)
"""Stations of the territory and its edges (real SNCF UIC codes and positions)."""

_RAIL_LINES: tuple[tuple[str, str, str, tuple[str | tuple[float, float], ...]], ...] = (
    (
        "229000",
        "Ligne de La Plaine à Hirson et Anor (frontière)",
        "Double voie",
        (
            (2.86, 49.2),
            "87271601",
            "87271734",
            "87271775",
            "87271783",
            "87271817",
            "87271874",
            "87271882",
            (3.4098, 49.4742),
            (3.4487, 49.4959),
            (3.62, 49.563),
        ),
    ),
    (
        "205000",
        "Ligne de Soissons à Givet",
        "Voie unique",
        ("87271817", "87271858", "87271866", "87171496", "87171348", (3.6825, 49.3109), (3.80, 49.29)),
    ),
    (
        "317000",
        "Ligne de Rochy-Condé à Soissons",
        "Voie unique",
        ("87271817", (3.27, 49.39), (3.19, 49.398), "87276899", (3.0449, 49.4006), (2.9101, 49.4162), (2.83, 49.42)),
    ),
    (
        "072000",
        "Ligne du Trilport à Bazoches",
        "Double voie",
        ((3.0757, 49.1356), "87116673", "87116681", "87116699", (3.5040, 49.2087), "87171355", "87171348"),
    ),
)
"""Railway lines (real SNCF codes) as chains of stations and waypoints."""


@dataclass
class Networks:
    """The transport layers of the territory.

    Attributes
    ----------
    roads, interchanges, rail_lines, rail_stations, hubs : geopandas.GeoDataFrame
        Canonical layers.
    """

    roads: gpd.GeoDataFrame
    interchanges: gpd.GeoDataFrame
    rail_lines: gpd.GeoDataFrame
    rail_stations: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame


def _xy(waypoints: tuple[_Waypoint, ...]) -> FloatArray:
    """Lambert-93 coordinates (n, 2) of waypoints given in degrees."""
    lon = np.array([w[0] for w in waypoints])
    lat = np.array([w[1] for w in waypoints])
    x, y = lonlat_to_l93(lon, lat)
    return np.column_stack([x, y])


def _wiggle(a: FloatArray, b: FloatArray, rng: np.random.Generator, amount: float = 0.05) -> FloatArray:
    """Coordinates of a gently curved road from ``a`` to ``b`` (rows of points), end points unchanged."""
    n = len(a)
    d = b - a
    normal = np.column_stack([-d[:, 1], d[:, 0]])
    f1 = rng.normal(0.0, amount, n)
    f2 = rng.normal(0.0, amount, n)
    p1 = a + d / 3 + normal * f1[:, None]
    p2 = a + 2 * d / 3 + normal * f2[:, None]
    return np.stack([a, p1, p2, b], axis=1)


def _gabriel_edges(xy: FloatArray) -> IntArray:
    """Edges (i, j), i < j, of the Gabriel graph of points ``xy`` (a planar, connected subgraph of Delaunay)."""
    tri = Delaunay(xy)
    s = tri.simplices
    edges = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    mid = (xy[edges[:, 0]] + xy[edges[:, 1]]) / 2
    r2 = np.sum((xy[edges[:, 0]] - mid) ** 2, axis=1)
    # an edge is Gabriel when no other point lies in the circle having it as diameter
    d2 = np.sum((xy[None, :, :] - mid[:, None, :]) ** 2, axis=2)
    d2[np.arange(len(edges)), edges[:, 0]] = np.inf
    d2[np.arange(len(edges)), edges[:, 1]] = np.inf
    keep = np.all(d2 >= r2[:, None] * (1 - 1e-12), axis=1)
    return np.asarray(edges[keep], dtype=np.int64)


def _mst_edges(xy: FloatArray, edges: IntArray) -> set[tuple[int, int]]:
    """Edges of the minimum spanning tree of the graph ``edges`` (Euclidean weights)."""
    from scipy.sparse.csgraph import minimum_spanning_tree

    w = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    m = coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(len(xy), len(xy)))
    t = minimum_spanning_tree(m).tocoo()
    return {(int(min(i, j)), int(max(i, j))) for i, j in zip(t.row, t.col, strict=True)}


@dataclass
class _Source:
    """Road lines and their attributes, before noding."""

    geoms: list[shapely.LineString]
    cls: list[str]
    ref: list[str | None]
    nom: list[str | None]
    oneway: list[bool]

    def add(self, geom: shapely.LineString, cls: str, ref: str | None, nom: str | None, oneway: bool = False) -> None:
        """Append one road line."""
        self.geoms.append(geom)
        self.cls.append(cls)
        self.ref.append(ref)
        self.nom.append(nom)
        self.oneway.append(oneway)


def _node(source: _Source) -> pd.DataFrame:
    """Node lines at every crossing and give each piece the attributes of its most important source line."""
    geoms = np.asarray(source.geoms, dtype=object)
    pieces = shapely.get_parts(shapely.union_all(geoms))
    pieces = pieces[shapely.get_type_id(pieces) == 1]
    probe = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    tree = shapely.STRtree(geoms)
    piece_idx, src_idx = tree.query(probe, predicate="dwithin", distance=0.01)
    rank = np.asarray([CLASS_RANK[c] for c in source.cls])[src_idx]
    order = np.lexsort((src_idx, rank, piece_idx))
    piece_idx, src_idx = piece_idx[order], src_idx[order]
    first = np.unique(piece_idx, return_index=True)[1]
    best = np.full(len(pieces), -1, dtype=np.int64)
    best[piece_idx[first]] = src_idx[first]
    if (best < 0).any():  # pragma: no cover - every piece lies on a source line
        raise RuntimeError("road noding lost the source of a piece")
    oneway = np.asarray(source.oneway)[best]
    # pieces of one-way roads must keep the direction of travel of their source
    if oneway.any():
        w = np.flatnonzero(oneway)
        src_lines = geoms[best[w]]
        start = shapely.line_locate_point(src_lines, shapely.get_point(pieces[w], 0))
        end = shapely.line_locate_point(src_lines, shapely.get_point(pieces[w], -1))
        flip = w[start > end]
        pieces[flip] = shapely.reverse(pieces[flip])
    return pd.DataFrame(
        {
            "class": np.asarray(source.cls, dtype=object)[best],
            "ref": np.asarray(source.ref, dtype=object)[best],
            "nom": np.asarray(source.nom, dtype=object)[best],
            "oneway": oneway,
            "geometry": pieces,
        }
    )


def _endpoint_keys(lines: GeomArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Node ids of the first and last vertex of each line (exact coordinates), and the node coordinates."""
    first = shapely.get_coordinates(shapely.get_point(lines, 0))
    last = shapely.get_coordinates(shapely.get_point(lines, -1))
    nodes, inv = np.unique(np.vstack([first, last]), axis=0, return_inverse=True)
    inv = inv.ravel()
    return inv[: len(lines)], inv[len(lines) :], nodes


def build_networks(
    centres: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    za_streets: GeomArray,
    za_centres: FloatArray,
    rng: np.random.Generator,
) -> Networks:
    """Build roads, interchanges, railways, stations and hubs.

    Parameters
    ----------
    centres : geopandas.GeoDataFrame
        Commune centres (``insee``, ``population``), EPSG:2154.
    zones : geopandas.GeoDataFrame
        Zones d'activite (each gets an access road).
    za_streets : ndarray of LineString
        Streets inside the zones d'activite.
    za_centres : ndarray, shape (n, 2)
        Centre of each zone d'activite, where its access road starts (an exact vertex of its streets).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    Networks
    """
    cxy = shapely.get_coordinates(centres.geometry.to_numpy())
    insee = centres["insee"].to_numpy()
    pos = {c: i for i, c in enumerate(insee)}
    pop = centres["population"].to_numpy()

    # --- expressways, their interchanges and slip roads
    trunk = _Source([], [], [], [], [])
    inter_rows: list[tuple[str, str, FloatArray]] = []
    tangents: list[FloatArray] = []
    for road in _TRUNKS:
        xy = _xy(road.waypoints)
        # cut the line where a single-carriageway section starts and ends (their speed differs)
        ends = [0, len(xy) - 1]
        for k, w in enumerate(road.waypoints):
            if road.ref == "N2" and (w[0], w[1]) in (
                _N2_SINGLE_CARRIAGEWAY_LONLAT[0],
                _N2_SINGLE_CARRIAGEWAY_LONLAT[-1],
            ):
                ends.append(k)
        for k0, k1 in itertools.pairwise(sorted(set(ends))):
            trunk.add(shapely.LineString(xy[k0 : k1 + 1]), road.cls, road.ref, road.nom)
        for k, w in enumerate(road.waypoints):
            if len(w) == 3 and all(w[2] != r[1] for r in inter_rows):
                inter_rows.append((road.ref, str(w[2]), xy[k]))
                t = xy[min(k + 1, len(xy) - 1)] - xy[max(k - 1, 0)]
                tangents.append(t / np.hypot(*t))
    local = _Source([], [], [], [], [])
    for (ref, name, at), tangent in zip(inter_rows, tangents, strict=True):
        if name == _J_SOISSONS[2]:
            continue  # the N2 / N31 junction is a node of the expressways themselves
        d = np.hypot(*(cxy - at).T)
        target = cxy[int(np.argmin(d))]
        if d.min() > 12_000:  # interchanges outside the territory have no local road
            continue
        # the slip roads leave the expressway square, on the side of the commune they serve
        side = np.array([-tangent[1], tangent[0]])
        if float(np.dot(side, target - at)) < 0:
            side = -side
        q = at + side * 160.0
        trunk.add(
            shapely.LineString([at, (at + q) / 2 + tangent * 35.0, q]),
            "trunk_link",
            ref,
            f"Bretelle de sortie ({name})",
            oneway=True,
        )
        trunk.add(
            shapely.LineString([q, (at + q) / 2 - tangent * 35.0, at]),
            "trunk_link",
            ref,
            f"Bretelle d'entrée ({name})",
            oneway=True,
        )
        local.add(shapely.LineString([q, target]), "secondary", None, f"Accès {name.lower()}")

    # --- primary and secondary roads
    for road in _MAIN_ROADS:
        local.add(shapely.LineString(chaikin(_xy(road.waypoints), 1)), road.cls, road.ref, road.nom)
    secondary_pairs: set[tuple[int, int]] = set()
    for ref, nom, chain in _SECONDARY_CHAINS:
        idx = [pos[c] for c in chain]
        local.add(shapely.LineString(cxy[idx]), "secondary", ref, nom)
        secondary_pairs |= {(min(a, b), max(a, b)) for a, b in itertools.pairwise(idx)}

    # --- local roads: Gabriel graph of the centres (long edges kept only when needed for connectivity)
    edges = _gabriel_edges(cxy)
    mst = _mst_edges(cxy, edges)
    length = np.hypot(*(cxy[edges[:, 0]] - cxy[edges[:, 1]]).T)
    keep = np.asarray(
        [
            (length[k] <= _MAX_LOCAL_EDGE_M or (int(i), int(j)) in mst) and (int(i), int(j)) not in secondary_pairs
            for k, (i, j) in enumerate(edges)
        ]
    )
    edges = edges[keep]
    coords = _wiggle(cxy[edges[:, 0]], cxy[edges[:, 1]], rng)
    big = np.maximum(pop[edges[:, 0]], pop[edges[:, 1]])
    for k in range(len(edges)):
        cls = "tertiary" if big[k] >= 900 else "unclassified"
        local.add(shapely.LineString(coords[k]), cls, None, None)

    # --- streets and access roads of the zones d'activite
    for street in za_streets:
        local.add(street, "residential", None, "Rue de zone d'activités")
    for nom, c in zip(zones["nom"], za_centres, strict=True):
        target = cxy[int(np.argmin(np.hypot(*(cxy - c).T)))]
        local.add(shapely.LineString([c, target]), "tertiary", None, f"Accès {nom}")

    roads = pd.concat([_node(trunk), _node(local)], ignore_index=True)
    # round to the centimetre: crossings computed a hair apart become one node, slivers of noding vanish
    roads["geometry"] = shapely.set_precision(roads["geometry"].to_numpy(), _GRID_M)
    roads = roads[~shapely.is_empty(roads["geometry"].to_numpy())].reset_index(drop=True)
    roads = _largest_component(roads)
    roads["speed_kmh"] = roads["class"].map(SPEED_KMH).astype(float)
    single = shapely.buffer(shapely.LineString(_xy(_N2_SINGLE_CARRIAGEWAY_LONLAT)), 30.0)
    mid = shapely.line_interpolate_point(roads["geometry"].to_numpy(), 0.5, normalized=True)
    on_single = (roads["class"] == "trunk").to_numpy() & (roads["ref"] == "N2").to_numpy() & shapely.within(mid, single)
    roads.loc[on_single, "speed_kmh"] = SINGLE_CARRIAGEWAY_KMH
    roads.loc[on_single, "nom"] = roads.loc[on_single, "nom"].astype(str) + " - section à 2x1 voies"
    roads["oneway"] = roads["oneway"].astype(bool)
    rank = roads["class"].map(CLASS_RANK)
    roads = roads.assign(_rank=rank).sort_values("_rank", kind="stable").drop(columns="_rank")
    roads.insert(0, "road_id", [f"R{i + 1:06d}" for i in range(len(roads))])
    roads = gpd.GeoDataFrame(
        roads[["road_id", "class", "speed_kmh", "oneway", "ref", "nom", "geometry"]].reset_index(drop=True),
        geometry="geometry",
        crs=LAMBERT93,
    )

    # --- interchanges and hubs on exact road vertices
    _, _, nodes = _endpoint_keys(roads.geometry.to_numpy())
    inter_xy = np.asarray([_snap(nodes, at) for _, _, at in inter_rows])
    interchanges = gpd.GeoDataFrame(
        {
            "interchange_id": [f"ECH{i + 1:02d}" for i in range(len(inter_rows))],
            "nom": [name for _, name, _ in inter_rows],
            "road_class": "trunk",
            "ref": [ref for ref, _, _ in inter_rows],
        },
        geometry=shapely.points(inter_xy),
        crs=LAMBERT93,
    )
    cdg = _snap(nodes, _xy((CDG_LONLAT,))[0])
    stations = _stations()
    fret = stations[stations["fret"]]
    hubs = gpd.GeoDataFrame(
        {
            "hub_id": ["CDG", *interchanges["interchange_id"], *("FRET" + fret["code_uic"])],
            "nom": ["Paris-Charles-de-Gaulle (Roissy)", *interchanges["nom"], *("Gare fret de " + fret["nom"])],
            "kind": ["airport"] + ["interchange"] * len(interchanges) + ["freight_station"] * len(fret),
        },
        geometry=np.concatenate([[shapely.Point(cdg)], interchanges.geometry.to_numpy(), fret.geometry.to_numpy()]),
        crs=LAMBERT93,
    )
    return Networks(
        roads=roads, interchanges=interchanges, rail_lines=_rail_lines(stations), rail_stations=stations, hubs=hubs
    )


def _snap(nodes: FloatArray, at: FloatArray) -> FloatArray:
    """The road node nearest to ``at`` (exact coordinates)."""
    d = np.hypot(*(nodes - at).T)
    k = int(np.argmin(d))
    if d[k] > 1.0:
        logger.warning("snapped a hub %.1f m to the nearest road node", d[k])
    return np.asarray(nodes[k])


def _largest_component(roads: pd.DataFrame) -> pd.DataFrame:
    """Keep the roads of the largest connected piece of network (drops stray streets, logs them)."""
    geoms = roads["geometry"].to_numpy()
    a, b, nodes = _endpoint_keys(geoms)
    m = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(nodes), len(nodes)))
    n, labels = connected_components(m, directed=False)
    if n == 1:
        return roads
    comp = labels[a]
    main = np.bincount(comp).argmax()
    logger.info("road network: dropped %d segments outside the main connected piece", int((comp != main).sum()))
    return roads[comp == main].reset_index(drop=True)


def _stations() -> gpd.GeoDataFrame:
    """The canonical ``rail_stations`` layer."""
    x, y = lonlat_to_l93([s.lon for s in _STATIONS], [s.lat for s in _STATIONS])
    return gpd.GeoDataFrame(
        {
            "code_uic": [s.code_uic for s in _STATIONS],
            "nom": [s.nom for s in _STATIONS],
            "fret": [s.fret for s in _STATIONS],
            "voyageurs": [s.voyageurs for s in _STATIONS],
        },
        geometry=shapely.points(x, y),
        crs=LAMBERT93,
    )


def _rail_lines(stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The canonical ``rail_lines`` layer: each line runs exactly through its stations."""
    at = dict(zip(stations["code_uic"], shapely.get_coordinates(stations.geometry.to_numpy()), strict=True))
    rows = []
    geoms = []
    for code, libelle, exploitation, chain in _RAIL_LINES:
        pts = []
        for item in chain:
            if isinstance(item, str):
                pts.append(at[item])
            else:
                pts.append(_xy((item,))[0])
        geoms.append(shapely.LineString(np.asarray(pts)))
        rows.append({"code_ligne": code, "libelle": libelle, "exploitation": exploitation})
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=LAMBERT93)

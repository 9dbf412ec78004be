"""Road graph, travel times, isochrones and labour pool (foncier.geo.network, foncier.geo.labour)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from foncier.errors import CRSError
from foncier.geo.labour import commune_centres, labour_pool
from foncier.geo.network import (
    RoadGraph,
    build_road_graph,
    isochrones,
    time_to_hub,
    time_to_nearest_interchange,
    time_to_roissy,
    travel_times_from,
)

L93 = "EPSG:2154"


def roads_gdf(rows: list[tuple[list[tuple[float, float]], float, bool]], cls: str = "primary") -> gpd.GeoDataFrame:
    """Roads layer from (coordinates, speed_kmh, oneway) rows."""
    return gpd.GeoDataFrame(
        {
            "road_id": [f"r{i}" for i in range(len(rows))],
            "class": [cls] * len(rows),
            "speed_kmh": [float(r[1]) for r in rows],
            "oneway": [bool(r[2]) for r in rows],
        },
        geometry=[shapely.LineString(r[0]) for r in rows],
        crs=L93,
    )


@pytest.fixture
def triangle() -> gpd.GeoDataFrame:
    """Hand-made network (times in minutes: 60 km/h = 1 km/min, 30 km/h = 0.5 km/min).

    A (0,0) --1-- B (1000,0) --1-- C (2000,0)   one line A-B-C, B is an interior vertex shared with line 2
    B -> D (1000,1000): one-way north at 30 km/h, 2 min
    C - (2000,1000) - D: two-way at 60 km/h, 2000 m = 2 min; (2000,1000) is an unshared interior vertex
    """
    return roads_gdf(
        [
            ([(0, 0), (1000, 0), (2000, 0)], 60, False),
            ([(1000, 0), (1000, 1000)], 30, True),
            ([(2000, 0), (2000, 1000), (1000, 1000)], 60, False),
        ]
    )


def node_at(graph: RoadGraph, x: float, y: float) -> int:
    nodes, dist = graph.snap(np.array([[x, y]]), main_component=False)
    assert dist[0] < 1e-6
    return int(nodes[0])


def test_hand_made_graph_nodes_edges_and_times(triangle: gpd.GeoDataFrame) -> None:
    g = build_road_graph(triangle)
    # nodes: A, B (shared interior vertex), C, D; (2000,1000) is interior and unshared: not a node
    assert g.n_nodes == 4
    assert g.n_edges == 7  # A<->B, B<->C, B->D, C<->D
    a, b, c, d = (node_at(g, *p) for p in [(0, 0), (1000, 0), (2000, 0), (1000, 1000)])
    fwd = travel_times_from(g, [(0, 0)])
    assert fwd[[a, b, c, d]] == pytest.approx([0, 1, 2, 3])  # A->B->D
    back = travel_times_from(g, [(0, 0)], reverse=True)  # time from each node TO A
    assert back[[a, b, c, d]] == pytest.approx([0, 1, 2, 4])  # D->C->B->A: the one-way is not usable
    assert g.main.all()  # strongly connected thanks to D->C


def test_time_to_hub_uses_reverse_direction_and_access_legs(triangle: gpd.GeoDataFrame) -> None:
    g = build_road_graph(triangle)
    site = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[shapely.box(995, 1295, 1005, 1305)], crs=L93, index=[7])
    hub = gpd.GeoDataFrame(
        {"hub_id": ["CDG"], "kind": ["airport"], "nom": ["CDG"]}, geometry=[shapely.Point(0, -100)], crs=L93
    )
    t = time_to_hub(site, g, hub)
    # access 300 m at 30 km/h = 0.6 min; D -> A = 4 min; 100 m hub access = 0.2 min
    assert list(t.index) == [7]
    assert t.iloc[0] == pytest.approx(4.8)
    assert time_to_roissy(site, g, hub).iloc[0] == pytest.approx(4.8)
    # nearest of two interchanges: one at C (2 min from D) wins over A (4 min)
    inter = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(2000, 0)], crs=L93)
    assert time_to_nearest_interchange(site, g, inter).iloc[0] == pytest.approx(0.6 + 2.0)
    with pytest.raises(ValueError, match="CDG"):
        time_to_roissy(site, g, hub.assign(hub_id="ORY", nom="Orly"))


def test_parallel_edges_keep_fastest_and_speed_overrides() -> None:
    roads = roads_gdf([([(0, 0), (1000, 0)], 10, False), ([(0, 0), (1000, 0)], 60, False)])
    g = build_road_graph(roads)
    assert g.n_edges == 2
    assert travel_times_from(g, [(0, 0)]).max() == pytest.approx(1.0)
    g2 = build_road_graph(roads, speeds={"primary": 120})
    assert travel_times_from(g2, [(0, 0)]).max() == pytest.approx(0.5)


def test_snap_tolerance_joins_near_miss_endpoints() -> None:
    roads = roads_gdf([([(0, 0), (1000, 0)], 60, False), ([(1000.5, 0.3), (2000, 0)], 60, False)])
    joined = build_road_graph(roads, snap_tolerance=1.0)
    assert joined.n_nodes == 3
    assert np.isfinite(travel_times_from(joined, [(0, 0)])).all()
    split = build_road_graph(roads, snap_tolerance=0.1)
    assert split.n_nodes == 4
    t = travel_times_from(split, [(0, 0)], main_component=False)
    assert np.isinf(t).sum() == 2


def test_crs_is_checked(triangle: gpd.GeoDataFrame) -> None:
    with pytest.raises(CRSError, match="Lambert-93"):
        build_road_graph(triangle.set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(CRSError):
        build_road_graph(triangle.set_crs(None, allow_override=True))


def test_isochrones_are_nested_and_sensible(triangle: gpd.GeoDataFrame) -> None:
    g = build_road_graph(triangle)
    iso = isochrones(g, [(0, 0)], minutes=(5, 1, 3.5, 2), max_access_m=400, cell_m=0, hub_id="A")
    assert list(iso["minutes"]) == [1, 2, 3.5, 5]
    assert list(iso.columns) == ["minutes", "hub_id", "geometry"]
    assert iso.crs.to_epsg() == 2154
    geoms = list(iso.geometry)
    for small, big in itertools.pairwise(geoms):
        assert big.buffer(1e-6).contains(small)
    hub = shapely.Point(0, 0)
    assert all(gm.contains(hub) for gm in geoms)
    # D (1000,1000) is reached at 3 min: outside the 2-min area, inside the 3.5-min one
    d = shapely.Point(1000, 1000)
    assert not geoms[1].contains(d)
    assert geoms[2].contains(d)
    # the land along the road C-(2000,1000)-D is covered, not only discs around the junctions
    assert geoms[3].contains(shapely.Point(1500, 1000))
    assert not geoms[3].contains(shapely.Point(1500, 500))
    # nothing is drawn further than the network reach + the capped off-network leg
    assert geoms[-1].within(shapely.box(-400, -400, 2400, 1400))


@st.composite
def grid_networks(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, nx.DiGraph]:
    """A random grid road network (100 m spacing) and the networkx DiGraph it should compile to.

    Edges may be missing, one-way, digitised either way, have a kink (an unshared interior vertex), and
    whole rows may be drawn as ONE polyline whose interior vertices are shared with the crossing lines.
    """
    nx_, ny_ = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    rows: list[tuple[list[tuple[float, float]], float, bool]] = []
    ref = nx.DiGraph()

    def add_ref(p: tuple[float, float], q: tuple[float, float], minutes: float, oneway: bool) -> None:
        for u, v in [(p, q)] if oneway else [(p, q), (q, p)]:
            if not ref.has_edge(u, v) or ref[u][v]["weight"] > minutes:
                ref.add_edge(u, v, weight=minutes)

    speeds = st.sampled_from([10.0, 30.0, 50.0, 90.0])
    for j in range(ny_):
        if draw(st.integers(0, 3)) == 0:  # the whole row as one polyline
            speed, oneway, flip = draw(speeds), draw(st.booleans()), draw(st.booleans())
            pts = [(100.0 * i, 100.0 * j) for i in range(nx_)]
            if flip:
                pts = pts[::-1]
            rows.append((pts, speed, oneway))
            for p, q in itertools.pairwise(pts):
                add_ref(p, q, 100.0 / (speed * 1000 / 60), oneway)
            horizontal = False
        else:
            horizontal = True
        for i in range(nx_):
            candidates = []
            if horizontal and i + 1 < nx_:
                candidates.append(((100.0 * i, 100.0 * j), (100.0 * (i + 1), 100.0 * j), (0.0, 20.0)))
            if j + 1 < ny_:
                candidates.append(((100.0 * i, 100.0 * j), (100.0 * i, 100.0 * (j + 1)), (20.0, 0.0)))
            for p, q, offset in candidates:
                if draw(st.integers(0, 4)) == 0:
                    continue  # missing edge
                speed, oneway, flip, kink = draw(speeds), draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
                a, b = (q, p) if flip else (p, q)
                coords = [a, b]
                length = 100.0
                if kink:
                    mid = ((a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1])
                    coords = [a, mid, b]
                    length = 2 * float(np.hypot(50.0, 20.0))
                rows.append((coords, speed, oneway))
                add_ref(a, b, length / (speed * 1000 / 60), oneway)
    return roads_gdf(rows), ref


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_networks(), st.integers(0, 10_000), st.booleans())
def test_travel_times_match_networkx(net: tuple[gpd.GeoDataFrame, nx.DiGraph], pick: int, reverse: bool) -> None:
    roads, ref = net
    assume(len(roads) > 0 and ref.number_of_edges() > 0)
    g = build_road_graph(roads)
    # graph nodes: line ends, plus interior vertices shared by two lines or more
    count: dict[tuple[float, float], int] = {}
    ends = set()
    for line in roads.geometry:
        coords = [tuple(c) for c in line.coords]
        ends.update([coords[0], coords[-1]])
        for c in set(coords):
            count[c] = count.get(c, 0) + 1
    nodes = sorted(ends | {c for c, k in count.items() if k >= 2})
    assert g.n_nodes == len(nodes)
    source = nodes[pick % len(nodes)]
    ours = travel_times_from(g, [source], reverse=reverse, main_component=False)
    expected = nx.single_source_dijkstra_path_length(ref.reverse() if reverse else ref, source, weight="weight")
    assert ours[node_at(g, *source)] == 0
    for n in nodes:
        got = ours[node_at(g, *n)]
        if n in expected:
            assert got == pytest.approx(expected[n], rel=1e-9, abs=1e-9)
        else:
            assert np.isinf(got)


def test_labour_pool_counts_communes_within_budget(triangle: gpd.GeoDataFrame) -> None:
    g = build_road_graph(triangle)
    site = gpd.GeoDataFrame(geometry=[shapely.box(995, 1295, 1005, 1305)], crs=L93)
    communes = gpd.GeoDataFrame(
        {"population": [100, 1000, 10, 5, None]},
        geometry=[
            shapely.Point(0, 0),  # A -> D 3 min + site access 0.6 = 3.6 (D -> A would be 4.6)
            shapely.Point(2000, 0),  # C -> D 2 min + 0.6 = 2.6
            shapely.Point(1000, 1000),  # D: 0.6
            shapely.Point(50_000, 0),  # 48 km off the network: 96 min of access
            shapely.Point(1000, 0),  # no population: counts 0
        ],
        crs=L93,
    )
    pool = {m: labour_pool(site, g, communes, minutes=m).iloc[0] for m in (0.5, 3.0, 4.0, 200.0)}
    assert pool[0.5] == 0
    assert pool[3.0] == 1010
    assert pool[4.0] == 1110  # home -> site direction: A is within 4 min although D -> A takes 4.6
    assert pool[200.0] == 1115


def test_labour_pool_matches_brute_force_on_a_grid() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for j in range(6):
        for i in range(6):
            if i < 5:
                rows.append(
                    (
                        [(i * 500.0, j * 500.0), ((i + 1) * 500.0, j * 500.0)],
                        float(rng.choice([30, 50, 90])),
                        bool(rng.random() < 0.3),
                    )
                )
            if j < 5:
                rows.append(
                    (
                        [(i * 500.0, j * 500.0), (i * 500.0, (j + 1) * 500.0)],
                        float(rng.choice([30, 50, 90])),
                        bool(rng.random() < 0.3),
                    )
                )
    g = build_road_graph(roads_gdf(rows))
    centres = rng.uniform(0, 2500, size=(15, 2))
    pops = rng.integers(1, 5000, size=15)
    communes = gpd.GeoDataFrame({"population": pops}, geometry=shapely.points(centres), crs=L93)
    site_xy = rng.uniform(0, 2500, size=(8, 2))
    sites = gpd.GeoDataFrame(geometry=shapely.buffer(shapely.points(site_xy), 20.0), crs=L93)
    got = labour_pool(sites, g, communes, minutes=4.0, chunk_size=4)
    site_pts = np.array([[p.x, p.y] for p in sites.geometry.representative_point()])
    s_nodes, s_dist = g.snap(site_pts)
    expected = np.zeros(len(sites))
    for k in range(len(communes)):
        t = travel_times_from(g, centres[k : k + 1], access_speed_kmh=30.0)
        expected += pops[k] * ((t[s_nodes] + s_dist / 500.0) <= 4.0)
    assert got.to_numpy() == pytest.approx(expected)
    assert 0 < got.sum() < pops.sum() * len(sites)  # the budget actually cuts


def test_commune_centres_from_polygons_stay_inside() -> None:
    # a U-shaped commune: its centroid lies in the notch, outside the commune
    u_shape = shapely.Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)])
    square = shapely.box(1000, 0, 1100, 100)
    communes = gpd.GeoDataFrame({"population": [1, 2]}, geometry=[u_shape, square], crs=L93)
    centres = commune_centres(communes)
    assert (centres.geom_type == "Point").all()
    assert u_shape.contains(centres.geometry.iloc[0])
    assert centres.geometry.iloc[1].equals(shapely.Point(1050, 50))


def test_isochrones_do_not_leave_motorways_between_interchanges() -> None:
    roads = gpd.GeoDataFrame(
        {
            "road_id": ["m", "l"],
            "class": ["motorway", "tertiary"],
            "speed_kmh": [120.0, 60.0],
            "oneway": [False, False],
        },
        geometry=[shapely.LineString([(0, 0), (10_000, 0)]), shapely.LineString([(10_000, 0), (10_000, 3000)])],
        crs=L93,
    )
    g = build_road_graph(roads)
    iso = isochrones(g, [(0, 0)], minutes=(7,), max_access_m=500).geometry.iloc[0]
    assert not iso.contains(shapely.Point(5000, 0))  # along the motorway: no exit
    assert iso.contains(shapely.Point(10_000, 0))  # the interchange, reached after 5 min
    assert iso.contains(shapely.Point(10_000, 1500))  # the local road after it, 1.5 min later
    assert not iso.contains(shapely.Point(10_000, 2900))  # beyond the 7 minutes


# --- calibrated speeds (issue 12) ------------------------------------------------------------------------
from foncier.geo.network import build_vehicle_graphs, route_to_hub, routes_to  # noqa: E402
from foncier.geo.speeds import DEFAULT_SPEED_MODEL, SpeedModel, built_up_areas  # noqa: E402

_CLASSES = ["trunk", "primary", "tertiary", "residential"]
_LIMITED = {"trunk"}


def _expected_speed(cls: str, limit: float, urban: bool, vehicle: str, m: SpeedModel) -> float:
    """The documented formula, written out independently of SpeedModel.edge_speeds."""
    lim = limit if limit == limit and limit > 0 else m.legal_limit_kmh[cls]
    v = lim * m.free_flow_factor[cls]
    if vehicle == "hgv":
        cap = m.hgv_limit_motorway_kmh if cls.startswith("motorway") else m.hgv_limit_other_kmh
        v = min(v, min(lim, cap) * m.hgv_factor.get(cls, m.free_flow_factor[cls]))
    if urban and cls not in _LIMITED:
        town = m.urban_speed_kmh.get(cls, m.urban_default_kmh)
        if vehicle == "hgv":
            town = min(town, m.hgv_limit_other_kmh)
        v = min(v, town)
    return v


@st.composite
def calibrated_grids(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, list[tuple]]:
    """A grid of separate two-point lines with random class, legal limit, one-way and urban flags."""
    nx_, ny_ = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    rows = []
    for j in range(ny_):
        for i in range(nx_):
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= nx_ or j + dj >= ny_ or draw(st.integers(0, 5)) == 0:
                    continue
                p, q = (100.0 * i, 100.0 * j), (100.0 * (i + di), 100.0 * (j + dj))
                if draw(st.booleans()):
                    p, q = q, p
                rows.append(
                    (
                        p,
                        q,
                        draw(st.sampled_from(_CLASSES)),
                        draw(st.sampled_from([float("nan"), 30.0, 50.0, 90.0, 110.0])),
                        draw(st.booleans()),
                        draw(st.booleans()),
                    )
                )
    roads = gpd.GeoDataFrame(
        {
            "road_id": [f"r{k}" for k in range(len(rows))],
            "class": [r[2] for r in rows],
            "speed_kmh": [r[3] for r in rows],
            "oneway": [r[4] for r in rows],
            "urban": [r[5] for r in rows],
        },
        geometry=[shapely.LineString([r[0], r[1]]) for r in rows],
        crs=L93,
    )
    return roads, rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calibrated_grids(), st.integers(0, 10_000), st.sampled_from(["car", "hgv"]))
def test_calibrated_times_match_networkx(net: tuple[gpd.GeoDataFrame, list[tuple]], pick: int, vehicle: str) -> None:
    """Vehicle speeds, town speeds and junction penalties, against networkx on the same rules."""
    roads, rows = net
    assume(len(rows) > 0)
    m = DEFAULT_SPEED_MODEL
    und = nx.Graph()
    urban_node: dict[tuple, bool] = {}
    for p, q, _cls, _lim, _one, urb in rows:
        und.add_edge(p, q)
        urban_node[p] = urban_node.get(p, False) or urb
        urban_node[q] = urban_node.get(q, False) or urb
    ref = nx.DiGraph()
    for p, q, cls, lim, one, urb in rows:
        v = _expected_speed(cls, lim, urb, vehicle, m)
        for a, b in [(p, q)] if one else [(p, q), (q, p)]:
            w = 100.0 / (v * 1000 / 60)
            if und.degree(b) >= 3 and cls not in _LIMITED:
                sec = m.junction_penalty_s["urban" if urban_node[b] else "rural"]
                w += sec * (m.hgv_junction_multiplier if vehicle == "hgv" else 1.0) / 60
            ref.add_edge(a, b, weight=w)
    g = build_road_graph(roads, vehicle=vehicle)  # type: ignore[arg-type]
    nodes = sorted(und.nodes)
    source = nodes[pick % len(nodes)]
    ours = travel_times_from(g, [source], main_component=False)
    expected = nx.single_source_dijkstra_path_length(ref, source, weight="weight")
    for n in nodes:
        got = ours[node_at(g, *n)]
        if n in expected:
            assert got == pytest.approx(expected[n], rel=1e-9, abs=1e-9)
        else:
            assert np.isinf(got)


def test_route_lengths_follow_the_fastest_route_like_networkx() -> None:
    """Road distance = length of the time-shortest path (not the shortest path), as networkx finds it."""
    rng = np.random.default_rng(7)
    rows = []
    ref = nx.DiGraph()
    for j in range(6):
        for i in range(6):
            for di, dj in ((1, 0), (0, 1)):
                if i + di > 5 or j + dj > 5:
                    continue
                p = (100.0 * i, 100.0 * j)
                q = (100.0 * (i + di), 100.0 * (j + dj))
                bend = ((p[0] + q[0]) / 2 + rng.uniform(0, 30) * dj, (p[1] + q[1]) / 2 + rng.uniform(0, 30) * di)
                speed = float(rng.uniform(20, 110))
                rows.append(([p, bend, q], speed, False))  # uneven lengths
    roads = roads_gdf(rows)
    g = build_road_graph(roads)
    for coords, speed, _ in rows:
        length = float(shapely.LineString(coords).length)
        for a, b in ((coords[0], coords[-1]), (coords[-1], coords[0])):
            ref.add_edge(tuple(a), tuple(b), weight=length / (speed * 1000 / 60), length=length)
    target = min(ref.nodes, key=lambda n: np.hypot(n[0] - 500, n[1] - 500))
    minutes, metres = routes_to(g, [target])
    for n in ref.nodes:
        path = nx.dijkstra_path(ref, n, target, weight="weight")
        t = sum(ref[a][b]["weight"] for a, b in itertools.pairwise(path))
        km = sum(ref[a][b]["length"] for a, b in itertools.pairwise(path))
        k = node_at(g, *n)
        assert minutes[k] == pytest.approx(t, rel=1e-9, abs=1e-6)  # the virtual source edge weighs 1e-9
        assert metres[k] == pytest.approx(km, rel=1e-9, abs=1e-6)
    # a site off the network: access leg at both ends, in time and in distance
    site = gpd.GeoDataFrame(geometry=[shapely.Point(0, -300)], crs=L93)
    r = route_to_hub(site, g, [target])
    k0 = node_at(g, 0.0, 0.0)
    assert r["km"].iloc[0] == pytest.approx((metres[k0] + 300) / 1000)
    assert r["minutes"].iloc[0] == pytest.approx(minutes[k0] + 300 / 500)


def test_lorry_is_slower_than_car_by_the_code_de_la_route() -> None:
    """R413-8: 90 km/h on motorways, 80 elsewhere for > 3.5 t; the car keeps its free-flow factor."""
    m = DEFAULT_SPEED_MODEL
    cls = np.array(["motorway", "trunk", "primary", "tertiary"])
    lim = np.array([130.0, 110.0, 80.0, np.nan])
    rural = np.zeros(4, dtype=bool)
    car = m.edge_speeds(cls, lim, rural, "car")
    hgv = m.edge_speeds(cls, lim, rural, "hgv")
    assert car.tolist() == pytest.approx([130 * 0.91, 110 * 0.88, 80 * 0.85, 80 * 0.72])
    assert hgv[0] == pytest.approx(90 * 0.94) and hgv[1] == pytest.approx(80 * 0.94)
    assert (hgv <= car).all() and (hgv[:2] <= [90, 80]).all()
    town = m.edge_speeds(cls, lim, np.ones(4, dtype=bool), "car")
    assert town[0] == car[0] and town[1] == car[1]  # motorways and expressways bypass towns
    assert town[2] == m.urban_speed_kmh["primary"] and town[3] == m.urban_speed_kmh["tertiary"]
    with pytest.raises(ValueError, match="vehicle"):
        m.edge_speeds(cls, lim, rural, "bike")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="free_flow_factor"):
        SpeedModel(free_flow_factor={"primary": 1.5})


def test_built_up_areas_slow_roads_through_towns() -> None:
    """A road crossing a town's built-up disc is slower there than the same road in open country."""
    roads = gpd.GeoDataFrame(
        {"road_id": ["a", "b"], "class": ["secondary", "secondary"], "speed_kmh": [80.0, 80.0], "oneway": [False] * 2},
        geometry=[shapely.LineString([(0, 0), (5000, 0)]), shapely.LineString([(5000, 0), (10000, 0)])],
        crs=L93,
    )
    town = gpd.GeoDataFrame({"population": [10_000]}, geometry=[shapely.Point(2500, 0)], crs=L93)
    area = built_up_areas(town)
    assert area.iloc[0].contains(shapely.Point(2500 + 250 + 12 * 100 - 1, 0))
    g = build_road_graph(roads, vehicle="car", built_up=area)
    free = build_road_graph(roads, vehicle="car")
    t = travel_times_from(g, [(0, 0)])
    t_free = travel_times_from(free, [(0, 0)])
    k = node_at(g, 5000, 0)
    # the first piece's middle is in town: urban speed over its 5 km
    assert t[k] == pytest.approx(5000 / (DEFAULT_SPEED_MODEL.urban_speed_kmh["secondary"] * 1000 / 60))
    assert t_free[k] == pytest.approx(5000 / (80 * 0.80 * 1000 / 60))
    graphs = build_vehicle_graphs(roads, communes=town)
    assert set(graphs) == {"car", "hgv"} and graphs["hgv"].vehicle == "hgv"
    assert build_vehicle_graphs(None) == {}


def test_sample_network_lands_in_the_reference_windows() -> None:
    """Soissons, Villers-Cotterêts and Oulchy-le-Château to Roissy-CDG, car and lorry (docs/ACCESS.md)."""
    from foncier.geo.network import roissy_hub
    from foncier.geo.speeds import REFERENCE_TRIPS
    from foncier.layers.sample.communes import commune_centres as sample_centres
    from foncier.layers.sample.territory import build_sample_territory

    sample = build_sample_territory("small")
    centres = sample_centres()
    towns = centres[centres["insee"].isin(list(REFERENCE_TRIPS))].set_index("insee")
    graphs = build_vehicle_graphs(sample.layers["roads"], communes=sample.layers["communes"])
    cdg = roissy_hub(sample.layers["hubs"])
    for vehicle, g in graphs.items():
        r = route_to_hub(towns, g, cdg)
        for insee, windows in REFERENCE_TRIPS.items():
            lo, hi = windows[vehicle]
            assert lo <= r.loc[insee, "minutes"] <= hi, (insee, vehicle, r.loc[insee, "minutes"])
    soissons = route_to_hub(towns.loc[["02722"]], graphs["car"], cdg)
    assert 70 <= soissons["km"].iloc[0] <= 90  # ~80 km via the N2

"""The criteria table (foncier.geo.criteria) on a tiny hand-made territory."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from foncier.errors import CRSError
from foncier.geo.criteria import compute_criteria
from foncier.geo.network import build_road_graph
from foncier.geo.speeds import SpeedModel

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0

# docs/CONTRACTS.md, "Criteria" table, in order
CONTRACT_COLUMNS = [
    "time_to_roissy_min",
    "time_to_interchange_min",
    "dist_freight_station_m",
    "dist_zone_activite_m",
    "share_brownfield",
    "share_flood_red",
    "share_flood_blue",
    "share_protected",
    "share_natura2000_habitats",
    "share_natura2000_birds",
    "share_znieff1",
    "share_znieff2",
    "dist_natura2000_m",
    "share_strict_protection",
    "share_ebc",
    "share_no_build_prescription",
    "share_reserved_location",
    "share_ppr_to_read",
    "share_other_hazard_red",
    "share_other_hazard_blue",
    "zoning_class",
    "zoning_presumed",
    "slope_mean_pct",
    "slope_max_pct",
    "area_m2",
    "labour_pool",
    "time_to_roissy_hgv_min",
    "time_to_interchange_hgv_min",
    "time_to_freight_station_min",
    "time_to_freight_station_hgv_min",
    "aeroport_dist",
    "autoroute_echang_dist",
    "gare_fret_dist",
    "dist_freight_line_m",
    "reseau_fret_ferroviaire",
    "labour_pool_30min",
    "labour_pool_60min",
    "inventory_turnkey_share",
    "inventory_price_m2",
    "inventory_public_control_share",
    "inventory_epf_control_share",
]


def pt(x: float, y: float) -> shapely.Point:
    return shapely.Point(X0 + x, Y0 + y)


def bx(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(geoms: list, **cols: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=L93)


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    """A 5 x 5 km grid of local roads (50 km/h, 1 km spacing) and a 35 km motorway east to 'CDG'."""
    lines, classes, speeds = [], [], []
    for k in range(6):
        lines += [
            shapely.LineString([(X0, Y0 + 1000 * k), (X0 + 5000, Y0 + 1000 * k)]),
            shapely.LineString([(X0 + 1000 * k, Y0), (X0 + 1000 * k, Y0 + 5000)]),
        ]
        classes += ["tertiary", "tertiary"]
        speeds += [50.0, 50.0]
    lines.append(shapely.LineString([(X0 + 5000, Y0 + 2000), (X0 + 40_000, Y0 + 2000)]))
    classes.append("motorway")
    speeds.append(110.0)
    # horizontal and vertical lines cross at interior vertices only if they share them: add the crossings
    lines = [shapely.segmentize(line, 1000.0) for line in lines]
    roads = layer(
        lines,
        road_id=[f"r{i}" for i in range(len(lines))],
        **{"class": classes},
        speed_kmh=speeds,
        oneway=[False] * len(lines),
    )
    return {
        "roads": roads,
        "hubs": layer(
            [pt(40_000, 2100), pt(5000, 2000)],
            hub_id=["CDG", "A26"],
            nom=["Paris-CDG", "x"],
            kind=["airport", "interchange"],
        ),
        "interchanges": layer([pt(5000, 2000)], interchange_id=["i1"], nom=["x"], road_class=["motorway"]),
        "rail_stations": layer(
            [pt(1100, 1500), pt(1150, 1150)],
            code_uic=["87000001", "87000002"],
            nom=["fret", "voy"],
            fret=[True, False],
            voyageurs=[False, True],
        ),
        "zones": layer(
            [bx(1000, 1000, 1100, 1200)], zone_id=["z1"], nom=["ZA"], type=["mixed"], surface_m2=[2e4], vacancy=[0.1]
        ),
        "friches": layer([pt(1050, 1050)], site_id=["f1"], site_statut=["friche"], site_surface_m2=[5000.0]),
        "parcels": layer(
            [bx(1000, 1000, 1100, 1200), bx(1100, 1000, 1200, 1200)],
            parcel_id=["02722000AB0001", "02722000AB0002"],
            commune=["02722", "02722"],
        ),
        "flood": layer([bx(1000, 1000, 1200, 1100), bx(1000, 1100, 1050, 1200)], level=["red", "blue"]),
        "protected": layer([bx(1150, 1000, 1300, 1200)], kind=["znieff1"], code=["220013"]),
        "plu": layer([bx(900, 900, 1300, 1300)], typezone=["U"], destdomi=[None], libelle=["UX"]),
        "communes": layer(
            [bx(0, 0, 2000, 2000), bx(3000, 3000, 5000, 5000), bx(60_000, 0, 61_000, 1000)],
            insee=["02722", "02245", "02001"],
            nom=["a", "b", "c"],
            epci_siren=[None, None, None],
            population=[1000, 200, 50_000],
        ),
    }


@pytest.fixture(scope="module")
def sites() -> gpd.GeoDataFrame:
    return layer(
        [bx(1000, 1000, 1200, 1200), bx(3900, 3900, 4100, 4100)],
        site_id=["Saaaaaaaaaa", "Sbbbbbbbbbb"],
        area_m2=[40_000.0, 40_000.0],
    )


@pytest.fixture(scope="module")
def dem() -> tuple[np.ndarray, Affine]:
    """Plane rising 2 m per 100 m eastwards (2 %) over the 5 km square, 25 m cells."""
    cols = rows = 200
    transform = Affine(25.0, 0, X0, 0, -25.0, Y0 + rows * 25.0)
    x = (np.arange(cols) + 0.5) * 25.0
    return np.tile(100.0 + 0.02 * x, (rows, 1)), transform


def test_full_table(layers: dict, sites: gpd.GeoDataFrame, dem: tuple[np.ndarray, Affine]) -> None:
    calls: list[tuple[str, int, int]] = []
    # free flow at the legal limits (no calibration) so that times can be computed by hand
    table = compute_criteria(
        sites, layers, dem, progress=lambda s, d, t: calls.append((s, d, t)), speed_model=SpeedModel.legal()
    )
    assert list(table.columns) == CONTRACT_COLUMNS
    assert table.index.name == "site_id"
    assert list(table.index) == ["Saaaaaaaaaa", "Sbbbbbbbbbb"]
    a = table.loc["Saaaaaaaaaa"]
    # by hand: 141.4 m access at 30 km/h + 5 km of local roads at 50 km/h + 35 km of motorway at 110 km/h
    # + 100 m hub access
    expected_roissy = np.hypot(100, 100) / 500 + 5000 / (50_000 / 60) + 35_000 / (110_000 / 60) + 100 / 500
    assert a["time_to_roissy_min"] == pytest.approx(expected_roissy)
    assert a["time_to_interchange_min"] == pytest.approx(np.hypot(100, 100) / 500 + 5000 / (50_000 / 60))
    assert a["dist_freight_station_m"] == pytest.approx(300.0)  # the passenger-only station is inside
    assert a["dist_zone_activite_m"] == 0.0
    assert a["share_brownfield"] == pytest.approx(0.5)  # the friche point's parcel is half of the site
    assert a["share_flood_red"] == pytest.approx(0.5)
    assert a["share_flood_blue"] == pytest.approx(0.125)
    assert a["share_protected"] == pytest.approx(0.25)
    assert a["zoning_class"] == "economic_U"
    assert a["slope_mean_pct"] == pytest.approx(2.0)
    assert a["slope_max_pct"] == pytest.approx(2.0)
    assert a["area_m2"] == 40_000.0
    assert a["labour_pool"] == 1200  # both nearby communes, not the one 60 km away
    b = table.loc["Sbbbbbbbbbb"]
    assert b["zoning_class"] == "none"
    assert b["share_flood_red"] == 0.0
    assert b["dist_zone_activite_m"] == pytest.approx(np.hypot(2800, 2700))
    # its centre is a road node: no access leg; 3 km of local roads, then the motorway
    assert b["time_to_roissy_min"] == pytest.approx(3000 / (50_000 / 60) + 35_000 / (110_000 / 60) + 100 / 500)
    assert [c[1] for c in calls] == list(range(1, len(calls) + 1))
    assert calls[-1][1] == calls[-1][2]


def test_prebuilt_graph_gives_the_same_times(layers: dict, sites: gpd.GeoDataFrame) -> None:
    graph = build_road_graph(layers["roads"])
    no_roads = {k: v for k, v in layers.items() if k != "roads"}
    t1 = compute_criteria(sites, no_roads, None, graph=graph)
    t2 = compute_criteria(sites, layers, None, speed_model=SpeedModel.legal())
    assert t1["time_to_roissy_min"].tolist() == pytest.approx(t2["time_to_roissy_min"].tolist())


def test_missing_layers_give_nan_and_warnings(
    layers: dict, sites: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    partial = {k: v for k, v in layers.items() if k in {"zones", "plu"}}
    with caplog.at_level(logging.WARNING, logger="foncier.geo"):
        table = compute_criteria(sites, partial, None)
    assert list(table.columns) == CONTRACT_COLUMNS
    nan_cols = [
        "time_to_roissy_min",
        "time_to_interchange_min",
        "dist_freight_station_m",
        "share_brownfield",
        "share_flood_red",
        "share_flood_blue",
        "share_protected",
        "slope_mean_pct",
        "slope_max_pct",
        "labour_pool",
    ]
    assert table[nan_cols].isna().all().all()
    assert table["dist_zone_activite_m"].notna().all()
    assert table["zoning_class"].tolist() == ["economic_U", "none"]
    assert table["area_m2"].tolist() == [40_000.0, 40_000.0]
    for name in ("roads", "flood", "protected", "friches", "communes", "DEM"):
        assert name in caplog.text


def test_empty_layers_are_answers_not_gaps(layers: dict, sites: gpd.GeoDataFrame) -> None:
    empty = {
        "flood": layers["flood"].iloc[:0],
        "protected": layers["protected"].iloc[:0],
        "plu": layers["plu"].iloc[:0],
        "friches": layers["friches"].iloc[:0],
    }
    table = compute_criteria(sites, empty, None)
    assert (table[["share_flood_red", "share_flood_blue", "share_protected", "share_brownfield"]] == 0).all().all()
    assert table["zoning_class"].tolist() == ["none", "none"]


def test_area_falls_back_to_geometry_and_crs_is_checked(layers: dict) -> None:
    sites = layer([bx(0, 0, 100, 50)], site_id=["S1"])
    assert compute_criteria(sites, {}, None)["area_m2"].iloc[0] == pytest.approx(5000)
    with pytest.raises(CRSError):
        compute_criteria(sites.to_crs("EPSG:4326"), {}, None)
    with pytest.raises(CRSError):
        compute_criteria(sites, {"flood": layers["flood"].to_crs("EPSG:3857")}, None)

"""Tests of the built-in synthetic sample territory (``foncier.layers.sample``), small size only.

The full size (about 150,000 parcels) is exercised by ``benchmarks/bench_sample.py``.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from foncier.geo.zoning import ECONOMIC_CLASSES, zoning_class
from foncier.layers.sample import SampleTerritory, build_sample_territory
from foncier.layers.sample.communes import COMMUNES_CSV, load_commune_table
from foncier.layers.schemas import INSEE_RE, PARCEL_ID_RE, SCHEMAS, Column

SEED = 2023


@pytest.fixture(scope="module")
def sample() -> SampleTerritory:
    return build_sample_territory("small", seed=SEED)


def _to_l93(lon: float, lat: float) -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(lon, lat)
    return float(x), float(y)


def _dem_at(sample: SampleTerritory, lon: float, lat: float) -> float:
    x, y = _to_l93(lon, lat)
    col, row = ~sample.dem_transform @ (x, y)
    return float(sample.dem[int(row), int(col)])


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_territory(sample: SampleTerritory) -> None:
    again = build_sample_territory("small", seed=SEED)
    assert again.layers.keys() == sample.layers.keys()
    for name, gdf in sample.layers.items():
        other = again.layers[name]
        pd.testing.assert_frame_equal(
            pd.DataFrame(gdf.drop(columns="geometry")), pd.DataFrame(other.drop(columns="geometry")), obj=name
        )
        assert np.array_equal(shapely.to_wkb(gdf.geometry.to_numpy()), shapely.to_wkb(other.geometry.to_numpy())), name
    assert np.array_equal(sample.dem, again.dem)
    assert sample.dem_transform == again.dem_transform


def test_other_seed_gives_other_territory(sample: SampleTerritory) -> None:
    other = build_sample_territory("small", seed=SEED + 1)
    a, b = sample.layers["parcels"], other.layers["parcels"]
    assert len(a) != len(b) or not a.geometry.geom_equals(b.geometry).all()
    assert not np.array_equal(sample.dem, other.dem)
    # the real geography does not move
    pd.testing.assert_frame_equal(
        pd.DataFrame(sample.layers["communes"].drop(columns="geometry")),
        pd.DataFrame(other.layers["communes"].drop(columns="geometry")),
    )


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        build_sample_territory("medium")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- schemas


def _check_column(name: str, series: pd.Series, col: Column) -> list[str]:
    problems: list[str] = []
    null = series.isna()
    if not col.nullable and null.any():
        problems.append(f"{name}.{col.name}: {int(null.sum())} null values")
    values = series[~null]
    if col.kind == "str":
        if not all(isinstance(v, str) for v in values):
            problems.append(f"{name}.{col.name}: non-string values")
        if col.pattern is not None and not values.map(lambda v: bool(col.pattern.fullmatch(v))).all():
            problems.append(f"{name}.{col.name}: values not matching {col.pattern.pattern}")
        if col.choices is not None and not values.isin(col.choices).all():
            problems.append(f"{name}.{col.name}: values outside {col.choices}")
    elif col.kind == "int":
        if not pd.api.types.is_integer_dtype(series.dtype):
            problems.append(f"{name}.{col.name}: dtype {series.dtype} is not integer")
    elif col.kind == "float":
        if not pd.api.types.is_float_dtype(series.dtype):
            problems.append(f"{name}.{col.name}: dtype {series.dtype} is not float")
    elif col.kind == "bool" and not pd.api.types.is_bool_dtype(series.dtype):
        problems.append(f"{name}.{col.name}: dtype {series.dtype} is not bool")
    if col.kind in ("int", "float") and len(values):
        if col.minimum is not None and values.min() < col.minimum:
            problems.append(f"{name}.{col.name}: values below {col.minimum}")
        if col.maximum is not None and values.max() > col.maximum:
            problems.append(f"{name}.{col.name}: values above {col.maximum}")
    return problems


def test_every_canonical_layer_is_present(sample: SampleTerritory) -> None:
    assert set(sample.layers) == set(SCHEMAS)
    assert sample.size == "small"
    assert sample.seed == SEED
    assert sample.territory == "Soissonnais et Valois"
    assert sample.dem_crs == "EPSG:2154"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_layer_matches_its_schema(sample: SampleTerritory, name: str) -> None:
    gdf = sample.layers[name]
    schema = SCHEMAS[name]
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert len(gdf) > 0
    assert gdf.crs is not None and gdf.crs.to_epsg() == 2154
    assert gdf.geometry.name == "geometry"
    missing = [c for c in schema.column_names if c not in gdf.columns]
    assert not missing, f"{name}: missing columns {missing}"
    problems: list[str] = []
    for col in schema.columns:
        problems += _check_column(name, gdf[col.name], col)
    for col in schema.optional_columns:
        if col.name in gdf.columns:
            problems += _check_column(name, gdf[col.name], col)
    assert not problems, problems
    if schema.id_column:
        ids = gdf[schema.id_column]
        assert ids.notna().all() and ids.is_unique, f"{name}: ids not unique"
    geoms = gdf.geometry.to_numpy()
    assert not shapely.is_missing(geoms).any()
    assert not shapely.is_empty(geoms).any()
    assert shapely.is_valid(geoms).all(), f"{name}: invalid geometries"
    assert set(gdf.geom_type) <= set(schema.geometry_types), f"{name}: {set(gdf.geom_type)}"
    # within the territory's neighbourhood (CDG and the ends of the roads lie outside the territory)
    xmin, ymin, xmax, ymax = gdf.total_bounds
    assert xmin > 600_000 and xmax < 850_000 and ymin > 6_830_000 and ymax < 7_000_000


@pytest.mark.skipif(importlib.util.find_spec("foncier.layers.validate") is None, reason="no validator yet")
@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_layer_passes_the_validator(sample: SampleTerritory, name: str) -> None:
    from foncier.layers.validate import validate_layer

    result = validate_layer(sample.layers[name], name)
    validated = result[0] if isinstance(result, tuple) else result
    assert len(validated) == len(sample.layers[name])


# --------------------------------------------------------------------------- communes


def test_communes_are_the_real_ones(sample: SampleTerritory) -> None:
    communes = sample.layers["communes"]
    assert len(communes) == 163
    assert communes["insee"].map(lambda v: bool(INSEE_RE.fullmatch(v))).all()
    assert set(communes["epci_siren"]) == {"240200477", "240200501", "240200519", "200071991"}
    soissons = communes.set_index("insee").loc["02722"]
    assert soissons["nom"] == "Soissons"
    assert soissons["population"] > 25_000
    # Voronoi cells tile the territory outline: no overlap
    union = shapely.union_all(communes.geometry.to_numpy())
    assert communes.area.sum() == pytest.approx(union.area, rel=1e-6)
    assert 1_200e6 < union.area < 1_600e6
    # each real centre lies in its own cell
    table = load_commune_table()
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(table["lon"], table["lat"])
    cells = communes.set_index("insee").geometry.loc[table["insee"]].to_numpy()
    assert shapely.contains(cells, shapely.points(x, y)).all()


def test_commune_table_ships_with_the_package() -> None:
    table = load_commune_table()
    assert COMMUNES_CSV.is_file()
    assert "shared" not in COMMUNES_CSV.resolve().parts
    assert list(table.columns) == ["insee", "nom", "epci_siren", "epci_nom", "population", "lon", "lat"]
    assert len(table) == 163 and table["insee"].is_unique
    assert table["lon"].between(2.9, 3.8).all() and table["lat"].between(49.1, 49.55).all()


def test_build_does_not_read_the_shared_folder() -> None:
    root = Path(__file__).resolve().parents[2] / "layers" / "sample"
    for path in root.glob("*.py"):
        if path.name == "_derive_communes.py":  # documented one-off script, not run at build time
            continue
        text = path.read_text(encoding="utf-8")
        assert "/shared" not in text and "shared/" not in text and "data/real" not in text, path.name


# --------------------------------------------------------------------------- parcels


def test_parcel_count_is_a_few_thousand(sample: SampleTerritory) -> None:
    assert 2_000 <= len(sample.layers["parcels"]) <= 5_000


def test_parcels_do_not_overlap(sample: SampleTerritory) -> None:
    geoms = sample.layers["parcels"].geometry.to_numpy()
    total = shapely.area(geoms).sum()
    union = shapely.union_all(geoms).area
    assert total == pytest.approx(union, rel=0.005)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="overlaps")
    pairs = left < right
    if pairs.any():  # floating-point noise along shared edges only
        shared = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
        assert shared.max() < 0.5


def test_parcel_ids_follow_etalab(sample: SampleTerritory) -> None:
    parcels = sample.layers["parcels"]
    ids = parcels["parcel_id"]
    assert ids.is_unique
    assert ids.map(lambda v: bool(PARCEL_ID_RE.fullmatch(v))).all()
    rebuilt = parcels["commune"] + "000" + parcels["section"].str.rjust(2, "0") + parcels["numero"].str.zfill(4)
    assert (rebuilt == ids).all()
    assert parcels["section"].str.len().between(1, 2).all()
    assert not parcels["numero"].str.startswith("0").any()
    assert set(parcels["commune"]) <= set(sample.layers["communes"]["insee"])


def test_contenance_is_close_to_the_area(sample: SampleTerritory) -> None:
    parcels = sample.layers["parcels"]
    ratio = parcels["contenance_m2"] / parcels.area
    assert ratio.between(0.97, 1.03).all()
    assert (parcels["contenance_m2"] == parcels["contenance_m2"].round()).all()


def test_parcel_sizes_are_realistic(sample: SampleTerritory) -> None:
    area = sample.layers["parcels"].area
    assert ((area >= 200) & (area <= 1_500)).sum() > 300  # gardens and house lots
    assert ((area >= 10_000) & (area <= 200_000)).sum() > 100  # fields and economic lots
    assert area.max() < 1e6


def test_status_is_set_on_a_few_parcels(sample: SampleTerritory) -> None:
    status = sample.layers["parcels"]["status"]
    share = status.notna().mean()
    assert 0 < share < 0.1


def _economic_clusters(layers: dict[str, gpd.GeoDataFrame], gap: float = 0.05) -> np.ndarray:
    """Areas of the groups of touching parcels lying in economic zoning, zones d'activite or friches."""
    plu = layers["plu"]
    eco = np.concatenate(
        [
            plu.geometry[zoning_class(plu).isin(ECONOMIC_CLASSES).to_numpy()].to_numpy(),
            layers["zones"].geometry.to_numpy(),
            layers["friches"].geometry.to_numpy(),
        ]
    )
    available = shapely.union_all(eco)
    parcels = layers["parcels"].geometry.to_numpy()
    inside = parcels[shapely.contains(available, shapely.point_on_surface(parcels))]
    left, right = shapely.STRtree(inside).query(inside, predicate="dwithin", distance=gap)
    adjacency = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(inside), len(inside)))
    _, label = connected_components(adjacency, directed=False)
    return np.bincount(label, weights=shapely.area(inside))


def test_there_are_candidate_sites(sample: SampleTerritory) -> None:
    areas = _economic_clusters(sample.layers)
    assert ((areas >= 1e4) & (areas <= 3e5)).sum() >= 15


# --------------------------------------------------------------------------- zoning and constraints


def test_plu_covers_the_territory_without_overlap(sample: SampleTerritory) -> None:
    plu = sample.layers["plu"]
    union = shapely.union_all(plu.geometry.to_numpy())
    assert plu.area.sum() == pytest.approx(union.area, rel=1e-4)
    territory = shapely.union_all(sample.layers["communes"].geometry.to_numpy())
    assert union.area == pytest.approx(territory.area, rel=0.005)
    # PLU zones, plus one carte communale commune (ZC/ZCa/ZnC) and one commune under the RNU
    assert set(plu["typezone"]) == {"U", "AUc", "AUs", "A", "N", "ZC", "ZCa", "ZnC", "RNU"}
    assert plu.loc[plu["typezone"] == "RNU", "insee"].nunique() == 1
    assert plu.loc[plu["typezone"] == "ZCa", "typesect"].eq("02").all()
    classes = zoning_class(plu)
    assert {"economic_U", "economic_AUc", "economic_AUs", "cc_activity", "AUs", "rnu"} <= set(classes)
    assert set(plu["destdomi"].dropna()) <= {"00", "01", "02", "03", "07", "08"}  # CNIG codes
    assert plu["datappro"].notna().sum() > 0.9 * len(plu)
    assert {"UX", "1AUx", "A", "N", "UA", "UB"} <= set(plu["libelle"])
    share = plu.assign(a=plu.area).groupby("typezone")["a"].sum() / plu.area.sum()
    assert share["A"] > 0.5 and share["N"] > 0.05 and share["U"] < 0.15


def test_sample_shows_each_constraint(sample: SampleTerritory) -> None:
    """What the demo needs: a PPR zone with a code the classifier does not know, a nature reserve, an EBC,
    an emplacement réservé and an inconstructible sector."""
    flood = sample.layers["flood"]
    assert (flood["level"] == "to_read").any() and not flood.loc[flood["level"] == "to_read", "typereglement"].isin(
        ["01", "02", "03", "04"]
    ).any()
    assert (sample.layers["protected"]["kind"] == "rnr").sum() == 1
    assert {"ebc", "reserved_location", "no_build"} <= set(sample.layers["prescriptions"]["kind"])


def test_zones_and_friches(sample: SampleTerritory) -> None:
    zones = sample.layers["zones"]
    assert zones["vacancy"].between(0, 1).all()
    assert zones["nom"].str.contains("Villers-Cotterêts").any()
    assert zones["nom"].str.contains("Villeneuve-Saint-Germain").any()
    assert (zones["surface_m2"] - zones.area).abs().max() < 1.0
    friches = sample.layers["friches"]
    assert 20 <= len(friches) <= 40
    assert friches["site_id"].str.fullmatch(r"\d{5}_\d{4,5}").all()
    assert (friches["site_id"].str[:5] == "02722").sum() >= 5


def test_flood_zones_follow_the_aisne(sample: SampleTerritory) -> None:
    flood = sample.layers["flood"]
    assert set(flood["level"]) == {"red", "blue", "to_read"}
    red = shapely.union_all(flood.geometry[flood["level"] == "red"].to_numpy())
    blue = shapely.union_all(flood.geometry[flood["level"] == "blue"].to_numpy())
    assert shapely.intersection(red, blue).area < 1.0
    x, y = _to_l93(3.20, 49.397)  # the Aisne between Fontenoy and Pernant
    assert red.contains(shapely.Point(x, y))
    x, y = _to_l93(3.25, 49.33)  # plateau south of the valley
    assert not red.union(blue).contains(shapely.Point(x, y))


def test_protected_areas(sample: SampleTerritory) -> None:
    protected = sample.layers["protected"]
    assert set(protected["kind"]) == {"natura2000_sic", "natura2000_zps", "znieff1", "znieff2", "rnr"}
    retz = protected[protected["code"] == "FR2200398"]
    assert retz.area.sum() > 50e6


# --------------------------------------------------------------------------- networks


def _road_graph(roads: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    geoms = roads.geometry.to_numpy()
    first = shapely.get_coordinates(shapely.get_point(geoms, 0))
    last = shapely.get_coordinates(shapely.get_point(geoms, -1))
    nodes, inverse = np.unique(np.vstack([first, last]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return inverse[: len(geoms)], inverse[len(geoms) :], nodes


def test_road_graph_is_connected(sample: SampleTerritory) -> None:
    roads = sample.layers["roads"]
    a, b, nodes = _road_graph(roads)
    n = len(nodes)
    undirected = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    assert connected_components(undirected, directed=False)[0] == 1
    # directed: one-way roads only in their direction; the whole network stays strongly connected
    two_way = ~roads["oneway"].to_numpy()
    rows = np.concatenate([a, b[two_way]])
    cols = np.concatenate([b, a[two_way]])
    directed = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    assert connected_components(directed, directed=True, connection="strong")[0] == 1
    assert 0 < roads["oneway"].sum() < 0.1 * len(roads)


def test_slip_roads_run_the_right_way(sample: SampleTerritory) -> None:
    roads = sample.layers["roads"]
    junctions = shapely.get_coordinates(sample.layers["interchanges"].geometry.to_numpy())
    links = roads[roads["class"] == "trunk_link"]
    assert links["oneway"].all()
    exits = links[links["nom"].str.startswith("Bretelle de sortie")].geometry.to_numpy()
    entries = links[links["nom"].str.startswith("Bretelle d'entrée")].geometry.to_numpy()
    assert len(exits) == len(entries) > 0
    start = shapely.get_coordinates(shapely.get_point(exits, 0))
    end = shapely.get_coordinates(shapely.get_point(entries, -1))
    assert all(np.all(junctions == p, axis=1).any() for p in start)  # exits leave the expressway
    assert all(np.all(junctions == p, axis=1).any() for p in end)  # entries join it


def test_every_commune_centre_is_on_the_network(sample: SampleTerritory) -> None:
    _, _, nodes = _road_graph(sample.layers["roads"])
    table = load_commune_table()
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(table["lon"], table["lat"])
    tree = shapely.STRtree(shapely.points(nodes))
    _, dist = tree.query_nearest(shapely.points(x, y), return_distance=True)
    assert dist.max() < 0.01  # road coordinates are rounded to the centimetre


def test_roads_have_the_main_axes(sample: SampleTerritory) -> None:
    roads = sample.layers["roads"]
    assert {"trunk", "trunk_link", "primary", "secondary", "tertiary"} <= set(roads["class"])
    assert {"N2", "N31", "D1"} <= set(roads["ref"].dropna())
    speeds = roads.groupby("class")["speed_kmh"].first()
    assert speeds["trunk"] == 110 and speeds["primary"] == 80 and speeds["secondary"] == 70
    n2 = shapely.union_all(roads.geometry[roads["ref"] == "N2"].to_numpy())
    assert n2.length > 80_000  # Laon - Soissons - Villers-Cotterets - Roissy


def test_cdg_hub_is_on_a_road_vertex(sample: SampleTerritory) -> None:
    hubs = sample.layers["hubs"].set_index("hub_id")
    cdg = hubs.loc["CDG"]
    assert cdg["kind"] == "airport"
    assert cdg["nom"] == "Paris-Charles-de-Gaulle (Roissy)"
    x, y = _to_l93(2.55, 49.0128)
    assert math.hypot(cdg.geometry.x - x, cdg.geometry.y - y) < 1.0
    _, _, nodes = _road_graph(sample.layers["roads"])
    assert (np.all(nodes == [cdg.geometry.x, cdg.geometry.y], axis=1)).sum() == 1


def test_interchanges_are_trunk_vertices_and_hubs(sample: SampleTerritory) -> None:
    roads = sample.layers["roads"]
    trunk = roads[roads["class"] == "trunk"]
    _, _, nodes = _road_graph(trunk)
    interchanges = sample.layers["interchanges"]
    assert len(interchanges) >= 6
    xy = shapely.get_coordinates(interchanges.geometry.to_numpy())
    assert all(np.all(nodes == p, axis=1).any() for p in xy)
    hubs = sample.layers["hubs"]
    assert set(interchanges["interchange_id"]) <= set(hubs["hub_id"])
    assert (hubs["kind"] == "freight_station").sum() >= 3


def test_railways_and_stations(sample: SampleTerritory) -> None:
    stations = sample.layers["rail_stations"].set_index("nom")
    assert {"Soissons", "Villers-Cotterêts", "Vierzy", "Crouy"} <= set(stations.index)
    assert stations.loc["Soissons", "fret"] and stations.loc["Soissons", "voyageurs"]
    assert stations["code_uic"].str.startswith("87").all()
    lines = sample.layers["rail_lines"]
    assert "229000" in set(lines["code_ligne"])
    network = shapely.union_all(lines.geometry.to_numpy())
    assert shapely.distance(network, stations.geometry.to_numpy()).max() < 1.0


# --------------------------------------------------------------------------- DEM


def test_dem_has_a_valley_below_the_plateau(sample: SampleTerritory) -> None:
    dem = sample.dem
    assert dem.ndim == 2 and dem.dtype == np.float32
    assert np.isfinite(dem).all()
    t = sample.dem_transform
    assert t.a == -t.e and t.b == 0 and t.d == 0
    valley = _dem_at(sample, 3.265, 49.384)  # the Aisne west of Soissons
    plateau = _dem_at(sample, 3.25, 49.33)
    assert 30 <= valley <= 60
    assert 130 <= plateau <= 230
    assert plateau - valley > 70
    # the DEM covers the territory
    xmin, ymin, xmax, ymax = sample.layers["communes"].total_bounds
    h, w = dem.shape
    assert t.c <= xmin and t.f >= ymax and t.c + w * t.a >= xmax and t.f + h * t.e <= ymin


def test_dem_valley_sides_are_steep_but_not_cliffs(sample: SampleTerritory) -> None:
    gy, gx = np.gradient(sample.dem.astype(float), sample.dem_transform.a)
    slope = np.hypot(gx, gy) * 100
    assert np.percentile(slope, 50) < 5
    assert 10 < np.percentile(slope, 99) < 35
    assert slope.max() < 60

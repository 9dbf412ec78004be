"""OpenStreetMap extract (written with osmium) to the roads and interchanges layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from foncier.errors import DataFormatError
from foncier.layers.fetch.osm import extract_date, parse_maxspeed, parse_oneway, read_osm_roads, road_speed
from foncier.layers.validate import validate_layer

from .conftest import OSM_TIMESTAMP, write_osm_network

TERRITORY_BBOX = (3.0, 49.1, 3.25, 49.32)
TO_CDG_BBOX = (2.5, 48.95, 3.25, 49.32)


@pytest.fixture(scope="module")
def pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("osm") / "test.osm.pbf"
    write_osm_network(path)
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [("50", 50.0), ("30 mph", 48.3), ("FR:urban", 50.0), ("FR:rural", 80.0), ("FR:motorway", 130.0),
     ("FR:zone30", 30.0), ("90;70", 90.0), ("none", None), ("signals", None), ("", None), (None, None), ("0", None)],
)  # fmt: skip
def test_parse_maxspeed(value: str | None, expected: float | None) -> None:
    assert parse_maxspeed(value) == expected


def test_road_speed_defaults_and_caps() -> None:
    assert road_speed("residential", None) == 30.0
    assert road_speed("motorway", "FR:motorway") == 130.0
    assert road_speed("motorway", "200") == 150.0
    assert road_speed("track", "1") == 5.0


@pytest.mark.parametrize(
    ("highway", "oneway", "junction", "expected"),
    [("residential", "yes", None, (True, False)), ("residential", "true", None, (True, False)),
     ("residential", "-1", None, (True, True)), ("residential", None, None, (False, False)),
     ("motorway", None, None, (True, False)), ("motorway", "no", None, (False, False)),
     ("motorway_link", None, None, (True, False)), ("tertiary", None, "roundabout", (True, False)),
     ("primary", "reversible", None, (False, False))],
)  # fmt: skip
def test_parse_oneway(highway: str, oneway: str | None, junction: str | None, expected: tuple[bool, bool]) -> None:
    assert parse_oneway(highway, oneway, junction) == expected


def test_roads_layer(pbf: Path) -> None:
    roads, _ = read_osm_roads([pbf], bbox=TERRITORY_BBOX, major_bbox=TO_CDG_BBOX)
    valid, _ = validate_layer(roads, "roads")
    by_way = {rid.split("-")[0] for rid in valid["road_id"]}
    # footway, proposed road and the street near Paris are dropped; the motorway to CDG is kept
    assert "w108" not in by_way and "w109" not in by_way and "w110" not in by_way
    assert "w101" in by_way
    row = valid.set_index("road_id")
    assert row.loc["w101-0", "oneway"]  # motorway: implied
    assert row.loc["w101-0", "speed_kmh"] == 110.0  # class default
    assert row.loc["w103-0", "speed_kmh"] == 80.0  # FR:rural
    assert row.loc["w104-0", "speed_kmh"] == pytest.approx(48.3)  # 30 mph
    assert row.loc["w105-0", "oneway"] and row.loc["w105-0", "speed_kmh"] == 60.0  # maxspeed=none: default
    assert row.loc["w107-0", "oneway"]  # roundabout
    assert not row.loc["w103-0", "oneway"]
    assert row.loc["w100-0", "ref"] == "N 2" and row.loc["w100-0", "nom"] == "Route nationale 2"


def test_oneway_minus_one_is_reversed(pbf: Path) -> None:
    roads, _ = read_osm_roads([pbf], bbox=TERRITORY_BBOX, major_bbox=TO_CDG_BBOX)
    line = roads.to_crs("EPSG:4326").set_index("road_id").geometry["w106-0"]
    # drawn 32 -> 33, one-way backwards: stored 33 -> 32
    assert line.coords[0] == pytest.approx((3.190, 49.170)) and line.coords[-1] == pytest.approx((3.180, 49.150))


def test_ways_are_split_at_shared_nodes(pbf: Path) -> None:
    roads, _ = read_osm_roads([pbf], bbox=TERRITORY_BBOX, major_bbox=TO_CDG_BBOX)
    ids = set(roads["road_id"])
    # the primary 11-12-13-14 shares 12 (trunk_link from the west) and 13 (residential): 3 pieces
    assert {"w103-0", "w103-1", "w103-2"} <= ids and "w103-3" not in ids
    # the residential 21-13-22 is cut at 13; the trunk is cut at the junction 2 and at node 4
    assert {"w104-0", "w104-1"} <= ids
    assert {"w100-0", "w100-1", "w100-2"} <= ids and "w100-3" not in ids
    # routable as it is: no piece has another piece's end point inside it
    geoms = roads.geometry.to_numpy()
    ends = shapely.points(np.unique(np.concatenate([shapely.get_coordinates(shapely.boundary(geoms))]), axis=0))
    for g in geoms:
        interior = shapely.points(shapely.get_coordinates(g)[1:-1])
        if len(interior):
            assert not shapely.intersects(interior[:, None], ends[None, :]).any()


def test_interchanges(pbf: Path) -> None:
    _, interchanges = read_osm_roads([pbf], bbox=TERRITORY_BBOX, major_bbox=TO_CDG_BBOX)
    valid, _ = validate_layer(interchanges, "interchanges")
    rows = valid.set_index("interchange_id")
    assert rows.loc["n2", "road_class"] == "trunk"
    assert rows.loc["n2", "nom"] == "Villers-Cotterêts"
    assert rows.loc["n2", "source"] == "motorway_junction"
    # the untagged trunk_link junction at node 4 (far from the tagged one) is an interchange too
    assert rows.loc["n4", "source"] == "link"
    assert len(valid) == 2


def test_bbox_limits_minor_roads(pbf: Path) -> None:
    roads, _ = read_osm_roads([pbf], bbox=(3.15, 49.14, 3.2, 49.18), major_bbox=None)
    assert {r.split("-")[0] for r in roads["road_id"]} <= {"w103", "w104", "w105", "w106", "w107"}


def test_extract_date_and_unreadable_file(pbf: Path, tmp_path: Path) -> None:
    assert extract_date(pbf) == OSM_TIMESTAMP[:10]
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf at all")
    with pytest.raises(DataFormatError):
        read_osm_roads([bad])

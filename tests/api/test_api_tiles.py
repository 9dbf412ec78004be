"""Vector tiles: the numpy MVT encoder against mapbox-vector-tile, and tiles from the live server."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from foncier.api.tiles import TileLayer, encode_tile, tile_bounds, tile_for_lonlat, varints
from foncier.layers.workspace import Workspace

if TYPE_CHECKING:
    from pathlib import Path

    from tests.api.conftest import LiveServer


def test_varints() -> None:
    data, nbytes = varints(np.array([0, 1, 127, 128, 300, 2**32 - 1]))
    assert data == bytes([0, 1, 127, 0x80, 1, 0xAC, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    assert list(nbytes) == [1, 1, 1, 2, 2, 5]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the reference encoder uses shapely.ops.transform
def test_encoder_matches_reference() -> None:
    rng = np.random.default_rng(1)
    bounds = tile_bounds(14, 8343, 5600)
    pts = rng.uniform([bounds[0] - 200, bounds[1] - 200], [bounds[2] + 200, bounds[3] + 200], (800, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    holed = shapely.box(*bounds).buffer(-800).difference(shapely.box(*bounds).buffer(-1000))
    multi = shapely.MultiPolygon(
        [
            shapely.box(bounds[0] + 10, bounds[1] + 10, bounds[0] + 90, bounds[1] + 90),
            shapely.box(bounds[0] + 200, bounds[1] + 200, bounds[0] + 290, bounds[1] + 290),
        ]
    )
    geoms = np.concatenate([cells, [holed, multi]])
    props = [{"name": f"c{i}", "n": i, "neg": -i, "x": 0.25, "flag": i % 2 == 0} for i in range(len(geoms))]
    columns = {k: [p[k] for p in props] for k in props[0]}
    data = encode_tile([TileLayer("parcels", geoms, columns, list(range(len(geoms))))], bounds, buffer=0)
    assert mapbox_vector_tile.decode(encode_tile([TileLayer("empty", geoms[:0], {}, [])], bounds)) == {
        "empty": {"extent": 4096, "version": 2, "features": [], "type": "FeatureCollection"}
    }
    decoded = mapbox_vector_tile.decode(data)["parcels"]
    assert decoded["extent"] == 4096
    ours = {f["id"]: f for f in decoded["features"]}
    clipped = shapely.clip_by_rect(geoms, *bounds)
    ref_feats = [
        {"geometry": g, "properties": p, "id": i}
        for i, (g, p) in enumerate(zip(clipped, props, strict=True))
        if not g.is_empty
    ]
    reference = {
        f["id"]: f
        for f in mapbox_vector_tile.decode(
            mapbox_vector_tile.encode(
                [{"name": "parcels", "features": ref_feats}], default_options={"quantize_bounds": bounds}
            )
        )["parcels"]["features"]
    }
    assert abs(len(ours) - len(reference)) <= 2
    bad = 0
    for fid, feat in ours.items():
        assert feat["properties"] == props[fid]
        mine, theirs = shape(feat["geometry"]), shape(reference[fid]["geometry"])
        assert mine.is_valid
        bad += mine.symmetric_difference(theirs).area > 0.02 * theirs.area
    assert bad <= 2
    hole = shape(ours[len(geoms) - 2]["geometry"])
    assert len(hole.interiors) == 1
    assert ours[len(geoms) - 1]["geometry"]["type"] == "MultiPolygon"


def test_tile_of_parcels_from_live_server(client: httpx.Client, live_server: LiveServer) -> None:
    ws = Workspace.open(live_server.settings.workspace)
    parcels = ws.read_layer("parcels")
    densest = parcels.geometry.centroid.to_crs("EPSG:4326").iloc[len(parcels) // 2]
    x, y = tile_for_lonlat(densest.x, densest.y, 14)
    r = client.get(f"/tiles/parcels/14/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = mapbox_vector_tile.decode(r.content)["parcels"]
    ids = {f["properties"]["parcel_id"] for f in layer["features"]}
    tile_box = shapely.box(*tile_bounds(14, x, y))
    merc = parcels.to_crs("EPSG:3857")
    expected = set(merc[merc.intersects(tile_box)]["parcel_id"])
    assert expected <= ids  # plus the parcels within the buffer
    assert client.get(f"/tiles/parcels/8/{x >> 6}/{y >> 6}.pbf").status_code == 204  # below the minimum zoom
    for layer_name in ("zones", "sites"):
        if ws.has_layer(layer_name):
            assert client.get(f"/tiles/{layer_name}/10/{x >> 4}/{y >> 4}.pbf").status_code == 200


@pytest.mark.parametrize("repeat", [25])
def test_tile_latency(client: httpx.Client, live_server: LiveServer, repeat: int) -> None:
    x, y = tile_for_lonlat(3.3236, 49.3817, 14)  # Soissons
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        assert client.get(f"/tiles/parcels/14/{x}/{y}.pbf").status_code == 200
        times.append(time.perf_counter() - t0)
    assert float(np.median(times)) < 0.05


def test_parcel_tiles_carry_the_zoning(client: httpx.Client, api_workspace: Path) -> None:
    """Parcel tiles carry each parcel's dominant PLU zone type (from the pipeline's parcel_zoning table)."""
    ws = Workspace.open(api_workspace)
    zoning = ws.read_table("parcel_zoning").set_index("parcel_id")["typezone"]
    parcels = ws.read_layer("parcels").to_crs(4326)
    point = parcels.geometry.iloc[len(parcels) // 2].representative_point()
    z = 15
    x, y = tile_for_lonlat(point.x, point.y, z)
    plain = mapbox_vector_tile.decode(client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf").content)["parcels"]
    assert all("typezone" not in f["properties"] for f in plain["features"]), "zoning is opt-in"
    response = client.get(f"/tiles/parcels/{z}/{x}/{y}.pbf", params={"zoning": "true"})
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.content)["parcels"]
    checked = 0
    for feature in layer["features"]:
        props = feature["properties"]
        expected = zoning.get(props["parcel_id"])
        if isinstance(expected, str):
            assert props.get("typezone") == expected
            checked += 1
    assert checked > 0

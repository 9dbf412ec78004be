"""Vector tiles: the numpy MVT encoder against mapbox-vector-tile, and tiles from the live server."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from foncier.api.tiles import (
    TileCache,
    TileLayer,
    TileSource,
    encode_source,
    encode_tile,
    tile_bounds,
    tile_for_lonlat,
    varints,
)
from foncier.layers.workspace import Workspace

if TYPE_CHECKING:
    from tests.api.conftest import LiveServer


def test_varints() -> None:
    data, nbytes = varints(np.array([0, 1, 127, 128, 300, 2**32 - 1]))
    assert data == bytes([0, 1, 127, 0x80, 1, 0xAC, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    assert list(nbytes) == [1, 1, 1, 2, 2, 5]
    # any size up to 64 bits reads back (Python's own varint loop as the reference)
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.integers(0, 2**7, 50), rng.integers(0, 2**21, 50), rng.integers(0, 2**62, 50),
                             [2**32, 2**64 - 1]]).astype(np.uint64)  # fmt: skip
    data, nbytes = varints(values)
    decoded, pos = [], 0
    for size in nbytes.tolist():
        value = 0
        for k, byte in enumerate(data[pos : pos + size]):
            value |= (byte & 0x7F) << (7 * k)
            assert (byte >= 0x80) == (k < size - 1)
        decoded.append(value)
        pos += size
    assert pos == len(data) and decoded == values.tolist()


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


def _source(geoms: np.ndarray, fids: np.ndarray | None = None) -> TileSource:
    """A tile source over ``geoms`` (EPSG:3857) with a string and a sparse integer column."""
    columns = {"name": np.array([f"g{i}" for i in range(len(geoms))], dtype=object),
               "n": np.array([i if i % 3 else None for i in range(len(geoms))], dtype=object)}  # fmt: skip
    return TileSource.from_geometries(geoms, np.arange(len(geoms)) if fids is None else fids, columns)


def _decoded(tile: bytes) -> dict[int, dict[str, object]]:
    return {f["id"]: f for f in mapbox_vector_tile.decode(tile)["parcels"]["features"]}


@pytest.mark.parametrize("z", [14, 16])
def test_encode_source_matches_the_shapely_path(z: int) -> None:
    """The numpy WKB path (parse, transform, clip only the edge ones) gives exactly the shapely path's tile."""
    x, y = tile_for_lonlat(3.3236, 49.3817, z)
    bounds = tile_bounds(z, x, y)
    size = bounds[2] - bounds[0]
    rng = np.random.default_rng(z)
    pts = rng.uniform([bounds[0] - size / 4, bounds[1] - size / 4], [bounds[2] + size / 4, bounds[3] + size / 4],
                      (600, 2))  # fmt: skip
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))
    cells = shapely.clip_by_rect(cells, bounds[0] - size, bounds[1] - size, bounds[2] + size, bounds[3] + size)
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    holed = shapely.Point(cx, cy).buffer(size / 5).difference(shapely.Point(cx, cy).buffer(size / 10))
    multi = shapely.MultiPolygon([shapely.box(cx, cy, cx + size / 20, cy + size / 20),
                                  shapely.box(cx - size / 10, cy - size / 10, cx - size / 20, cy - size / 20),
                                  holed])  # fmt: skip
    tiny = shapely.box(cx, cy, cx + size / 1e6, cy + size / 1e6)  # vanishes when quantised
    geoms = np.concatenate([cells, [holed, multi, tiny]])
    source = _source(geoms)
    ours = _decoded(encode_source("parcels", source, bounds))
    layer = TileLayer("parcels", geoms, source.columns, source.fids)
    reference = _decoded(encode_tile([layer], bounds))
    assert set(ours) == set(reference)
    assert len(ours) > 100
    assert len(geoms) - 1 not in ours  # the tiny square is dropped by both
    for fid, feature in ours.items():
        assert feature == reference[fid]
    assert ours[len(geoms) - 2]["geometry"]["type"] == "MultiPolygon"
    assert len(shape(ours[len(geoms) - 3]["geometry"]).interiors) == 1
    # features gathered from a larger source (take) give the same tile as a source of those features alone;
    # points, lines and empty geometries are left out of a source
    far = shapely.box(bounds[0] + 50 * size, bounds[1], bounds[0] + 51 * size, bounds[3])
    others = np.array([far, shapely.Point(cx, cy), shapely.LineString([(cx, cy), (cx + 1, cy)]),
                       shapely.Polygon(), None], dtype=object)  # fmt: skip
    mixed = np.concatenate([others, geoms])
    big = _source(mixed, np.r_[1000 + np.arange(len(others)), np.arange(len(geoms))])
    assert list(big.fids[:1]) == [1000] and len(big.fids) == len(geoms) + 1
    gathered = big.take(np.flatnonzero(big.fids < 1000))
    gathered.columns = source.columns
    assert _decoded(encode_source("parcels", gathered, bounds)) == ours
    # and the geometries it holds are the ones it was given
    assert shapely.equals(gathered.geometries(), geoms).all()


def test_tile_cache_is_bounded_and_keyed_on_the_workspace_version() -> None:
    cache = TileCache(max_bytes=10)
    cache.put("v1", "a", b"12345")
    cache.put("v1", "b", b"12345")
    assert cache.get("v1", "a") == b"12345"  # now the most recently used
    cache.put("v1", "c", b"123")
    assert cache.get("v1", "b") is None  # least recently used, dropped
    assert cache.get("v1", "a") == b"12345"
    assert cache.nbytes == 8
    cache.put("v1", "huge", b"x" * 11)  # larger than the cache: not kept
    assert cache.get("v1", "huge") is None
    assert cache.get("v2", "a") is None  # a new workspace version drops everything
    assert len(cache) == 0 and cache.nbytes == 0


def test_tiles_are_cached_until_the_workspace_changes(api_workspace: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from foncier.api.app import create_app
    from foncier.api.settings import ApiSettings

    shutil.copytree(api_workspace, tmp_path / "ws")
    ws = Workspace.open(tmp_path / "ws")
    parcels = ws.read_layer("parcels")
    centre = parcels.geometry.iloc[len(parcels) // 2].representative_point()
    lonlat = gpd.GeoSeries([centre], crs=parcels.crs).to_crs(4326).iloc[0]
    x, y = tile_for_lonlat(lonlat.x, lonlat.y, 15)
    url = f"/tiles/parcels/15/{x}/{y}.pbf"
    with TestClient(create_app(ApiSettings(workspace=tmp_path / "ws"))) as client:
        first = client.get(url)
        assert first.status_code == 200 and "x-tile-cache" not in first.headers
        second = client.get(url)
        assert second.headers.get("x-tile-cache") == "hit"
        assert second.content == first.content
        features = mapbox_vector_tile.decode(first.content)["parcels"]["features"]
        pid = features[0]["properties"]["parcel_id"]
        assert ws.set_parcel_status([pid], "sold") == 1
        third = client.get(url)
        assert "x-tile-cache" not in third.headers  # the workspace changed: recomputed
        status = {f["properties"]["parcel_id"]: f["properties"].get("status")
                  for f in mapbox_vector_tile.decode(third.content)["parcels"]["features"]}  # fmt: skip
        assert status[pid] == "sold"


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


def test_sources_of_3d_polygons_encode_in_2d() -> None:
    """Z coordinates (BD TOPO-like polygons) are dropped, inside the tile and across its edge alike."""
    z = 14
    x, y = tile_for_lonlat(3.3236, 49.3817, z)
    b = tile_bounds(z, x, y)
    flat = [shapely.box(b[0] + 10, b[1] + 10, b[0] + 500, b[1] + 500), shapely.box(b[0] - 100, b[1] + 100, b[0] + 300,
                                                                                 b[1] + 400)]  # fmt: skip
    raised = np.asarray(shapely.force_3d(np.asarray(flat, dtype=object), 12.5), dtype=object)
    source = _source(raised)
    assert source.coords.shape[1] == 2
    assert _decoded(encode_source("parcels", source, b)) == _decoded(encode_source("parcels", _source(np.asarray(
        flat, dtype=object)), b))  # fmt: skip


def test_layer_index_tiles_draw_the_workspace_parcels(api_workspace: Path) -> None:
    """A tile from the in-memory index (transformed, oriented and flattened once) draws what the reference
    encoder draws of the same parcels read with geopandas: same features, equal polygons (holes included),
    valid MVT winding (mapbox-vector-tile decodes exteriors and holes by their winding)."""
    from foncier.api.store import GeoPackageStore
    from foncier.api.tiles import EXTENT, LayerIndex

    store = GeoPackageStore(api_workspace)
    try:
        index = LayerIndex(store, "parcels", ("parcel_id",), "EPSG:2154")
        parcels = Workspace.open(api_workspace).read_layer("parcels", columns=["parcel_id"])
        centre = parcels.geometry.iloc[len(parcels) // 2].representative_point()
        lonlat = gpd.GeoSeries([centre], crs=parcels.crs).to_crs(4326).iloc[0]
        for z in (14, 16):
            bounds = tile_bounds(z, *tile_for_lonlat(lonlat.x, lonlat.y, z))
            pad = 64 * (bounds[2] - bounds[0]) / EXTENT
            source = index.query((bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad), limit=10**6)
            tile = encode_source("parcels", source, bounds)
            ours = {f["properties"]["parcel_id"]: shape(f["geometry"])
                    for f in mapbox_vector_tile.decode(tile)["parcels"]["features"]}  # fmt: skip
            merc = parcels.to_crs(3857)
            near = merc[merc.intersects(shapely.box(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad,
                                                    bounds[3] + pad))]  # fmt: skip
            layer = TileLayer("parcels", near.geometry.to_numpy(), {"parcel_id": near["parcel_id"].tolist()})
            ref = {f["properties"]["parcel_id"]: shape(f["geometry"]) for f in
                   mapbox_vector_tile.decode(encode_tile([layer], bounds))["parcels"]["features"]}  # fmt: skip
            assert len(ours) > 20 and set(ref) <= set(ours)
            assert all(ours[p].equals(ref[p]) for p in ref), z
            assert all(g.area > 0 for g in ours.values())  # exteriors read as exteriors
            assert all(ours[p].is_valid == ref[p].is_valid for p in ref)  # quantisation may pinch a ring: alike
    finally:
        store.close()

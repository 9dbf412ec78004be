"""The API's GeoPackage read layer: blobs, indexes, paging, file replacement, read-only workspaces."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from foncier.api.settings import ApiSettings
from foncier.api.store import GeoPackageStore, decode_geometries, gpkg_blob_to_wkb
from foncier.errors import LayerNotFoundError, WorkspaceError
from foncier.layers.workspace import Workspace


def _tiny_workspace(path: Path, n: int = 30) -> Workspace:
    ws = Workspace.create(path, territory="test", synthetic=True)
    cells = shapely.box(700_000 + 100 * np.arange(n), 6_900_000, 700_090 + 100 * np.arange(n), 6_900_090)
    parcels = gpd.GeoDataFrame(
        {"parcel_id": [f"02722000AB{i:04d}" for i in range(n)], "commune": "02722", "section": "AB",
         "numero": [f"{i:04d}" for i in range(n)], "contenance_m2": 8100.0},
        geometry=gpd.GeoSeries(cells, crs="EPSG:2154"),
    )  # fmt: skip
    ws.write_layers({"parcels": parcels})
    return ws


def test_blob_decoding(tmp_path: Path) -> None:
    ws = _tiny_workspace(tmp_path)
    con = sqlite3.connect(ws.gpkg)
    blobs = [r[0] for r in con.execute("SELECT geom FROM parcels ORDER BY fid")]
    con.close()
    geoms = decode_geometries([*blobs, None])
    assert geoms[-1] is None
    assert shapely.equals(geoms[0], shapely.box(700_000, 6_900_000, 700_090, 6_900_090))
    with pytest.raises(ValueError, match="GeoPackage"):
        gpkg_blob_to_wkb(b"\x01\x03")


def test_indexes_created_once_and_lookups(tmp_path: Path) -> None:
    ws = _tiny_workspace(tmp_path)
    store = GeoPackageStore(ws.path)
    assert store.index_status.startswith("created")
    assert store.layer("parcels").has_index("parcel_id")
    assert GeoPackageStore(ws.path).index_status == "indexes present"
    feat = store.get("parcels", "02722000AB0007")
    assert feat is not None and feat.properties["numero"] == "0007"
    assert store.get("parcels", "02722000AB9999") is None
    with pytest.raises(LayerNotFoundError):
        store.layer("sites")


def test_paging_is_complete_and_uses_keys(tmp_path: Path) -> None:
    ws = _tiny_workspace(tmp_path, n=25)
    store = GeoPackageStore(ws.path)
    assert store.layer("parcels").dense_fids
    ids: list[str] = []
    offset = 0
    while True:
        page = store.query("parcels", limit=7, offset=offset)
        ids += [f.properties["parcel_id"] for f in page.features]
        offset += len(page.features)
        if not page.has_more:
            break
    assert len(ids) == len(set(ids)) == 25
    # bbox: R-tree candidates, exact test, offset counted on matches
    box = shapely.box(700_050, 6_900_010, 700_560, 6_900_020)
    got = [f.properties["parcel_id"] for f in store.query("parcels", geometry=box, limit=100).features]
    assert sorted(got) == [f"02722000AB{i:04d}" for i in range(6)]
    second = store.query("parcels", geometry=box, limit=4, offset=4)
    assert len(second.features) == 2 and not second.has_more


def test_sql_plans_use_indexes(tmp_path: Path) -> None:
    ws = _tiny_workspace(tmp_path)
    GeoPackageStore(ws.path)
    con = sqlite3.connect(ws.gpkg)
    plan = " ".join(str(r) for r in con.execute("EXPLAIN QUERY PLAN SELECT * FROM parcels WHERE parcel_id = 'x'"))
    assert "USING INDEX" in plan
    plan = " ".join(str(r) for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT t.fid FROM rtree_parcels_geom r CROSS JOIN parcels t ON t.fid = r.id "
        "WHERE r.minx <= 1 AND r.maxx >= 0 AND r.miny <= 1 AND r.maxy >= 0"))  # fmt: skip
    assert "VIRTUAL TABLE" in plan and "INTEGER PRIMARY KEY" in plan
    con.close()


def test_replaced_file_is_noticed(tmp_path: Path) -> None:
    ws = _tiny_workspace(tmp_path, n=10)
    store = GeoPackageStore(ws.path)
    assert store.layer("parcels").feature_count == 10
    other = _tiny_workspace(tmp_path / "other", n=12)
    os.replace(other.gpkg, ws.gpkg)  # what Workspace's atomic writes do
    assert store.layer("parcels").feature_count == 12
    assert store.get("parcels", "02722000AB0011") is not None


def test_without_indexes_lookups_use_an_id_map(tmp_path: Path) -> None:
    """A workspace whose indexes cannot be created (read-only) is served through an in-memory id map."""
    ws = _tiny_workspace(tmp_path / "ro", n=10)
    store = GeoPackageStore(ws.path, prepare=False)
    assert not store.layer("parcels").has_index("parcel_id")
    feat = store.get("parcels", "02722000AB0003")
    assert feat is not None and feat.properties["numero"] == "0003"
    assert store.get("parcels", "02722000AB9999") is None


def test_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="foncier demo"):
        GeoPackageStore(tmp_path)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FONCIER_API_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("FONCIER_API_MAX_LIMIT", "250")
    monkeypatch.setenv("FONCIER_API_CORS_ORIGINS", '["https://example.org"]')
    s = ApiSettings()
    assert (s.workspace, s.max_limit, s.cors_origins) == (tmp_path, 250, ["https://example.org"])
    with pytest.raises(ValueError, match="default_limit"):
        ApiSettings(default_limit=50, max_limit=10)


def test_serve_command(tmp_path: Path) -> None:
    """``foncier serve`` starts uvicorn and answers /health; a missing workspace is a clean error."""
    import httpx

    ws = _tiny_workspace(tmp_path / "ws")
    exe = [sys.executable, "-c", "from foncier.scripts.cli import main; main()"]
    bad = subprocess.run([*exe, "serve", "--workspace", str(tmp_path / "nothing")], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert bad.returncode == 5 and "no workspace" in bad.stderr and "Traceback" not in bad.stderr
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*exe, "serve", "--workspace", str(ws.path), "--port", str(port)])
    try:
        for _ in range(200):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None
                import time

                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["layers"]["parcels"] == 30
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    shutil.rmtree(tmp_path / "ws", ignore_errors=True)

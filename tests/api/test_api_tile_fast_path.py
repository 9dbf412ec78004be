"""Cached tiles answered before routing (CachedTiles), the tile settings, and ``foncier serve --workers``
spreading keep-alive connections over its workers (one SO_REUSEPORT socket each)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import httpx
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient

from foncier.api.app import create_app
from foncier.api.routers.tiles import cached_tile_key
from foncier.api.server import reuse_port_supported
from foncier.api.settings import ApiSettings
from foncier.api.tiles import tile_for_lonlat
from foncier.layers.workspace import Workspace
from tests._servers import stop_process, wait_healthy


def _dense_tile(workspace: Path, z: int = 15) -> str:
    parcels = Workspace.open(workspace).read_layer("parcels", columns=["parcel_id"])
    centre = parcels.geometry.iloc[len(parcels) // 2].representative_point()
    lonlat = gpd.GeoSeries([centre], crs=parcels.crs).to_crs(4326).iloc[0]
    x, y = tile_for_lonlat(lonlat.x, lonlat.y, z)
    return f"/tiles/parcels/{z}/{x}/{y}.pbf"


def test_cache_keys_read_like_the_router() -> None:
    assert cached_tile_key("/tiles/parcels/14/8343/5600.pbf", b"") == ("parcels", 14, 8343, 5600, False, False)
    assert cached_tile_key("/tiles/parcels/14/8343/5600.pbf", b"state=TRUE&zoning=0") == (
        "parcels", 14, 8343, 5600, False, True)  # fmt: skip
    assert cached_tile_key("/tiles/parcels/014/8343/5600.pbf", b"state=yes")[2:] == (8343, 5600, False, True)  # type: ignore[index]
    # anything the router would read otherwise (or refuse) goes to the router
    for path, query in [
        ("/tiles/parcels/14/8343/5600.pbf", b"state=maybe"),
        ("/tiles/parcels/14/8343/5600.pbf", b"state=1&state=0"),
        ("/tiles/parcels/14/8343/5600.pbf", b"other=1"),
        ("/tiles/parcels/14/8343/5600.pbf", b"%zz&&="),
        ("/tiles/parcels/14/8343/5600.pbf/", b""),
        ("/tiles/parcels/14/-1/5600.pbf", b""),
        ("/tiles/parcels/14/8343/5600.mvt", b""),
    ]:
        assert cached_tile_key(path, query) is None, (path, query)


def test_cached_answers_match_the_routers(api_workspace: Path) -> None:
    url = _dense_tile(api_workspace)
    settings = ApiSettings(workspace=api_workspace, cors_origins=["https://qgis.example.org"])
    app = create_app(settings)
    service = app.state.tile_service
    origin = {"Origin": "https://qgis.example.org"}
    with TestClient(app) as client:
        first = client.get(url, headers=origin)  # computed by the router
        assert first.status_code == 200 and "x-tile-cache" not in first.headers
        assert mapbox_vector_tile.decode(first.content)["parcels"]["features"]
        hits = service.cache.hits
        second = client.get(url, headers=origin)  # from the cache, before routing
        assert second.headers["x-tile-cache"] == "hit" and service.cache.hits == hits + 1
        assert second.content == first.content
        same = {k: v for k, v in first.headers.items() if k not in ("date", "x-tile-cache")}
        assert {k: v for k, v in second.headers.items() if k in same} == same  # security, CORS, notice, type
        # the same tile asked another way: same key, same bytes
        assert client.get(url + "?state=false&zoning=no").headers["x-tile-cache"] == "hit"
        # a parameter the fast path does not read: the router answers (from the same cache entry)
        routed = client.get(url + "?unknown=1")
        assert routed.status_code == 200 and routed.content == first.content
        # flagged tiles are other entries
        flagged = client.get(url + "?state=1")
        assert "x-tile-cache" not in flagged.headers
        assert client.get(url + "?state=true").headers["x-tile-cache"] == "hit"
        # refusals still come from the router
        assert client.get("/tiles/parcels/14/99999/1.pbf").status_code == 400
        assert client.get("/tiles/nothing/14/1/1.pbf").status_code == 404


def test_tile_cache_can_be_turned_off(api_workspace: Path) -> None:
    url = _dense_tile(api_workspace)
    app = create_app(ApiSettings(workspace=api_workspace, tile_cache_mb=0, tile_index_at_start=False))
    with TestClient(app) as client:
        first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert "x-tile-cache" not in second.headers and second.content == first.content
    assert len(app.state.tile_service.cache) == 0


@pytest.mark.skipif(not reuse_port_supported() and os.environ.get("CI") != "true", reason="Linux only")
def test_serve_workers_share_keep_alive_clients(api_workspace: Path) -> None:
    """32 keep-alive clients of ``foncier serve --workers 2`` end up on both workers (each has its own socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "foncier.scripts.cli", "serve", "-w", str(api_workspace), "--workers", "2",
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    clients: list[httpx.Client] = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc, timeout_s=90)
        for _ in range(32):
            client = httpx.Client(base_url=base, timeout=30)
            assert client.get("/health").status_code == 200
            clients.append(client)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2
        # established connections per worker: its sockets minus its own listening one
        held = []
        for pid in workers:
            fds = Path(f"/proc/{pid}/fd")
            held.append(sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")) - 1)
        assert sum(held) >= 32
        # spread by a hash of each connection's ports: fewer than 4 on a worker has a chance of 3 in a million;
        # with one shared socket, one worker would hold nearly all of them
        assert min(held) >= 4, held
    finally:
        for client in clients:
            client.close()
        stop_process(proc, timeout_s=40)
    assert proc.returncode == 0


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("reuse_port", [False, True], ids=["other-program", "other-foncier"])
def test_serve_refuses_a_port_already_served(api_workspace: Path, workers: int, reuse_port: bool) -> None:
    """A port another server listens on is refused with a message (exit 8), also when that server's socket has
    SO_REUSEPORT (another ``foncier serve --workers``), which would otherwise let both share it silently."""
    from click.testing import CliRunner

    from foncier.scripts.cli import cli

    if reuse_port and not reuse_port_supported():
        pytest.skip("SO_REUSEPORT: Linux only")
    with socket.socket() as other:
        if reuse_port:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen(8)
        port = other.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "-w", str(api_workspace), "--workers", str(workers), "--port",
                                          str(port)])  # fmt: skip
    assert result.exit_code == 8, result.output
    assert f"127.0.0.1:{port} is already in use" in result.output and "server_error" in result.output

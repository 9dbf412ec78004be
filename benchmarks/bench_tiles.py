"""Vector tiles at tile-server speed: the densest z14 parcel tile of the full sample, cold and cached.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_tiles.py [--workspace /tmp/full] [--repeat 200]

1. Builds the full synthetic sample into ``--workspace`` when it holds no GeoPackage (``foncier demo --size full``).
2. Finds the z14 tile holding the most parcel centroids (the densest tile).
3. Serves the workspace with one uvicorn worker (uvloop, httptools) twice: with the tile cache off
   (``FONCIER_API_TILE_CACHE_MB=0``: every request finds and encodes the tile, i.e. "cold"; the layer's
   in-memory index, built in the background at start-up, is waited for by a first request, timed apart) and on
   (the default: repeated requests are answered from the cache before routing), and times ``--repeat``
   keep-alive requests of that tile each time with httpx (median, p90).
4. Times the same tile in this process, without HTTP: the layer index's build (time, memory) and the CPU time
   (``time.thread_time``) of finding and encoding the tile, which other processes on the machine disturb
   less than the wall-clock figures.
5. Checks the budgets (exit 1 when missed): cold median under 25 ms, cached median under 2 ms.

The comparison with tipg under 16 clients uses peerbench (../shared/tools/peerbench, see docs/BENCHMARKS.md
for the exact commands): ``bench.py run --tile-template "/tiles/parcels/{z}/{x}/{y}.pbf"`` against
``foncier serve --workers 2`` (one SO_REUSEPORT socket per worker) serving peerbench's own parcels.gpkg
(copied as ``foncier.gpkg`` into a workspace directory), and ``bench.py run --preset tipg``.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
COLD_BUDGET_MS = 25.0
CACHED_BUDGET_MS = 2.0


def log(message: str) -> None:
    print(f"[bench_tiles {time.strftime('%H:%M:%S')}] {message}", flush=True)


def densest_tile(workspace: Path, z: int = 14) -> tuple[int, int, int, int]:
    """``(z, x, y, n)``: the tile holding the most parcel centroids."""
    import numpy as np

    from foncier.api.tiles import tile_for_lonlat
    from foncier.layers.workspace import Workspace

    parcels = Workspace.open(workspace).read_layer("parcels", columns=["parcel_id"])
    pts = parcels.geometry.centroid.to_crs(4326)
    xy = np.array([tile_for_lonlat(p.x, p.y, z) for p in pts])
    keys, counts = np.unique(xy, axis=0, return_counts=True)
    best = int(counts.argmax())
    return z, int(keys[best][0]), int(keys[best][1]), int(counts[best])


#: A bare ASGI app answering any request with the bytes of a file (same uvicorn set-up): the floor of what
#: a cached tile can cost with this client, whatever the server does.
_BARE_APP = """
import sys, uvicorn
BODY = open(sys.argv[1], "rb").read()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = BODY if scope["path"] != "/health" else b"{}"
    headers = [(b"content-type", b"application/vnd.mapbox-vector-tile"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), loop="uvloop", http="httptools", access_log=False,
            log_level="warning")
"""


def serve(workspace: Path, cache_mb: float, *, bare_body: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn (1 worker) on a free port; returns the process and its base URL once it answers.

    With ``bare_body``, the bare ASGI app answering that file's bytes instead of foncier.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "FONCIER_API_WORKSPACE": str(workspace), "FONCIER_API_TILE_CACHE_MB": str(cache_mb)}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "foncier.api.app:create_app_from_env",
           "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop", "--http", "httptools",
           "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if bare_body is not None:
        cmd = [sys.executable, "-c", _BARE_APP, str(bare_body), str(port)]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the API did not start")


def time_tile(url: str, path: str, repeat: int) -> tuple[float, list[float], bytes]:
    """First request (ms), then ``repeat`` timings (ms) of ``path`` over one keep-alive connection, and the tile."""
    with httpx.Client(base_url=url, timeout=60) as client:
        t0 = time.perf_counter()
        first = client.get(path)
        first_ms = 1000 * (time.perf_counter() - t0)
        assert first.status_code == 200, first.status_code
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.get(path)
            times.append(1000 * (time.perf_counter() - t0))
            assert r.status_code == 200
        return first_ms, times, first.content


def in_process(workspace: Path, z: int, x: int, y: int, repeat: int) -> tuple[float, float, float]:
    """Index build (s), index memory (MB) and median CPU ms of query + encode of tile z/x/y, in this process."""
    from foncier.api.deps import layer_srs_text
    from foncier.api.routers.tiles import TILE_LAYERS
    from foncier.api.settings import ApiSettings
    from foncier.api.store import GeoPackageStore
    from foncier.api.tiles import EXTENT, LayerIndex, encode_source, tile_bounds

    store = GeoPackageStore(workspace)
    settings = ApiSettings(workspace=workspace)
    t0 = time.perf_counter()
    index = LayerIndex(store, "parcels", TILE_LAYERS["parcels"][1], layer_srs_text(store.layer("parcels")))
    build_s = time.perf_counter() - t0
    bounds = tile_bounds(z, x, y)
    pad = settings.tile_buffer * (bounds[2] - bounds[0]) / EXTENT
    box = (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
    cpu = []
    for _ in range(repeat + 3):
        c0 = time.thread_time()
        encode_source(
            "parcels", index.query(box, limit=settings.tile_max_features), bounds, buffer=settings.tile_buffer
        )
        cpu.append(1000 * (time.thread_time() - c0))
    store.close()
    return build_s, index.nbytes / 1e6, statistics.median(cpu[3:])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/full"))
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    if not (args.workspace / "foncier.gpkg").exists():
        log(f"building the full sample into {args.workspace} ...")
        subprocess.run([sys.executable, "-m", "foncier.scripts.cli", "demo", "--size", "full", "-w",
                        str(args.workspace)], check=True, cwd=ROOT)  # fmt: skip
    z, x, y, n = densest_tile(args.workspace)
    path = f"/tiles/parcels/{z}/{x}/{y}.pbf"
    log(f"densest z14 tile: {z}/{x}/{y} ({n} parcel centroids)")
    rows = []
    for label, cache_mb in (("cold (cache off)", 0.0), ("cached", 128.0)):
        proc, url = serve(args.workspace, cache_mb)
        try:
            first_ms, times, tile_bytes = time_tile(url, path, args.repeat)
            size = len(tile_bytes)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        med = statistics.median(times)
        rows.append((label, first_ms, med, pct(times, 0.9), size))
        log(f"{label}: first request {first_ms:.0f} ms (waits for the layer index), median {med:.2f} ms, "
            f"p90 {pct(times, 0.9):.2f} ms, {size / 1000:.0f} kB")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:  # the floor: a bare app answering the same bytes
        body = Path(tmp) / "tile.pbf"
        body.write_bytes(tile_bytes)
        proc, url = serve(args.workspace, 0.0, bare_body=body)
        try:
            _, bare_times, _ = time_tile(url, path, args.repeat)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    log(f"floor (a bare ASGI app answering the same {len(tile_bytes) / 1000:.0f} kB, same client): median "
        f"{statistics.median(bare_times):.2f} ms, p90 {pct(bare_times, 0.9):.2f} ms")  # fmt: skip
    build_s, index_mb, cpu_ms = in_process(args.workspace, z, x, y, args.repeat)
    log(f"in process: index built in {build_s:.2f} s ({index_mb:.0f} MB of arrays); query + encode of the tile: "
        f"{cpu_ms:.2f} ms of CPU (median)")  # fmt: skip
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    print("\n| tile | first request (waits for the index) | median | p90 | size | budget |")
    print("|---|---:|---:|---:|---:|---|")
    ok = True
    for (label, first_ms, med, p90, size), budget in zip(rows, (COLD_BUDGET_MS, CACHED_BUDGET_MS), strict=True):
        met = med < budget
        ok &= met
        print(f"| {z}/{x}/{y} {label} | {first_ms:.0f} ms | **{med:.2f} ms** | {p90:.2f} ms | {size / 1000:.0f} kB "
              f"| < {budget:g} ms: {'met' if met else 'MISSED'} |")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the API serving while the CLI writes (issue 15).

Run: ``.venv/bin/python benchmarks/bench_concurrency.py [WORKSPACE] [SECONDS]`` with a scored workspace (default:
the small sample, built and scored in a temporary directory). 8 client threads query parcels, sites, one parcel
and OGC items; one thread polls ``/health`` every 0.2 s and counts the server's open file descriptors; the
main thread runs ``foncier status`` / ``foncier score`` in a loop meanwhile. Prints requests, 5xx, latency
quantiles, the slowest ``/health``, descriptors at start / peak / end and the store's open connections.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from foncier.api.settings import ApiSettings

URLS = ["/parcels?bbox=3.2,49.2,3.4,49.4&limit=200", "/sites?profile=logistics&limit=20",
        "/ogc/collections/parcels/items?limit=100"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.api.conftest import _serve_subprocess  # noqa: E402


def _workspace(tmp: Path) -> Path:
    from foncier.layers.ingest import store_sample
    from foncier.layers.sample import build_sample_territory
    from foncier.layers.workspace import Workspace
    from foncier.pipeline import run_pipeline

    sample = build_sample_territory("small", seed=2023)
    ws = Workspace.create(tmp / "ws", territory=sample.territory, synthetic=True)
    store_sample(ws, sample)
    run_pipeline(ws)
    return ws.path


def main() -> int:
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 40.0
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "copy"
        shutil.copytree(Path(sys.argv[1]) if len(sys.argv) > 1 else _workspace(Path(tmp)), ws)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = _serve_subprocess(ApiSettings(workspace=ws, map_assets="cdn"), sock)
        try:
            return _run(base, server, ws, seconds)
        finally:
            server.terminate()
            server.wait()


def _run(base: str, server: subprocess.Popen[bytes], ws: Path, seconds: float) -> int:
    while True:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)

    def fds() -> int:
        return len(os.listdir(f"/proc/{server.pid}/fd"))

    con = sqlite3.connect(ws / "foncier.gpkg")
    pids = [r[0] for r in con.execute("SELECT parcel_id FROM parcels LIMIT 50")]
    con.close()
    stop = threading.Event()
    lat: list[float] = []
    codes: list[int] = []
    health: list[float] = []
    fd_samples: list[int] = []

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=20) as c:
            while not stop.is_set():
                url = rng.choice([*URLS, f"/parcels/{rng.choice(pids)}"])
                t = time.perf_counter()
                r = c.get(url)
                lat.append(time.perf_counter() - t)
                codes.append(r.status_code)

    def poll() -> None:
        with httpx.Client(base_url=base, timeout=10) as c:
            while not stop.is_set():
                t = time.perf_counter()
                c.get("/health")
                health.append(time.perf_counter() - t)
                fd_samples.append(fds())
                time.sleep(0.2)

    fd0 = fds()
    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)] + [threading.Thread(target=poll)]
    for t in threads:
        t.start()
    foncier = str(Path(sys.executable).with_name("foncier"))
    t_end = time.time() + seconds
    ok = runs = 0
    while time.time() < t_end:
        args = [["status", pids[runs % 50], "--set", "sold"], ["score", "--profile", "logistics"],
                ["status", pids[runs % 50], "--set", "available"]][runs % 3]  # fmt: skip
        ok += subprocess.run([foncier, *args, "-w", str(ws)], capture_output=True).returncode == 0
        runs += 1
    stop.set()
    for t in threads:
        t.join()
    q = statistics.quantiles(lat, n=100)
    conns = httpx.get(base + "/health").json()["connections"]
    print(f"requests={len(codes)} 5xx={sum(c >= 500 for c in codes)} cli_runs_ok={ok}/{runs} "
          f"p50_ms={q[49] * 1000:.0f} p99_ms={q[98] * 1000:.0f} max_ms={max(lat) * 1000:.0f} "
          f"health_max_ms={max(health) * 1000:.0f} fds_start={fd0} fds_max={max(fd_samples)} fds_end={fds()} "
          f"connections={conns}")  # fmt: skip
    return 0 if not any(c >= 500 for c in codes) and ok == runs else 1


if __name__ == "__main__":
    raise SystemExit(main())

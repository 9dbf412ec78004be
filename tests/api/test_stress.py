"""Stress (bounded to about a minute): the API serving while QGIS-style in-place edits commit and the CLI writes
(status, score, ingest). No 5xx, no hang, /health always answering, no lost edit, integrity ok, every
process finishes."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from foncier.api.settings import ApiSettings
from tests.api.conftest import start_api

FONCIER = str(Path(sys.executable).with_name("foncier"))
DURATION_S = 45.0

_EDITOR = """
import sqlite3, sys, time
from foncier.layers.gpkg import register_gpkg_functions
path, stop_file = sys.argv[1], sys.argv[2]
con = sqlite3.connect(path, timeout=60)
register_gpkg_functions(con)   # what GDAL (QGIS) registers for the R-tree triggers
i = 0
import os
while not os.path.exists(stop_file):
    con.execute("UPDATE parcels SET numero = ? WHERE fid = 2", (f"Q{i:05d}",))
    con.commit()
    i += 1
    time.sleep(0.02)
print(i - 1, flush=True)
"""


@pytest.mark.slow
def test_api_serves_while_cli_writes_and_qgis_edits(
    scored_sample_workspace: Path, real_data: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws)
    gpkg = ws / "foncier.gpkg"
    con = sqlite3.connect(gpkg)
    pids = [r[0] for r in con.execute("SELECT parcel_id FROM parcels ORDER BY fid LIMIT 50")]
    con.close()
    settings = ApiSettings(workspace=ws, max_limit=500, default_limit=50, map_assets="cdn")
    server = start_api(settings)
    base = server.base_url
    stop = threading.Event()
    stats: dict[str, list[Any]] = {"5xx": [], "hang": [], "ok": [], "health": [], "connections": []}
    try:
        urls = [
            "/parcels?bbox=3.2,49.2,3.4,49.4&limit=200", "/sites?profile=logistics&limit=20", "/sites?limit=5",
            "/ogc/collections/parcels/items?limit=100", "/zones", "/profiles",
        ]  # fmt: skip

        def hammer(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=base, timeout=20) as client:
                while not stop.is_set():
                    url = rng.choice([*urls, f"/parcels/{rng.choice(pids)}"])
                    try:
                        r = client.get(url)
                    except httpx.TimeoutException:
                        stats["hang"].append(url)
                        continue
                    (stats["5xx"] if r.status_code >= 500 else stats["ok"]).append((url, r.status_code, r.text[:200]))

        def health() -> None:
            with httpx.Client(base_url=base, timeout=5) as client:
                while not stop.is_set():
                    t0 = time.monotonic()
                    try:
                        r = client.get("/health")
                        code, conns = r.status_code, r.json().get("connections", 0)
                    except httpx.TimeoutException:
                        code, conns = 0, 0
                    stats["health"].append((code, time.monotonic() - t0))
                    stats["connections"].append(conns)
                    time.sleep(0.2)

        stop_file = tmp_path / "stop-editor"
        editor = subprocess.Popen([sys.executable, "-c", _EDITOR, str(gpkg), str(stop_file)], stdout=subprocess.PIPE,
                                  text=True)  # fmt: skip
        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)] + [threading.Thread(target=health)]
        for t in threads:
            t.start()
        env = {**os.environ, "FONCIER_LOCK_TIMEOUT": "120"}
        friches = real_data / "cartofriches_territoire.geojson"
        cycle = [
            ["status", pids[0], "--set", "sold"],
            ["score", "--profile", "logistics"],
            ["status", pids[0], "--set", "available"],
            ["ingest", "friches", str(friches), "--replace"],
            ["score", "--profile", "default"],
        ]
        runs: list[tuple[list[str], int, str]] = []
        t_end = time.monotonic() + DURATION_S
        i = 0
        while time.monotonic() < t_end or i < len(cycle):
            args = cycle[i % len(cycle)]
            out = subprocess.run([FONCIER, *args, "--workspace", str(ws)], capture_output=True, text=True,
                                 timeout=300, env=env)  # fmt: skip
            runs.append((args, out.returncode, out.stderr[-500:]))
            i += 1
        stop_file.write_text("stop")
        last_edit = int(editor.communicate(timeout=60)[0].strip())
        stop.set()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a client thread hung"
        assert server.process.poll() is None, "the server is still running"
        health_after = httpx.get(f"{base}/health", timeout=5)
    finally:
        stop.set()
        server.stop()
    assert not stats["5xx"], stats["5xx"][:5]
    assert not stats["hang"], stats["hang"][:5]
    assert len(stats["ok"]) > 100
    assert stats["health"] and all(code == 200 for code, _ in stats["health"]), stats["health"][:10]
    assert health_after.status_code == 200 and "scores" in health_after.json()["layers"]
    # bounded resources: at most one read-only connection per worker thread, however long the load
    assert max(stats["connections"]) <= settings.worker_threads + 2, max(stats["connections"])
    failed = [r for r in runs if r[1] != 0]
    assert not failed, failed
    con = sqlite3.connect(gpkg)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT numero FROM parcels WHERE fid = 2").fetchone()[0] == f"Q{last_edit:05d}"
        profiles = {r[0] for r in con.execute("SELECT DISTINCT profile FROM scores")}
        assert {"logistics", "default"} <= profiles
    finally:
        con.close()

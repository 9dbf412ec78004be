"""kill -9 at random moments of the writing commands (ingest, score --refresh, status): the workspace is never
corrupt or mixed, nothing is left behind, and the next command runs at once (no stale lock)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

FONCIER = [str(Path(sys.executable).with_name("foncier"))]
ALLOWED_FILES = {"foncier.gpkg", "foncier.gpkg-wal", "foncier.gpkg-shm", ".foncier.lock", "dem.tif"}


def _state(gpkg: Path) -> tuple[str, dict[str, int], list[str]]:
    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    try:
        check = con.execute("PRAGMA integrity_check").fetchone()[0]
        counts = {str(t): int(n) for t, n in con.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents")}
        real = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in counts}
        assert real == counts, "feature counts match the tables (no half-written layer)"
        staged = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE name LIKE 'foncier_tmp%'")]
        return str(check), counts, staged
    finally:
        con.close()


def _run(args: list[str], ws: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FONCIER_LOCK_TIMEOUT": "20"}
    return subprocess.run([*FONCIER, *args, "--workspace", str(ws)], capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def _kill_during(args: list[str], ws: Path, after: float) -> int | None:
    proc = subprocess.Popen([*FONCIER, *args, "--workspace", str(ws)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(after)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


@pytest.mark.slow
def test_kill_9_loops_on_writing_commands(scored_sample_workspace: Path, real_data: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws)
    gpkg = ws / "foncier.gpkg"
    con = sqlite3.connect(gpkg)
    pids = [r[0] for r in con.execute("SELECT parcel_id FROM parcels ORDER BY fid LIMIT 3")]
    con.close()
    _, before, _ = _state(gpkg)
    rng = random.Random(15)
    friches = real_data / "cartofriches_territoire.geojson"
    commands: list[list[str]] = [
        ["status", pids[0], "--set", "sold"],
        ["ingest", "friches", str(friches), "--replace"],
        ["score", "--profile", "logistics", "--refresh"],
    ]
    killed = 0
    for args in commands:
        # the kill moments are spread over this machine's own run time of the command (a fixed window of
        # seconds kills nothing on a fast machine and only start-up on a slow one)
        t0 = time.monotonic()
        full = _run(args, ws)
        assert full.returncode == 0, (args, full.stderr)
        duration = time.monotonic() - t0
        for fraction in (0.35, 0.6, 0.85):
            code = _kill_during(args, ws, duration * fraction * rng.uniform(0.9, 1.1))
            killed += code == -signal.SIGKILL
            check, counts, staged = _state(gpkg)
            assert check == "ok", (args, check)
            assert staged == [], "a killed write commits nothing, not even its staged table"
            assert counts.get("parcels") == before["parcels"], "parcels whole"
            for name in ("sites", "criteria", "scores"):
                if name in before:
                    assert counts.get(name, 0) > 0, (args, name, counts)
            left = {p.name for p in ws.iterdir()} - ALLOWED_FILES
            assert not left, f"files left behind by a killed {args[0]}: {left}"
            # the next command is never blocked by the killed one's lock
            t0 = time.monotonic()
            out = _run(["status", pids[1], "--set", rng.choice(["available", "under_option"])], ws)
            assert out.returncode == 0, out.stderr
            assert time.monotonic() - t0 < 15
    assert killed >= 3, "some runs were really killed mid-way"
    # after all that, every command still completes and the workspace is consistent
    for args in commands:
        out = _run(args, ws, timeout=300)
        assert out.returncode == 0, (args, out.stderr[-2000:])
    check, counts, staged = _state(gpkg)
    assert check == "ok" and staged == [] and counts["friches"] > 0
    con = sqlite3.connect(gpkg)
    assert con.execute("SELECT status FROM parcels WHERE parcel_id = ?", (pids[0],)).fetchone()[0] == "sold"
    con.close()

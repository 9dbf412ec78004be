"""Read-compute-write commands under concurrency: two `foncier score` runs at once lose nothing; a status set
during `score --refresh` waits for it, is applied, and makes the criteria stale (never silently ignored)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from foncier.layers.workspace import Workspace
from foncier.pipeline import criteria_are_current

FONCIER = str(Path(sys.executable).with_name("foncier"))


def _start(args: list[str], ws: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "FONCIER_LOCK_TIMEOUT": "300"}
    return subprocess.Popen([FONCIER, *args, "--workspace", str(ws)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip


@pytest.mark.slow
def test_concurrent_scores_keep_every_profile(scored_sample_workspace: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws)
    con = sqlite3.connect(ws / "foncier.gpkg")
    con.execute("DELETE FROM scores")  # start from no stored scores
    con.commit()
    con.close()
    runs = [_start(["score", "--profile", p], ws) for p in ("logistics", "default", "agri-food")]
    for proc in runs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    con = sqlite3.connect(ws / "foncier.gpkg")
    profiles = {r[0] for r in con.execute("SELECT DISTINCT profile FROM scores")}
    con.close()
    assert {"logistics", "default", "agri-food"} <= profiles


#: A second process that takes the workspace lock, says so (``ready`` file), waits for the test's ``go`` file and
#: only then runs ``foncier score --refresh`` in the same thread: the lock is re-entrant there, so the refresh runs
#: as it would from the command line, and the lock is held without a gap from before ``ready`` to the end of
#: the refresh. A command started after ``ready`` therefore runs during the refresh, whatever the machine's speed.
_REFRESH_BEHIND_A_BARRIER = """
import sys, time
from pathlib import Path
from foncier.layers.workspace import workspace_lock
from foncier.scripts.cli import cli

ws, ready, go = sys.argv[1:4]
with workspace_lock(ws, timeout=60):
    Path(ready).touch()
    deadline = time.monotonic() + 120
    while not Path(go).exists():
        if time.monotonic() > deadline:
            sys.exit("the test never said go")
        time.sleep(0.02)
    cli(["score", "--profile", "logistics", "--refresh", "--workspace", ws], prog_name="foncier")
"""


def _wait_for(condition: Callable[[], bool], what: str, *procs: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            assert proc.poll() is None, f"{proc.args!r} ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _status_of(ws: Path, pid: str) -> str:
    con = sqlite3.connect(f"file:{ws / 'foncier.gpkg'}?mode=ro", uri=True)
    try:
        return str(con.execute("SELECT status FROM parcels WHERE parcel_id = ?", (pid,)).fetchone()[0])
    finally:
        con.close()


@pytest.mark.slow
def test_status_during_score_refresh_is_applied_and_marks_criteria_stale(
    scored_sample_workspace: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws)
    con = sqlite3.connect(ws / "foncier.gpkg")
    pid = con.execute("SELECT parcel_id FROM site_parcels LIMIT 1").fetchone()[0]
    con.close()
    assert _status_of(ws, pid) != "sold"
    ready, go = tmp_path / "ready", tmp_path / "go"
    env = {**os.environ, "FONCIER_LOCK_TIMEOUT": "300"}
    score = subprocess.Popen([sys.executable, "-c", _REFRESH_BEHIND_A_BARRIER, str(ws), str(ready), str(go)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    status: subprocess.Popen[str] | None = None
    try:
        _wait_for(ready.exists, "the refresh process holds the workspace lock", score)
        status_log = tmp_path / "status.err"
        with status_log.open("w") as err:
            status = subprocess.Popen([FONCIER, "status", pid, "--set", "sold", "--workspace", str(ws)],
                                      stdout=subprocess.DEVNULL, stderr=err, text=True, env=env)  # fmt: skip
        _wait_for(lambda: "waiting for the workspace lock" in status_log.read_text(),
                  "the status command says it waits for the lock", score, status)  # fmt: skip
        assert _status_of(ws, pid) != "sold", "the status was written while the refresh held the lock"
        go.touch()  # the refresh now reads the parcels (still not sold), computes and commits, then releases
        _, score_err = score.communicate(timeout=300)
        assert score.returncode == 0, score_err[-2000:]
        assert status.wait(timeout=300) == 0, status_log.read_text()[-2000:]
    finally:
        for proc in (score, status):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    w = Workspace.open(ws)
    parcels = w.read_layer("parcels", columns=["parcel_id", "status"])
    assert parcels.set_index("parcel_id").loc[pid, "status"] == "sold"
    con = sqlite3.connect(ws / "foncier.gpkg")
    in_sites = con.execute("SELECT count(*) FROM site_parcels WHERE parcel_id = ?", (pid,)).fetchone()[0]
    con.close()
    assert in_sites == 1, "the refresh ran before the status was set: its sites still hold the parcel"
    assert not criteria_are_current(w), "the criteria were computed without the sold status: stale"
    rerun = subprocess.run([FONCIER, "score", "--profile", "logistics", "--workspace", str(ws)],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert criteria_are_current(Workspace.open(ws))
    con = sqlite3.connect(ws / "foncier.gpkg")
    assert con.execute("SELECT count(*) FROM site_parcels WHERE parcel_id = ?", (pid,)).fetchone()[0] == 0
    con.close()

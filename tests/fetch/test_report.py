"""The fetch report: failures grouped by layer and cause with advice that helps, progress lines, interrupts."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier.layers.fetch import fetch_territory
from foncier.layers.fetch.http import HttpClient
from foncier.layers.fetch.run import failure_cause
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.workspace import Workspace, frame_checksum
from foncier.scripts.cli import cli

from .conftest import CADASTRE_EDITION, TEST_COMMUNES, Fault, Services, cli_args


def _parcels_path(insee: str) -> str:
    return f"/cadastre/{CADASTRE_EDITION}/geojson/communes/02/{insee}/cadastre-{insee}-parcelles.json.gz"


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("parcels of commune 02594: not found (HTTP 404) at http://h/x.json.gz", "not found (HTTP 404)"),
        ("gpu/zone-urba (3.0, 49.0, 3.1, 49.1): http://h/z: failed after 2 attempt(s): HTTP 503", "service error"),
        ("plu: refused by validation: 3 problems", "refused by validation"),
        ("nature/znieff1 (3.0, 49.0): http://h/n: failed after 2 attempt(s): ReadTimeout: timed out", "timeout"),
        ("EPCI 200071991: http://h/e is not valid JSON (Expecting value)", "malformed answer"),
    ],
)
def test_failure_causes(message: str, cause: str) -> None:
    assert failure_cause(message) == cause


def test_failures_grouped_by_layer_and_cause(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path
) -> None:
    for insee in TEST_COMMUNES[:2]:
        services.fail(_parcels_path(insee), Fault("status", 404, times=-1))
    services.fail("/apicarto/gpu/zone-urba", Fault("status", 503, times=-1))
    client = HttpClient(fetch_settings, sleep=lambda _: None)
    report = fetch_territory(
        tmp_path / "ws", territory_file, ["communes", "parcels", "plu"], client=client, progress=False
    )
    groups = report.failure_groups()
    assert set(groups) == {("parcels", "not found (HTTP 404)"), ("plu", "service error")}
    assert len(groups[("parcels", "not found (HTTP 404)")]) == 2
    text = report.render()
    assert "parcels: not found (HTTP 404): 2 item(s)" in text and "plu: service error:" in text
    assert "running again will not help" in text  # the advice for the 404s
    assert "... and" not in text


def test_cli_no_run_again_advice_for_a_404(
    tmp_path: Path, services: Services, territory_file: Path, fast_env: None
) -> None:
    services.fail(_parcels_path("02594"), Fault("status", 404, times=-1))
    result = CliRunner().invoke(
        cli, cli_args(services, tmp_path / "ws", territory_file, tmp_path / "cache", "-l", "communes,parcels")
    )
    assert result.exit_code == 6, result.output
    assert "run the same command again" not in result.output
    assert "Running again will not fix these failures" in result.output


def test_cli_progress_lines_on_stderr_when_not_a_terminal(
    tmp_path: Path, services: Services, fast_env: None, real_data: Path
) -> None:
    territory = tmp_path / "t.yaml"
    with (real_data / "territoire_communes_epci_2026.csv").open(encoding="utf-8") as fh:
        codes = [row["insee"] for row in csv.DictReader(fh)]
    territory.write_text(f"communes: [{', '.join(repr(c) for c in codes[:20])}]\n", "utf-8")
    result = CliRunner().invoke(
        cli, cli_args(services, tmp_path / "ws", territory, tmp_path / "cache", "-l", "parcels,friches")
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("fetch: ")]
    assert result.exit_code in (0, 6), result.output
    assert "fetch: parcels: fetching" in lines and "fetch: friches: fetching" in lines
    tenths = [line for line in lines if line.startswith("fetch: parcels: ") and " % (" in line]
    assert [t.split(": ")[2].split(" ")[0] for t in tenths] == [str(p) for p in range(10, 101, 10)]
    assert any(line.startswith("fetch: parcels: ") and "features" in line for line in lines)


def test_sigterm_says_what_was_kept_and_cleans_temporary_downloads(
    tmp_path: Path, services: Services, territory_file: Path
) -> None:
    ws = tmp_path / "ws"
    cache = tmp_path / "cache"
    env = {**os.environ, "FONCIER_FETCH_RETRIES": "0", "FONCIER_FETCH_READ_TIMEOUT": "30"}
    exe = shutil.which("foncier", path=str(Path(sys.executable).parent)) or "foncier"
    first = subprocess.run(
        [exe, *cli_args(services, ws, territory_file, cache, "-l", "communes,parcels")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    before = frame_checksum(Workspace.open(ws).read_layer("parcels"))
    # the refresh hangs on one commune's file (a slow server): SIGTERM while it downloads
    services.fail(_parcels_path("02466"), Fault("delay", seconds=20, times=-1))
    services.reset_log()
    proc = subprocess.Popen(
        [exe, *cli_args(services, ws, territory_file, tmp_path / "cache2", "-l", "parcels")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while services.count(_parcels_path("02466")) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Interrupted." in err and "To resume, run the same command again" in err
    assert "parcels" in err and "features from" in err
    assert frame_checksum(Workspace.open(ws).read_layer("parcels")) == before
    tmp = tmp_path / "cache2" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())

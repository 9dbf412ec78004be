"""``foncier status``: availability statuses, atomic, and the criteria become stale."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from foncier.layers.results import scored_sites, site_detail
from foncier.layers.workspace import Workspace, file_checksum
from foncier.pipeline import criteria_are_current, run_pipeline
from foncier.scripts.cli import cli


def test_selling_a_parcel_removes_it_from_sites(scored_sample_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    ws = Workspace.open(path)
    best = scored_sites(ws, "default").sites.iloc[0]
    parcel = site_detail(ws, best["site_id"])["parcels"][0]
    runner = CliRunner()
    out = runner.invoke(cli, ["status", "-w", str(path), parcel, "--set", "sold"])
    assert out.exit_code == 0, out.output
    parcels = ws.read_layer("parcels", where=f"parcel_id = '{parcel}'")
    assert parcels["status"].iloc[0] == "sold" and parcels["status_date"].iloc[0]
    assert not criteria_are_current(ws)
    run_pipeline(ws, profiles=["default"])
    links = ws.read_table("site_parcels")
    assert parcel not in set(links["parcel_id"])


def test_unknown_or_malformed_ids_change_nothing(scored_sample_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    before = file_checksum(path / "foncier.gpkg")
    parcel = Workspace.open(path).read_layer("parcels").iloc[0]["parcel_id"]
    runner = CliRunner()
    out = runner.invoke(cli, ["status", "-w", str(path), parcel, "02722000ZZ9999", "--set", "sold"])
    assert out.exit_code == 4 and "02722000ZZ9999" in out.output
    out = runner.invoke(cli, ["status", "-w", str(path), "bogus", "--set", "sold"])
    assert out.exit_code == 3 and "malformed parcel id 'BOGUS'" in out.output
    assert file_checksum(path / "foncier.gpkg") == before

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


def test_status_vocabulary_is_enforced_in_the_geopackage(small_sample_workspace: Path, tmp_path: Path) -> None:
    import sqlite3

    import pytest

    path = tmp_path / "ws"
    shutil.copytree(small_sample_workspace, path)
    ws = Workspace.open(path)
    pid, other = ws.read_layer("parcels")["parcel_id"].iloc[:2]
    runner = CliRunner()
    assert runner.invoke(cli, ["status", "-w", str(path), pid, "--set", "available"]).exit_code == 0
    # a QGIS user types a value outside the vocabulary: the GeoPackage refuses it
    from foncier.layers.gpkg import register_gpkg_functions

    con = sqlite3.connect(path / "foncier.gpkg")
    register_gpkg_functions(con)  # as QGIS/GDAL do for the R-tree triggers
    try:
        with pytest.raises(sqlite3.IntegrityError, match="status must be one of"):
            con.execute("UPDATE parcels SET status = 'vendu' WHERE parcel_id = ?", (other,))
        con.execute("UPDATE parcels SET status = 'sold' WHERE parcel_id = ?", (other,))  # a valid edit passes
        con.commit()
        # a tool that bypasses the triggers: the next commands report the parcel, never treat it as available
        con.execute("DROP TRIGGER foncier_status_check_update")
        con.execute("UPDATE parcels SET status = 'reserve' WHERE parcel_id = ?", (other,))
        con.commit()
    finally:
        con.close()
    info = runner.invoke(cli, ["info", "-w", str(path)])
    assert info.exit_code == 0 and f"{other} ('reserve')" in info.output
    from foncier.errors import ValidationError
    from foncier.layers.statuses import require_valid_statuses

    with pytest.raises(ValidationError, match=other):
        require_valid_statuses(ws)


def test_status_history_is_kept(small_sample_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(small_sample_workspace, path)
    pid = Workspace.open(path).read_layer("parcels")["parcel_id"].iloc[5]
    runner = CliRunner()
    for value in ("under_option", "sold", "none"):
        out = runner.invoke(cli, ["status", "-w", str(path), pid, "--set", value])
        assert out.exit_code == 0, out.output
    shown = runner.invoke(cli, ["status", "-w", str(path), pid, "--history"])
    assert shown.exit_code == 0, shown.output
    lines = [line for line in shown.output.splitlines() if pid in line]
    assert len(lines) == 3 and "under_option" in lines[0] and "sold" in lines[1] and "cleared" in lines[2]

"""Access, effective weights and rank groups through the pipeline and the CLI (issue 12)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from foncier.layers.profile_store import list_profiles
from foncier.layers.workspace import Workspace
from foncier.scripts.cli import cli


def test_pipeline_stores_vehicle_times_distances_and_diagnostics(scored_sample_workspace: Path) -> None:
    ws = Workspace.open(scored_sample_workspace)
    crit = ws.read_table("criteria").set_index("site_id")
    car, hgv = crit["time_to_roissy_min"], crit["time_to_roissy_hgv_min"]
    assert car.notna().all() and (hgv > car).all()  # a lorry is slower on the same roads
    assert (crit["time_to_interchange_hgv_min"] >= crit["time_to_interchange_min"]).all()
    # road distances along the network are longer than the straight line, and in km
    assert (crit["gare_fret_dist"] * 1000 >= crit["dist_freight_station_m"] - 1).all()
    assert crit["aeroport_dist"].between(40, 120).all()
    assert crit["dist_freight_line_m"].notna().all() and (crit["labour_pool"] > 0).all()
    eff = ws.read_table("effective_weights")
    assert sorted(eff["profile"].unique()) == sorted(list_profiles())
    for _, table in eff.groupby("profile"):
        shares = table["effective_share"]
        assert shares.isna().all() or np.isclose(shares.sum(), 1.0)
    groups = ws.read_table("rank_groups")
    assert {"profile", "site_id", "rank", "group_first", "group_last", "group_size"} <= set(groups.columns)
    assert (groups["group_first"] <= groups["rank"]).all() and (groups["rank"] <= groups["group_last"]).all()


def test_score_prints_effective_weights_and_sites_json_has_rank_groups(
    scored_sample_workspace: Path, tmp_path: Path
) -> None:
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    runner = CliRunner()
    out = runner.invoke(cli, ["score", "-w", str(path), "-p", "logistics"])
    assert out.exit_code == 0, out.output
    assert "nominal and effective" in out.output and "effective_share" in out.output
    out = runner.invoke(cli, ["sites", "-w", str(path), "-p", "default", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)["rows"]
    assert rows and all(r["group_first"] <= r["rank"] <= r["group_last"] for r in rows)
    assert all(r["rank_group"] in (f"{r['group_first']}-{r['group_last']}", str(r["rank"])) for r in rows)
    out = runner.invoke(cli, ["sensitivity", "-w", str(path), "-p", "default", "--runs", "80", "--method",
                              "monte-carlo", "--seed", "4"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "Rank groups" in out.output
    stored = Workspace.open(path).read_table("rank_groups")
    assert sorted(stored["profile"].unique()) == sorted(list_profiles())  # the other profiles kept

"""Nothing unchecked passes, end to end: the small sample without its flood and ecology layers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner


def test_sample_without_flood_and_ecology_layers_passes_nothing_unchecked(
    small_sample_workspace: Path, tmp_path: Path
) -> None:
    """The small sample with the flood and protected layers removed: no site passes those constraints."""
    from foncier.layers.results import scored_sites, site_detail
    from foncier.layers.workspace import Workspace
    from foncier.pipeline import run_pipeline

    path = tmp_path / "ws"
    shutil.copytree(small_sample_workspace, path)
    ws = Workspace.open(path)
    ws.delete_layers(["flood", "protected"])
    report = run_pipeline(ws, profiles=["default"])
    stored = ws.read_table("site_constraints")
    flood_eco = stored[stored["criterion"].isin(["share_flood_red", "share_strict_protection", "share_protected"])]
    assert len(flood_eco) == 3 * report.n_sites > 0
    assert (flood_eco["state"] == "unverified").all()
    scored = scored_sites(ws, "default")
    assert (scored.sites["n_unverified"] >= 3).all()
    assert report.n_unverified["default"] == report.n_sites
    assert any("kept as unverified" in p for p in report.problems)
    detail = site_detail(ws, str(scored.sites.index[0]), "default")
    states = {c["criterion"]: c["state"] for c in detail["constraints"]}
    assert states["share_flood_red"] == "unverified" and detail["unverified"]
    assert detail["plans"] and all(p["document"] in ("PLU", "carte communale", "RNU") for p in detail["plans"])
    from foncier.scripts.cli import cli

    cli_json = CliRunner().invoke(
        cli,
        ["sites", "--workspace", str(path), "--profile", "default", "--format", "json", "--include-excluded"],
    )
    assert cli_json.exit_code == 0, cli_json.output
    answer = json.loads(cli_json.output)
    rows = answer["rows"]
    assert answer["n_sites_unverified"] == answer["n_sites"]
    scored = CliRunner().invoke(cli, ["score", "--workspace", str(path), "--profile", "default"])
    assert scored.exit_code == 0, scored.output
    assert f"{report.n_sites} site(s) with at least one constraint not checked" in scored.output
    assert rows and all(r["n_unverified"] >= 3 for r in rows)

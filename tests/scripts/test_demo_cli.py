"""``foncier demo``: builds, scores and maps the sample; never overwrites real data."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from foncier.layers.workspace import Workspace, file_checksum
from foncier.scripts.cli import cli


def test_demo_builds_scores_and_maps(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    out = CliRunner().invoke(cli, ["demo", "-w", str(ws), "--size", "small"])
    assert out.exit_code == 0, out.output
    assert "Best sites" in out.output and "synthetic" in out.output
    workspace = Workspace.open(ws)
    assert workspace.synthetic
    assert {"parcels", "sites", "criteria", "scores"} <= set(workspace.list_layers())
    site_map = ws / "maps" / "sites-default.html"
    assert site_map.exists() and str(site_map) in out.output
    assert len(list((ws / "maps").glob("sheet-*.html"))) >= 1


def test_demo_refuses_a_real_workspace(real_data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ws = tmp_path / "real"
    ok = runner.invoke(
        cli, ["ingest", "-w", str(ws), "parcels", str(real_data / "cadastre-02-parcelles-excerpt-retz.geojson")]
    )
    assert ok.exit_code == 0, ok.output
    before = file_checksum(ws / "foncier.gpkg")
    out = runner.invoke(cli, ["demo", "-w", str(ws)])
    assert out.exit_code == 5 and "never overwrites" in out.output
    assert file_checksum(ws / "foncier.gpkg") == before

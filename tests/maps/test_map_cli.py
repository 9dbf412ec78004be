"""``foncier map`` and the demo maps on the scored small sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.export import external_references, offline_problems
from foncier.scripts.cli import cli
from foncier.scripts.map import write_demo_maps
from tests.conftest import require


def test_map_command_writes_the_site_map_a_sheet_and_the_parcel_map(
    scored_workspace: Path, tmp_path: Path, assets_installed: None
) -> None:
    runner = CliRunner()
    ws = str(scored_workspace)
    result = runner.invoke(cli, ["map", "-w", ws, "--offline", "-o", str(tmp_path / "sites.html")])
    assert result.exit_code == 0, result.output
    assert "Wrote the site map" in result.output and "synthetic sample" in result.output
    assert offline_problems(tmp_path / "sites.html") == []

    site = str(scored_sites(Workspace.open(scored_workspace)).sites.index[0])
    result = runner.invoke(cli, ["map", "-w", ws, "--site", site, "--lang", "en", "-o", str(tmp_path / "sheet.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "sheet.html").read_text()
    assert f"Site sheet {site}" in html and "https://cdn.jsdelivr.net/npm/leaflet@" in html  # online: the CDN
    assert not (tmp_path / "assets" / "leaflet.vectorgrid").exists()

    result = runner.invoke(
        cli, ["map", "-w", ws, "--parcels", "--color-by", "zoning", "--offline", "-o", str(tmp_path / "parcels.html")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "assets" / "leaflet.vectorgrid").is_dir()
    assert external_references((tmp_path / "parcels.html").read_text()) == []


def test_map_command_reports_bad_input_without_a_traceback(scored_workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["map", "-w", str(scored_workspace), "--site", "Snothere0000", "-o", str(tmp_path / "x.html")]
    )
    assert result.exit_code == 4 and "no site 'Snothere0000'" in result.output
    result = runner.invoke(cli, ["map", "-w", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 5 and "no workspace" in result.output
    result = runner.invoke(cli, ["map", "-w", str(scored_workspace)])
    assert result.exit_code == 2 and "--output" in result.output
    assert "Traceback" not in result.output


def test_demo_maps_are_the_site_map_and_the_best_sheets(
    scored_workspace: Path, tmp_path: Path, assets_installed: None
) -> None:
    paths = write_demo_maps(scored_workspace, tmp_path / "maps", sheets=3)
    assert [p.name.split("-")[0] for p in paths] == ["sites", "sheet", "sheet", "sheet"]
    assert paths[1].name.startswith("sheet-01-")
    for path in paths:
        assert offline_problems(path) == [], path


def test_map_pdf_of_a_sheet_is_one_or_two_a4_pages_with_the_site_id(scored_workspace: Path, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    require(Path("/usr/bin/chromium").exists(), "/usr/bin/chromium is not installed (make system-deps)")
    site = str(scored_sites(Workspace.open(scored_workspace)).sites.index[0])
    out = tmp_path / "sheet.pdf"
    result = CliRunner().invoke(cli, ["map", "-w", str(scored_workspace), "--site", site, "--pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "as PDF" in result.output
    reader = pypdf.PdfReader(str(out))
    assert 1 <= len(reader.pages) <= 2
    for page in reader.pages:  # A4: 595 x 842 points
        assert abs(float(page.mediabox.width) - 595.3) < 2 and abs(float(page.mediabox.height) - 841.9) < 2
    text = "".join(page.extract_text() for page in reader.pages)
    assert site in text
    assert "SYNTHÉTIQUE" in text  # the banner is kept
    assert not list(tmp_path.glob(".*.part"))


def test_map_pdf_needs_a_sheet_or_a_comparison(scored_workspace: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["map", "-w", str(scored_workspace), "--pdf", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0
    assert "--pdf prints a site's sheet or a comparison" in result.output
    assert not (tmp_path / "x.pdf").exists()

"""``foncier map --offline --single-file``: one self-contained HTML file that still works when e-mailed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.assets import ASSETS, MapAssetsError, assets_root, inline_assets
from foncier.maps.export import external_references, offline_problems, parse_references
from foncier.scripts.cli import cli


def test_inline_assets_inlines_scripts_styles_and_their_images(tmp_path: Path, assets_installed: None) -> None:
    leaflet, css = ASSETS["leaflet"], ASSETS["leaflet_css"]
    shutil.copytree(assets_root() / "leaflet", tmp_path / "assets" / "leaflet")
    html = (
        f'<html><head><script src="assets/leaflet/{leaflet.path}"></script>'
        f'<link rel="stylesheet" href="assets/leaflet/{css.path}"/>'
        '<script src="https://example.org/x.js"></script></head><body></body></html>'
    )
    out = inline_assets(html, tmp_path)
    refs, _ = parse_references(out)
    assert [url for _, url in refs if not url.startswith(("data:", "#"))] == ["https://example.org/x.js"]  # kept
    assert "L.Map" in out or "Leaflet" in out
    assert "url(images/layers.png)" not in out and 'url("data:image/png;base64,' in out
    with pytest.raises(MapAssetsError, match="does not exist"):
        inline_assets('<script src="assets/nothing.js"></script>', tmp_path)


def test_single_file_needs_offline(scored_workspace: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["map", "-w", str(scored_workspace), "--single-file", "-o", str(tmp_path / "m.html")])
    assert out.exit_code == 2 and "--offline" in out.output
    assert not (tmp_path / "m.html").exists()


@pytest.mark.browser
def test_single_file_map_opens_alone_without_network(
    scored_workspace: Path, tmp_path: Path, browser: Any, assets_installed: None
) -> None:
    written = tmp_path / "written"
    written.mkdir()
    ws = str(scored_workspace)
    scored = scored_sites(Workspace.open(scored_workspace), "default")
    site = str(scored.sites.index[0])
    runner = CliRunner()
    for args, name in (([], "sites.html"), (["--site", site], "sheet.html")):
        out = runner.invoke(cli, ["map", "-w", ws, *args, "--offline", "--single-file", "-o", str(written / name)])
        assert out.exit_code == 0, out.output
        assert "one self-contained file" in out.output
    assert sorted(p.name for p in written.iterdir()) == ["sheet.html", "sites.html"]  # no assets/ folder
    # "e-mailed": each file alone in another folder
    mailbox = tmp_path / "mailbox"
    mailbox.mkdir()
    for name in ("sites.html", "sheet.html"):
        shutil.copy(written / name, mailbox / name)
        html = (mailbox / name).read_text(encoding="utf-8")
        assert external_references(html) == [] and offline_problems(mailbox / name) == []
        local_refs = [url for _, url in parse_references(html)[0] if not url.startswith(("data:", "#"))]
        assert local_refs == [], local_refs

    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("requestfailed", lambda req: errors.append(f"failed: {req.url} {req.failure}"))
        page.on("request", lambda req: None if req.url.startswith(("data:", "blob:")) else requests.append(req.url))
        page.goto((mailbox / "sites.html").as_uri())
        page.wait_for_function("window.foncierReady !== undefined", timeout=10_000)
        assert page.locator("path.fx-site").count() == len(scored.sites)
        eligible = int((~scored.sites["excluded"].astype(bool)).sum())
        assert page.locator(".fx-panel [data-site]").count() == min(10, eligible)
        page.goto((mailbox / "sheet.html").as_uri())
        page.wait_for_function("window.foncierReady !== undefined", timeout=10_000)
        assert page.locator(".fx-parcels tr").count() > 1
        assert page.locator(".leaflet-overlay-pane path").count() > 0
        assert errors == []
        # the only requests are the two pages themselves
        assert requests == [(mailbox / "sites.html").as_uri(), (mailbox / "sheet.html").as_uri()], requests
    finally:
        context.close()

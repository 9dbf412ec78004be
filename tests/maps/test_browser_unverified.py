"""The site map of a workspace whose flood layer was removed (issues 11, 13, 14), in headless Chromium, offline, at
desktop and phone sizes: every kept site whose flood constraint could not be checked carries the distinct
"unverified" style (dashed outline, "non vérifié" badge in the list, a mark on its rank marker) explained in the
legend; the side panel gives the parcels' counts per availability state and the profile's effective weights beside
its nominal weights; each listed site says how available it is."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from foncier.layers.availability import availability_counts
from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.site_facts import effective_weights, with_site_facts
from foncier.scripts.map import write_demo_maps

from .conftest import SIZES, Watched, viewport, watched_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def no_flood(small_sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory, assets_installed: None) -> Path:
    """The small sample without its flood layer, run through the pipeline, and its offline demo maps."""
    from foncier.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("no-flood")
    shutil.copytree(small_sample_workspace, root / "ws")
    ws = Workspace.open(root / "ws")
    ws.delete_layers(["flood"])
    run_pipeline(ws, profiles=["default"])
    # an officer puts a parcel of the best site under option: its status date shows in the side panel
    best = str(scored_sites(ws, "default").sites.sort_values("rank").index[0])
    links = ws.read_table("site_parcels")
    ws.set_parcel_status([str(links.loc[links["site_id"].astype(str) == best, "parcel_id"].iloc[0])], "under_option")
    write_demo_maps(root / "ws", root / "out", sheets=1)
    return root


@pytest.fixture(params=sorted(SIZES))
def watched_at(browser: Any, request: pytest.FixtureRequest) -> Iterator[Watched]:
    with watched_page(browser, viewport=viewport(str(request.param))) as w:
        yield w


def _open_panel(page: Any) -> None:
    fold = page.locator(".fx-panel .fx-fold")
    if fold.is_visible() and "fx-folded" in (page.locator(".fx-panel").get_attribute("class") or ""):
        fold.click()


def test_unverified_sites_styled_and_panel_gives_states_and_weights(watched_at: Watched, no_flood: Path) -> None:
    ws = Workspace.open(no_flood / "ws")
    scored = scored_sites(ws, "default")
    sites = with_site_facts(ws, scored.sites, "default")
    kept = sites[~sites["excluded"].astype(bool)]
    unverified = kept[pd.to_numeric(kept["n_unverified"]) > 0]
    assert len(unverified) == len(kept) > 0  # no flood layer: no kept site had its flood rule checked

    page = watched_at.page
    page.goto((no_flood / "out" / "sites-default.html").as_uri())
    page.wait_for_function("window.foncierReady !== undefined", timeout=15_000)

    # the distinct style, on exactly the kept sites with an unverified constraint
    styled = page.evaluate(
        "() => Object.keys(foncier.byId).filter(id => "
        "(foncier.byId[id].options.className || '').indexOf('fx-unverified') >= 0)"
    )
    assert sorted(styled) == sorted(str(i) for i in unverified.index)
    dashes = page.evaluate(
        "() => Object.values(foncier.byId).map(l => l.options.dashArray).filter(d => d === '6 4').length"
    )
    assert dashes == len(unverified)
    assert page.locator(".fx-rank-icon.fx-rank-uv .fx-uv-mark").count() == min(10, len(kept))
    # explained in the legend (unfolded on a phone as a user would)
    legend = page.locator(".fx-legend")
    if "fx-folded" in (legend.get_attribute("class") or ""):
        legend.locator(".fx-fold").click()
    entry = page.locator(".fx-legend .fx-legend-uv")
    assert entry.is_visible()
    assert "non vérifiée" in entry.inner_text()
    assert entry.locator(".fx-swatch-uv").count() == 1

    # the side panel: each listed site's badge and availability, the counts per state, the effective weights
    _open_panel(page)
    items = page.locator(".fx-panel ol [data-site]")
    assert items.count() == min(10, len(kept))
    dated = 0
    for i in range(items.count()):
        item = items.nth(i)
        site_id = str(item.get_attribute("data-site"))
        assert item.locator(".fx-uv-badge").inner_text() == "non vérifié"
        availability = sites.loc[site_id, "availability"] if "availability" in sites.columns else None
        if isinstance(availability, str):
            assert item.locator(f".fx-av.fx-av-{availability}").count() == 1
            date = str(sites.loc[site_id, "status_date"] or "")
            if date:
                assert date[:10] in item.inner_text()
                dated += 1
    assert dated >= 1
    assert sites.loc[str(items.first.get_attribute("data-site")), "availability"] == "under_option"
    counts = availability_counts(ws)
    assert counts is not None and sum(counts.values()) > 0
    for state, n in counts.items():
        shown = page.locator(f".fx-states [data-state={state}] b").inner_text()
        assert int(shown.replace("\u202f", "").replace("\xa0", "").replace(" ", "")) == n, state
    weights = effective_weights(ws, "default")
    assert not weights.empty
    page.locator(".fx-weights summary").click()
    rows = page.locator(".fx-weights tr[data-criterion]")
    assert rows.count() == len(weights)
    top = weights["effective_share"].idxmax()
    assert rows.first.get_attribute("data-criterion") == top
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[1].startswith(f"{round(100 * float(weights.loc[top, 'weight']))}")
    assert cells[2].startswith(f"{round(100 * float(weights.loc[top, 'effective_share']))}")

    # the popup of an unverified site says so, with the constraint that could not be checked
    first = str(unverified.sort_values("rank").index[0])
    page.evaluate("id => foncier.open(id)", first)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=3_000)
    assert popup.locator(".fx-uv-badge").count() == 1
    assert "PPRI" in popup.locator(".fx-uv").inner_text() or "flood" in popup.locator(".fx-uv").inner_text()
    watched_at.clean()


def test_sheet_and_comparison_list_the_unverified_constraints(no_flood: Path) -> None:
    """The sheet and the comparison of sites whose flood rule could not be checked name that constraint."""
    from foncier.maps.export import save_html
    from foncier.scripts.map import comparison_for

    ws = Workspace.open(no_flood / "ws")
    scored = scored_sites(ws, "default")
    kept = scored.sites[~scored.sites["excluded"].astype(bool)].sort_values("rank")
    reasons = str(kept["unverified_fr"].iloc[0])
    assert "PPRI" in reasons
    sheet = next((no_flood / "out").glob("sheet-01-*.html")).read_text(encoding="utf-8")
    assert "Contraintes non vérifiées" in sheet and "PPRI" in sheet
    ids = [str(i) for i in kept.index[:3]]
    save_html(comparison_for(ws, ids, "default", offline=True), no_flood / "compare.html", offline=True)
    compare = (no_flood / "compare.html").read_text(encoding="utf-8")
    assert "Contraintes non vérifiées" in compare
    assert compare.count("PPRI") >= len(ids)

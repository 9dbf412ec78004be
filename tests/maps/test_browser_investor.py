"""What an investor does with the offline maps, in headless Chromium at desktop and phone sizes (issue 14):
find a site by commune, id or parcel, filter the list, follow a popup to the sheet, read the orientation
labels; sheets and comparisons at phone width; the sheet printed to PDF. No JavaScript error, no failed
request, nothing from the network."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.export import save_html
from foncier.maps.site_facts import with_site_facts
from foncier.scripts.map import comparison_for, write_demo_maps

from .conftest import SIZES, Watched, viewport, watched_page

pytestmark = pytest.mark.browser


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def watched_at(browser: Any, size: str) -> Iterator[Watched]:
    with watched_page(browser, viewport=viewport(size)) as w:
        yield w


@pytest.fixture(scope="module")
def demo_maps(scored_workspace: Path, tmp_path_factory: pytest.TempPathFactory, assets_installed: None) -> Path:
    """The demo's offline site map (popups linking to the sheets of the 3 best sites) and a comparison."""
    out = tmp_path_factory.mktemp("demo-maps")
    write_demo_maps(scored_workspace, out, sheets=3)
    ws = Workspace.open(scored_workspace)
    ids = [str(i) for i in scored_sites(ws, "default").sites.index[:3]]
    save_html(comparison_for(ws, ids, "default", offline=True), out / "compare.html", offline=True)
    return out


@pytest.fixture(scope="module")
def sites(scored_workspace: Path) -> pd.DataFrame:
    """The scored sites with the facts the map shows (availability, rank groups when stored)."""
    ws = Workspace.open(scored_workspace)
    scored = scored_sites(ws, "default")
    return with_site_facts(ws, scored.sites, "default")


def _open(w: Watched, path: Path) -> None:
    w.page.goto(path.as_uri())
    w.page.wait_for_function("window.foncierReady !== undefined", timeout=15_000)


def _unfold_panel(page: Any) -> None:
    """On a phone the side panel starts folded: open it as a user would."""
    fold = page.locator(".fx-panel .fx-fold")
    if fold.is_visible() and "fx-folded" in (page.locator(".fx-panel").get_attribute("class") or ""):
        fold.click()


def _listed(page: Any) -> list[str]:
    return [
        str(x) for x in page.eval_on_selector_all(".fx-panel ol [data-site]", "els => els.map(e => e.dataset.site)")
    ]


def _expected(sites: pd.DataFrame, keep: pd.Series) -> list[str]:
    chosen = sites[keep & ~sites["excluded"].astype(bool)].sort_values("rank")
    return [str(i) for i in chosen.index[:10]]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFD", text).encode("ascii", "ignore").decode().lower()


def test_site_map_search_filters_labels_and_sheet_link(
    watched_at: Watched, demo_maps: Path, sites: pd.DataFrame, size: str
) -> None:
    page = watched_at.page
    _open(watched_at, demo_maps / "sites-default.html")
    # orientation: towns and roads named, Roissy-CDG labelled (off this map: an arrow points to it), credits
    assert page.locator(".fx-town").count() > 0
    assert page.locator(".fx-road").count() > 0
    assert page.locator(".fx-cdg").count() == 1
    arrow = page.locator(".fx-cdg-arrow")
    cdg_on_map = page.evaluate("foncier.map.getBounds().contains(L.latLng(foncier.cfg.cdg))")
    assert arrow.is_visible() != cdg_on_map
    assert "OpenStreetMap" in page.locator(".fx-attribution").inner_text()
    _unfold_panel(page)
    assert _listed(page) == _expected(sites, pd.Series(True, index=sites.index))

    # search by commune name (without accents), by site id, by parcel id
    search = page.locator(".fx-search")
    best = sites[~sites["excluded"].astype(bool)].iloc[0]
    best_id = str(best.name)
    commune_name = page.evaluate("id => foncier.byId[id].feature.properties.m", best_id).split(",")[0]
    for query in (_fold(commune_name), best_id.lower(), str(best["parcel_ids"]).split(",")[0]):
        search.fill(query)
        results = page.locator(".fx-search-results [data-find]")
        found = results.evaluate_all("els => els.map(e => e.dataset.find)")
        assert best_id in found, (query, found)
    search.fill("zzzz-nowhere")
    assert page.locator(".fx-search-results .fx-none").is_visible()
    search.fill(best_id)
    search.press("Enter")
    page.locator(".leaflet-popup-content", has_text=best_id).wait_for(timeout=5_000)
    page.locator(".leaflet-popup-close-button").click()
    _unfold_panel(page)  # on a phone, opening the site folded the panel away

    # each filter changes the listed sites as the data says
    page.locator(".fx-filters summary").click()
    form = page.locator(".fx-filters form")
    area_ha = float(sites["area_m2"].median()) / 10_000
    lot_ha = float(sites["max_lot_m2"].median()) / 10_000
    minutes = float(sites["time_to_roissy_min"].median())
    cases: list[tuple[str, Any, pd.Series]] = [
        ("area", round(area_ha, 2), sites["area_m2"] >= round(area_ha, 2) * 10_000),
        ("lot", round(lot_ha, 2), sites["max_lot_m2"] >= round(lot_ha, 2) * 10_000),
        ("time", round(minutes), sites["time_to_roissy_min"] <= round(minutes)),
    ]
    zoning = sites.loc[~sites["excluded"].astype(bool), "zoning_class"].mode()
    if len(zoning):
        cases.append(("zoning", str(zoning.iloc[0]), sites["zoning_class"] == zoning.iloc[0]))
    cases.append(("brownfield", True, sites["share_brownfield"] > 0))
    if "availability" in sites.columns and sites["availability"].notna().any():
        cases.append(("available", True, sites["availability"] == "free"))
    else:
        assert form.locator("[name=available]").count() == 0  # no availability data: the filter is hidden
    everything = _listed(page)
    changed = 0
    for name, value, keep in cases:
        field = form.locator(f"[name={name}]")
        if isinstance(value, bool):
            field.check()
        elif name == "zoning":
            field.select_option(value)
        else:
            field.fill(str(value))
        expected = _expected(sites, keep)
        assert _listed(page) == expected, name
        assert page.locator("path.fx-site").count() == int(keep.sum()), name
        changed += expected != everything
        form.locator("button[type=reset]").click()
        page.wait_for_timeout(50)
        assert _listed(page) == everything
    assert changed >= 3  # the filters do change the list on this sample

    # the popup links to the site's sheet, which opens
    page.evaluate("id => foncier.open(id)", best_id)
    link = page.locator(".leaflet-popup-content .fx-sheet-link a")
    link.wait_for(timeout=3_000)
    href = link.get_attribute("href") or ""
    assert best_id in href
    # a click during the popup's fade-in or the map's auto-pan can land on nothing: wait until both are over
    page.wait_for_function(
        "() => { const p = document.querySelector('.leaflet-popup');"
        " return p !== null && getComputedStyle(p).opacity === '1'"
        " && !document.querySelector('.leaflet-pan-anim, .leaflet-zoom-anim'); }",
        timeout=10_000,
    )
    with page.expect_navigation(timeout=15_000):
        link.click()
    page.wait_for_function("window.foncierReady !== undefined", timeout=15_000)
    assert best_id in page.title()
    watched_at.clean()


def test_rank_markers_never_overlap_at_any_zoom(watched_at: Watched, demo_maps: Path) -> None:
    page = watched_at.page
    _open(watched_at, demo_maps / "sites-default.html")
    for zoom in range(8, 17, 2):
        page.evaluate("z => foncier.map.setZoom(z, {animate: false})", zoom)
        page.wait_for_timeout(50)
        boxes = page.eval_on_selector_all(
            ".fx-rank-icon", "els => els.map(e => { var r = e.getBoundingClientRect(); return [r.x, r.y, r.width]; })"
        )
        assert boxes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert max(abs(a[0] - b[0]), abs(a[1] - b[1])) >= min(a[2], b[2]) - 0.5, (zoom, a, b)
    watched_at.clean()


@pytest.mark.parametrize("page_name", ["sheet", "compare"])
def test_sheet_and_comparison_fit_the_screen(watched_at: Watched, demo_maps: Path, page_name: str) -> None:
    page = watched_at.page
    path = next(demo_maps.glob("sheet-01-*.html")) if page_name == "sheet" else demo_maps / "compare.html"
    _open(watched_at, path)
    width = page.evaluate("window.innerWidth")
    # nothing wider than the screen but the comparison table, which scrolls inside its own box
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert page.locator(".leaflet-container").first.is_visible()
    assert "SYNTHÉTIQUE" in page.locator("body").inner_text()
    watched_at.clean()

"""The offline maps of the small sample in headless Chromium: they draw, react, and touch no network."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.export import save_html, save_map

from .conftest import Watched

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def offline_maps(scored_workspace: Path, tmp_path_factory: pytest.TempPathFactory, assets_installed: None) -> Path:
    """The offline site map, one sheet and the parcel map of the scored small sample, in one folder."""
    from foncier.scripts.map import parcel_map_for, sheet_for, site_map_for

    out = tmp_path_factory.mktemp("maps")
    ws = Workspace.open(scored_workspace)
    scored = scored_sites(ws, "default")
    save_map(site_map_for(ws, "default", offline=True, scored=scored), out / "sites.html", offline=True)
    best = str(scored.sites.index[0])
    save_html(sheet_for(ws, best, "default", offline=True, scored=scored), out / "sheet.html", offline=True)
    save_map(parcel_map_for(ws, offline=True), out / "parcels.html", offline=True)
    return out


def _open(w: Watched, path: Path) -> None:
    w.page.goto(path.as_uri())
    w.page.wait_for_function("window.foncierReady !== undefined", timeout=10_000)


def test_offline_site_map_draws_every_site_and_reacts(
    watched: Watched, offline_maps: Path, scored_workspace: Path
) -> None:
    scored = scored_sites(Workspace.open(scored_workspace), "default")
    page = watched.page
    _open(watched, offline_maps / "sites.html")
    # every site polygon is in the DOM, the 10 best eligible ones are numbered and listed
    n_top = min(10, int((~scored.sites["excluded"]).sum()))
    assert n_top > 0
    assert page.locator("path.fx-site").count() == len(scored.sites)
    assert page.locator(".fx-rank-icon").count() == n_top
    assert page.locator(".fx-panel [data-site]").count() == n_top
    assert page.locator(".fx-banner").inner_text().startswith("ÉCHANTILLON SYNTHÉTIQUE")

    # a click on an excluded site's polygon opens its popup with the breakdown and the reasons
    excluded = scored.sites[scored.sites["excluded"]]
    site_id = str(excluded.index[0])
    page.evaluate(
        "id => { var l = foncier.byId[id]; foncier.map.fitBounds(l.getBounds(), {maxZoom: 16, animate: false}); }",
        site_id,
    )
    x, y = page.evaluate(
        "id => { var p = foncier.byId[id].feature.properties.p; "
        "var pt = foncier.map.latLngToContainerPoint(p); return [pt.x, pt.y]; }",
        site_id,
    )
    box = page.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=3_000)
    text = popup.inner_text()
    assert site_id in text and "Décomposition du score" in text and "Exclu" in text
    assert str(excluded.iloc[0]["reasons_fr"]).split(";")[0].strip() in text
    assert popup.locator(".fx-bd tr").count() == scored.breakdown["criterion"].nunique()

    # the layer control toggles the flood zones on and off
    flood = page.locator(".leaflet-control-layers-overlays label", has_text="Zones inondables").locator("input")
    assert not flood.is_checked()
    before = page.locator(".leaflet-fx-areas-pane path").count()
    flood.check()
    shown = page.locator(".leaflet-fx-areas-pane path").count()
    assert shown > before
    flood.uncheck()
    assert page.locator(".leaflet-fx-areas-pane path").count() == before
    # and the sites layer can be hidden
    sites = page.locator(".leaflet-control-layers-overlays label", has_text="Sites candidats").locator("input")
    sites.uncheck()
    assert page.locator("path.fx-site").count() == 0
    sites.check()
    # hiding the sites closed their popup (Leaflet fades it out for 200 ms): none is left open
    page.wait_for_function("!document.querySelector('.leaflet-popup')", timeout=3_000)

    # the side panel zooms to the best site and opens its popup
    page.locator(".fx-panel [data-site]").first.click()
    assert page.evaluate("foncier.map.getZoom()") >= 13
    page.locator(".leaflet-popup-content", has_text=str(scored.sites.index[0])).wait_for(timeout=3_000)
    watched.clean()


def test_offline_site_sheet_draws_its_parcels(watched: Watched, offline_maps: Path) -> None:
    page = watched.page
    _open(watched, offline_maps / "sheet.html")
    n_parcels = page.locator(".fx-parcels tr").count() - 1
    assert n_parcels > 0
    assert page.locator(".leaflet-overlay-pane path").count() >= n_parcels
    assert page.locator(".fx-chart rect").count() > 0
    assert "ÉCHANTILLON SYNTHÉTIQUE" in page.locator(".fx-sheet-banner").inner_text()
    watched.clean()


def test_parcel_map_draws_vector_tiles(watched: Watched, offline_maps: Path, scored_workspace: Path) -> None:
    mvt = pytest.importorskip("mapbox_vector_tile")
    import shapely

    parcels = Workspace.open(scored_workspace).read_layer("parcels").to_crs(3857)
    half = 20037508.342789244
    served: list[str] = []

    def tile(route: Any) -> None:
        layer, z, x, y = route.request.url.split("/tiles/")[1].removesuffix(".pbf").split("/")
        size = 2 * half / (1 << int(z))
        bounds = (-half + int(x) * size, half - (int(y) + 1) * size, -half + (int(x) + 1) * size, half - int(y) * size)
        feats = []
        if layer == "parcels":
            for rec in parcels.cx[bounds[0] : bounds[2], bounds[1] : bounds[3]].to_dict("records"):
                props = {"parcel_id": rec["parcel_id"], "commune": rec["commune"], "status": "available"}
                feats.append({"geometry": shapely.clip_by_rect(rec["geometry"], *bounds), "properties": props})
        served.append(layer)
        body = mvt.encode(
            [{"name": layer, "features": feats}], default_options={"quantize_bounds": bounds, "y_coord_down": False}
        )
        route.fulfill(status=200, body=body, headers={"Content-Type": "application/vnd.mapbox-vector-tile"})

    page = watched.page
    page.route("**/tiles/**", tile)
    _open(watched, offline_maps / "parcels.html")
    assert page.locator(".fx-hint").is_visible()  # zoomed out: no tile requested yet
    first = parcels.to_crs(4326).geometry.iloc[0].representative_point()
    page.evaluate("c => window.foncierParcels._map.setView(c, 17, {animate: false})", [first.y, first.x])
    page.wait_for_function(
        "document.querySelectorAll('.leaflet-tile-container path, .leaflet-tile path').length > 0", timeout=5_000
    )
    assert "parcels" in served and not page.locator(".fx-hint").is_visible()
    n = page.evaluate("document.querySelectorAll('.leaflet-tile path').length")
    assert n > 0 and not math.isnan(n)
    watched.clean()

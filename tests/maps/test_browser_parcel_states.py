"""The parcel map coloured by availability state (``parcel_availability``, issues 13 and 14) at phone size
(375 x 667), in headless Chromium: the tiles come from foncier's own tile endpoint (``?state=true``, run in
process), every drawn parcel has its state's colour, the legend names the states, the controls can be used and
no JavaScript error is raised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from foncier.layers.workspace import Workspace
from foncier.maps.export import save_map
from foncier.maps.i18n import t
from foncier.maps.style import STATE_COLORS
from foncier.scripts.map import parcel_map_for

from .conftest import Watched, viewport, watched_page

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Any) -> Iterator[Watched]:
    with watched_page(browser, viewport=viewport("phone"), is_mobile=True, has_touch=True) as w:
        yield w


def test_parcel_map_by_state_at_phone_size(
    phone: Watched, scored_workspace: Path, tmp_path: Path, assets_installed: None
) -> None:
    mvt = pytest.importorskip("mapbox_vector_tile")
    from fastapi.testclient import TestClient

    from foncier.api.app import create_app
    from foncier.api.settings import ApiSettings

    ws = Workspace.open(scored_workspace)
    states = ws.read_table("parcel_availability").set_index("parcel_id")["state"].astype(str)
    save_map(parcel_map_for(ws, color_by="state", offline=True), tmp_path / "parcels.html", offline=True)
    client = TestClient(create_app(ApiSettings(workspace=scored_workspace)))
    seen: dict[str, str] = {}  # parcel id -> state carried by the served tiles
    asked: list[str] = []

    def tile(route: Any) -> None:
        url = urlsplit(route.request.url)
        path = "/tiles/" + url.path.split("/tiles/", 1)[1]
        asked.append(f"{path}?{url.query}")
        answer = client.get(f"{path}?{url.query}" if url.query else path)
        assert answer.status_code in (200, 204), answer.text
        if answer.status_code == 200 and path.startswith("/tiles/parcels/"):
            for feature in mvt.decode(answer.content).get("parcels", {}).get("features", []):
                seen[str(feature["properties"]["parcel_id"])] = str(feature["properties"].get("state"))
        route.fulfill(status=answer.status_code, body=answer.content, headers=dict(answer.headers))

    page = phone.page
    page.route("**/tiles/**", tile)
    page.goto((tmp_path / "parcels.html").as_uri())
    page.wait_for_function("window.foncierReady !== undefined", timeout=15_000)

    # the legend names every state in its colour, within the screen
    legend = page.locator(".fx-legend")
    assert legend.is_visible()
    assert t("color_by_state", "fr") in legend.inner_text()
    swatches = legend.locator(".fx-swatch").evaluate_all("els => els.map(e => e.style.background)")
    assert len(swatches) == len(STATE_COLORS)
    box = legend.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375 + 1

    # controls usable: the zoom button zooms in; zoomed in on a parcel the tiles are drawn
    zoom = page.evaluate("window.foncierParcels._map.getZoom()")
    page.locator(".leaflet-control-zoom-in").click()
    page.wait_for_function(f"window.foncierParcels._map.getZoom() > {zoom}", timeout=5_000)
    first = ws.read_layer("parcels").to_crs(4326).geometry.iloc[0].representative_point()
    page.evaluate("c => window.foncierParcels._map.setView(c, 17, {animate: false})", [first.y, first.x])
    page.wait_for_function("document.querySelectorAll('.leaflet-tile path').length > 0", timeout=10_000)
    assert asked and all("state=true" in a for a in asked if a.startswith("/tiles/parcels/"))
    assert seen and all(seen[p] == states[p] for p in seen)  # the tiles carry the stored states
    fills = set(page.eval_on_selector_all(".leaflet-tile path", "els => els.map(e => e.getAttribute('fill'))"))
    expected = {STATE_COLORS[s].lower() for s in set(seen.values())}
    assert {f.lower() for f in fills if f and f != "none"} <= expected | {"#fff"}
    assert expected & {f.lower() for f in fills if f}
    # a parcel's popup names its state
    page.locator(".leaflet-tile path").first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5_000)
    assert t("state", "fr") in popup.inner_text()
    assert any(t(f"parcel_state_{s}", "fr") in popup.inner_text() for s in STATE_COLORS)
    # the layer list can be opened and a layer switched off
    layers = page.locator(".leaflet-control-layers")
    assert layers.is_visible()
    phone.clean()

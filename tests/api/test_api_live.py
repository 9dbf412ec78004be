"""The API against a live uvicorn server on 127.0.0.1: parcels, zones, detail, synthetic labelling."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import shapely
from shapely.geometry import shape

from foncier.api.settings import SYNTHETIC_NOTICE
from foncier.layers.workspace import Workspace

if TYPE_CHECKING:
    from tests.api.conftest import LiveServer


@pytest.fixture(scope="module")
def parcels(live_server: LiveServer) -> Any:
    """The parcels of the workspace (lon/lat), as the reference."""
    ws = Workspace.open(live_server.settings.workspace)
    return ws.read_layer("parcels").to_crs("EPSG:4326")


def test_health(client: httpx.Client, parcels: Any) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["layers"]["parcels"] == len(parcels)
    assert body["synthetic"] is True
    assert body["notice"] == SYNTHETIC_NOTICE
    assert r.headers["x-foncier-synthetic"] == "true"


def test_parcels_paging_returns_every_parcel_once(client: httpx.Client, parcels: Any) -> None:
    seen: list[str] = []
    url: str | None = "/parcels?limit=500"
    pages = 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/geo+json")
        body = r.json()
        assert body["synthetic"] is True and body["notice"] == SYNTHETIC_NOTICE
        assert body["numberMatched"] == len(parcels)
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert len(seen) == len(set(seen)) == len(parcels)
    assert set(seen) == set(parcels["parcel_id"])
    assert pages == -(-len(parcels) // 500)


def test_parcels_bbox_matches_exact_intersection(client: httpx.Client, parcels: Any) -> None:
    minx, miny, maxx, maxy = parcels.total_bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    bbox = (cx - 0.01, cy - 0.01, cx + 0.01, cy + 0.01)
    expected = set(parcels[parcels.intersects(shapely.box(*bbox))]["parcel_id"])
    got: list[str] = []
    url: str | None = "/parcels?bbox=" + ",".join(f"{v:.6f}" for v in bbox) + "&limit=100"
    while url:
        body = client.get(url).json()
        assert "numberMatched" not in body  # not counted with a filter (no COUNT(*))
        got += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(got) == len(set(got))
    # edges: the bbox is densified before transformation; a parcel grazing the border may differ
    assert len(set(got) ^ expected) <= max(2, len(expected) // 100)
    assert expected, "the test bbox should hold parcels"


def test_parcels_commune_and_point(client: httpx.Client, parcels: Any) -> None:
    commune = parcels["commune"].value_counts().index[0]
    body = client.get(f"/parcels?commune={commune}&limit=500").json()
    assert body["features"] and all(f["properties"]["commune"] == commune for f in body["features"])
    one = parcels.iloc[len(parcels) // 3]
    pt = one.geometry.representative_point()
    body = client.get(f"/parcels?point={pt.x},{pt.y}").json()
    assert [f["id"] for f in body["features"]] == [one["parcel_id"]]
    geom = shape(body["features"][0]["geometry"])
    # coordinates are rounded to 7 decimals (about 1 cm): every vertex stays within that of the stored outline
    # (an area ratio would fail on thin sliver parcels, whose area is mostly rounding)
    assert geom.hausdorff_distance(one.geometry) < 2e-7


def test_parcel_detail(client: httpx.Client, parcels: Any, live_server: LiveServer) -> None:
    from foncier.layers.results import parcel_detail

    ws = Workspace.open(live_server.settings.workspace)
    ids = list(parcels["parcel_id"].iloc[:: max(1, len(parcels) // 15)])
    if ws.has_layer("site_parcels"):
        ids += list(ws.read_table("site_parcels")["parcel_id"].iloc[:3])
    for pid in ids:
        r = client.get(f"/parcels/{pid}")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["type"] == "Feature" and body["id"] == pid
        assert body["synthetic"] is True and body["notice"] == SYNTHETIC_NOTICE
        props = body["properties"]
        reference = parcel_detail(ws, pid)
        reference.pop("synthetic")
        assert props == reference, pid


def test_parcel_not_found_and_malformed(client: httpx.Client) -> None:
    r = client.get("/parcels/99999000ZZ9999")
    assert r.status_code == 404
    assert r.json()["code"] == "parcel_not_found"
    r = client.get("/parcels/0227")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_parcel_id" and "14 characters" in body["message"]


def test_zones(client: httpx.Client, live_server: LiveServer) -> None:
    ws = Workspace.open(live_server.settings.workspace)
    zones = ws.read_layer("zones")
    body = client.get("/zones?limit=500").json()
    assert {f["id"] for f in body["features"]} == set(zones["zone_id"])
    zid = zones["zone_id"].iloc[0]
    r = client.get(f"/zones/{zid}")
    assert r.status_code == 200 and r.json()["properties"]["zone_id"] == zid
    assert client.get("/zones/nope").status_code == 404


def test_openapi_documents_examples(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/parcels"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 500
    assert params["bbox"]["examples"]
    assert client.get("/docs").status_code == 200


def test_unknown_path_is_json_404(client: httpx.Client) -> None:
    r = client.get("/no/such/thing")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"


def test_maps_load_leaflet_from_the_server(client: httpx.Client) -> None:
    """The HTML maps served by the API reference only this server for Leaflet (the machine may be offline)."""
    page = client.get("/maps/sites")
    assert page.status_code == 200
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page.text)
    assert scripts and all(src.startswith("/maps/assets/") for src in scripts), scripts
    for src in scripts:
        asset = client.get(src)
        assert asset.status_code == 200 and len(asset.content) > 1000, src
    site_id = client.get("/sites", params={"limit": 1}).json()["features"][0]["properties"]["site_id"]
    sheet = client.get(f"/maps/sites/{site_id}")
    sheet_scripts = re.findall(r'<script[^>]+src="([^"]+)"', sheet.text)
    assert sheet_scripts and all(src.startswith("/maps/assets/") for src in sheet_scripts), sheet_scripts


def test_maps_compare(client: httpx.Client) -> None:
    ids = [f["properties"]["site_id"] for f in client.get("/sites", params={"limit": 3}).json()["features"]]
    page = client.get("/maps/compare", params={"sites": ",".join(ids), "lang": "en"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert all(s in page.text for s in ids) and "Site comparison" in page.text
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page.text)
    assert scripts and all(src.startswith("/maps/assets/") for src in scripts), scripts
    assert f'href="/maps/sites/{ids[0]}?profile=default&amp;lang=en"' in page.text
    r = client.get("/maps/compare", params={"sites": f"{ids[0]},Snothere0000"})
    assert r.status_code == 404 and r.json()["code"] == "site_not_found" and "Snothere0000" in r.json()["message"]
    for bad in (ids[0], f"{ids[0]},,{ids[1]}", f"{ids[0]},{ids[0]}", ",".join(f"S{i}" for i in range(7))):
        r = client.get("/maps/compare", params={"sites": bad})
        assert r.status_code == 400 and r.json()["code"] == "invalid_sites", bad
    assert client.get("/maps/compare").status_code == 400

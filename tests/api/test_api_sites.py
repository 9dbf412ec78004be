"""Sites, scores, profiles and maps on the live server (the workspace went through the scoring pipeline)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from foncier.api.settings import SYNTHETIC_NOTICE
from foncier.layers.profile_store import list_profiles, load_profile
from foncier.layers.results import scored_sites, site_detail
from foncier.layers.workspace import Workspace

if TYPE_CHECKING:
    from tests.api.conftest import LiveServer


@pytest.fixture(scope="module")
def ws(live_server: LiveServer) -> Workspace:
    ws = Workspace.open(live_server.settings.workspace)
    if not ws.has_layer("sites"):
        pytest.skip("this workspace has not been through the scoring pipeline")
    return ws


def test_sites_ranked(client: httpx.Client, ws: Workspace) -> None:
    reference = scored_sites(ws, "logistics").sites
    body = client.get("/sites?profile=logistics&limit=500").json()
    assert body["synthetic"] is True and body["notice"] == SYNTHETIC_NOTICE
    assert body["profile"] == "logistics"
    assert [f["id"] for f in body["features"]] == list(reference["site_id"])
    ranks = [f["properties"]["rank"] for f in body["features"]]
    assert ranks == sorted(ranks)
    first = body["features"][0]["properties"]
    assert {"score", "excluded", "reasons", "area_ha", "criteria"} <= set(first)
    # the constraints not checked for each site (never shown as passed)
    assert [f["properties"]["n_unverified"] for f in body["features"]] == list(reference["n_unverified"])
    assert all(len(f["properties"]["unverified"]) == f["properties"]["n_unverified"] for f in body["features"])


def test_sites_filters_and_paging(client: httpx.Client, ws: Workspace) -> None:
    sites = scored_sites(ws, "default").sites
    min_ha = float(sites["area_m2"].median()) / 1e4
    body = client.get(f"/sites?min_area_ha={min_ha}&limit=2").json()
    expected = list(sites[sites["area_m2"] >= min_ha * 1e4]["site_id"])
    assert body["numberMatched"] == len(expected)
    got = [f["id"] for f in body["features"]]
    nxt = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    while nxt:
        page = client.get(nxt).json()
        got += [f["id"] for f in page["features"]]
        nxt = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert got == expected
    kept = client.get("/sites?include_excluded=false&limit=500").json()
    assert all(not f["properties"]["excluded"] for f in kept["features"])


def test_site_detail(client: httpx.Client, ws: Workspace) -> None:
    sites = scored_sites(ws, "default").sites
    for site_id in list(sites["site_id"].iloc[:2]) + list(sites["site_id"].iloc[-1:]):
        r = client.get(f"/sites/{site_id}")
        assert r.status_code == 200
        body = r.json()
        assert body["id"] == site_id and body["geometry"]["type"] in ("Polygon", "MultiPolygon")
        reference = site_detail(ws, site_id, "default")
        reference.pop("synthetic")
        assert body["properties"] == json.loads(json.dumps(reference))
        assert body["synthetic"] is True


def test_profiles(client: httpx.Client) -> None:
    body = client.get("/profiles").json()
    assert [p["name"] for p in body["profiles"]] == list_profiles()
    one = client.get("/profiles/logistics").json()
    assert one["profile"] == load_profile("logistics").to_dict()


def _post(client: httpx.Client, body: Any) -> httpx.Response:
    return client.post("/scores", content=json.dumps(body), headers={"content-type": "application/json"})


def test_scores_named_profile_matches_sites(client: httpx.Client, ws: Workspace) -> None:
    r = _post(client, {"profile": "default", "limit": 500, "include_breakdown": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stored"] is False and body["synthetic"] is True
    reference = scored_sites(ws, "default").sites
    assert [s["site_id"] for s in body["ranking"]] == list(reference["site_id"])
    for item in body["ranking"]:
        total = sum(b["contribution"] for b in item["breakdown"])
        assert total == pytest.approx(item["score"], abs=1e-9)


def test_scores_custom_weights_and_document(client: httpx.Client, ws: Workspace) -> None:
    before = ws.gpkg.stat().st_mtime_ns
    base = load_profile("default")
    names = list(base.criteria)
    weights = {n: 0.0 for n in names}
    weights[names[0]] = 1.0
    body = _post(client, {"profile": "default", "weights": weights, "limit": 5}).json()
    assert body["weights"][names[0]] == 1.0
    reference = scored_sites(ws, base.with_weights(weights)).sites
    assert [s["site_id"] for s in body["ranking"]] == list(reference["site_id"].iloc[:5])
    # partial weights, normalised
    body = _post(client, {"profile": "default", "weights": {names[0]: 3.0}, "normalise": True}).json()
    assert sum(body["weights"].values()) == pytest.approx(1.0)
    # a whole profile document
    doc = load_profile("logistics").to_dict()
    doc["name"] = "my-logistics"
    body = _post(client, {"profile": doc, "limit": 3}).json()
    assert body["profile"] == "my-logistics" and len(body["ranking"]) == 3
    assert ws.gpkg.stat().st_mtime_ns == before  # nothing stored


def test_maps(client: httpx.Client, ws: Workspace) -> None:
    r = client.get("/maps/sites?profile=logistics&lang=en")
    assert r.status_code == 200, r.text  # folium is a core dependency: the maps are always there
    assert r.headers["content-type"].startswith("text/html") and "leaflet" in r.text.lower()
    site_id = scored_sites(ws, "default").sites["site_id"].iloc[0]
    r = client.get(f"/maps/sites/{site_id}")
    assert r.status_code == 200 and site_id in r.text
    r = client.get("/maps/parcels")
    assert r.status_code == 200 and "/tiles/parcels/" in r.text
    assert client.get("/maps/sites/S9999999999").status_code == 404

"""OGC API - Features under /ogc, read by httpx and by GDAL's own OAPIF driver (through pyogrio)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pyogrio
import pytest

from foncier.api.routers.ogc import CONFORMANCE
from foncier.layers.workspace import Workspace

if TYPE_CHECKING:
    from tests.api.conftest import LiveServer


@pytest.fixture(scope="module")
def parcel_ids(live_server: LiveServer) -> list[str]:
    ws = Workspace.open(live_server.settings.workspace)
    return list(ws.read_table("parcels")["parcel_id"])


def test_landing_conformance_collections(client: httpx.Client) -> None:
    landing = client.get("/ogc").json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert client.get(rels["service-desc"]["href"]).status_code == 200
    assert set(CONFORMANCE) <= set(client.get(rels["conformance"]["href"]).json()["conformsTo"])
    cols = client.get(rels["data"]["href"]).json()["collections"]
    by_id = {c["id"]: c for c in cols}
    assert "parcels" in by_id and "zones" in by_id
    parcels = by_id["parcels"]
    assert parcels["itemType"] == "feature"
    ((x0, y0, x1, y1),) = parcels["extent"]["spatial"]["bbox"]
    assert 2.5 < x0 < x1 < 4.0 and 48.8 < y0 < y1 < 49.7  # Soissonnais et Valois, CRS84
    assert client.get("/ogc/collections/parcels").json()["id"] == "parcels"
    licence = [link for link in parcels["links"] if link["rel"] == "license"]
    assert len(licence) == 1 and "etalab" in licence[0]["href"]  # each collection links to its licence


def test_items_paging_through_next_links(client: httpx.Client, parcel_ids: list[str]) -> None:
    seen: list[str] = []
    url: str | None = "/ogc/collections/parcels/items?limit=1000"  # above the max (500): lowered, no error
    while url:
        r = client.get(url)
        assert r.status_code == 200
        body = r.json()
        assert body["numberReturned"] <= 500
        assert body["numberMatched"] == len(parcel_ids)
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == len(parcel_ids)
    assert set(seen) == set(parcel_ids)


def test_single_item(client: httpx.Client, parcel_ids: list[str]) -> None:
    pid = parcel_ids[7]
    r = client.get(f"/ogc/collections/parcels/items/{pid}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["id"] == pid and body["properties"]["parcel_id"] == pid
    assert {link["rel"] for link in body["links"]} >= {"self", "collection"}


def test_gdal_oapif_driver_reads_the_service(live_server: LiveServer, parcel_ids: list[str]) -> None:
    url = f"OAPIF:{live_server.base_url}/ogc"
    layers = {str(name) for name, _ in pyogrio.list_layers(url)}
    assert {"parcels", "zones"} <= layers
    frame: Any = pyogrio.read_dataframe(url, layer="parcels")
    assert len(frame) == len(parcel_ids)
    assert sorted(frame["parcel_id"]) == sorted(parcel_ids)
    assert (frame.crs is not None and frame.crs.to_epsg() in (4326, None)) or "CRS84" in frame.crs.to_string()
    assert frame.geometry.notna().all()


def test_gdal_oapif_bbox_filter(live_server: LiveServer) -> None:
    url = f"OAPIF:{live_server.base_url}/ogc"
    full: Any = pyogrio.read_dataframe(url, layer="parcels", columns=["parcel_id"])
    x0, y0, x1, y1 = full.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    part: Any = pyogrio.read_dataframe(url, layer="parcels", bbox=(cx - 0.02, cy - 0.02, cx + 0.02, cy + 0.02))
    assert 0 < len(part) < len(full)

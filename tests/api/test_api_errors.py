"""Bad input never yields a 5xx: each gets a 4xx with a stable code and a clear message (live server)."""

from __future__ import annotations

import httpx
import pytest

BAD_GETS = [
    # (url, status, code, words expected in the message)
    ("/parcels/12", 400, "invalid_parcel_id", "14 characters"),
    ("/parcels/02722000%200H0042", 400, "invalid_parcel_id", "expected"),
    ("/parcels/027220000h0042", 400, "invalid_parcel_id", "expected"),
    ("/parcels/" + "9" * 300, 400, "invalid_parcel_id", "expected"),
    ("/parcels/99999000ZZ9999", 404, "parcel_not_found", "no parcel"),
    ("/parcels?bbox=3.3,49.3,3.4", 400, "invalid_parameter", "4 numbers"),
    ("/parcels?bbox=3.4,49.3,3.3,49.4", 400, "invalid_parameter", "minx"),
    ("/parcels?bbox=3.3,49.4,3.4,49.3", 400, "invalid_parameter", "miny"),
    ("/parcels?bbox=3.3,49.3,181,49.4", 400, "invalid_parameter", "out of"),
    ("/parcels?bbox=3.3,-91,3.4,49.4", 400, "invalid_parameter", "out of"),
    ("/parcels?bbox=a,b,c,d", 400, "invalid_parameter", "4 numbers"),
    ("/parcels?bbox=nan,49.3,3.4,49.4", 400, "invalid_parameter", "finite"),
    ("/parcels?bbox=3.3,49.3,inf,49.4", 400, "invalid_parameter", "finite"),
    ("/parcels?point=3.3", 400, "invalid_parameter", "lon,lat"),
    ("/parcels?point=200,49", 400, "invalid_parameter", "out of"),
    ("/parcels?point=3.3,49.3&bbox=3.3,49.3,3.4,49.4", 400, "invalid_parameter", "either"),
    ("/parcels?commune=ABCDE", 400, "invalid_commune", "INSEE"),
    ("/parcels?limit=0", 400, "invalid_parameter", "limit"),
    ("/parcels?limit=-5", 400, "invalid_parameter", "limit"),
    ("/parcels?limit=100000000", 400, "invalid_parameter", "limit"),
    ("/parcels?limit=99999999999999999999999999", 400, "invalid_parameter", "limit"),
    ("/parcels?limit=ten", 400, "invalid_parameter", "limit"),
    ("/parcels?offset=-1", 400, "invalid_parameter", "offset"),
    ("/parcels?offset=99999999999", 400, "invalid_parameter", "offset"),
    ("/sites?profile=nope", 404, "unknown_profile", "available profiles"),
    ("/sites?profile=../../etc/passwd", 404, "unknown_profile", "available profiles"),
    ("/sites?min_area_ha=-1", 400, "invalid_parameter", "min_area_ha"),
    ("/sites?min_area_ha=nan", 400, "invalid_parameter", "min_area_ha"),
    ("/sites?limit=100000", 400, "invalid_parameter", "limit"),
    ("/sites/S0000000000", 404, "site_not_found", "no site"),
    ("/profiles/nope", 404, "unknown_profile", "available profiles"),
    ("/tiles/parcels/14/99999/5600.pbf", 400, "invalid_parameter", "does not exist"),
    ("/tiles/parcels/99/1/1.pbf", 400, "invalid_parameter", "z"),
    ("/tiles/parcels/-1/1/1.pbf", 400, "invalid_parameter", "z"),
    ("/tiles/roads/14/8343/5600.pbf", 404, "tile_layer_not_found", "parcels"),
    ("/ogc/collections/nope", 404, "collection_not_found", "parcels"),
    ("/ogc/collections/parcels/items?limit=0", 400, "invalid_parameter", "limit"),
    ("/ogc/collections/parcels/items?bbox=1,2", 400, "invalid_parameter", "4 numbers"),
    ("/ogc/collections/parcels/items?f=xml", 400, "invalid_parameter", "f=json"),
    ("/ogc/collections/parcels/items?foo=1", 400, "invalid_parameter", "unknown query parameter"),
    ("/ogc/collections/parcels/items/NOPE", 404, "feature_not_found", "no feature"),
    ("/maps/sites?profile=nope", 404, "unknown_profile", "available profiles"),
]


@pytest.mark.parametrize(("url", "status", "code", "words"), BAD_GETS)
def test_bad_get(client: httpx.Client, url: str, status: int, code: str, words: str) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert words.lower() in body["message"].lower(), body


BAD_SCORES = [
    ({"profile": "default", "weights": {"area_m2": float("nan")}}, 422, "finite"),
    ({"profile": "default", "weights": {"area_m2": -0.5}}, 422, ">= 0"),
    ({"profile": "default", "weights": {"area_m2": 5.0}}, 422, "sum to 1"),
    ({"profile": "default", "weights": {"no_such_criterion": 0.1}}, 422, "unknown criterion"),
    ({"profile": "default", "weights": {"area_m2": "heavy"}}, 422, "area_m2"),
    ({"profile": "nope"}, 404, "available profiles"),
    ({"profile": {"name": "mine", "criteria": {"area_m2": {"weight": 2, "method": "nope"}}}}, 422, "method"),
    ({"profile": {"criteria": 3}}, 422, "profile"),
    ({"profile": "default", "limit": 0}, 422, "limit"),
    ({"profile": "default", "limit": 10**9}, 422, "limit"),
    ({"profile": "default", "colour": "red"}, 422, "colour"),
    ([1, 2, 3], 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "words"), BAD_SCORES)
def test_bad_scores(client: httpx.Client, body: object, status: int, words: str) -> None:
    import json

    r = client.post("/scores", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["code"] and words.lower() in (payload["message"] + str(payload.get("detail", ""))).lower(), payload


def test_malformed_json_and_huge_body(client: httpx.Client) -> None:
    r = client.post("/scores", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_body"
    r = client.post("/scores", content=b"[" + b"1," * 200_000 + b"1]", headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_every_problem_is_listed(client: httpx.Client) -> None:
    body = {"profile": "default", "weights": {"area_m2": float("nan"), "labour_pool": -1.0}}
    import json

    r = client.post("/scores", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert len(detail) == 2 and {d["column"] for d in detail} == {"area_m2", "labour_pool"}


def test_wrong_method(client: httpx.Client) -> None:
    r = client.delete("/parcels")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"

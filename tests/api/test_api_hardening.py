"""Hostile input against the live server: bodies capped whatever the transfer encoding, bounded error answers,
numeric overflow as a 4xx, security headers, links never built from the Host header, assets from a list."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from foncier.api.errors import MAX_ERROR_BYTES
from tests.api.conftest import LiveServer


def _chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    yield b'{"profile": "logistics", "weights": {"x": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}}'


def test_chunked_body_over_the_limit_is_413_and_the_server_stays_up(
    client: httpx.Client, live_server: LiveServer
) -> None:
    limit = live_server.settings.max_body_bytes
    # a generator body makes httpx send Transfer-Encoding: chunked, without Content-Length
    r = client.post("/scores", content=_chunks(8 * limit), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text[:300]
    assert r.json()["code"] == "payload_too_large"
    assert len(r.content) < 1000
    assert client.get("/health").status_code == 200


def test_raw_chunked_request_is_cut_at_the_limit(live_server: LiveServer) -> None:
    """Without any client library: chunks keep coming, the server answers 413 once past the limit."""
    limit = live_server.settings.max_body_bytes
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(b"POST /scores HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        chunk = b"a" * 16_384
        answer = b""
        try:
            for _ in range(4 * limit // len(chunk)):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:  # the server closed the connection after answering
            pass
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65_536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_body_limit_by_content_length(client: httpx.Client, live_server: LiveServer) -> None:
    body = b"{" + b" " * (live_server.settings.max_body_bytes + 10) + b"}"
    r = client.post("/scores", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_error_answers_are_bounded(client: httpx.Client, live_server: LiveServer) -> None:
    """A body just under the limit full of invalid values: the answer stays small (it used to echo 20-40x)."""
    weights = {f"criterion_{i:05d}_" + "x" * 40: "not a number" for i in range(3000)}
    body = json.dumps({"profile": "logistics", "weights": weights}).encode()
    assert len(body) < live_server.settings.max_body_bytes
    r = client.post("/scores", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert len(r.content) <= MAX_ERROR_BYTES
    assert r.json()["code"] == "invalid_body"


@pytest.mark.parametrize(
    "weights",
    [{"time_to_roissy_min": 1e308, "area_m2": 1e308}, {"time_to_roissy_min": 1e308}, {"area_m2": 1.7e308}],
)
@pytest.mark.parametrize("normalise", [True, False])
def test_numeric_overflow_is_a_4xx(client: httpx.Client, weights: dict[str, float], normalise: bool) -> None:
    r = client.post("/scores", json={"profile": "logistics", "weights": weights, "normalise": normalise})
    assert 400 <= r.status_code < 500, r.text[:300]
    assert "weight" in r.json()["message"]


def test_security_headers(client: httpx.Client) -> None:
    for url in ("/health", "/parcels?limit=1", "/no/such/path", "/sites/S0000000000"):
        r = client.get(url)
        assert r.headers["x-content-type-options"] == "nosniff", url
        assert r.headers["x-frame-options"] == "SAMEORIGIN", url
        assert r.headers["referrer-policy"] == "no-referrer", url
        assert "default-src 'none'" in r.headers["content-security-policy"], url


def test_links_never_come_from_the_host_header(client: httpx.Client, live_server: LiveServer) -> None:
    for url in ("/ogc", "/ogc/collections", "/ogc/collections/parcels/items?limit=2", "/parcels?limit=2"):
        r = client.get(url, headers={"Host": "evil.example:666", "X-Forwarded-Host": "evil.example"})
        assert r.status_code == 200, (url, r.text[:200])
        assert "evil.example" not in r.text, url
    links = client.get("/ogc", headers={"Host": "evil.example"}).json()["links"]
    assert all(link["href"].startswith(live_server.base_url) for link in links)


def test_public_url_setting_builds_the_links(api_workspace: object) -> None:
    from fastapi.testclient import TestClient

    from foncier.api.app import create_app
    from foncier.api.settings import ApiSettings

    app = create_app(ApiSettings(workspace=api_workspace, public_url="https://foncier.example.org/api/"))
    with TestClient(app) as tc:
        links = tc.get("/ogc", headers={"Host": "evil.example"}).json()["links"]
    assert links and all(link["href"].startswith("https://foncier.example.org/api/") for link in links), links
    with pytest.raises(ValueError, match="public_url"):
        ApiSettings(workspace=api_workspace, public_url="javascript:alert(1)")


def test_assets_are_served_from_an_explicit_list(client: httpx.Client) -> None:
    from foncier.maps.assets import ASSETS

    leaflet = ASSETS["leaflet"]
    ok = client.get(f"/maps/assets/{leaflet.package}/{leaflet.path}")
    if ok.status_code == 404 and client.get("/maps/assets/leaflet/dist/leaflet.css").status_code == 404:
        pytest.skip("no local map assets installed (make assets)")
    assert ok.status_code == 200
    assert ok.headers["x-content-type-options"] == "nosniff"
    for path in ("leaflet/package.json", "leaflet/src/Leaflet.js", "jquery/package.json", ".package-lock.json",
                 "leaflet/../leaflet/package.json", "%2e%2e/package.json"):  # fmt: skip
        assert client.get(f"/maps/assets/{path}").status_code == 404, path

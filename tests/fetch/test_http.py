"""The download client against the local server: retries, integrity, cache, resume, offline."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from foncier.errors import FetchError
from foncier.layers.fetch.http import (
    ContentCache,
    HttpClient,
    OfflineMissingError,
    ResourceNotFoundError,
    _retry_after,
    build_url,
    check_gzip,
    check_json,
)
from foncier.layers.fetch.settings import FetchSettings

from .conftest import CADASTRE_EDITION, OSM_PATH, Fault, Services, cache_files

PARCELS_02258 = f"/cadastre/{CADASTRE_EDITION}/geojson/communes/02/02258/cadastre-02258-parcelles.json.gz"


def _client(settings: FetchSettings, **kwargs: object) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    return HttpClient(settings, sleep=waits.append, **kwargs), waits  # type: ignore[arg-type]


def _assert_cache_complete(cache: Path) -> None:
    """Every file in the cache's entries area has its sidecar and matches its checksum and size."""
    for path in cache_files(cache):
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text("utf-8"))
        assert meta["size"] == path.stat().st_size
        assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    tmp = cache / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), "temporary files left behind"


def test_download_then_cache_hit(services: Services, fetch_settings: FetchSettings) -> None:
    client, _ = _client(fetch_settings)
    url = services.base + PARCELS_02258
    first = client.fetch(url, check=check_gzip)
    second = client.fetch(url, check=check_gzip)
    assert services.count(PARCELS_02258) == 1
    assert not first.from_cache and second.from_cache
    assert first.sha256 == second.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    assert client.stats.downloads == 1 and client.stats.cache_hits == 1
    meta = json.loads(first.path.with_name(first.path.name + ".meta.json").read_text("utf-8"))
    assert meta["url"] == url and meta["etag"] and meta["retrieved"]
    with gzip.open(first.path) as fh:
        assert json.load(fh)["type"] == "FeatureCollection"


def test_503_then_success_is_retried(services: Services, fetch_settings: FetchSettings) -> None:
    services.fail(PARCELS_02258, Fault("status", 503), Fault("status", 429, retry_after="0.03"))
    client, waits = _client(fetch_settings)
    entry = client.fetch(services.base + PARCELS_02258, check=check_gzip)
    assert services.count(PARCELS_02258) == 3
    assert client.stats.retries == 2
    assert waits[1] == pytest.approx(0.03)  # Retry-After honoured
    assert waits[0] <= fetch_settings.backoff_max  # jittered backoff, capped
    assert entry.size > 0


def test_persistent_503_fails_with_message_and_caches_nothing(
    services: Services, fetch_settings: FetchSettings
) -> None:
    services.fail(PARCELS_02258, Fault("status", 503, times=-1))
    client, _ = _client(fetch_settings)
    with pytest.raises(FetchError, match=r"failed after 3 attempt\(s\): HTTP 503"):
        client.fetch(services.base + PARCELS_02258)
    assert services.count(PARCELS_02258) == fetch_settings.retries + 1
    assert cache_files(fetch_settings.cache_path) == []


def test_truncated_body_is_detected_and_retried(services: Services, fetch_settings: FetchSettings) -> None:
    services.fail(PARCELS_02258, Fault("truncate"))
    client, _ = _client(fetch_settings)
    entry = client.fetch(services.base + PARCELS_02258, check=check_gzip)
    assert services.count(PARCELS_02258) == 2
    check_gzip(entry.path)  # complete
    _assert_cache_complete(fetch_settings.cache_path)


def test_truncated_body_is_never_cached(services: Services, fetch_settings: FetchSettings) -> None:
    services.fail(PARCELS_02258, Fault("truncate", times=-1))
    client, _ = _client(fetch_settings)
    with pytest.raises(FetchError, match=r"RemoteProtocolError|truncated"):
        client.fetch(services.base + PARCELS_02258, check=check_gzip)
    assert cache_files(fetch_settings.cache_path) == []
    assert client.cached(services.base + PARCELS_02258) is None
    _assert_cache_complete(fetch_settings.cache_path)


def test_content_check_refuses_a_bad_body(tmp_path: Path) -> None:
    bad = tmp_path / "cut.json.gz"
    bad.write_bytes(gzip.compress(b'{"type": "FeatureCollection", "features": []}')[:-8])
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        check_gzip(bad)
    half = tmp_path / "half.json"
    half.write_text('{"type": "FeatureCollection", "features": [', "utf-8")
    with pytest.raises(ValueError, match="incomplete or malformed JSON"):
        check_json(half)


def test_timeout_is_retried_then_reported(services: Services, fetch_settings: FetchSettings) -> None:
    services.fail(PARCELS_02258, Fault("delay", seconds=fetch_settings.read_timeout * 3))
    client, _ = _client(fetch_settings)
    client.fetch(services.base + PARCELS_02258)
    assert services.count(PARCELS_02258) == 2 and client.stats.retries == 1

    other = f"/cadastre/{CADASTRE_EDITION}/geojson/communes/02/02594/cadastre-02594-parcelles.json.gz"
    services.fail(other, Fault("delay", seconds=fetch_settings.read_timeout * 3, times=-1))
    with pytest.raises(FetchError, match="ReadTimeout"):
        client.fetch(services.base + other)
    assert client.cached(services.base + other) is None


def test_connection_reset_is_retried(services: Services, fetch_settings: FetchSettings) -> None:
    services.fail(PARCELS_02258, Fault("reset"))
    client, _ = _client(fetch_settings)
    client.fetch(services.base + PARCELS_02258)
    assert services.count(PARCELS_02258) == 2


def test_404_is_not_retried_nor_cached(services: Services, fetch_settings: FetchSettings) -> None:
    client, _ = _client(fetch_settings)
    url = services.base + "/cadastre/latest/geojson/communes/02/02999/cadastre-02999-parcelles.json.gz"
    with pytest.raises(ResourceNotFoundError) as info:
        client.fetch(url)
    assert info.value.status == 404
    assert services.count("02999") == 2  # the redirect of 'latest', then the 404; no retry
    assert client.stats.retries == 0 and cache_files(fetch_settings.cache_path) == []


def test_redirect_records_final_url(services: Services, fetch_settings: FetchSettings) -> None:
    client, _ = _client(fetch_settings)
    entry = client.fetch(services.base + "/cadastre/latest/geojson/communes/02/02258/cadastre-02258-parcelles.json.gz")
    assert f"/{CADASTRE_EDITION}/" in entry.final_url
    assert client.cached(services.base + "/cadastre/latest/geojson/communes/02/02258/cadastre-02258-parcelles.json.gz")


def test_damaged_cache_entry_is_downloaded_again(services: Services, fetch_settings: FetchSettings) -> None:
    client, _ = _client(fetch_settings)
    url = services.base + PARCELS_02258
    entry = client.fetch(url)
    entry.path.write_bytes(entry.path.read_bytes()[:-10])  # damaged on disk
    again = client.fetch(url)
    assert services.count(PARCELS_02258) == 2
    assert again.sha256 == entry.sha256


def test_interrupted_store_leaves_no_partial_file(
    services: Services, fetch_settings: FetchSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = _client(fetch_settings)
    url = services.base + PARCELS_02258

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ContentCache, "store", boom)
    with pytest.raises(KeyboardInterrupt):
        client.fetch(url)
    monkeypatch.undo()
    assert cache_files(fetch_settings.cache_path) == []
    _assert_cache_complete(fetch_settings.cache_path)
    client.fetch(url)
    assert services.count(PARCELS_02258) == 2


def test_large_download_resumes_with_range(services: Services, fetch_settings: FetchSettings) -> None:
    settings = fetch_settings.model_copy(update={"resume_min_bytes": 100})
    path = "/osm/" + OSM_PATH
    services.fail(path, Fault("truncate"))
    client, _ = _client(settings)
    entry = client.fetch(services.base + path)
    expected = (services.root / path.lstrip("/")).read_bytes()
    assert entry.path.read_bytes() == expected
    ranges = [r.headers.get("Range") for r in services.requests if r.path == path]
    assert ranges == [None, f"bytes={len(expected) // 2}-"]
    assert client.stats.resumed == 1
    assert not any((settings.cache_path / "partial").iterdir())
    _assert_cache_complete(settings.cache_path)


def test_offline_uses_cache_only(services: Services, fetch_settings: FetchSettings) -> None:
    online, _ = _client(fetch_settings)
    online.fetch(services.base + PARCELS_02258)
    offline, _ = _client(fetch_settings, offline=True)
    assert offline.fetch(services.base + PARCELS_02258).from_cache
    with pytest.raises(OfflineMissingError, match="not in the cache"):
        offline.fetch(services.base + "/geo/epcis/200071991/communes")
    assert services.count() == 1


def test_file_url_reads_a_local_copy(services: Services, fetch_settings: FetchSettings) -> None:
    client, _ = _client(fetch_settings)
    local = services.root / PARCELS_02258.lstrip("/")
    entry = client.fetch(local.as_uri(), check=check_gzip)
    assert entry.path == local and entry.from_cache
    with pytest.raises(ResourceNotFoundError):
        client.fetch((services.root / "nothing.json").as_uri())
    assert services.count() == 0


def test_params_are_part_of_the_key() -> None:
    a = build_url("https://geo.api.gouv.fr/epcis/1/communes", {"format": "geojson", "geometry": "contour"})
    assert a == "https://geo.api.gouv.fr/epcis/1/communes?format=geojson&geometry=contour"
    assert ContentCache.key(a) != ContentCache.key(a.replace("contour", "centre"))


def test_retry_after_parsing() -> None:
    assert _retry_after("5", 60) == 5
    assert _retry_after("500", 60) == 60
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 60) == 0.0
    assert _retry_after("soon", 60) is None

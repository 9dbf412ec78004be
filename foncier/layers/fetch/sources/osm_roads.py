"""Roads and interchanges from OpenStreetMap extracts."""

from __future__ import annotations

import email.utils
import hashlib
import logging
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import shapely

from foncier.errors import DataFormatError, FetchError
from foncier.layers.fetch.osm import MAJOR_CLASSES, extract_date, read_osm_roads
from foncier.layers.fetch.sources._common import (
    FetchContext,
    SourceResult,
    _finish,
    _get,
)

logger = logging.getLogger(__name__)


def _expected_md5(ctx: FetchContext, url: str) -> str | None:
    try:
        entry = ctx.client.fetch(url + ".md5")
    except FetchError:
        return None
    try:
        text = entry.path.read_text("ascii", errors="replace").split()
    except OSError:
        return None
    return text[0].lower() if text and re.fullmatch(r"[0-9a-fA-F]{32}", text[0]) else None


def _md5_check(ctx: FetchContext, url: str) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        expected = _expected_md5(ctx, url)
        if expected is None:
            return
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        if digest.hexdigest() != expected:
            ctx.client.cache.discard(url + ".md5")  # the extract may have been updated since
            fresh = _expected_md5(ctx, url)
            if fresh is not None and digest.hexdigest() != fresh:
                raise ValueError(f"MD5 {digest.hexdigest()} differs from the published {fresh}")

    return check


def _http_date(value: str | None) -> str | None:
    """ISO date of an HTTP date header (``Last-Modified``), or None."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return None


def _bbox_lonlat(geom: shapely.Geometry, margin_km: float) -> tuple[float, float, float, float]:
    w, s, e, n = geom.bounds
    dlat = margin_km / 111.0
    dlon = margin_km / (111.0 * max(0.2, math.cos(math.radians((s + n) / 2))))
    return (w - dlon, s - dlat, e + dlon, n + dlat)


def osm_urls(ctx: FetchContext) -> list[str]:
    """URLs of the territory's OpenStreetMap extracts (paths are taken under the osm base URL)."""
    base = ctx.settings.base_url("osm")
    return [
        x if x.startswith(("http://", "https://", "file://")) else f"{base}/{x.lstrip('/')}"
        for x in ctx.territory.osm_extracts
    ]


def fetch_roads(ctx: FetchContext, layers: Sequence[str] = ("roads", "interchanges")) -> SourceResult:
    """Roads and interchanges from the OpenStreetMap extracts named by the territory."""
    result = SourceResult()
    urls = osm_urls(ctx)
    if not urls:
        result.failures.append("roads: the territory file lists no osm_extracts")
        return result
    paths, dates = [], []
    for url in urls:
        entry = _get(ctx, result, url, label=f"OSM extract {url.rsplit('/', 1)[-1]}", check=_md5_check(ctx, url))
        if entry is not None:
            paths.append(entry.path)
            dates.append(extract_date(entry.path) or _http_date(entry.last_modified) or entry.retrieved[:10])
    if len(paths) < len(urls):
        return result  # a partial network would give wrong travel times
    margin = ctx.settings.roads_margin_km
    lonlat = ctx.footprint_lonlat
    bbox = _bbox_lonlat(lonlat, margin)
    hubs = [shapely.Point(h.lon, h.lat) for h in ctx.territory.hubs]
    major_area = shapely.union_all([shapely.box(*bbox), *hubs]) if hubs else shapely.box(*bbox)
    major_bbox = _bbox_lonlat(major_area, margin)
    try:
        roads, interchanges = read_osm_roads(paths, bbox=bbox, major_bbox=major_bbox)
    except DataFormatError as exc:
        result.failures.append(f"roads: {exc}")
        return result
    vintage = ", ".join(dates)
    source = " + ".join(urls)
    note = f" (all classes within {margin:g} km, {', '.join(sorted(MAJOR_CLASSES))} to the hubs)"
    if "roads" in layers:
        _finish(
            result, "roads", roads, source=source + note, entries=result.entries, vintage=f"OSM extract of {vintage}"
        )
    if "interchanges" in layers:
        _finish(
            result,
            "interchanges",
            interchanges,
            source=source,
            entries=result.entries,
            vintage=f"OSM extract of {vintage}",
        )
    return result

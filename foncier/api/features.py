"""Pages of features as GeoJSON FeatureCollections, shared by /parcels, /zones and the OGC API items.

A page is read with :meth:`GeoPackageStore.query` (R-tree or key probes, ``limit + 1`` rows to know whether
another page follows) and written by :mod:`foncier.api.geojson`. ``numberMatched`` is given only when it is
free (no filter: the feature count of ``gpkg_ogr_contents``); links ``next``/``prev`` carry the same query
with another ``offset``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from shapely.geometry.base import BaseGeometry

from foncier.api.deps import LonLatBox, lonlat_filter, synthetic_members
from foncier.api.geojson import GEOJSON_MEDIA_TYPE, GeoJSONResponse, feature_collection, features_to_geojson
from foncier.api.store import Feature, GeoPackageStore, Page

logger = logging.getLogger(__name__)

#: JSON schema of the FeatureCollections (documented in OpenAPI).
FEATURE_COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry", "properties"]}},
        "numberReturned": {"type": "integer", "minimum": 0},
        "numberMatched": {"type": "integer", "minimum": 0},
        "links": {"type": "array", "items": {"type": "object", "required": ["href", "rel"]}},
        "synthetic": {"type": "boolean"},
        "notice": {"type": "string"},
    },
}

FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {"type": {"type": "string", "enum": ["Feature"]}, "properties": {"type": "object"}},
}


def geojson_responses(
    description: str, example: dict[str, Any] | None = None, *, single: bool = False
) -> dict[int | str, Any]:
    """OpenAPI ``responses`` entry of a GeoJSON answer."""
    content: dict[str, Any] = {"schema": FEATURE_SCHEMA if single else FEATURE_COLLECTION_SCHEMA}
    if example is not None:
        content["example"] = example
    return {200: {"description": description, "content": {GEOJSON_MEDIA_TYPE: content}}}


def page_links(request: Request, *, offset: int, limit: int, has_more: bool, count: int) -> list[dict[str, Any]]:
    """``self``, ``next`` and ``prev`` links of a page (same query, other offsets)."""
    url = request.url
    links: list[dict[str, Any]] = [{"href": str(url), "rel": "self", "type": GEOJSON_MEDIA_TYPE, "title": "this page"}]
    if has_more:
        links.append({"href": str(url.include_query_params(offset=offset + count, limit=limit)), "rel": "next",
                      "type": GEOJSON_MEDIA_TYPE, "title": "next page"})  # fmt: skip
    if offset > 0:
        links.append({"href": str(url.include_query_params(offset=max(0, offset - limit), limit=limit)),
                      "rel": "prev", "type": GEOJSON_MEDIA_TYPE, "title": "previous page"})  # fmt: skip
    return links


def read_page(
    store: GeoPackageStore,
    layer: str,
    *,
    bbox: LonLatBox | None = None,
    geometry: BaseGeometry | None = None,
    equals: dict[str, Any] | None = None,
    limit: int,
    offset: int,
) -> Page | None:
    """A page of ``layer`` filtered by a lon/lat ``bbox`` and/or a ``geometry`` in the layer CRS.

    Returns None when the filter cannot match anything (e.g. a bbox outside the CRS's area).
    """
    info = store.layer(layer)
    if bbox is not None:
        box = lonlat_filter(store, info, bbox)
        if box is None:
            return None
        geometry = box if geometry is None else geometry.intersection(box)
        if geometry.is_empty:
            return None
    return store.query(layer, geometry=geometry, equals=equals, limit=limit, offset=offset)


def collection_response(
    request: Request,
    store: GeoPackageStore,
    layer: str,
    page: Page | None,
    *,
    id_column: str | None,
    limit: int,
    offset: int,
    filtered: bool,
    properties: Callable[[Feature], dict[str, Any]] | None = None,
    feature_links: Callable[[Feature], list[dict[str, Any]]] | None = None,
    extra: dict[str, Any] | None = None,
) -> GeoJSONResponse:
    """The GeoJSON FeatureCollection answer of a page."""
    info = store.layer(layer)
    feats = page.features if page is not None else []
    texts = features_to_geojson(store, info, feats, id_column=id_column, properties=properties, links=feature_links)
    members: dict[str, Any] = {}
    if not filtered and info.feature_count is not None:
        members["numberMatched"] = info.feature_count
    members["numberReturned"] = len(texts)
    members["timeStamp"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    members["links"] = page_links(request, offset=offset, limit=limit, has_more=bool(page and page.has_more),
                                  count=len(texts))  # fmt: skip
    members.update(synthetic_members(store))
    members.update(extra or {})
    return GeoJSONResponse(feature_collection(texts, members))

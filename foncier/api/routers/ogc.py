"""OGC API - Features, Part 1 (Core, GeoJSON, OpenAPI 3.0) under ``/ogc``: parcels, sites and zones.

GIS clients (QGIS, GDAL's OAPIF driver, ArcGIS) read it as any such service: landing page, conformance,
collections with their extent in CRS84, items with ``bbox``, ``limit`` (a value above the maximum is lowered
to it, as the standard asks), ``offset`` and ``next``/``prev`` links, and single items by id.
"""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from foncier.api.deps import StoreDep, check_commune, extent_lonlat, parse_bbox, synthetic_members
from foncier.api.errors import ERROR_RESPONSES, InvalidParameterError, ResourceNotFoundError
from foncier.api.features import collection_response, geojson_responses, read_page
from foncier.api.geojson import GEOJSON_MEDIA_TYPE, GeoJSONResponse, feature_document, features_to_geojson
from foncier.api.settings import ApiSettings
from foncier.api.store import Feature, GeoPackageStore
from foncier.layers.attribution import licence_link

logger = logging.getLogger(__name__)

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]

#: Published collections: id -> (layer, id column, title, description, extra filter parameters).
COLLECTIONS: dict[str, tuple[str, str, str, str]] = {
    "parcels": ("parcels", "parcel_id", "Parcelles cadastrales", "Cadastral parcels (id: 14-character parcel_id)"),
    "sites": ("sites", "site_id", "Sites candidats", "Candidate sites: groups of contiguous available parcels"),
    "zones": ("zones", "zone_id", "Zones d'activité", "Zones d'activite (business parks)"),
}
_ITEM_PARAMS = {"bbox", "limit", "offset", "f", "commune", "bbox-crs"}
_JSON = "application/json"


def _base(request: Request) -> str:
    return str(request.url_for("ogc_landing")).rstrip("/")


def _check_f(f: str | None) -> None:
    if f is not None and f.lower() not in ("json", "geojson"):
        raise InvalidParameterError(f"f: unsupported format {f[:20]!r}; this service answers f=json (GeoJSON)")


def _collection_id(store: GeoPackageStore, collection_id: str) -> tuple[str, str, str, str]:
    entry = COLLECTIONS.get(collection_id)
    if entry is None or not store.has(entry[0]):
        available = [c for c, e in COLLECTIONS.items() if store.has(e[0])]
        raise ResourceNotFoundError(f"no collection {collection_id[:60]!r}; collections: {', '.join(available)}",
                               code="collection_not_found")  # fmt: skip
    return entry


def _collection_doc(request: Request, store: GeoPackageStore, cid: str) -> dict[str, Any]:
    layer, _, title, description = COLLECTIONS[cid]
    info = store.layer(layer)
    base = _base(request)
    doc: dict[str, Any] = {
        "id": cid,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{cid}", "rel": "self", "type": _JSON, "title": title},
            {"href": f"{base}/collections/{cid}/items", "rel": "items", "type": GEOJSON_MEDIA_TYPE,
             "title": f"{title} (GeoJSON)"},
        ],
    }  # fmt: skip
    licence = licence_link(layer)  # each collection links to its licence (OGC API - Features, rel "license")
    if licence is not None:
        doc["links"].append(licence)
    bbox = extent_lonlat(store, info)
    if bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


def build_router(settings: ApiSettings) -> APIRouter:
    """The OGC API - Features router (mounted under ``/ogc``)."""
    router = APIRouter(prefix="/ogc", tags=["OGC API - Features"],
                       responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})  # fmt: skip

    @router.get("/", include_in_schema=False)
    @router.get("", name="ogc_landing", summary="Landing page")
    def landing(request: Request, store: StoreDep, f: str | None = None) -> dict[str, Any]:
        """Links to the API definition, the conformance declaration and the collections."""
        _check_f(f)
        base = _base(request)
        root = str(request.base_url).rstrip("/")
        return {
            "title": f"{settings.title} — OGC API Features",
            "description": "Parcels, candidate sites and zones d'activite of the foncier workspace.",
            "links": [
                {"href": base, "rel": "self", "type": _JSON, "title": "this document"},
                {"href": f"{root}/openapi.json", "rel": "service-desc",
                 "type": "application/vnd.oai.openapi+json;version=3.0", "title": "the API definition"},
                {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html", "title": "API documentation"},
                {"href": f"{base}/conformance", "rel": "conformance", "type": _JSON,
                 "title": "OGC API conformance classes implemented"},
                {"href": f"{base}/collections", "rel": "data", "type": _JSON, "title": "the collections"},
            ],
            **synthetic_members(store),
        }  # fmt: skip

    @router.get("/conformance", summary="Conformance classes")
    def conformance(f: str | None = None) -> dict[str, Any]:
        """The conformance classes of OGC API - Features Part 1 this service implements."""
        _check_f(f)
        return {"conformsTo": CONFORMANCE}

    @router.get("/collections", summary="Collections")
    def collections(request: Request, store: StoreDep, f: str | None = None) -> dict[str, Any]:
        """The feature collections: parcels, sites and zones (those the workspace holds)."""
        _check_f(f)
        base = _base(request)
        return {
            "links": [{"href": f"{base}/collections", "rel": "self", "type": _JSON, "title": "collections"}],
            "collections": [_collection_doc(request, store, cid) for cid, e in COLLECTIONS.items() if store.has(e[0])],
            **synthetic_members(store),
        }

    @router.get("/collections/{collection_id}", summary="One collection")
    def collection(
        request: Request, store: StoreDep, collection_id: Annotated[str, Path(examples=["parcels"])],
        f: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Description of one collection: title, extent (CRS84), links to its items."""
        _check_f(f)
        _collection_id(store, collection_id)
        return _collection_doc(request, store, collection_id)

    @router.get(
        "/collections/{collection_id}/items",
        summary="Items of a collection",
        response_class=GeoJSONResponse,
        responses=geojson_responses("Features (GeoJSON, CRS84), with next/prev links"),
    )
    def items(
        request: Request,
        store: StoreDep,
        collection_id: Annotated[str, Path(examples=["parcels"])],
        bbox: Annotated[str | None, Query(
            description="minlon,minlat,maxlon,maxlat (CRS84)",
            openapi_examples={"soissons": {"value": "3.318,49.378,3.329,49.385"}})] = None,
        limit: Annotated[int, Query(ge=1, description=f"page size; values above {settings.max_limit} are lowered to it",
                                    json_schema_extra={"maximum": settings.max_limit})] = settings.default_limit,
        offset: Annotated[int, Query(ge=0, le=settings.max_offset)] = 0,
        commune: Annotated[str | None, Query(description="parcels only: INSEE code of the commune")] = None,
        bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description=f"only {CRS84}")] = None,
        f: str | None = None,
    ) -> GeoJSONResponse:  # fmt: skip
        """Features of the collection, filtered by bbox, in pages (``limit``, ``offset``, ``next`` link)."""
        _check_f(f)
        unknown = sorted(set(request.query_params) - _ITEM_PARAMS)
        if unknown:
            raise InvalidParameterError(f"unknown query parameter(s): {', '.join(unknown)}; "
                                   f"allowed: {', '.join(sorted(_ITEM_PARAMS))}")  # fmt: skip
        if bbox_crs is not None and bbox_crs != CRS84:
            raise InvalidParameterError(f"bbox-crs: only {CRS84} is supported")
        layer, id_column, _, _ = _collection_id(store, collection_id)
        limit = min(limit, settings.max_limit)
        box = parse_bbox(bbox) if bbox is not None else None
        equals = None
        if commune is not None:
            if layer != "parcels":
                raise InvalidParameterError("commune filters the parcels collection only")
            equals = {"commune": check_commune(commune)}
        page = read_page(store, layer, bbox=box, equals=equals, limit=limit, offset=offset)
        return collection_response(request, store, layer, page, id_column=id_column, limit=limit, offset=offset,
                                   filtered=box is not None or equals is not None)  # fmt: skip

    @router.get(
        "/collections/{collection_id}/items/{feature_id}",
        summary="One item",
        response_class=GeoJSONResponse,
        responses=geojson_responses("The feature (GeoJSON, CRS84)", single=True),
    )
    def item(
        request: Request,
        store: StoreDep,
        collection_id: Annotated[str, Path(examples=["parcels"])],
        feature_id: Annotated[str, Path(max_length=200, examples=["027220000H0042"])],
        f: str | None = None,
    ) -> GeoJSONResponse:
        """One feature by id (``parcel_id``, ``site_id`` or ``zone_id``)."""
        _check_f(f)
        layer, id_column, _, _ = _collection_id(store, collection_id)
        feat = store.get(layer, feature_id, column=id_column)
        if feat is None:
            raise ResourceNotFoundError(f"no feature {feature_id[:60]!r} in collection {collection_id!r}",
                                   code="feature_not_found")  # fmt: skip
        base = _base(request)

        def links(_: Feature) -> list[dict[str, Any]]:
            return [
                {"href": str(request.url), "rel": "self", "type": GEOJSON_MEDIA_TYPE},
                {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": _JSON},
            ]

        text = features_to_geojson(store, store.layer(layer), [feat], id_column=id_column, links=links)[0]
        return GeoJSONResponse(feature_document(text, synthetic_members(store)))

    return router

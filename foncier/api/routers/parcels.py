"""/parcels: cadastral parcels by bbox, commune or point (GeoJSON), and one parcel's detail."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from foncier.api.deps import StoreDep, check_commune, check_parcel_id, parse_bbox, parse_point, point_filter
from foncier.api.errors import ERROR_RESPONSES, InvalidParameterError
from foncier.api.features import collection_response, geojson_responses, read_page
from foncier.api.geojson import GeoJSONResponse, feature_document, features_to_geojson
from foncier.api.results import named_profile, parcel_detail
from foncier.api.settings import ApiSettings

logger = logging.getLogger(__name__)

PARCEL_EXAMPLE = "027220000H0042"

BBOX_QUERY = Query(
    description="Bounding box in lon/lat degrees (WGS 84): minlon,minlat,maxlon,maxlat.",
    openapi_examples={"soissons": {"summary": "centre of Soissons", "value": "3.318,49.378,3.329,49.385"}},
)


def build_router(settings: ApiSettings) -> APIRouter:
    """The parcels router (limits from ``settings``)."""
    router = APIRouter(tags=["parcels"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})

    @router.get(
        "/parcels",
        summary="Parcels by bbox, commune or point",
        response_class=GeoJSONResponse,
        responses=geojson_responses("Parcels (GeoJSON, lon/lat), with paging links"),
    )
    def list_parcels(
        request: Request,
        store: StoreDep,
        bbox: Annotated[str | None, BBOX_QUERY] = None,
        commune: Annotated[
            str | None,
            Query(description="INSEE code of the commune", openapi_examples={"soissons": {"value": "02722"}}),
        ] = None,
        point: Annotated[
            str | None,
            Query(
                description="lon,lat in degrees: the parcels containing this point",
                openapi_examples={"soissons": {"value": "3.3236,49.3817"}},
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_limit, description="page size")] = settings.default_limit,
        offset: Annotated[int, Query(ge=0, le=settings.max_offset, description="features skipped")] = 0,
    ) -> GeoJSONResponse:
        """Parcels matching every filter given, as a GeoJSON FeatureCollection in lon/lat.

        Paging: ``limit`` (at most the server's maximum) and ``offset``; the ``next`` link gives the following
        page. Filters use the spatial index; ``numberMatched`` is given only without filters.
        """
        if bbox is not None and point is not None:
            raise InvalidParameterError("give either bbox or point, not both")
        box = parse_bbox(bbox) if bbox is not None else None
        equals = {"commune": check_commune(commune)} if commune is not None else None
        info = store.layer("parcels")
        geometry = None
        if point is not None:
            lon, lat = parse_point(point)
            geometry = point_filter(store, info, lon, lat)
            if geometry is None:
                page = None
                return collection_response(request, store, "parcels", page, id_column="parcel_id", limit=limit,
                                           offset=offset, filtered=True)  # fmt: skip
        page = read_page(store, "parcels", bbox=box, geometry=geometry, equals=equals, limit=limit, offset=offset)
        filtered = box is not None or geometry is not None or equals is not None
        return collection_response(request, store, "parcels", page, id_column="parcel_id", limit=limit, offset=offset,
                                   filtered=filtered)  # fmt: skip

    @router.get(
        "/parcels/{parcel_id}",
        summary="One parcel: zoning, risks, site, score",
        response_class=GeoJSONResponse,
        responses={**geojson_responses("The parcel (GeoJSON Feature, lon/lat) and its detail", single=True)},
    )
    def get_parcel(
        store: StoreDep,
        request: Request,
        parcel_id: Annotated[str, Path(description="14-character cadastral id", examples=[PARCEL_EXAMPLE])],
        profile: Annotated[
            str,
            Query(
                description="scoring profile of the site's score", openapi_examples={"default": {"value": "default"}}
            ),
        ] = "default",
    ) -> GeoJSONResponse:
        """The parcel with its zoning (dominant PLU zone), flood and protected-area shares, the zones d'activite
        and friches it touches, and the candidate site it belongs to with that site's score and criteria."""
        check_parcel_id(parcel_id)
        named_profile(profile)
        rankings = request.app.state.rankings
        feat, detail = parcel_detail(store, rankings, parcel_id, profile)
        info = store.layer("parcels")
        text = features_to_geojson(store, info, [feat], id_column="parcel_id", properties=lambda f: _flat(detail))[0]
        members: dict[str, Any] = {"synthetic": detail["synthetic"]}
        if detail["synthetic"]:
            members["notice"] = request.app.state.notice
        return GeoJSONResponse(feature_document(text, members))

    return router


def _flat(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k != "synthetic"}

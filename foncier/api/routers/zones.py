"""/zones: the zones d'activite (business parks) as GeoJSON."""

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from foncier.api.deps import StoreDep, parse_bbox, synthetic_members
from foncier.api.errors import ERROR_RESPONSES, ResourceNotFoundError
from foncier.api.features import collection_response, geojson_responses, read_page
from foncier.api.geojson import GeoJSONResponse, feature_document, features_to_geojson
from foncier.api.routers.parcels import BBOX_QUERY
from foncier.api.settings import ApiSettings

logger = logging.getLogger(__name__)


def build_router(settings: ApiSettings) -> APIRouter:
    """The zones router."""
    router = APIRouter(tags=["zones"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})

    @router.get("/zones", summary="Zones d'activite", response_class=GeoJSONResponse,
                responses=geojson_responses("Zones d'activite (GeoJSON, lon/lat)"))  # fmt: skip
    def list_zones(
        request: Request,
        store: StoreDep,
        bbox: Annotated[str | None, BBOX_QUERY] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_limit, description="page size")] = settings.default_limit,
        offset: Annotated[int, Query(ge=0, le=settings.max_offset, description="features skipped")] = 0,
    ) -> GeoJSONResponse:
        """Zones d'activite (name, kind, area, vacancy), optionally within a lon/lat bbox."""
        box = parse_bbox(bbox) if bbox is not None else None
        page = read_page(store, "zones", bbox=box, limit=limit, offset=offset)
        return collection_response(request, store, "zones", page, id_column="zone_id", limit=limit, offset=offset,
                                   filtered=box is not None)  # fmt: skip

    @router.get("/zones/{zone_id}", summary="One zone d'activite", response_class=GeoJSONResponse,
                responses=geojson_responses("The zone (GeoJSON Feature, lon/lat)", single=True))  # fmt: skip
    def get_zone(store: StoreDep, zone_id: Annotated[str, Path(max_length=200)]) -> GeoJSONResponse:
        """One zone d'activite by its id."""
        feat = store.get("zones", zone_id)
        if feat is None:
            raise ResourceNotFoundError(f"no zone {zone_id[:60]!r}", code="zone_not_found")
        text = features_to_geojson(store, store.layer("zones"), [feat], id_column="zone_id")[0]
        return GeoJSONResponse(feature_document(text, synthetic_members(store)))

    return router

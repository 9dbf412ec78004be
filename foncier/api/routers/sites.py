"""/sites: candidate sites ranked with a profile (GeoJSON), and one site's breakdown."""

import logging
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request

from foncier.api.deps import StoreDep, check_site_id, synthetic_members
from foncier.api.errors import ERROR_RESPONSES, ResourceNotFoundError
from foncier.api.features import geojson_responses, page_links
from foncier.api.geojson import (
    GeoJSONResponse,
    clean_value,
    dumps,
    feature_collection,
    feature_document,
    features_to_geojson,
    geometries_to_geojson,
)
from foncier.api.results import Rankings
from foncier.api.settings import ApiSettings
from foncier.geo.criteria_catalogue import CATALOGUE

logger = logging.getLogger(__name__)

PROFILE_QUERY = Query(
    description="scoring profile (built-in name: see /profiles)",
    openapi_examples={"default": {"value": "default"}, "logistics": {"value": "logistics"}},
)
SITE_COLUMNS = ("site_id", "rank", "score", "excluded", "area_m2", "n_parcels", "min_lot_m2", "max_lot_m2", "communes")


def _split(text: Any, sep: str) -> list[str]:
    return [t for t in str(text or "").split(sep) if t] if isinstance(text, str) else []


def site_properties(row: pd.Series) -> dict[str, Any]:
    """Properties of a ranked site: rank, score, exclusion reasons, area, criteria."""
    props: dict[str, Any] = {c: clean_value(row[c]) for c in SITE_COLUMNS if c in row.index}
    props["excluded"] = bool(row.get("excluded", False))
    props["area_ha"] = round(float(row["area_m2"]) / 1e4, 4) if "area_m2" in row.index else None
    props["communes"] = _split(row.get("communes"), ",")
    props["reasons"] = _split(row.get("reasons"), "; ")
    # nothing unchecked passes: the constraints that could not be checked for the site (never "passed")
    props["unverified"] = _split(row.get("unverified"), "; ")
    props["n_unverified"] = int(row["n_unverified"]) if "n_unverified" in row.index else None
    props["criteria"] = {c: clean_value(row[c]) for c in CATALOGUE if c in row.index}
    return props


def build_router(settings: ApiSettings) -> APIRouter:
    """The sites router."""
    router = APIRouter(tags=["sites"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 422, 503)})

    @router.get("/sites", summary="Candidate sites ranked with a profile", response_class=GeoJSONResponse,
                responses=geojson_responses("Ranked sites (GeoJSON, lon/lat), best first"))  # fmt: skip
    def list_sites(
        request: Request,
        store: StoreDep,
        profile: Annotated[str, PROFILE_QUERY] = "default",
        min_area_ha: Annotated[float, Query(ge=0, le=1e6, allow_inf_nan=False,
                                            description="smallest site area (hectares)")] = 0.0,
        include_excluded: Annotated[bool, Query(description="also list excluded sites (ranked last)")] = True,
        limit: Annotated[int, Query(ge=1, le=settings.max_limit, description="page size")] = 20,
        offset: Annotated[int, Query(ge=0, le=settings.max_offset)] = 0,
    ) -> GeoJSONResponse:  # fmt: skip
        """Sites sorted by rank (1 = best; excluded sites come last with their reasons)."""
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        sites = scored.sites
        keep = np.ones(len(sites), dtype=bool)
        if min_area_ha > 0:
            keep &= sites["area_m2"].to_numpy(dtype=float) >= min_area_ha * 1e4
        if not include_excluded:
            keep &= ~sites["excluded"].to_numpy(dtype=bool)
        matched = sites[keep]
        page = matched.iloc[offset : offset + limit]
        geoms = geometries_to_geojson(store, list(page.geometry.to_numpy()), "EPSG:2154")
        texts = []
        for (_, row), geom in zip(page.iterrows(), geoms, strict=True):
            props = site_properties(row)
            texts.append(f'{{"type":"Feature","id":{dumps(str(row["site_id"]))},"geometry":{geom},'
                         f'"properties":{dumps(props)}}}')  # fmt: skip
        members = {
            "profile": scored.profile.name,
            "weights": {k: float(v) for k, v in scored.profile.weights.items()},
            "numberMatched": len(matched),
            "numberReturned": len(texts),
            "links": page_links(request, offset=offset, limit=limit, has_more=offset + limit < len(matched),
                                count=len(texts)),
            **synthetic_members(store),
        }  # fmt: skip
        return GeoJSONResponse(feature_collection(texts, members))

    @router.get("/sites/{site_id}", summary="One site: breakdown, exclusion reasons, parcels",
                response_class=GeoJSONResponse,
                responses=geojson_responses("The site (GeoJSON, lon/lat) and its detail", single=True))  # fmt: skip
    def get_site(
        request: Request,
        store: StoreDep,
        site_id: Annotated[str, Path(max_length=64, description="site id ('S' + 10 hex characters)",
                                     examples=["S0123456789"])],
        profile: Annotated[str, PROFILE_QUERY] = "default",
    ) -> GeoJSONResponse:  # fmt: skip
        """The site's rank and score with the profile, the contribution of each criterion, the exclusion
        reasons, its criteria values and its parcels."""
        check_site_id(site_id)
        rankings: Rankings = request.app.state.rankings
        detail = rankings.site_detail(site_id, profile)
        feat = store.get("sites", site_id)
        if feat is None:
            raise ResourceNotFoundError(f"no site {site_id!r}", code="site_not_found")
        props = {k: v for k, v in detail.items() if k != "synthetic"}
        text = features_to_geojson(store, store.layer("sites"), [feat], id_column="site_id",
                                   properties=lambda f: props)[0]  # fmt: skip
        return GeoJSONResponse(feature_document(text, synthetic_members(store)))

    return router

"""/maps: the interactive Folium maps (HTML) of the ranked sites and one site's sheet.

The HTML comes from :mod:`foncier.maps` (``foncier.maps.site_map``); when that module is not there (the maps
extra not installed) the routes answer 503 ``maps_unavailable``.
"""


import importlib
import inspect
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from foncier.api.deps import StoreDep, check_site_id
from foncier.api.errors import ERROR_RESPONSES, ResourceNotFound, ServiceUnavailable
from foncier.api.results import Rankings
from foncier.api.routers.sites import PROFILE_QUERY
from foncier.api.settings import ApiSettings

logger = logging.getLogger(__name__)

MAPS_MODULE = "foncier.maps.site_map"


def _maps_module() -> Any:
    try:
        return importlib.import_module(MAPS_MODULE)
    except ImportError as exc:
        raise ServiceUnavailable(f"the maps are not available on this server ({exc})", code="maps_unavailable") from None


def _html(result: Any) -> str:
    """HTML text of what a map builder returned (a string, or a folium Map / branca Figure)."""
    if isinstance(result, str):
        return result
    root = result.get_root() if hasattr(result, "get_root") else result
    if hasattr(root, "render"):
        return str(root.render())
    raise ServiceUnavailable("the map builder returned no HTML", code="maps_unavailable")


def _call(func: Any, **kwargs: Any) -> Any:
    """Call a builder with the keyword arguments it accepts."""
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return func(**kwargs)
    return func(**{k: v for k, v in kwargs.items() if k in params})


def build_router(settings: ApiSettings) -> APIRouter:
    """The maps router."""
    router = APIRouter(tags=["maps"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})
    html = {200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "HTML page"}}

    @router.get("/maps/sites", summary="Interactive map of the ranked sites", response_class=HTMLResponse,
                responses=html)  # fmt: skip
    def sites_map(
        request: Request,
        store: StoreDep,
        profile: Annotated[str, PROFILE_QUERY] = "default",
        top: Annotated[int, Query(ge=1, le=settings.max_limit, description="number of sites shown")] = 20,
        lang: Annotated[str, Query(pattern="^(fr|en)$", description="language of the map")] = "fr",
    ) -> HTMLResponse:  # fmt: skip
        """The Folium map of the best sites for the profile (opens in any browser)."""
        module = _maps_module()
        builder = getattr(module, "build_site_map", None)
        if builder is None:
            raise ServiceUnavailable("the maps module has no build_site_map", code="maps_unavailable")
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        result = _call(builder, scored=scored, sites=scored.sites, profile=scored.profile, top=top, lang=lang,
                       workspace=rankings.workspace, synthetic=scored.synthetic)  # fmt: skip
        return HTMLResponse(_html(result))

    @router.get("/maps/sites/{site_id}", summary="One site's sheet (map and breakdown)", response_class=HTMLResponse,
                responses=html)  # fmt: skip
    def site_sheet(
        request: Request,
        store: StoreDep,
        site_id: Annotated[str, Path(max_length=64, examples=["S0123456789"])],
        profile: Annotated[str, PROFILE_QUERY] = "default",
        lang: Annotated[str, Query(pattern="^(fr|en)$")] = "fr",
    ) -> HTMLResponse:  # fmt: skip
        """The one-site sheet: its map, score breakdown, exclusion reasons and parcels."""
        check_site_id(site_id)
        module = _maps_module()
        builder = getattr(module, "site_sheet", None)
        if builder is None:
            raise ServiceUnavailable("the maps module has no site_sheet", code="maps_unavailable")
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        if site_id not in scored.sites.index:
            raise ResourceNotFound(f"no site {site_id!r}", code="site_not_found")
        result = _call(builder, scored=scored, site_id=site_id, sites=scored.sites, profile=scored.profile, lang=lang,
                       workspace=rankings.workspace, synthetic=scored.synthetic)  # fmt: skip
        return HTMLResponse(_html(result))

    return router

"""/maps: the interactive Folium maps (HTML): ranked sites, one site's sheet, a comparison of a few sites, the land
officers' parcel map.

The pages come from :mod:`foncier.maps` (``site_map.build_site_map``, ``site_sheet.build_site_sheet``,
``compare.build_comparison``, ``parcel_map.build_parcel_map``); the parcel map draws the parcels from this API's
vector tiles. The map modules are imported statically (folium is a core dependency), so static tools and the
architecture test follow these imports.
Pages are cached per workspace file version.
"""

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path as PathType
from types import ModuleType
from typing import Annotated, Any, get_args
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from foncier.api.deps import StoreDep, check_site_id
from foncier.api.errors import (
    ERROR_RESPONSES,
    InvalidParameterError,
    ResourceNotFoundError,
    ServiceUnavailableError,
)
from foncier.api.results import Rankings
from foncier.api.routers.sites import PROFILE_QUERY
from foncier.api.settings import ApiSettings
from foncier.api.store import GeoPackageStore
from foncier.layers.workspace import Workspace
from foncier.maps import assets, compare, export, parcel_map, site_facts, site_map, site_sheet, surroundings

logger = logging.getLogger(__name__)

_CACHE_SIZE = 32
#: How many sites a comparison holds (as ``foncier.maps.compare.MIN_SITES`` / ``MAX_SITES``).
COMPARE_MIN, COMPARE_MAX = 2, 6


_MAP_MODULES: dict[str, ModuleType] = {
    "assets": assets, "compare": compare, "export": export, "parcel_map": parcel_map, "site_map": site_map,
    "site_sheet": site_sheet,
}  # fmt: skip


def _module(name: str) -> ModuleType:
    return _MAP_MODULES[name]


class _PageCache:
    """A few rendered pages, keyed by their parameters and the workspace file version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: OrderedDict[tuple[Any, ...], str] = OrderedDict()

    def get(self, store: GeoPackageStore, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        full = (*key, store.snapshot().key)
        with self._lock:
            page = self._pages.get(full)
            if page is not None:
                self._pages.move_to_end(full)
                return page
        page = build()
        with self._lock:
            self._pages[full] = page
            while len(self._pages) > _CACHE_SIZE:
                self._pages.popitem(last=False)
        return page


ASSETS_URL = "/maps/assets"
"""Where the API serves its local copies of Leaflet and the plugins (see ``ApiSettings.map_assets``)."""


def local_assets_dir(settings: ApiSettings) -> PathType | None:
    """The folder served at :data:`ASSETS_URL`, or None when the maps load their assets from the CDN.

    Raises
    ------
    RuntimeError
        When ``map_assets`` is "local" and the copies are not installed (run ``make assets``).
    """
    if settings.map_assets == "cdn":
        return None
    try:
        assets = _module("assets")
    except ServiceUnavailableError:
        return None
    if assets.assets_available():
        return PathType(assets.node_modules_dir())
    if settings.map_assets == "local":
        raise RuntimeError(f"map_assets='local' but no local map assets in {assets.node_modules_dir()} (make assets)")
    logger.warning("local map assets not installed: the HTML maps will load Leaflet from the CDN")
    return None


def build_router(settings: ApiSettings) -> APIRouter:
    """The maps router."""
    router = APIRouter(tags=["maps"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})
    html: dict[int | str, dict[str, Any]] = {
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "HTML page"}
    }
    cache = _PageCache()
    assets_url = ASSETS_URL if local_assets_dir(settings) is not None else None

    def render(m: Any) -> str:
        export = _module("export")
        if assets_url is not None:  # Leaflet from this server, basemap from the web when the browser reaches it
            return str(export.render_map(m, offline=True, asset_dir=assets_url))
        return str(export.render_map(m, offline=False))

    lang_query = Query(pattern="^(fr|en)$", description="language of the page: fr or en")

    @router.get("/maps/sites", summary="Interactive map of the ranked sites", response_class=HTMLResponse,
                responses=html)  # fmt: skip
    def sites_map(
        request: Request,
        store: StoreDep,
        profile: Annotated[str, PROFILE_QUERY] = "default",
        top: Annotated[int, Query(ge=1, le=100, description="number of best sites numbered and listed")] = 10,
        lang: Annotated[str, lang_query] = "fr",
    ) -> HTMLResponse:  # fmt: skip
        """The Folium map of the sites ranked with the profile (opens in any browser)."""
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        site_map = _module("site_map")

        def build() -> str:
            ws = rankings.workspace
            sheets = {str(sid): f"/maps/sites/{quote(str(sid), safe='')}?profile={quote(profile)}&lang={lang}"
                      for sid in scored.sites.index}  # fmt: skip
            sites = site_facts.with_site_facts(ws, scored.sites, scored.profile.name)
            m = site_map.build_site_map(sites, surroundings.load_context(ws), profile=scored.profile,
                                        breakdown=scored.breakdown, lang=lang, synthetic=scored.synthetic,
                                        provenance=scored.provenance, top=top, sheet_urls=sheets,
                                        availability_counts=site_facts.parcel_state_counts(ws),
                                        effective_weights=site_facts.effective_weights(ws, scored.profile.name),
                                        )  # fmt: skip
            return render(m)

        return HTMLResponse(cache.get(store, ("sites", profile, top, lang), build))

    @router.get("/maps/sites/{site_id}", summary="One site's sheet (map and breakdown)", response_class=HTMLResponse,
                responses=html)  # fmt: skip
    def site_sheet(
        request: Request,
        store: StoreDep,
        site_id: Annotated[str, Path(max_length=64, examples=["S0123456789"])],
        profile: Annotated[str, PROFILE_QUERY] = "default",
        lang: Annotated[str, lang_query] = "fr",
    ) -> HTMLResponse:  # fmt: skip
        """The one-site sheet: its map, rank, score breakdown, constraints, exclusion reasons and parcels."""
        check_site_id(site_id)
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        if site_id not in scored.sites.index:
            raise ResourceNotFoundError(f"no site {site_id!r}", code="site_not_found")
        sheet = _module("site_sheet")

        def build() -> str:
            ws = rankings.workspace
            site = site_facts.with_site_facts(ws, scored.sites.loc[[site_id]], scored.profile.name)
            parcels = surroundings.sheet_parcels(ws, site, site_id, sheet.PARCEL_COLUMNS)  # id checked above
            names = surroundings.commune_names(ws)
            return str(sheet.build_site_sheet(site, parcels, scored.breakdown, profile=scored.profile, lang=lang,
                                              synthetic=scored.synthetic, n_sites=len(scored.sites),
                                              context=surroundings.surroundings(ws, site, sheet.SHEET_CONTEXT),
                                              commune_names=names, provenance=scored.provenance,
                                              color=compare.score_class_colors(scored.sites, [site_id])[site_id],
                                              effective_weights=site_facts.effective_weights(ws, scored.profile.name),
                                              assets_url=assets_url))  # fmt: skip

        return HTMLResponse(cache.get(store, ("sheet", site_id, profile, lang), build))

    @router.get("/maps/compare", summary="A few sites side by side (map, figures, score breakdown)",
                response_class=HTMLResponse, responses=html)  # fmt: skip
    def compare_sites(
        request: Request,
        store: StoreDep,
        sites: Annotated[str, Query(max_length=400, examples=["S0123456789,S0abcdef012"],
                                    description=f"{COMPARE_MIN} to {COMPARE_MAX} site ids, comma-separated")],
        profile: Annotated[str, PROFILE_QUERY] = "default",
        lang: Annotated[str, lang_query] = "fr",
    ) -> HTMLResponse:  # fmt: skip
        """Two to six sites side by side: their map, rank, score, areas, access, constraints, exclusion reasons and
        the contribution of each criterion, the best value of each row highlighted."""
        ids = [s.strip() for s in sites.split(",")]
        if any(not s for s in ids) or len(set(ids)) != len(ids) or not COMPARE_MIN <= len(ids) <= COMPARE_MAX:
            raise InvalidParameterError(
                f"sites must be {COMPARE_MIN} to {COMPARE_MAX} distinct site ids separated by commas, got {sites!r}",
                code="invalid_sites",
            )
        for site_id in ids:
            check_site_id(site_id)
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        unknown = [s for s in ids if s not in scored.sites.index]
        if unknown:
            raise ResourceNotFoundError(f"no site {', '.join(repr(s) for s in unknown)}", code="site_not_found",
                                        detail={"unknown": unknown})  # fmt: skip
        compare = _module("compare")

        def build() -> str:
            ws = rankings.workspace
            names = surroundings.commune_names(ws)
            sites = site_facts.with_site_facts(rankings.workspace, scored.sites.loc[ids], scored.profile.name)
            around = surroundings.surroundings(ws, sites, compare.SURROUNDINGS)
            return str(compare.build_comparison(
                sites, scored.breakdown, context=around, profile=scored.profile, lang=lang,
                synthetic=scored.synthetic, n_sites=len(scored.sites), commune_names=names,
                provenance=scored.provenance, assets_url=assets_url,
                score_colors=compare.score_class_colors(scored.sites, ids),
                sheet_url=lambda sid: f"/maps/sites/{quote(sid, safe='')}?profile={quote(profile)}&lang={lang}",
            ))  # fmt: skip

        return HTMLResponse(cache.get(store, ("compare", tuple(ids), profile, lang), build))

    @router.get("/maps/parcels", summary="Land officers' parcel map (vector tiles)", response_class=HTMLResponse,
                responses=html)  # fmt: skip
    def parcels_map(
        request: Request,
        store: StoreDep,
        color_by: Annotated[str, Query(pattern=f"^({'|'.join(get_args(parcel_map.ColorBy))})$",
                                       description="colour parcels by " + parcel_map.color_by_help())] = "availability",
        lang: Annotated[str, lang_query] = "fr",
    ) -> HTMLResponse:  # fmt: skip
        """The parcels of the territory, drawn from this server's vector tiles (zoom in to level 14)."""
        parcel_map = _module("parcel_map")
        store.layer("parcels")
        root = str(request.base_url).rstrip("/")

        def build() -> str:
            ws = Workspace(store.workspace)
            communes = ws.read_layer("communes") if ws.has_layer("communes") else None
            with_zoning = color_by == "zoning" and ws.has_layer("plu") and not store.has("parcel_zoning")
            zoning = ws.read_layer("plu", columns=["typezone"]) if with_zoning else None
            extent: Any = communes if communes is not None and not communes.empty else \
                ws.read_layer("parcels", columns=["parcel_id"]).iloc[:1000]  # fmt: skip
            m = parcel_map.build_parcel_map(
                extent=extent, tiles_url=root + parcel_map.TILES_URL,
                sites_tiles_url=root + parcel_map.SITES_TILES_URL if store.has("sites") else None,
                color_by=color_by, zoning=zoning, communes=communes, lang=lang, synthetic=store.synthetic,
                provenance=ws.provenance(),
            )  # fmt: skip
            return render(m)

        return HTMLResponse(cache.get(store, ("parcels", color_by, lang, root), build))

    return router

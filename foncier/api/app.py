"""The FastAPI application over a workspace: ``create_app(settings)``.

Run it with ``foncier serve --workspace DIR`` or ``uvicorn --factory foncier.api.app:create_app_from_env``
(settings from ``FONCIER_API_*`` variables). Documentation: ``/docs`` (Swagger UI), ``/openapi.json``.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foncier._version import __version__
from foncier.api.errors import install_error_handlers
from foncier.api.results import Rankings
from foncier.api.routers import health, maps, ogc, parcels, profiles, scores, sites, tiles, zones
from foncier.api.routers.docs import install_docs
from foncier.api.settings import SYNTHETIC_NOTICE, ApiSettings
from foncier.api.store import GeoPackageStore
from foncier.errors import WorkspaceError

logger = logging.getLogger(__name__)

DESCRIPTION = """
Find and rank land for industrial firms in the Territoire d'Industrie Soissonnais et Valois.

- **Parcels**: query by bbox (lon/lat), commune or point; one parcel's zoning, risks, site and score.
- **Sites**: candidate sites ranked with a scoring profile; one site's breakdown and exclusion reasons.
- **Scores**: rank with your own weights or profile (`POST /scores`), nothing is stored.
- **OGC API - Features** under [`/ogc`](/ogc) for GIS clients (QGIS, GDAL/OGR), and **vector tiles**.

Errors are JSON `{"code", "message", "detail"?}`; bad input is a 4xx. Answers made from the synthetic
sample carry `"synthetic": true` and a notice: it is not real land.
"""


class _Guard:
    """Pure ASGI middleware: refuses bodies larger than ``max_body`` (413) and marks synthetic answers."""

    def __init__(self, app: ASGIApp, *, max_body: int, store: GeoPackageStore) -> None:
        self.app = app
        self.max_body = max_body
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _send_json(send, 413, b'{"code":"payload_too_large","message":"request body larger than '
                             + str(self.max_body).encode() + b' bytes"}')  # fmt: skip
            return
        try:
            synthetic = self.store.synthetic
        except WorkspaceError:  # the routes answer 503 with the reason
            synthetic = False

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and synthetic:
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-foncier-synthetic", b"true")]
            await send(message)

        await self.app(scope, receive, send_marked)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})  # fmt: skip


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API over ``settings.workspace``.

    Parameters
    ----------
    settings : ApiSettings, optional
        Settings (from the ``FONCIER_API_*`` environment when omitted).

    Raises
    ------
    foncier.errors.WorkspaceError
        When the workspace has no readable GeoPackage.
    """
    settings = settings or ApiSettings()
    store = GeoPackageStore(settings.workspace)
    app = FastAPI(
        title=settings.title,
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # /docs and /redoc from the package's own Swagger UI / ReDoc (routers/docs.py)
        redoc_url=None,
        openapi_tags=[
            {"name": "service", "description": "Health"},
            {"name": "parcels", "description": "Cadastral parcels"},
            {"name": "sites", "description": "Candidate sites and their ranking"},
            {"name": "scores", "description": "Rankings with custom weights"},
            {"name": "profiles", "description": "Scoring profiles"},
            {"name": "zones", "description": "Zones d'activite"},
            {"name": "maps", "description": "Interactive maps (HTML)"},
            {"name": "tiles", "description": "Mapbox vector tiles"},
            {"name": "OGC API - Features", "description": "OGC API - Features Part 1 (Core, GeoJSON)"},
        ],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.rankings = Rankings(store, settings.max_profile_cache)
    app.state.notice = SYNTHETIC_NOTICE
    install_error_handlers(app)
    for module in (health, parcels, sites, scores, profiles, zones, maps, tiles, ogc):
        app.include_router(module.build_router(settings))
    install_docs(app)
    assets_dir = maps.local_assets_dir(settings)
    if assets_dir is not None:
        app.mount(maps.ASSETS_URL, StaticFiles(directory=assets_dir), name="map_assets")
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["*"])  # fmt: skip
    app.add_middleware(_Guard, max_body=settings.max_body_bytes, store=store)
    logger.info("serving workspace %s (%s)", settings.workspace, store.index_status)
    _tune_gc()
    return app


def _tune_gc() -> None:
    """Move the objects alive after start-up (modules, pandas, GDAL wrappers) out of the collector's sight.

    Requests allocate many short-lived objects (rows, bytes, geometries); with the default settings a full
    collection then walks every long-lived object too, adding 20-30 ms to a dense vector tile now and then.
    Freezing the start-up heap (as large Python servers do) and collecting young objects less often removes
    that jitter; nothing is leaked: frozen objects are only exempt from cycle detection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` and multi-worker servers: settings from the environment."""
    return create_app(ApiSettings())


def openapi_document(settings: ApiSettings) -> dict[str, Any]:
    """The OpenAPI document of an app over ``settings`` (for docs and fuzzing)."""
    return create_app(settings).openapi()

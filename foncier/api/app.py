"""The FastAPI application over a workspace: ``create_app(settings)``.

Run it with ``foncier serve --workspace DIR`` or ``uvicorn --factory foncier.api.app:create_app_from_env``
(settings from ``FONCIER_API_*`` variables). Documentation: ``/docs`` (Swagger UI), ``/openapi.json``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from foncier._version import __version__
from foncier.api.errors import install_error_handlers
from foncier.api.results import Rankings
from foncier.api.routers import health, maps, ogc, parcels, profiles, scores, sites, tiles, zones
from foncier.api.routers.docs import install_docs
from foncier.api.settings import SYNTHETIC_NOTICE, ApiSettings
from foncier.api.store import GeoPackageStore

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


#: Headers every answer carries (JSON answers also get a Content-Security-Policy that forbids everything).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-site"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
_JSON_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class _BodyTooLargeError(Exception):
    """Raised by the guarded ``receive`` when a request body passes the limit."""


class _Guard:
    """Pure ASGI middleware: bounds request bodies (413 whatever the transfer encoding, chunked included: the
    body is counted as it arrives, never buffered beyond the limit), adds the security headers and marks
    synthetic answers. It never blocks the event loop (the synthetic flag comes from the store's last
    snapshot, no database access)."""

    def __init__(self, app: ASGIApp, *, max_body: int, store: GeoPackageStore, public_url: str | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.store = store
        self.public = urlsplit(public_url) if public_url else None

    def _own_address(self, scope: Scope) -> Scope:
        """``scope`` with the Host header (and scheme, root path) of the configured public URL, or of the
        address the server listens on: links are never built from what a client sent as Host."""
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"host"]
        scope = dict(scope)
        if self.public is not None:
            scope["scheme"] = self.public.scheme
            host = self.public.netloc
            if self.public.path.rstrip("/"):
                scope["root_path"] = self.public.path.rstrip("/")
        else:
            server = scope.get("server") or ("127.0.0.1", 80)
            default_port = {"http": 80, "https": 443}.get(scope.get("scheme", "http"))
            host = server[0] if server[1] in (None, default_port) else f"{server[0]}:{server[1]}"
            if ":" in str(server[0]) and not str(server[0]).startswith("["):  # IPv6 literal
                host = f"[{server[0]}]" if server[1] in (None, default_port) else f"[{server[0]}]:{server[1]}"
        scope["headers"] = [*headers, (b"host", host.encode("idna" if not host.isascii() else "ascii"))]
        return scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _send_json(send, 413, self._too_large())
            return
        scope = self._own_address(scope)
        snap = self.store.current
        synthetic = bool(snap is not None and snap.synthetic)
        received = 0
        started = False
        too_large = False

        async def guarded_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    raise _BodyTooLargeError
            return message

        async def send_marked(message: Message) -> None:
            nonlocal started
            if too_large:  # whatever the app made of the cut body (FastAPI: a 400), the answer is the 413
                if not started:
                    started = True
                    await _send_json(send, 413, self._too_large())
                return
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"application/") and b"json" in ctype and _JSON_CSP[0] not in present:
                    headers.append(_JSON_CSP)
                if synthetic:
                    headers.append((b"x-foncier-synthetic", b"true"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, guarded_receive, send_marked)
        except _BodyTooLargeError:
            if not started:
                await _send_json(send, 413, self._too_large())
        except BaseExceptionGroup as group:  # raised inside a task group (anyio)
            rest = group.subgroup(lambda e: not isinstance(e, _BodyTooLargeError))
            if rest is not None:
                raise rest from None
            if not started:
                await _send_json(send, 413, self._too_large())

    def _too_large(self) -> bytes:
        return (b'{"code":"payload_too_large","message":"request body larger than '
                + str(self.max_body).encode() + b' bytes"}')  # fmt: skip


class AllowListedFiles(StaticFiles):
    """Static files limited to an explicit list: the files of :data:`foncier.maps.assets.ASSETS` (and the
    folders they name as extras), never the rest of the folder (a whole ``node_modules``)."""

    def __init__(self, *, directory: Any) -> None:
        super().__init__(directory=directory)
        from foncier.maps.assets import ASSETS

        self.allowed_files = {f"{a.package}/{a.path}" for a in ASSETS.values()}
        self.allowed_dirs = tuple(f"{a.package}/{x}".rstrip("/") + "/" for a in ASSETS.values() for x in a.extras)
        self.allowed_files |= {f"{a.package}/{x}" for a in ASSETS.values() for x in a.extras}

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file when it is on the list, else 404."""
        rel = path.replace("\\", "/").lstrip("/")
        if ".." in rel.split("/") or not (rel in self.allowed_files or rel.startswith(self.allowed_dirs)):
            raise StarletteHTTPException(status_code=404)
        return await super().get_response(path, scope)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        *SECURITY_HEADERS, _JSON_CSP],
        }
    )  # fmt: skip
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

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # bounded worker threads (each holds at most one read-only connection of the store's pool)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        if settings.tile_index_at_start:
            threading.Thread(target=tile_service.warm, args=(store,), name="tile-index", daemon=True).start()
        yield
        store.close()

    app = FastAPI(
        lifespan=lifespan,
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
    tile_service = tiles.TileService(settings)
    app.state.tile_service = tile_service
    for module in (health, parcels, sites, scores, profiles, zones, maps, ogc):
        app.include_router(module.build_router(settings))
    app.include_router(tiles.build_router(settings, tile_service))
    install_docs(app)
    assets_dir = maps.local_assets_dir(settings)
    if assets_dir is not None:
        app.mount(maps.ASSETS_URL, AllowListedFiles(directory=assets_dir), name="map_assets")
    app.add_middleware(tiles.CachedTiles, service=tile_service, store=store)  # innermost: inside CORS and _Guard
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["*"])  # fmt: skip
    app.add_middleware(_Guard, max_body=settings.max_body_bytes, store=store, public_url=settings.public_url)
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

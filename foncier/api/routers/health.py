"""GET /health: liveness and what the workspace holds (feature counts from the GeoPackage metadata)."""

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from foncier._version import __version__
from foncier.api.deps import StoreDep
from foncier.api.errors import ERROR_RESPONSES
from foncier.api.settings import SYNTHETIC_NOTICE, ApiSettings

logger = logging.getLogger(__name__)


def build_router(settings: ApiSettings) -> APIRouter:
    """The health router."""
    router = APIRouter(tags=["service"], responses={503: ERROR_RESPONSES[503]})

    @router.get(
        "/health",
        summary="Service health and workspace content",
        responses={200: {"content": {"application/json": {"example": {
            "status": "ok", "version": __version__, "territory": "Soissonnais et Valois",
            "layers": {"parcels": 4000, "sites": 40}, "synthetic": True,
            "notice": "synthetic sample — not real land"}}}}},
    )  # fmt: skip
    async def health(store: StoreDep) -> dict[str, Any]:
        """Say the service is up, which workspace it serves and how many features each layer holds.

        Runs on the event loop and never queries the database (the last snapshot the store built; one
        ``stat`` to notice a new version): it answers even when every worker thread is busy.
        """
        snap = store.current
        if snap is None or snap.key != store.file_version():
            try:  # a new version: read it if a worker thread is free soon, else answer from the last one
                snap = await asyncio.wait_for(run_in_threadpool(store.snapshot), timeout=2.0)
            except TimeoutError:
                snap = store.current
        if snap is None:
            return {"status": "starting", "version": __version__, "layers": {}, "synthetic": False}
        return {
            "status": "ok",
            "version": __version__,
            "territory": snap.metadata.get("territory", ""),
            "layers": {
                name: info.feature_count for name, info in sorted(snap.layers.items()) if info.feature_count is not None
            },
            "indexes": store.index_status,
            "connections": store.open_connections(),
            **({"synthetic": True, "notice": SYNTHETIC_NOTICE} if snap.synthetic else {"synthetic": False}),
        }

    return router

"""GET /health: liveness and what the workspace holds (feature counts from the GeoPackage metadata)."""

import logging
from typing import Any

from fastapi import APIRouter

from foncier._version import __version__
from foncier.api.deps import StoreDep, synthetic_members
from foncier.api.errors import ERROR_RESPONSES
from foncier.api.settings import ApiSettings

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
    def health(store: StoreDep) -> dict[str, Any]:
        """Say the service is up, which workspace it serves and how many features each layer holds."""
        snap = store.snapshot()
        return {
            "status": "ok",
            "version": __version__,
            "territory": snap.metadata.get("territory", ""),
            "layers": {
                name: info.feature_count for name, info in sorted(snap.layers.items()) if info.feature_count is not None
            },
            "indexes": store.index_status,
            **synthetic_members(store),
        }

    return router

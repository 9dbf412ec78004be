"""/profiles: the built-in scoring profiles (weights, standardisation, exclusions)."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path

from foncier.api.deps import StoreDep, synthetic_members
from foncier.api.errors import ERROR_RESPONSES
from foncier.api.results import named_profile
from foncier.api.settings import ApiSettings
from foncier.layers.profile_store import list_profiles

logger = logging.getLogger(__name__)


def build_router(settings: ApiSettings) -> APIRouter:
    """The profiles router."""
    router = APIRouter(tags=["profiles"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})

    @router.get("/profiles", summary="Built-in scoring profiles")
    def profiles(store: StoreDep) -> dict[str, Any]:
        """Each profile's name, titles and weights."""
        out = []
        for name in list_profiles():
            p = named_profile(name)
            out.append({"name": p.name, "title_fr": p.title_fr, "title_en": p.title_en,
                        "description": p.description, "min_site_area_m2": p.min_site_area_m2,
                        "weights": {k: round(float(v), 6) for k, v in p.weights.items()},
                        "href": f"/profiles/{name}"})  # fmt: skip
        return {"profiles": out, **synthetic_members(store)}

    @router.get("/profiles/{name}", summary="One scoring profile")
    def profile(store: StoreDep, name: Annotated[str, Path(max_length=100, examples=["logistics"])]) -> dict[str, Any]:
        """The whole profile document (as its YAML file): criteria with weight and standardisation,
        exclusions, minimum site area. POST it, edited, to /scores to rank with it."""
        p = named_profile(name)
        return {"profile": p.to_dict(), "weights": {k: float(v) for k, v in p.weights.items()},
                **synthetic_members(store)}  # fmt: skip

    return router

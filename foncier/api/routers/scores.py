"""POST /scores: rank the sites with custom weights or a whole profile; nothing is stored."""

import logging
import math
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from foncier.api.deps import StoreDep, synthetic_members
from foncier.api.errors import ERROR_RESPONSES, ApiError
from foncier.api.results import Rankings, named_profile
from foncier.api.routers.sites import site_properties
from foncier.api.settings import ApiSettings
from foncier.errors import Problem, ProfileError
from foncier.geo.profile import Profile

logger = logging.getLogger(__name__)


#: Largest weight accepted (weights are relative; larger ones would overflow their sum).
MAX_WEIGHT = 1e9


class ScoreRequest(BaseModel):
    """What to rank with.

    Attributes
    ----------
    profile : str or dict
        A built-in profile name (see /profiles), or a whole profile document (the content of a profile YAML
        file as JSON: name, criteria with weight and standardisation, exclusions, min_site_area_m2).
    weights : dict, optional
        Weights replacing the profile's, by criterion (criteria not given keep their weight); each finite
        and >= 0, all summing to 1 unless ``normalise``.
    normalise : bool
        Divide the weights by their sum (so ``{"a": 2, "b": 1}`` is accepted).
    limit : int
        Number of sites returned (best first).
    include_breakdown : bool
        Add each site's contributions per criterion.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"profile": "default", "weights": {"time_to_roissy_min": 0.5, "area_m2": 0.5}, "normalise": True,
                 "limit": 10},
                {"profile": "default", "limit": 5, "include_breakdown": True},
            ]
        },
    )  # fmt: skip

    profile: str | dict[str, Any] = "default"
    weights: dict[str, float] | None = None
    normalise: bool = False
    limit: int = Field(default=20, ge=1)
    include_breakdown: bool = False


def _profile_for(req: ScoreRequest) -> Profile:
    """The profile to score with: base (name or document) with the request's weights applied."""
    if isinstance(req.profile, dict):
        base = Profile.from_dict(req.profile, source="request body")
    else:
        base = named_profile(req.profile)
    if req.weights is None:
        return base
    problems: list[Problem] = []
    for name, value in req.weights.items():
        if not math.isfinite(value):
            problems.append(Problem(f"weight of '{name}' must be a finite number, got {value}", column=name))
        elif value < 0:
            problems.append(Problem(f"weight of '{name}' must be >= 0, got {value:g}", column=name))
        elif value > MAX_WEIGHT:
            problems.append(Problem(f"weight of '{name}' must be at most {MAX_WEIGHT:g}, got {value:g}", column=name))
    if problems:
        raise ProfileError(problems, title="invalid weights")
    merged = {**{k: float(v) for k, v in base.weights.items()}, **req.weights}
    if not req.normalise:
        total = sum(v for k, v in merged.items() if k in base.criteria)
        if abs(total - 1.0) > 1e-6:
            given = ", ".join(f"{k}={v:g}" for k, v in merged.items())
            raise ProfileError([Problem(f"the weights must sum to 1, they sum to {total:g} ({given}); "
                                        "fix them or send \"normalise\": true")], title="invalid weights")  # fmt: skip
    return base.with_weights(merged, normalise=req.normalise)


def build_router(settings: ApiSettings) -> APIRouter:
    """The scores router."""
    router = APIRouter(tags=["scores"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 413, 422, 503)})

    @router.post("/scores", summary="Rank the sites with custom weights or a profile (nothing stored)")
    def score(
        request: Request,
        store: StoreDep,
        body: Annotated[ScoreRequest, Body(openapi_examples={
            "weights": {"summary": "logistics with other weights",
                        "value": {"profile": "logistics", "weights": {"time_to_roissy_hgv_min": 0.5},
                                  "normalise": True}},
            "named": {"summary": "a built-in profile", "value": {"profile": "default", "limit": 5}},
        })],
    ) -> dict[str, Any]:  # fmt: skip
        """Score every candidate site from the stored criteria (milliseconds) and return the ranking.

        Errors: an unknown profile is a 404; NaN, negative or non-summing weights, unknown criteria and an
        invalid profile document are a 422 listing every problem (``detail``).
        """
        if body.limit > settings.max_limit:
            raise ApiError(f"limit: at most {settings.max_limit}", code="invalid_body", status=422)
        profile = _profile_for(body)
        rankings: Rankings = request.app.state.rankings
        scored = rankings.get(profile)
        top = scored.sites.head(body.limit)
        breakdown: dict[str, list[dict[str, Any]]] = {}
        if body.include_breakdown and len(top):
            b = scored.breakdown[scored.breakdown["site_id"].isin(top.index)]
            for site_id, group in b.groupby("site_id", sort=False):
                breakdown[str(site_id)] = [
                    {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()
                     if k != "site_id"} for rec in group.to_dict("records")
                ]  # fmt: skip
        ranking = []
        for _, row in top.iterrows():
            item = site_properties(row)
            if body.include_breakdown:
                item["breakdown"] = breakdown.get(str(row["site_id"]), [])
            ranking.append(item)
        return {
            "profile": profile.name,
            "weights": {k: float(v) for k, v in profile.weights.items()},
            "stored": False,
            "n_sites": len(scored.sites),
            "n_excluded": int(pd.Series(scored.sites["excluded"]).astype(bool).sum()),
            "problems": list(scored.result.problems),
            "ranking": ranking,
            **synthetic_members(store),
        }

    return router

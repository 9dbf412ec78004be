"""The maps the API serves colour a site as the CLI's maps do (same score, same class colour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.compare import score_class_colors
from foncier.maps.site_sheet import DEFAULT_COLOR
from foncier.scripts.map import sheet_for


def test_api_sheet_colours_the_site_like_the_cli(scored_workspace: Path) -> None:
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from foncier.api.app import create_app
    from foncier.api.settings import ApiSettings

    ws = Workspace.open(scored_workspace)
    scored = scored_sites(ws, "default")
    eligible = scored.sites[~scored.sites["excluded"].astype(bool)]
    colours = score_class_colors(scored.sites, [str(i) for i in eligible.index])
    # a site whose class colour is not the sheet's fallback, so that a missing colour shows
    site_id = next(i for i, c in colours.items() if c.lower() != DEFAULT_COLOR.lower())
    expected = colours[site_id]
    cli = sheet_for(ws, site_id, "default", scored=scored)
    with TestClient(create_app(ApiSettings(workspace=scored_workspace))) as client:
        served = client.get(f"/maps/sites/{site_id}", params={"profile": "default"})
    assert served.status_code == 200
    for page in (cli, served.text):
        assert f'"fillColor": "{expected}"' in page or f'"fillColor":"{expected}"' in page

"""The maps the API serves colour a site as the CLI's maps do (same score, same class colour), and a parcel
as the CLI's parcel map does (same status, availability state or zone type, same colour)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import mapbox_vector_tile
import pytest

from foncier.api.tiles import tile_for_lonlat
from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.compare import score_class_colors
from foncier.maps.export import render_map
from foncier.maps.parcel_map import ColorBy
from foncier.maps.site_sheet import DEFAULT_COLOR
from foncier.scripts.map import comparison_for, parcel_map_for, sheet_for, site_map_for


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


# ---------------------------------------------------------------------------------------------- helpers


def _json_args(page: str, call: str, n: int) -> list[Any]:
    """The first ``n`` JSON arguments after the map of ``call(map, ...)`` in a rendered page."""
    match = re.search(rf"= {call}\(\w+, ", page)
    assert match, f"no {call} in the page"
    decoder, pos, out = json.JSONDecoder(), match.end(), []
    for _ in range(n):
        value, pos = decoder.raw_decode(page, pos)
        out.append(value)
        pos = re.compile(r"\s*,\s*").match(page, pos).end() if len(out) < n else pos  # type: ignore[union-attr]
    return out


def _site_map_fills(page: str) -> dict[str, str]:
    """Site id -> fill colour of each site of a site map, as its script (``fill`` in site_map.js) picks it."""
    data, cfg = _json_args(page, "foncierSitesLayer", 2)
    props = [f["properties"] for f in data["features"]]
    return {str(p["id"]): cfg["excludedColor"] if p["x"] else cfg["colors"][p["c"]] for p in props}


def _parcel_colour(cfg: dict[str, Any], props: dict[str, Any]) -> str | None:
    """A parcel's fill colour as ``colour`` in parcel_map.js picks it."""
    colors = cfg["colors"]
    if cfg["colorBy"] == "availability":
        return str(colors.get(props.get("status"), colors["unknown"]))
    if cfg["colorBy"] == "state":
        return str(colors.get(props.get("state"), colors["to_verify"]))
    zone = props.get("typezone")
    return str(colors.get(zone, colors["other"])) if zone else None


@pytest.fixture(scope="module")
def served(scored_workspace: Path) -> Iterator[Any]:
    """A test client of the API over the scored sample workspace."""
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from foncier.api.app import create_app
    from foncier.api.settings import ApiSettings

    with TestClient(create_app(ApiSettings(workspace=scored_workspace))) as client:
        yield client


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("profile", ["default", "logistics"])
def test_api_site_map_colours_every_site_like_the_cli(scored_workspace: Path, served: Any, profile: str) -> None:
    ws = Workspace.open(scored_workspace)
    scored = scored_sites(ws, profile)
    cli = _site_map_fills(render_map(site_map_for(ws, profile, scored=scored), offline=False))
    response = served.get("/maps/sites", params={"profile": profile})
    assert response.status_code == 200
    api = _site_map_fills(response.text)
    expected = score_class_colors(scored.sites, [str(i) for i in scored.sites.index])
    assert set(cli) == set(api) == set(expected)
    assert cli == api == expected
    assert len(set(expected.values())) >= 3, "the sample's scores fall in several classes"


def test_api_comparison_colours_the_scores_like_the_cli(scored_workspace: Path, served: Any) -> None:
    ws = Workspace.open(scored_workspace)
    scored = scored_sites(ws, "default")
    colours = score_class_colors(scored.sites, [str(i) for i in scored.sites.index])
    # sites of different colours (best, middle, excluded when there is one), so that a swap shows
    by_colour: dict[str, str] = {}
    for site_id in scored.sites.sort_values("score", ascending=False).index:
        by_colour.setdefault(colours[str(site_id)], str(site_id))
    ids = list(by_colour.values())[:4]
    assert len(ids) >= 3
    pill = re.compile(r'class="fx-score-pill" style="background:(#[0-9a-fA-F]{6})')
    cli = pill.findall(comparison_for(ws, ids, "default", scored=scored))
    response = served.get("/maps/compare", params={"sites": ",".join(ids), "profile": "default"})
    assert response.status_code == 200
    assert pill.findall(response.text) == cli == [colours[i] for i in ids]


@pytest.mark.parametrize("color_by", get_args(ColorBy))
def test_api_parcel_map_colours_parcels_like_the_cli(scored_workspace: Path, served: Any, color_by: str) -> None:
    """Same legend colours in both pages; every value the workspace stores has its own colour; and a parcel of a
    tile the served page asks for is filled with the CLI page's colour for what the workspace says of it."""
    ws = Workspace.open(scored_workspace)
    (cli_cfg,) = _json_args(render_map(parcel_map_for(ws, color_by=color_by), offline=False), "foncierParcelLayer", 1)
    response = served.get("/maps/parcels", params={"color_by": color_by})
    assert response.status_code == 200
    (api_cfg,) = _json_args(response.text, "foncierParcelLayer", 1)
    assert api_cfg["colorBy"] == cli_cfg["colorBy"] == color_by
    assert api_cfg["colors"] == cli_cfg["colors"]
    # what the workspace stores, per parcel (as the CLI colours it)
    parcels = ws.read_layer("parcels", columns=["parcel_id", "status"])
    stored: dict[str, dict[str, Any]] = {
        str(pid): {"status": status} for pid, status in zip(parcels["parcel_id"], parcels["status"], strict=True)
    }
    table, column = {"availability": (None, "status"), "state": ("parcel_availability", "state"),
                     "zoning": ("parcel_zoning", "typezone")}[color_by]  # fmt: skip
    if table is not None:
        frame = ws.read_table(table)
        for pid, value in zip(frame["parcel_id"].astype(str), frame[column], strict=True):
            if isinstance(value, str):
                stored.setdefault(pid, {})[column] = value
    values = {p[column] for p in stored.values() if isinstance(p.get(column), str)}
    assert len(values) >= 2
    if color_by == "availability":
        assert values <= set(cli_cfg["colors"]), "a status without a colour"
    elif color_by == "state":
        assert values <= set(cli_cfg["colors"]), "a state without a colour (drawn as 'to verify')"
    else:
        assert values & set(cli_cfg["colors"]), "no zone type with its own colour"
    # a tile the served page asks for (its URL): the z16 tile of the most varied colours, then the most parcels
    centres = parcels.geometry.representative_point().to_crs(4326)
    by_tile: dict[tuple[int, int], list[str | None]] = {}
    for pid, point in zip(parcels["parcel_id"].astype(str), centres, strict=True):
        colour = _parcel_colour(cli_cfg, stored.get(pid, {}))
        by_tile.setdefault(tile_for_lonlat(float(point.x), float(point.y), 16), []).append(colour)
    x, y = max(by_tile, key=lambda xy: (len(set(by_tile[xy])), len(by_tile[xy])))
    url = api_cfg["url"].replace("{z}", "16").replace("{x}", str(x)).replace("{y}", str(y))
    tile = served.get(url.removeprefix("http://testserver"))
    assert tile.status_code == 200
    features = mapbox_vector_tile.decode(tile.content)[api_cfg["layer"]]["features"]
    assert len(features) >= 10
    seen: Counter[str | None] = Counter()
    for feature in features:
        props = feature["properties"]
        pid = str(props["parcel_id"])
        expected = _parcel_colour(cli_cfg, {"parcel_id": pid, **stored.get(pid, {})})
        assert _parcel_colour(api_cfg, props) == expected, (pid, props, stored.get(pid))
        seen[expected] += 1
    assert len(seen) >= 2, f"the tile shows a single colour: {seen}"

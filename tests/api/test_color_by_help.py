"""The parcel map's ``color_by`` values: the CLI's help and the OpenAPI document name every one, with its meaning.

The values come from one place, :data:`foncier.maps.parcel_map.ColorBy`; their meanings from
:data:`~foncier.maps.parcel_map.COLOR_BY_MEANINGS`.
"""

from __future__ import annotations

import re
from typing import get_args

import httpx
from click.testing import CliRunner

from foncier.maps.parcel_map import COLOR_BY_MEANINGS, ColorBy
from foncier.scripts.cli import cli

VALUES: tuple[str, ...] = get_args(ColorBy)


def _flat(text: str) -> str:
    """Text with its line wrapping undone (click wraps the help at the terminal's width)."""
    return re.sub(r"\s+", " ", text)


def test_every_value_has_a_meaning_and_only_those() -> None:
    assert set(VALUES) == {"availability", "zoning", "state"}
    assert set(COLOR_BY_MEANINGS) == set(VALUES)
    assert all(meaning.strip() for meaning in COLOR_BY_MEANINGS.values())


def test_cli_help_names_every_value() -> None:
    result = CliRunner().invoke(cli, ["map", "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert f"--color-by [{'|'.join(VALUES)}]" in text
    for value in VALUES:
        assert _flat(f"{value}: {COLOR_BY_MEANINGS[value]}") in text, value
    refused = CliRunner().invoke(cli, ["map", "-w", ".", "--parcels", "--color-by", "score", "-o", "x.html"])
    assert refused.exit_code == 2
    for value in VALUES:  # the refusal lists the accepted values too
        assert value in refused.output


def test_openapi_names_every_value(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/maps/parcels"]["get"]["parameters"]}
    color_by = params["color_by"]
    description = _flat(color_by["description"])
    for value in VALUES:
        assert f"{value}: {_flat(COLOR_BY_MEANINGS[value])}" in description, value
    pattern = re.compile(color_by["schema"]["pattern"])
    assert [v for v in VALUES if pattern.search(v)] == list(VALUES)
    assert not pattern.search("score") and not pattern.search("states")


def test_the_server_accepts_exactly_those_values(client: httpx.Client) -> None:
    for value in VALUES:
        response = client.get("/maps/parcels", params={"color_by": value, "lang": "en"})
        assert response.status_code == 200, (value, response.text[:500])
        assert f'"colorBy": "{value}"' in response.text or f'"colorBy":"{value}"' in response.text
    refused = client.get("/maps/parcels", params={"color_by": "score"})
    assert 400 <= refused.status_code < 500

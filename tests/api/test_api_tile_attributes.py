"""The parcel tiles' opt-in attributes on the live server: ``?state=true`` and ``?zoning=true``.

Each feature's ``state`` / ``typezone`` is what the workspace's ``parcel_availability`` / ``parcel_zoning``
tables say for its ``parcel_id``; without the flag the attribute is absent; a tile with and without a flag are
cached apart (``X-Tile-Cache: hit`` only on a repeated identical request).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import numpy as np
import pytest

from foncier.api.tiles import tile_for_lonlat
from foncier.layers.workspace import Workspace

Z = 16
"""Zoom of the tiles asked for: no other API test asks for z16 tiles, so the first request of each is a miss."""

#: query flag -> (workspace table, its column: the attribute put in the tile)
EXTRAS = {"state": ("parcel_availability", "state"), "zoning": ("parcel_zoning", "typezone")}


@pytest.fixture(scope="module")
def tables(api_workspace: Path) -> dict[str, dict[str, Any]]:
    """``parcel_id`` -> value of each opt-in attribute, as the workspace stores it."""
    ws = Workspace.open(api_workspace)
    out: dict[str, dict[str, Any]] = {}
    for flag, (table, column) in EXTRAS.items():
        assert ws.has_layer(table), f"the scored sample has no {table} table"
        frame = ws.read_table(table)
        out[flag] = dict(zip(frame["parcel_id"].astype(str), frame[column], strict=True))
    return out


@pytest.fixture(scope="module")
def parcels_by_tile(api_workspace: Path) -> dict[tuple[int, int], list[str]]:
    """The parcel ids whose centre lies in each z16 tile (x, y) of the workspace."""
    parcels = Workspace.open(api_workspace).read_layer("parcels", columns=["parcel_id"])
    centres = parcels.geometry.representative_point().to_crs(4326)
    out: dict[tuple[int, int], list[str]] = {}
    for pid, point in zip(parcels["parcel_id"].astype(str), centres, strict=True):
        out.setdefault(tile_for_lonlat(float(point.x), float(point.y), Z), []).append(pid)
    return out


def _telling_tile(parcels_by_tile: dict[tuple[int, int], list[str]], values: dict[str, Any]) -> tuple[int, int]:
    """The tile of at least 10 parcels where ``values`` are the most varied (then the densest one).

    A tile whose parcels all share one value would not show a value given to the wrong parcel.
    """

    def variety(xy: tuple[int, int]) -> tuple[int, int]:
        ids = parcels_by_tile[xy]
        return len({_expected(values.get(p)) for p in ids}), len(ids)

    best = max((xy for xy, ids in parcels_by_tile.items() if len(ids) >= 10), key=variety)
    assert variety(best)[0] >= 2, f"every z16 tile of the sample has a single value: {variety(best)}"
    return best


def _features(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = mapbox_vector_tile.decode(response.content)["parcels"]["features"]
    by_id = {str(f["properties"]["parcel_id"]): f for f in features}
    assert len(by_id) == len(features), "a parcel drawn twice in one tile"
    return by_id


def _expected(value: Any) -> Any:
    """A table value as the tile carries it: text, or no attribute at all for a missing value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value)


@pytest.mark.parametrize("flag", ["state", "zoning"])
def test_attribute_is_the_workspace_value(
    flag: str,
    client: httpx.Client,
    parcels_by_tile: dict[tuple[int, int], list[str]],
    tables: dict[str, dict[str, Any]],
) -> None:
    x, y = _telling_tile(parcels_by_tile, tables[flag])
    attribute = EXTRAS[flag][1]
    url = f"/tiles/parcels/{Z}/{x}/{y}.pbf"
    plain = _features(client.get(url))
    flagged = _features(client.get(url, params={flag: "true"}))
    assert len(plain) >= 10
    assert set(flagged) == set(plain), "the flag adds an attribute, never features"
    assert all(attribute not in f["properties"] for f in plain.values()), f"{attribute} is opt-in"
    checked: Counter[str] = Counter()
    for pid, feature in flagged.items():
        props = feature["properties"]
        expected = _expected(tables[flag].get(pid))
        if expected is None:
            assert attribute not in props, (pid, props)
        else:
            assert props.get(attribute) == expected, (pid, props, expected)
            checked[expected] += 1
        # the other attributes and the geometry are the plain tile's
        assert {k: v for k, v in props.items() if k != attribute} == plain[pid]["properties"]
        assert feature["geometry"] == plain[pid]["geometry"]
    assert sum(checked.values()) >= len(flagged) // 2, f"few parcels of the tile have a {attribute}: {checked}"
    assert len(checked) >= 2, f"the tile shows a single {attribute}: {checked}"


def test_both_flags_together(
    client: httpx.Client, parcels_by_tile: dict[tuple[int, int], list[str]], tables: dict[str, dict[str, Any]]
) -> None:
    x, y = _telling_tile(parcels_by_tile, tables["state"])
    both = _features(client.get(f"/tiles/parcels/{Z}/{x}/{y}.pbf", params={"state": "true", "zoning": "true"}))
    for pid, feature in both.items():
        for flag, (_, column) in EXTRAS.items():
            assert feature["properties"].get(column) == _expected(tables[flag].get(pid)), (pid, flag)


def test_flagged_and_plain_tiles_are_cached_apart(
    live_server: Any, parcels_by_tile: dict[tuple[int, int], list[str]], tables: dict[str, dict[str, Any]]
) -> None:
    # the densest tile that the tests above do not ask for (nor does any other test of the session)
    asked = {_telling_tile(parcels_by_tile, values) for values in tables.values()}
    dense = sorted(parcels_by_tile, key=lambda xy: len(parcels_by_tile[xy]), reverse=True)
    x, y = next(xy for xy in dense if xy not in asked)
    url = f"/tiles/parcels/{Z}/{x}/{y}.pbf"
    variants: list[dict[str, str]] = [{}, {"state": "true"}, {"zoning": "true"}, {"state": "true", "zoning": "true"}]
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        firsts = []
        for params in variants:  # each variant is computed: another variant in the cache is not this one
            response = client.get(url, params=params)
            assert response.status_code == 200
            assert response.headers.get("x-tile-cache") != "hit", params
            firsts.append(response.content)
        assert len(set(firsts)) == len(variants), "the variants are different tiles"
        for params, first in zip(variants, firsts, strict=True):  # the same request again: from the cache
            again = client.get(url, params=params)
            assert again.headers.get("x-tile-cache") == "hit", params
            assert again.content == first

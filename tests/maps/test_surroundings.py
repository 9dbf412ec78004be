"""foncier.maps.surroundings: the layers drawn around the sites of a sheet or a comparison (CLI and API alike)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.compare import SURROUNDINGS
from foncier.maps.site_map import prepare_context
from foncier.maps.site_sheet import CONTEXT_MARGIN_M, SHEET_CONTEXT, SHEET_TARGETS
from foncier.maps.style import ROAD_WEIGHTS
from foncier.maps.surroundings import LAYER_WHERE, load_context, margin_box, surroundings


@pytest.fixture(scope="module")
def ws(scored_sample_workspace: Path) -> Workspace:
    return Workspace.open(scored_sample_workspace)


@pytest.fixture(scope="module")
def sites(ws: Workspace) -> gpd.GeoDataFrame:
    frame = scored_sites(ws, "default").sites
    return frame[~frame["excluded"].astype(bool)].sort_values("score", ascending=False)


def _meets(frame: gpd.GeoDataFrame, box: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """The features whose envelope meets ``box`` (what the GeoPackage R-tree keeps)."""
    b = frame.geometry.bounds
    return frame[(b["maxx"] >= box[0]) & (b["minx"] <= box[2]) & (b["maxy"] >= box[1]) & (b["miny"] <= box[3])]


def _wkb(frame: gpd.GeoDataFrame) -> list[bytes]:
    return sorted(g.wkb for g in frame.geometry)


def test_margin_box_holds_every_site_a_margin_away_from_its_edges(sites: gpd.GeoDataFrame) -> None:
    chosen = sites.iloc[:3]
    x0, y0, x1, y1 = margin_box(chosen)
    for geom in chosen.geometry:
        gx0, gy0, gx1, gy1 = geom.bounds
        assert min(gx0 - x0, gy0 - y0, x1 - gx1, y1 - gy1) >= CONTEXT_MARGIN_M - 1e-6
    # and no wider: one side of the sites' bounds touches each edge less the margin
    sx0, sy0, sx1, sy1 = chosen.total_bounds
    assert (x0, y0, x1, y1) == pytest.approx((sx0 - CONTEXT_MARGIN_M, sy0 - CONTEXT_MARGIN_M,
                                               sx1 + CONTEXT_MARGIN_M, sy1 + CONTEXT_MARGIN_M))  # fmt: skip


@pytest.mark.parametrize(("count", "layers"), [(1, SHEET_CONTEXT), (2, SURROUNDINGS)], ids=["sheet", "comparison"])
def test_context_near_the_sites_and_targets_whole(
    ws: Workspace, sites: gpd.GeoDataFrame, count: int, layers: tuple[str, ...]
) -> None:
    chosen = sites.iloc[:count]
    box = margin_box(chosen)
    out = surroundings(ws, chosen, layers)
    held = set(ws.list_layers())
    assert set(out) == (set(layers) | set(SHEET_TARGETS)) & held
    assert "parcels" not in out
    cut = 0
    for name in layers:
        if name not in held or name in SHEET_TARGETS:
            continue
        whole = ws.read_layer(name, where=LAYER_WHERE.get(name))
        assert _wkb(out[name]) == _wkb(_meets(whole, box)), name
        cut += len(whole) - len(out[name])
    assert cut > 0, "the margin box kept every feature of every layer: the test does not see the box"
    for name in set(SHEET_TARGETS) & held:
        assert _wkb(out[name]) == _wkb(ws.read_layer(name)), name


def test_main_roads_only_and_the_same_roads_drawn(ws: Workspace, sites: gpd.GeoDataFrame) -> None:
    """The roads read are the main ones, and what a map draws of them is what it drew of the whole roads layer
    (the served pages read every road before the surroundings were shared)."""
    assert ws.has_layer("roads")
    box = margin_box(sites.iloc[:1])
    read = load_context(ws, ("roads",), bbox=box)["roads"]
    everything = ws.read_layer("roads", bbox=box)
    assert len(read) < len(everything), "the sample's roads near a site should hold minor ones"
    assert set(read["class"].astype(str)) <= set(ROAD_WEIGHTS)
    assert _wkb(prepare_context("roads", read)) == _wkb(prepare_context("roads", everything))


def test_load_context_defaults_to_the_site_map_layers_and_skips_missing_ones(ws: Workspace) -> None:
    from foncier.maps.site_map import CONTEXT_ORDER, ORIENTATION_LAYERS

    wanted = [*(name for name, _ in CONTEXT_ORDER), *ORIENTATION_LAYERS]
    out = load_context(ws)
    assert list(out) == [n for n in wanted if ws.has_layer(n)]
    assert load_context(ws, ("no_such_layer",)) == {}


def test_sheet_parcels_from_the_site_or_its_links(ws: Workspace, sites: gpd.GeoDataFrame) -> None:
    """A sheet lists the site's parcels (``parcel_ids``); a site without them is looked up in ``site_parcels``:
    the CLI's sheet and the served one list the same parcels either way."""
    from foncier.maps.site_sheet import PARCEL_COLUMNS
    from foncier.maps.surroundings import sheet_parcels

    site_id = str(sites.index[0])
    site = sites.loc[[site_id]]
    listed = sheet_parcels(ws, site, site_id, PARCEL_COLUMNS)
    expected = {p for p in str(site.iloc[0]["parcel_ids"]).split(",") if p}
    assert expected and set(listed["parcel_id"].astype(str)) == expected
    assert set(PARCEL_COLUMNS) - {"geometry"} <= set(listed.columns) | {"geometry"}
    assert ws.has_layer("site_parcels")
    unlinked = site.copy()
    unlinked["parcel_ids"] = None
    links = ws.read_table("site_parcels", where=f"site_id = '{site_id}'")
    assert set(sheet_parcels(ws, unlinked, site_id, PARCEL_COLUMNS)["parcel_id"].astype(str)) == set(
        links["parcel_id"].astype(str)) == expected  # fmt: skip
    assert sheet_parcels(ws, unlinked, "no-such-site", PARCEL_COLUMNS).empty
    assert sheet_parcels(ws, unlinked, "x' OR '1'='1", PARCEL_COLUMNS).empty  # a quote cannot widen the query

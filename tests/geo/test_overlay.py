"""Shares, distances and dominant zoning (foncier.geo.overlay)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.errors import CRSError
from foncier.geo.overlay import (
    brownfield_polygons,
    distance_to,
    dominant_zoning,
    share_brownfield,
    share_flood_blue,
    share_flood_red,
    share_in,
    share_protected,
    subdivide,
    zoning_class,
)

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0  # somewhere in the Aisne, Lambert-93


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def gdf(geoms: list, **cols: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=L93)


def test_share_in_counts_overlaps_once() -> None:
    sites = gdf([box(0, 0, 100, 100), box(200, 0, 300, 100), box(400, 0, 500, 100)], site_id=["a", "b", "c"])
    sites.index = [10, 20, 30]
    polys = gdf(
        [
            box(-10, -10, 50, 110),  # left half of a
            box(0, 0, 50, 100),  # the same half again: must not double count
            box(25, 0, 75, 100),  # overlaps the first by half: a covered 0..75
            box(150, -50, 350, 150),  # all of b
        ]
    )
    share = share_in(sites, polys)
    assert list(share.index) == [10, 20, 30]
    assert share.tolist() == pytest.approx([0.75, 1.0, 0.0])


def test_share_in_where_filters_polygons() -> None:
    sites = gdf([box(0, 0, 100, 100)])
    flood = gdf([box(0, 0, 30, 100), box(30, 0, 100, 100), box(0, 0, 100, 100)], level=["red", "blue", "other"])
    assert share_flood_red(sites, flood).iloc[0] == pytest.approx(0.3)
    assert share_flood_blue(sites, flood).iloc[0] == pytest.approx(0.7)
    assert share_in(sites, flood, where=lambda f: f["level"] == "nothing").iloc[0] == 0
    assert share_in(sites, flood, where=flood["level"] != "other").iloc[0] == pytest.approx(1.0)


def test_share_protected_by_kind() -> None:
    sites = gdf([box(0, 0, 100, 100)])
    protected = gdf([box(0, 0, 40, 100), box(20, 0, 60, 100)], kind=["natura2000_sic", "znieff1"], code=["x", "y"])
    assert share_protected(sites, protected).iloc[0] == pytest.approx(0.6)
    assert share_protected(sites, protected, kinds=["znieff1"]).iloc[0] == pytest.approx(0.4)


def test_crs_is_required() -> None:
    sites = gdf([box(0, 0, 100, 100)])
    lonlat = gpd.GeoDataFrame(geometry=[shapely.box(3.1, 49.1, 3.2, 49.2)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="Lambert-93"):
        share_in(sites, lonlat)
    with pytest.raises(CRSError):
        distance_to(sites.set_crs(None, allow_override=True), sites)


rects = st.tuples(
    st.floats(0, 900, allow_nan=False), st.floats(0, 900, allow_nan=False), st.floats(1, 300), st.floats(1, 300)
).map(lambda t: box(t[0], t[1], t[0] + t[2], t[1] + t[3]))


@settings(max_examples=80, deadline=None)
@given(st.lists(rects, min_size=1, max_size=6), st.lists(rects, min_size=0, max_size=8))
def test_share_in_matches_union_reference(site_geoms: list, poly_geoms: list) -> None:
    sites = gdf(site_geoms)
    polys = gdf(poly_geoms) if poly_geoms else gpd.GeoDataFrame(geometry=[], crs=L93)
    share = share_in(sites, polys)
    assert ((share >= 0) & (share <= 1)).all()
    union = shapely.union_all(poly_geoms) if poly_geoms else shapely.Polygon()
    for geom, value in zip(site_geoms, share, strict=True):
        assert value == pytest.approx(geom.intersection(union).area / geom.area, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(rects, min_size=1, max_size=5), st.floats(0, 50))
def test_share_of_fully_covered_site_is_one(site_geoms: list, margin: float) -> None:
    sites = gdf(site_geoms)
    # cover every site with a few overlapping pieces whose union contains it
    pieces = []
    for g in site_geoms:
        x0, y0, x1, y1 = g.bounds
        xm = (x0 + x1) / 2
        pieces += [
            shapely.box(x0 - margin, y0 - margin, xm + 1, y1 + margin),
            shapely.box(xm - 1, y0 - margin, x1 + margin, y1 + margin),
        ]
    share = share_in(sites, gdf(pieces))
    assert share.to_numpy() == pytest.approx(1.0)


def test_distance_to_is_zero_inside_and_nearest_otherwise() -> None:
    sites = gdf([box(0, 0, 10, 10), box(100, 0, 110, 10), box(500, 500, 510, 510)])
    zones = gdf([box(5, 5, 50, 50), box(130, 0, 140, 10)])
    d = distance_to(sites, zones)
    assert d.tolist() == pytest.approx([0.0, 20.0, float(np.hypot(360, 490))])  # to the corner (140, 10)
    points = gdf([shapely.Point(X0 + 105, Y0 + 40)], fret=[True])
    assert distance_to(sites, points, where=points["fret"]).iloc[1] == pytest.approx(30.0)
    assert distance_to(sites, points, where=~points["fret"]).isna().all()


@pytest.mark.parametrize(
    ("typezone", "destdomi", "libelle", "expected"),
    [
        ("U", "activite", "UB", "economic_U"),
        ("U", "Activités économiques", None, "economic_U"),
        ("U", "02", "UB", "economic_U"),  # CNIG code for activity
        ("U", None, "UX", "economic_U"),
        ("U", None, "uz1", "economic_U"),
        ("U", "", "UE", "economic_U"),
        ("U", "habitat", "UA", "U"),
        ("U", None, "UH", "U"),
        ("AUc", None, "1AUx", "economic_AUc"),
        ("AUs", None, "2AUe", "economic_AUs"),
        ("AUc", "activite", "1AU", "economic_AUc"),
        ("AUc", None, "1AUh", "AUc"),
        ("AUc", None, "AU", "AUc"),
        ("A", "activite agricole", "A", "A"),
        ("N", None, "Nx", "N"),
        (None, None, None, "none"),
    ],
)
def test_zoning_class_rules(typezone: str | None, destdomi: str | None, libelle: str | None, expected: str) -> None:
    plu = gdf([box(0, 0, 1, 1)], typezone=[typezone], destdomi=[destdomi], libelle=[libelle])
    assert zoning_class(plu).iloc[0] == expected


def test_dominant_zoning_by_largest_area_with_uncovered_as_none() -> None:
    plu = gdf(
        [box(0, 0, 60, 100), box(60, 0, 100, 100), box(200, 0, 230, 100), box(300, 0, 400, 100)],
        typezone=["U", "A", "AUc", "N"],
        destdomi=[None, None, None, None],
        libelle=["UX", "A", "1AUx", "N"],
    )
    sites = gdf(
        [
            box(0, 0, 100, 100),  # 60 % economic U, 40 % A
            box(40, 0, 100, 100),  # 20 % economic U, 80 % A
            box(200, 0, 300, 100),  # 30 % economic AU, 70 % under no zoning
            box(1000, 0, 1100, 100),  # no zoning at all
            box(300, 0, 350, 100),  # inside an N zone (contained: no clipping needed)
        ]
    )
    assert dominant_zoning(sites, plu).tolist() == ["economic_U", "A", "none", "none", "N"]


def test_brownfield_points_count_as_their_parcel() -> None:
    parcels = gdf([box(0, 0, 50, 100), box(50, 0, 100, 100), box(100, 0, 200, 100)], parcel_id=["p1", "p2", "p3"])
    sites = gdf([box(0, 0, 100, 100), box(100, 0, 200, 100)])
    friches = gdf(
        [shapely.Point(X0 + 25, Y0 + 50), shapely.Point(X0 + 5000, Y0 + 5000)],
        site_id=["f1", "f2"],
        site_statut=[None, None],
        site_surface_m2=[1.0, 400.0 * np.pi],  # the second is in no parcel: a disc of radius 20 m
    )
    share = share_brownfield(sites, friches, parcels=parcels)
    assert share.tolist() == pytest.approx([0.5, 0.0])
    polys = brownfield_polygons(friches, parcels=parcels)
    assert len(polys) == 2
    assert polys.area.sort_values().tolist() == pytest.approx([400 * np.pi, 5000], rel=0.02)


def test_brownfield_without_parcels_uses_declared_surface(caplog: pytest.LogCaptureFixture) -> None:
    sites = gdf([box(0, 0, 100, 100)])
    friches = gdf(
        [shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 50, Y0 + 50), box(0, 0, 10, 100)],
        site_id=["f1", "f2", "f3"],
        site_statut=[None, None, None],
        site_surface_m2=[2000.0, None, None],
    )
    with caplog.at_level(logging.WARNING):
        share = share_brownfield(sites, friches)
    # disc of 2000 m2 (inside the site) + 1000 m2 strip, overlapping by less than the disc's left part
    disc = shapely.Point(X0 + 50, Y0 + 50).buffer(np.sqrt(2000 / np.pi), quad_segs=8)
    expected = disc.union(box(0, 0, 10, 100)).area / 10_000
    assert share.iloc[0] == pytest.approx(expected)
    assert "without surface" in caplog.text


def test_empty_inputs() -> None:
    empty_sites = gpd.GeoDataFrame(geometry=[], crs=L93)
    polys = gdf([box(0, 0, 1, 1)])
    assert share_in(empty_sites, polys).empty
    assert distance_to(empty_sites, polys).empty
    sites = gdf([box(0, 0, 1, 1)])
    assert share_in(sites, gpd.GeoDataFrame(geometry=[], crs=L93)).tolist() == [0.0]
    assert pd.isna(distance_to(sites, gpd.GeoDataFrame(geometry=[], crs=L93)).iloc[0])


def test_subdivide_keeps_area_and_bounds_piece_size() -> None:
    ring = shapely.Point(X0, Y0).buffer(1000, quad_segs=500)  # 2001 vertices
    holed = ring.difference(shapely.Point(X0 + 200, Y0).buffer(300, quad_segs=200))
    small = box(5000, 0, 5010, 10)
    pieces, owner = subdivide(np.array([holed, small], dtype=object), max_vertices=64)
    assert len(pieces) > 20
    assert (shapely.get_num_coordinates(pieces) <= 64).all()
    assert set(owner.tolist()) == {0, 1}
    assert shapely.area(pieces[owner == 0]).sum() == pytest.approx(holed.area, rel=1e-9)
    assert shapely.union_all(pieces[owner == 0]).symmetric_difference(holed).area < 1e-3
    assert pieces[owner == 1][0].equals(small)
    untouched, same = subdivide(np.array([small], dtype=object))
    assert untouched[0] is small and same.tolist() == [0]


def test_large_sites_are_subdivided_with_identical_results() -> None:
    big = shapely.Point(X0, Y0).buffer(1000, quad_segs=400)  # 1601 vertices: split before overlay
    sites = gdf([big, box(3000, 0, 3100, 100)])
    u_strips = [box(-1000 + 100 * k, -1000, -1000 + 100 * k + 60, 1000) for k in range(20)]
    a_strips = [box(-1000 + 100 * k + 60, -1000, -1000 + 100 * k + 100, 1000) for k in range(20)]
    plu = gdf(
        u_strips + a_strips, typezone=["U"] * 20 + ["A"] * 20, destdomi=[None] * 40, libelle=["UX"] * 20 + ["A"] * 20
    )
    share = share_in(sites, plu, where=plu["typezone"] == "U")
    union_u = shapely.union_all(u_strips)
    assert share.iloc[0] == pytest.approx(big.intersection(union_u).area / big.area, rel=1e-9)
    assert 0.55 < share.iloc[0] < 0.65
    # 60 m economic U strips against 40 m A strips: economic U dominates
    assert dominant_zoning(sites, plu).tolist() == ["economic_U", "none"]


def test_dominant_value_picks_the_largest_cover() -> None:
    from foncier.geo.overlay import dominant_value

    crs = "EPSG:2154"
    x0, y0 = 700_000.0, 6_900_000.0
    zones = gpd.GeoDataFrame(
        {"typezone": ["U", "A"]},
        geometry=[shapely.box(x0, y0, x0 + 60, y0 + 100), shapely.box(x0 + 60, y0, x0 + 100, y0 + 100)],
        crs=crs,
    )
    parcels = gpd.GeoDataFrame(
        geometry=[shapely.box(x0 + 10, y0, x0 + 90, y0 + 10),  # 50 in U, 30 in A
                  shapely.box(x0 + 50, y0 + 50, x0 + 100, y0 + 60),  # 10 in U, 40 in A
                  shapely.box(x0 + 500, y0, x0 + 510, y0 + 10)],  # outside
        crs=crs, index=[7, 8, 9],
    )  # fmt: skip
    got = dominant_value(parcels, zones, "typezone")
    assert got.to_dict() == {7: "U", 8: "A", 9: None}
    strict = dominant_value(parcels, zones, "typezone", min_share=0.7)
    assert strict.to_dict() == {7: None, 8: "A", 9: None}

"""Available parcels and candidate sites on synthetic parcels (foncier.geo.sites)."""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.errors import CRSError
from foncier.geo.sites import SITE_COLUMNS, available_parcels, candidate_sites, parcel_groups, site_id

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def parcels_gdf(geoms: list, ids: list[str] | None = None, **cols: list) -> gpd.GeoDataFrame:
    ids = ids or [f"02722000AB{i:04d}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"parcel_id": ids, "commune": [i[:5] for i in ids], **cols}, geometry=geoms, crs=L93)


def test_site_id_formula() -> None:
    ids = ["022580000A0100", "022580000A0099"]
    expected = "S" + hashlib.sha1(b"022580000A0099,022580000A0100").hexdigest()[:10]
    assert site_id(ids) == expected
    assert site_id(reversed(ids)) == expected  # type: ignore[arg-type]
    assert len(expected) == 11


def test_groups_touching_and_within_gap() -> None:
    geoms = np.array(
        [
            box(0, 0, 100, 100),
            box(100, 0, 200, 100),  # touches 0
            box(204, 0, 300, 100),  # 4 m from 1: a lane
            box(306, 0, 400, 100),  # 6 m from 2: another block
            box(0, 200, 50, 250),  # alone
        ],
        dtype=object,
    )
    labels = parcel_groups(geos := geoms, gap_m=5.0)
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[2], labels[3], labels[4]}) == 3
    labels0 = parcel_groups(geos, gap_m=0.0)
    assert labels0[0] == labels0[1] != labels0[2]


def test_candidate_sites_schema_area_filter_and_geometry() -> None:
    parcels = parcels_gdf(
        [
            box(0, 0, 100, 100),
            box(100, 0, 200, 50),
            box(100, 50, 200, 100),
            box(204, 0, 300, 100),  # joins across a 4 m lane
            box(1000, 0, 1050, 50),  # 2500 m2 alone: dropped below 10000
            box(2000, 0, 2100, 100),  # 10000 m2 alone: kept (>=)
        ],
        ids=[
            "02722000AB0001",
            "02722000AB0002",
            "02722000AB0003",
            "02245000ZC0010",
            "02722000AB0005",
            "02722000AB0006",
        ],
    )
    sites, site_parcels = candidate_sites(parcels)
    assert list(sites.columns) == [*SITE_COLUMNS, "geometry"]
    assert sites.crs.to_epsg() == 2154
    assert sites["site_id"].is_monotonic_increasing
    assert len(sites) == 2
    big = sites[sites["n_parcels"] == 4].iloc[0]
    assert big["area_m2"] == pytest.approx(10_000 + 5_000 + 5_000 + 9_600)
    assert big["min_lot_m2"] == pytest.approx(5_000)
    assert big["max_lot_m2"] == pytest.approx(10_000)
    assert big["communes"] == "02245,02722"
    assert big["parcel_ids"] == "02245000ZC0010,02722000AB0001,02722000AB0002,02722000AB0003"
    assert big["site_id"] == site_id(big["parcel_ids"].split(","))
    # the 4 m lane is closed in the outline: one polygon including the lane
    assert big["geometry"].geom_type == "Polygon"
    assert big["geometry"].area == pytest.approx(30_000, rel=1e-6)
    assert big["geometry"].contains(shapely.Point(X0 + 202, Y0 + 50))
    small = sites[sites["n_parcels"] == 1].iloc[0]
    assert small["parcel_ids"] == "02722000AB0006"
    assert set(site_parcels.columns) == {"site_id", "parcel_id"}
    assert len(site_parcels) == 5
    assert site_parcels.groupby("site_id").size().to_dict() == dict(
        zip(sites["site_id"], sites["n_parcels"], strict=True)
    )
    everything, _ = candidate_sites(parcels, min_area_m2=0)
    assert len(everything) == 3


def test_candidate_sites_edge_cases() -> None:
    empty, empty_parcels = candidate_sites(parcels_gdf([]))
    assert list(empty.columns) == [*SITE_COLUMNS, "geometry"]
    assert empty.empty and empty_parcels.empty
    dup = parcels_gdf([box(0, 0, 10, 10), box(20, 0, 30, 10)], ids=["02722000AB0001"] * 2)
    with pytest.raises(ValueError, match="duplicate"):
        candidate_sites(dup)
    with pytest.raises(CRSError):
        candidate_sites(parcels_gdf([box(0, 0, 10, 10)]).set_crs("EPSG:3857", allow_override=True))


@st.composite
def parcel_grids(draw: st.DrawFn) -> gpd.GeoDataFrame:
    """Random subsets of a jittered grid of rectangular parcels, some separated by lanes."""
    n = draw(st.integers(3, 7))
    cells = draw(
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=n * n, unique=True)
    )
    lanes_x = draw(st.lists(st.sampled_from([0.0, 0.0, 3.0, 8.0]), min_size=n, max_size=n))
    geoms, ids = [], []
    for k, (i, j) in enumerate(sorted(cells)):
        x0 = i * 50.0 + sum(lanes_x[:i])
        geoms.append(box(x0, j * 40.0, x0 + 50.0, j * 40.0 + 40.0))
        ids.append(f"02722000AB{k:04d}")
    return parcels_gdf(geoms, ids)


@settings(max_examples=50, deadline=None)
@given(parcel_grids(), st.sampled_from([0.0, 5.0]), st.sampled_from([0.0, 3000.0]))
def test_sites_partition_parcels_and_cover_them(parcels: gpd.GeoDataFrame, gap: float, min_area: float) -> None:
    sites, site_parcels = candidate_sites(parcels, gap_m=gap, min_area_m2=min_area)
    assert (sites["area_m2"] >= min_area).all()
    assert not site_parcels["parcel_id"].duplicated().any()  # a parcel is in one site at most
    geom_by_id = parcels.set_index("parcel_id").geometry
    for _, site in sites.iterrows():
        ids = site["parcel_ids"].split(",")
        members = shapely.union_all(geom_by_id.loc[ids].to_numpy())
        # the union of the site geometry covers every parcel it lists
        assert site["geometry"].buffer(1e-6).covers(members)
        assert site["area_m2"] == pytest.approx(members.area)
        assert site["n_parcels"] == len(ids)
    if min_area == 0:
        assert sorted(site_parcels["parcel_id"]) == sorted(parcels["parcel_id"])
        # parcels of different sites are further apart than the gap
        owner = site_parcels.set_index("parcel_id")["site_id"]
        geoms = geom_by_id.to_numpy()
        pid = geom_by_id.index.to_numpy()
        for a in range(len(pid)):
            for b in range(a + 1, len(pid)):
                if owner[pid[a]] != owner[pid[b]]:
                    assert geoms[a].distance(geoms[b]) > gap


def test_available_parcels_rules() -> None:
    parcels = parcels_gdf(
        [box(i * 100, 0, i * 100 + 100, 100) for i in range(8)],
        status=["available", None, "sold", "under_option", None, None, "not_for_sale", None],
    )
    plu = gpd.GeoDataFrame(
        {"typezone": ["U", "A", "AUc"], "destdomi": [None, None, "activite"], "libelle": ["UX", "A", "1AU"]},
        geometry=[box(0, -10, 370, 110), box(370, -10, 710, 110), box(710, -10, 800, 110)],
        crs=L93,
    )
    zones = gpd.GeoDataFrame(
        {"zone_id": ["z"], "nom": ["ZA"]}, geometry=[box(440, 0, 500, 100)], crs=L93
    )  # 60 % of parcel 4
    friches = gpd.GeoDataFrame(
        {"site_id": ["f"], "site_statut": [None], "site_surface_m2": [None]},
        geometry=[shapely.Point(X0 + 550, Y0 + 50)],
        crs=L93,
    )
    avail = available_parcels(parcels, plu, zones, friches)
    assert avail.dtype == bool
    assert list(avail.index) == list(parcels.index)
    # 0, 1: economic U (0 declared available, 1 no status); 2: economic U but sold; 3: 70 % economic U ->
    # dominant, but under option (committed); 4: A zoning but 60 % in a zone d'activite; 5: holds a friche;
    # 6: not for sale; 7: 90 % economic AU
    assert avail.tolist() == [True, True, False, False, True, True, False, True]
    assert available_parcels(parcels, plu, None, None).tolist() == [True, True, False, False, False, False, False, True]
    # without any layer, only the parcel an officer declared available is a candidate
    assert available_parcels(parcels, None, None, None).tolist() == [True] + [False] * 7
    no_status = parcels.drop(columns="status")
    assert available_parcels(no_status, plu, None, None).tolist()[2] is True
    # zones: strictly more than half
    half = gpd.GeoDataFrame({"zone_id": ["z"], "nom": ["ZA"]}, geometry=[box(450, 0, 500, 100)], crs=L93)
    assert not available_parcels(parcels, None, half, None).iloc[4]
    assert isinstance(avail, pd.Series)

"""Availability as a reasoned state per parcel: built share, officers' statuses, inventory, friches."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.geo.availability import (
    LIGHT_BUILDING_FACTOR,
    REASONS_FR,
    STATES,
    built_share,
    parcel_availability,
    state_counts,
)

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def parcels(n: int, **cols: list) -> gpd.GeoDataFrame:
    """``n`` 100 x 100 m parcels in a row, ids 02722000AB0001..."""
    ids = [f"02722000AB{i + 1:04d}" for i in range(n)]
    geoms = [box(i * 100, 0, i * 100 + 100, 100) for i in range(n)]
    return gpd.GeoDataFrame({"parcel_id": ids, "commune": "02722", **cols}, geometry=geoms, crs=L93)


def buildings(rects: list[tuple[float, float, float, float]], types: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"type": types, "commune": "02722"}, geometry=[box(*r) for r in rects], crs=L93)


def test_built_share_counts_light_buildings_less_and_splits_across_parcels() -> None:
    p = parcels(3)
    b = buildings(
        [(10, 10, 30, 60), (120, 10, 140, 60), (190, 0, 210, 50)],  # 1000 m2 hard; 1000 m2 light; 1000 m2 astride
        ["01", "02", "01"],
    )
    share = built_share(p, b)
    assert list(share.index) == list(p.index)
    assert share.iloc[0] == pytest.approx(0.1)
    assert share.iloc[1] == pytest.approx((1000 * LIGHT_BUILDING_FACTOR + 500) / 10_000)
    assert share.iloc[2] == pytest.approx(0.05)
    assert built_share(p, b, light_factor=1.0).iloc[1] == pytest.approx(0.15)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 280), st.floats(0, 80), st.floats(1, 60), st.floats(1, 60)), max_size=12))
def test_built_share_is_a_share(rects: list[tuple[float, float, float, float]]) -> None:
    p = parcels(3)
    b = buildings([(x, y, x + w, y + h) for x, y, w, h in rects], ["01"] * len(rects))
    share = built_share(p, b)
    assert ((share >= 0) & (share <= 1)).all()
    # the total built area is the union-free sum over the parcels, capped at the buildings' own area
    total = float((share * 10_000).sum())
    assert total <= float(b.geometry.area.sum()) + 1e-6


def _plu_economic(n: int) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"typezone": ["U"], "destdomi": ["02"], "libelle": ["UX"]}, geometry=[box(-5, -5, n * 100 + 5, 105)], crs=L93
    )


def test_states_and_reasons_follow_the_precedence() -> None:
    p = parcels(9, status=[None, "available", "sold", "under_option", None, None, None, None, "bogus"])
    b = buildings(
        [(5, 5, 45, 45), (105, 5, 145, 45), (405, 5, 445, 45), (505, 5, 545, 45)],  # 16 % built each
        ["01", "01", "01", "01"],
    )
    friches = gpd.GeoDataFrame(
        {"site_id": ["f1", "f2"], "site_statut": ["friche sans projet", "friche avec projet"],
         "sol_pollution_existe": ["pollution avérée", "inconnu"]},
        geometry=[shapely.Point(X0 + 450, Y0 + 50), shapely.Point(X0 + 650, Y0 + 50)],
        crs=L93,
    )  # fmt: skip
    terrains = gpd.GeoDataFrame(
        {"terr_refcad": ["02722000AB0006", "02722000AB0008"],
         "terr_stade_comm": ["non commercialisé", "vendu, commercialisation achevée"],
         "terr_etat_occup": ["occupé", "inoccupé"]},
        geometry=[box(500, 0, 600, 100), box(700, 0, 800, 100)],
        crs=L93,
    )  # fmt: skip
    table = parcel_availability(
        p, buildings=b, plu=_plu_economic(9), friches=friches, terrains=terrains, built_threshold=0.10
    )
    got = list(zip(table["state"], table["reason"], strict=True))
    assert got == [
        ("built", "built_share"),  # 0: economic zoning but 16 % built
        ("available", "declared"),  # 1: an officer declared it (built: flagged)
        ("committed", "sold"),
        ("committed", "under_option"),
        ("available", "brownfield"),  # 4: built brownfield stays a candidate
        ("occupied", "inventory_occupied"),  # 5: the inventory says occupied (its building too)
        ("committed", "friche_with_project"),  # 6: Cartofriches "avec projet"
        ("committed", "inventory_sold"),  # 7: TERRAIN-ECO sold
        ("to_verify", "invalid_status"),  # 8: a status outside the vocabulary is never "available"
    ]
    assert "demolition_reconversion" in table["flags"].iloc[4] and "pollution" in table["flags"].iloc[4]
    assert "built_declared" in table["flags"].iloc[1]
    assert table["candidate"].tolist() == [s == "available" for s in table["state"]]
    assert table["reason_fr"].tolist() == [REASONS_FR[r] for r in table["reason"]]
    # a higher threshold frees parcel 0: free land in economic zoning
    loose = parcel_availability(p, buildings=b, plu=_plu_economic(9), built_threshold=0.2)
    assert (loose["state"].iloc[0], loose["reason"].iloc[0]) == ("available", "economic_zoning")


def test_nothing_known_is_to_verify_and_counts_list_every_state() -> None:
    table = parcel_availability(parcels(4))
    assert set(table["state"]) == {"to_verify"} and set(table["reason"]) == {"no_information"}
    assert table["built_share"].isna().all()  # no buildings layer: unknown, not zero
    counts = state_counts(table)
    assert list(counts) == list(STATES) and counts["to_verify"] == 4 and sum(counts.values()) == 4


def test_vacant_plot_of_a_zone_and_zone_share() -> None:
    p = parcels(2)
    zones = gpd.GeoDataFrame({"zone_id": ["z"], "nom": ["ZA"]}, geometry=[box(0, 0, 140, 100)], crs=L93)
    table = parcel_availability(p, zones=zones)
    assert table["reason"].tolist() == ["zone_vacant_plot", "no_information"]  # 40 % of parcel 1 is not enough


def test_statuses_argument_overrides_the_column() -> None:
    p = parcels(2, status=["sold", None])
    table = parcel_availability(p, statuses=pd.Series({"02722000AB0002": "sold"}), plu=_plu_economic(2))
    assert table["state"].tolist() == ["available", "committed"]


def test_bad_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="built_threshold"):
        parcel_availability(parcels(1), built_threshold=1.5)
    assert np.isnan(parcel_availability(parcels(1))["built_share"].iloc[0])


def test_inventory_criteria_are_area_weighted_and_missing_when_not_inventoried() -> None:
    from foncier.geo.availability import inventory_criteria

    links = pd.DataFrame({"site_id": ["A", "A", "A", "B"], "parcel_id": ["p1", "p2", "p3", "p4"]})
    area = pd.Series({"p1": 1000.0, "p2": 3000.0, "p3": 500.0, "p4": 800.0})
    terrains = pd.DataFrame(
        {"terr_refcad": ["p1", "p2|p9"], "terr_cle_en_main": ["oui", "non"], "terr_m2_prix": [20.0, 40.0],
         "terr_maitrise_fonc": ["commune", "établissement public foncier"]}
    )  # fmt: skip
    crit = inventory_criteria(links, area, terrains)
    assert crit.loc["A", "inventory_turnkey_share"] == pytest.approx(0.25)  # p3 is not inventoried: left out
    assert crit.loc["A", "inventory_price_m2"] == pytest.approx((1000 * 20 + 3000 * 40) / 4000)
    assert crit.loc["A", "inventory_public_control_share"] == pytest.approx(0.25)
    assert crit.loc["A", "inventory_epf_control_share"] == pytest.approx(0.75)
    assert crit.loc["B"].isna().all()
    assert inventory_criteria(links, area, None).isna().all().all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.sampled_from([None, "available", "under_option", "sold", "not_for_sale", "typo"]), min_size=6,
             max_size=6),
    st.lists(st.floats(0, 95), min_size=6, max_size=6),
    st.floats(0.0, 0.9),
)  # fmt: skip
def test_availability_invariants(statuses: list, sizes: list[float], threshold: float) -> None:
    p = parcels(6, status=statuses)
    b = buildings([(i * 100 + 2, 2, i * 100 + 2 + s, 2 + s) for i, s in enumerate(sizes) if s > 1],
                  ["01"] * sum(s > 1 for s in sizes))  # fmt: skip
    plu = _plu_economic(6)
    table = parcel_availability(p, buildings=b, plu=plu, built_threshold=threshold)
    assert set(table["state"]) <= set(STATES)
    assert (table["candidate"] == (table["state"] == "available")).all()
    status = pd.Series(statuses)
    # an officer's commitment always wins; a mistyped status is never available
    assert (table["state"][status.isin(["under_option", "sold", "not_for_sale"]).to_numpy()] == "committed").all()
    assert (table["state"][(status == "typo").to_numpy()] == "to_verify").all()
    # a looser threshold never makes fewer parcels available
    looser = parcel_availability(p, buildings=b, plu=plu, built_threshold=min(1.0, threshold + 0.1))
    assert looser["candidate"].sum() >= table["candidate"].sum()
    # no candidate is built above the threshold unless declared by an officer (flagged)
    over = table["candidate"] & (table["built_share"] > threshold)
    assert table.loc[over, "flags"].str.contains("demolition_reconversion").all()

"""Stable site identity: a site keeps its id when most of its land stays; the lineage says what became of
the others. Also: sites of every size a profile wants, and site flags."""

from __future__ import annotations

import pandas as pd
import pytest

from foncier.geo.sites import site_flags, site_id, smallest_site_area, stable_site_ids
from foncier.layers.lineage import fate_from_rows


def links(groups: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([(s, p) for s, ps in groups.items() for p in ps], columns=["site_id", "parcel_id"])


def hashed(*groups: list[str]) -> pd.DataFrame:
    return links({site_id(g): g for g in groups})


AREA = pd.Series({f"P{i}": 1000.0 for i in range(20)} | {"BIG": 9000.0})


def test_a_site_losing_one_parcel_keeps_its_id() -> None:
    old = hashed([f"P{i}" for i in range(6)])
    new = hashed([f"P{i}" for i in range(5)])  # P5 sold
    renames, lineage = stable_site_ids(new, AREA, old, recorded="t1")
    old_id, new_id = old["site_id"].iloc[0], new["site_id"].iloc[0]
    assert renames == {new_id: old_id}
    assert lineage.to_dict("records") == [
        {"old_site_id": old_id, "new_site_id": old_id, "relation": "kept", "shared_share": round(5 / 6, 4),
         "recorded": "t1"}
    ]  # fmt: skip


def test_a_site_gaining_much_more_land_gets_a_new_id_and_the_old_one_says_where_it_went() -> None:
    old = hashed(["P0", "P1"])
    new = hashed(["P0", "P1", "BIG"])  # the old land is 2/11 of the new site: not "most of its land"
    renames, lineage = stable_site_ids(new, AREA, old, recorded="t1")
    assert renames == {}
    rec = lineage.iloc[0]
    assert rec["relation"] == "replaced" and rec["new_site_id"] == new["site_id"].iloc[0]
    fate = fate_from_rows(old["site_id"].iloc[0], lineage.to_dict("records"))
    assert fate is not None and fate["redirect"] == new["site_id"].iloc[0]


def test_split_merge_and_gone() -> None:
    a, b, c = ["P0", "P1", "P2", "P3"], ["P4", "P5"], ["P6", "P7"]
    old = hashed(a, b, c)
    new = hashed(["P0", "P1"], ["P2", "P3"], ["P4", "P5", "P8", "P9", "P10"])  # a splits, b grows, c gone
    renames, lineage = stable_site_ids(new, AREA, old, recorded="t1")
    by_old = lineage.groupby("old_site_id")["relation"].agg(set).to_dict()
    assert by_old[site_id(a)] == {"split"}
    assert by_old[site_id(c)] == {"gone"}
    assert site_id(b) not in renames.values()  # 2 of 5: the new site is mostly other land
    fate = fate_from_rows(site_id(a), lineage.to_dict("records"))
    assert fate is not None and fate["redirect"] is None and len(fate["successors"]) == 2
    assert fate_from_rows("Sffffffffff", lineage.to_dict("records")) is None


def test_no_previous_run_changes_nothing() -> None:
    assert stable_site_ids(hashed(["P0"]), AREA, None)[0] == {}


def test_smallest_site_area_and_flags() -> None:
    assert smallest_site_area([10_000, 5_000, 50_000, 0]) == 5_000
    assert smallest_site_area([0, 0]) == 10_000
    sp = links({"S1": ["P0", "P1"], "S2": ["P2"]})
    av = pd.DataFrame(
        {"parcel_id": ["P0", "P1", "P2"], "flags": ["pollution", "demolition_reconversion;pollution", ""]}
    )
    flags = site_flags(sp, av)
    assert flags["S1"] == "demolition_reconversion;pollution" and flags["S2"] == ""


@pytest.mark.parametrize("share", [0.4, 0.6])
def test_keep_share_is_the_rule(share: float) -> None:
    old = hashed([f"P{i}" for i in range(10)])
    new = hashed([f"P{i}" for i in range(int(10 * share))])
    renames, _ = stable_site_ids(new, AREA, old)
    assert bool(renames) is (share > 0.5)

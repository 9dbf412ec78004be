"""Nothing unchecked passes: constraint states passed / failed / unverified, per site and rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.errors import ScoringError
from foncier.geo.constraints import constraint_state_matrix, unknown_mask
from foncier.geo.criteria_catalogue import synthetic_criteria
from foncier.geo.profile import Profile
from foncier.geo.scoring import score_sites


def profile(**extra: object) -> Profile:
    return Profile.from_dict(
        {
            "name": "t",
            "criteria": {
                "area_m2": {"weight": 0.5, "method": "linear", "low": 0, "high": 100_000},
                "share_flood_blue": {"weight": 0.5, "method": "linear", "low": 0, "high": 1},
            },
            "exclusions": [
                {"criterion": "share_flood_red", "operator": ">", "value": 0.05, "reason_en": "red flood zone"},
                {"criterion": "zoning_class", "operator": "in", "value": ["A", "N"], "reason_en": "A or N zone"},
                {"criterion": "share_strict_protection", "operator": ">", "value": 0.0, "reason_en": "reserve"},
            ],
            **extra,
        }
    )


def table() -> pd.DataFrame:
    crit = synthetic_criteria(4, seed=3)
    crit["share_flood_red"] = [0.0, 0.5, np.nan, 0.0]
    crit["zoning_class"] = ["economic_U", "economic_U", "A", "none"]
    crit["share_strict_protection"] = [0.0, 0.0, 0.0, np.nan]
    crit["share_flood_blue"] = 0.0
    return crit


def test_states_per_site_and_rule() -> None:
    res = score_sites(table(), profile())
    states = res.constraints.pivot(index="site_id", columns="criterion", values="state")
    ids = table().index
    assert states.loc[ids[0]].tolist() == ["passed"] * 4  # the 3 rules and the PPR "rule to read" check
    assert states.loc[ids[1], "share_flood_red"] == "failed"
    assert states.loc[ids[2], "share_flood_red"] == "unverified"  # no flood data: never passed
    assert states.loc[ids[2], "zoning_class"] == "failed"
    assert states.loc[ids[3], "zoning_class"] == "unverified"  # zoning "none": nothing known there
    assert states.loc[ids[3], "share_strict_protection"] == "unverified"
    s = res.scores
    assert s.loc[ids[3], "n_unverified"] == 2 and not s.loc[ids[3], "excluded"]
    assert "A or N zone" in s.loc[ids[3], "unverified"] and "reserve" in s.loc[ids[3], "unverified"]
    assert s.loc[ids[0], "unverified"] == "" and s.loc[ids[0], "n_unverified"] == 0
    assert any("kept as unverified" in p for p in res.problems)
    scores, _ = res.to_tables()
    assert {"unverified", "unverified_fr", "n_unverified"} <= set(scores.columns)
    assert set(res.constraints_table().columns) == {
        "profile", "site_id", "constraint", "criterion", "state", "label_en", "label_fr"
    }  # fmt: skip


def test_a_ppr_zone_to_read_leaves_the_site_unverified_and_natura_nearby_warns() -> None:
    crit = table()
    crit["share_ppr_to_read"] = [0.0, 0.0, 0.0, 0.3]
    crit["dist_natura2000_m"] = [100.0, 5000.0, 5000.0, 5000.0]
    res = score_sites(crit, profile())
    ids = crit.index
    ppr = res.constraints[res.constraints["criterion"] == "share_ppr_to_read"].set_index("site_id")["state"]
    assert ppr[ids[3]] == "unverified" and ppr[ids[0]] == "passed"
    assert "PPR zone, rule to read" in res.scores.loc[ids[3], "unverified"]
    assert "incidence assessment" in res.scores.loc[ids[0], "warnings"]
    assert "incidence assessment" not in res.scores.loc[ids[1], "warnings"]


def test_policies_exclude_and_error() -> None:
    res = score_sites(table(), profile(unverified_constraints="exclude"))
    ids = table().index
    assert res.scores.loc[ids[3], "excluded"] and "cannot be checked" in res.scores.loc[ids[3], "reasons"]
    with pytest.raises(ScoringError, match="cannot be checked"):
        score_sites(table(), profile(unverified_constraints="error"))
    with pytest.raises(Exception, match="unverified_constraints must be one of"):
        profile(unverified_constraints="passed")


def test_missing_values_exclude_keeps_its_former_meaning_for_rules() -> None:
    p = profile(missing_values="exclude")
    assert p.constraint_policy == "exclude"
    assert profile().constraint_policy == "unverified"


def test_unknown_values() -> None:
    raw = pd.Series(["U", "none", None, "A"])
    assert unknown_mask("zoning_class", raw).tolist() == [False, True, True, False]
    assert unknown_mask("share_flood_red", pd.Series([0.0, np.nan])).tolist() == [False, True]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=30))
def test_unverified_is_never_passed_nor_failed(flags: list[tuple[bool, bool]]) -> None:
    failed = np.array([[f] for f, _ in flags])
    unverified = np.array([[u] for _, u in flags])
    states = constraint_state_matrix(failed, unverified)
    assert ((states == "unverified") == unverified).all()
    assert ((states == "passed") == (~failed & ~unverified)).all()


def test_legacy_zoning_mapping_expands() -> None:
    p = Profile.from_dict(
        {
            "name": "old",
            "criteria": {
                "zoning_class": {
                    "weight": 1.0,
                    "method": "classes",
                    "mapping": {"economic_U": 1, "economic_AU": 0.8, "U": 0.5, "AU": 0.4, "A": 0, "N": 0, "none": 0.2},
                }
            },
        }
    )
    mapping = p.criteria["zoning_class"].mapping
    assert mapping is not None
    assert mapping["economic_AUc"] == mapping["economic_AUs"] == 0.8 and mapping["AUs"] == 0.4
    assert mapping["cc_activity"] == 1 and mapping["rnu"] == 0.2


def test_builtin_profiles_value_aus_below_auc() -> None:
    from foncier.layers.profile_store import list_profiles, load_profile

    for name in list_profiles():
        mapping = load_profile(name).criteria["zoning_class"].mapping
        assert mapping is not None
        assert mapping["AUs"] < mapping["AUc"] and mapping["economic_AUs"] < mapping["economic_AUc"], name
        assert mapping["cc_activity"] > mapping["cc_open"] > mapping["cc_closed"], name


def test_a_layer_not_covering_a_site_leaves_it_unverified() -> None:
    import geopandas as gpd
    from shapely.geometry import box

    from foncier.geo.criteria import compute_criteria
    from foncier.geo.crs import LAMBERT93

    sites = gpd.GeoDataFrame(
        {"site_id": ["Sin", "Sout"]}, geometry=[box(0, 0, 100, 100), box(1000, 0, 1100, 100)], crs=LAMBERT93
    )
    flood = gpd.GeoDataFrame({"level": ["red"]}, geometry=[box(50, 0, 60, 100)], crs=LAMBERT93)
    table = compute_criteria(sites, {"flood": flood}, None, coverage={"flood": box(-10, -10, 500, 500)})
    assert table.loc["Sin", "share_flood_red"] == pytest.approx(0.1)
    assert np.isnan(table.loc["Sout", "share_flood_red"])  # outside what the flood layer covers: not 0
    assert np.isnan(table.loc["Sout", "share_ppr_to_read"])

"""Scoring: S = sum(w_i v_i) * prod(c_j), breakdown, exclusions, missing values, ranking, properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foncier.errors import ProfileError, ScoringError
from foncier.geo.criteria_catalogue import (
    CATALOGUE,
    CRITERIA_NAMES,
    ZONING_CLASSES,
    catalogue_frame,
    synthetic_criteria,
)
from foncier.geo.profile import Profile
from foncier.geo.scoring import ScoreResult, prepare, score_sites

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_profile(**over: Any) -> Profile:
    """A small valid profile (Roissy 0.5 cost, area 0.3 benefit sigmoid, zoning 0.2 classes)."""
    data: dict[str, Any] = {
        "name": "test",
        "criteria": {
            "time_to_roissy_min": {"weight": 0.5, "method": "linear", "low": 30, "high": 90},
            "area_m2": {"weight": 0.3, "method": "sigmoid", "midpoint": 30000, "spread": 10000},
            "zoning_class": {
                "weight": 0.2,
                "method": "classes",
                "mapping": {"economic_U": 1, "economic_AU": 0.8, "U": 0.5, "AU": 0.4, "A": 0, "N": 0, "none": 0.2},
            },
        },
        "exclusions": [
            {
                "criterion": "share_flood_red",
                "operator": ">",
                "value": 0.05,
                "reason_en": "red flood zone",
                "reason_fr": "zone rouge",
            },
            {"criterion": "zoning_class", "operator": "in", "value": ["A", "N"]},
        ],
        "min_site_area_m2": 10000,
    }
    data.update(over)
    return Profile.from_dict(data)


def check_invariants(res: ScoreResult, n: int) -> None:
    s = res.scores
    assert len(s) == n and s.index.is_unique
    assert ((s["score"] >= 0) & (s["score"] <= 1)).all()
    assert not s["score"].isna().any()
    assert sorted(s["rank"]) == list(range(1, n + 1))
    sums = res.breakdown.groupby("site_id", sort=False)["contribution"].sum().reindex(s.index)
    assert np.allclose(sums.to_numpy(), s["score"].to_numpy(), rtol=0, atol=1e-9)
    ex = s[s["excluded"]]
    assert (ex["score"] == 0).all()
    assert (ex["reasons"].str.len() > 0).all() and (ex["reasons_fr"].str.len() > 0).all()
    assert (s.loc[~s["excluded"], "reasons"] == "").all()
    if len(ex) and len(ex) < n:
        assert s.loc[~s["excluded"], "rank"].max() < ex["rank"].min()


def _contract_criteria() -> list[str]:
    """Criterion names of the table under "## Criteria" in docs/CONTRACTS.md."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    lines = text.split("## Criteria", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    rows = [line.split("|")[1].strip() for line in lines[start:end]]
    return [r for r in rows if r and r != "name" and not r.startswith("---")]


def test_catalogue_covers_the_contract() -> None:
    assert CRITERIA_NAMES[0] == "time_to_roissy_min" and len(set(CRITERIA_NAMES)) == len(CRITERIA_NAMES)
    assert set(CRITERIA_NAMES) <= set(_contract_criteria()), "every criterion is documented in docs/CONTRACTS.md"
    frame = catalogue_frame()
    assert set(frame.columns) >= {"label_fr", "label_en", "unit", "direction", "kind", "description"}
    assert frame.loc["zoning_class", "kind"] == "categorical"
    assert CATALOGUE["share_flood_red"].direction == "cost" and CATALOGUE["area_m2"].direction == "benefit"


def test_hand_computed_scores() -> None:
    crit = pd.DataFrame(
        {
            "time_to_roissy_min": [30.0, 60.0, 90.0, 45.0],
            "area_m2": [30000.0, 30000.0, 30000.0, 5000.0],
            "zoning_class": ["economic_U", "U", "A", "economic_U"],
            "share_flood_red": [0.0, 0.0, 0.0, 0.5],
        },
        index=pd.Index(["a", "b", "c", "d"], name="site_id"),
    )
    res = score_sites(crit, make_profile())
    s = res.scores
    # a: 0.5*1 + 0.3*0.5 + 0.2*1 = 0.85 ; b: 0.5*0.5 + 0.15 + 0.2*0.5 = 0.5
    assert s.loc["a", "score"] == pytest.approx(0.85)
    assert s.loc["b", "score"] == pytest.approx(0.5)
    assert s.loc["c", "score"] == 0 and s.loc["c", "excluded"]
    assert "zoning_class in [A, N]" in s.loc["c", "reasons"]
    # d: red flood zone AND too small, both reasons kept
    assert "red flood zone (share_flood_red > 0.05)" in s.loc["d", "reasons"]
    assert "area_m2 < 10000" in s.loc["d", "reasons"]
    assert "zone rouge" in s.loc["d", "reasons_fr"]
    assert list(s.index) == ["a", "b", "c", "d"]  # c and d tie at 0: site id order
    assert list(s["rank"]) == [1, 2, 3, 4]
    bd = res.breakdown.set_index(["site_id", "criterion"])
    assert bd.loc[("b", "time_to_roissy_min"), "value"] == pytest.approx(0.5)
    assert bd.loc[("b", "time_to_roissy_min"), "contribution"] == pytest.approx(0.25)
    assert bd.loc[("c", "zoning_class"), "raw_value"] == "A"
    assert bd.loc[("c", "time_to_roissy_min"), "contribution"] == 0  # excluded: prod(c) = 0
    check_invariants(res, 4)


def test_breakdown_and_invariants_on_a_synthetic_table() -> None:
    crit = synthetic_criteria(500, seed=1)
    res = score_sites(crit, make_profile())
    check_invariants(res, 500)
    assert res.problems == []
    assert res.scores["excluded"].any() and not res.scores["excluded"].all()
    assert len(res.breakdown) == 500 * 3
    assert list(res.breakdown.columns) == ["site_id", "criterion", "raw_value", "value", "weight", "contribution"]


def test_contract_tables() -> None:
    res = score_sites(synthetic_criteria(50, seed=2), make_profile())
    scores, breakdown = res.to_tables()
    assert list(scores.columns[:6]) == ["profile", "site_id", "rank", "score", "excluded", "reasons"]
    assert set(scores["excluded"].unique()) <= {0, 1}
    assert (scores["profile"] == "test").all()
    assert breakdown["raw_value"].dtype == "float64"
    zoning = breakdown[breakdown["criterion"] == "zoning_class"]
    assert zoning["raw_value"].isna().all() and zoning["raw_label"].isin(ZONING_CLASSES).all()
    other = breakdown[breakdown["criterion"] != "zoning_class"]
    assert (other["raw_label"] == "").all() and other["raw_value"].notna().all()


def test_site_id_column_is_accepted() -> None:
    crit = synthetic_criteria(20, seed=3)
    a = score_sites(crit, make_profile()).scores
    b = score_sites(crit.reset_index(), make_profile()).scores
    pd.testing.assert_frame_equal(a, b)


def test_missing_columns_and_bad_values_are_all_reported() -> None:
    crit = synthetic_criteria(10).drop(columns=["area_m2", "share_flood_red"])
    crit["zoning_class"] = crit["zoning_class"].astype(object)
    crit.iloc[0, crit.columns.get_loc("zoning_class")] = "Ux"
    crit["time_to_roissy_min"] = "far"
    with pytest.raises(ScoringError) as err:
        score_sites(crit, make_profile())
    msg = str(err.value)
    assert "area_m2" in msg and "share_flood_red" in msg and "'Ux'" in msg and "must be numeric" in msg


def test_duplicate_site_ids_refused() -> None:
    crit = synthetic_criteria(5)
    crit.index = pd.Index(["a", "a", "b", "c", "d"], name="site_id")
    with pytest.raises(ScoringError, match="duplicate site ids"):
        score_sites(crit, make_profile())


# -- missing values --------------------------------------------------------------------------------


def _with_gaps() -> pd.DataFrame:
    crit = synthetic_criteria(8, seed=4)
    crit["share_flood_red"] = 0.0
    crit["zoning_class"] = "economic_U"
    crit["area_m2"] = 50000.0
    crit.loc["S0000000001", "time_to_roissy_min"] = np.nan  # weighted criterion
    crit.loc["S0000000002", "share_flood_red"] = np.nan  # exclusion-only criterion
    crit.loc["S0000000003", "slope_mean_pct"] = np.nan  # not used by the profile: irrelevant
    return crit


def test_missing_policy_zero_values_zero_and_reports() -> None:
    res = score_sites(_with_gaps(), make_profile())
    check_invariants(res, 8)
    s = res.scores
    assert not s["score"].isna().any()
    bd = res.breakdown.set_index(["site_id", "criterion"])
    assert bd.loc[("S0000000001", "time_to_roissy_min"), "value"] == 0
    assert np.isnan(bd.loc[("S0000000001", "time_to_roissy_min"), "raw_value"])
    assert "missing value for time_to_roissy_min" in s.loc["S0000000001", "warnings"]
    assert not s.loc["S0000000002", "excluded"]
    assert "share_flood_red > 0.05" in s.loc["S0000000002", "warnings"]
    assert s.loc["S0000000003", "warnings"] == ""
    assert len(res.problems) == 2
    assert any("time_to_roissy_min" in p and "S0000000001" in p for p in res.problems)


def test_missing_policy_exclude() -> None:
    res = score_sites(_with_gaps(), make_profile(), missing="exclude")
    check_invariants(res, 8)
    s = res.scores
    assert s.loc["S0000000001", "excluded"]
    assert "missing value for time_to_roissy_min" in s.loc["S0000000001", "reasons"]
    assert s.loc["S0000000002", "excluded"] and "cannot be checked" in s.loc["S0000000002", "reasons"]
    assert not s.loc["S0000000003", "excluded"]


def test_missing_policy_error_lists_everything() -> None:
    with pytest.raises(ScoringError) as err:
        score_sites(_with_gaps(), make_profile(missing_values="error"))
    msg = str(err.value)
    assert "time_to_roissy_min" in msg and "S0000000001" in msg and "share_flood_red" in msg


def test_missing_value_in_zero_weight_criterion_is_silent() -> None:
    p = make_profile().with_weights({"time_to_roissy_min": 0.0, "area_m2": 0.5, "zoning_class": 0.5})
    crit = _with_gaps()
    crit["share_flood_red"] = 0.0
    res = score_sites(crit, p, missing="error")  # no error: the criterion weighs nothing
    assert res.scores.loc["S0000000001", "warnings"] == ""


# -- weights, fast path ------------------------------------------------------------------------------


def test_with_weights_and_prepared_fast_path() -> None:
    crit = synthetic_criteria(300, seed=5)
    base = make_profile()
    prep = prepare(crit, base)
    other = base.with_weights({"time_to_roissy_min": 0.1, "area_m2": 0.1, "zoning_class": 0.8})
    full = score_sites(crit, other)
    fast = score_sites(prep, other)
    pd.testing.assert_frame_equal(full.scores, fast.scores)
    assert np.allclose(prep.score(other.weights.to_numpy()), full.scores["score"].reindex(prep.site_ids))
    changed = make_profile(min_site_area_m2=20000)
    with pytest.raises(ScoringError, match="prepare them again"):
        score_sites(prep, changed)
    with pytest.raises(ProfileError, match="sum to"):
        base.with_weights({"time_to_roissy_min": 1, "area_m2": 1, "zoning_class": 1})
    normalised = base.with_weights({"time_to_roissy_min": 2, "area_m2": 1, "zoning_class": 1}, normalise=True)
    assert normalised.weights["time_to_roissy_min"] == pytest.approx(0.5)


def test_builtin_like_full_profile_scores_every_criterion() -> None:
    weights = {name: 1 / (len(CRITERIA_NAMES) - 1) for name in CRITERIA_NAMES if name != "share_flood_red"}
    criteria: dict[str, Any] = {}
    for name in weights:
        c = CATALOGUE[name]
        if c.kind == "categorical":
            criteria[name] = {
                "weight": weights[name],
                "method": "classes",
                "mapping": {k: 1.0 if k.startswith("economic") else 0.3 for k in ZONING_CLASSES},
            }
        else:
            criteria[name] = {"weight": weights[name], "method": "sigmoid", "midpoint": 1.0, "spread": 1.0}
    p = Profile.from_dict({"name": "all", "criteria": criteria})
    res = score_sites(synthetic_criteria(200, seed=6), p)
    check_invariants(res, 200)


# -- property tests ---------------------------------------------------------------------------------


@FAST
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 60),
    nan_share=st.sampled_from([0.0, 0.2]),
    policy=st.sampled_from(["zero", "exclude"]),
)
def test_property_invariants(seed: int, n: int, nan_share: float, policy: str) -> None:
    crit = synthetic_criteria(n, seed=seed, nan_share=nan_share)
    res = score_sites(crit, make_profile(), missing=policy)  # type: ignore[arg-type]
    check_invariants(res, n)
    if nan_share == 0:
        assert res.problems == []


@FAST
@given(seed=st.integers(0, 10_000), n=st.integers(2, 60), perm_seed=st.integers(0, 1000))
def test_property_ranking_independent_of_row_order(seed: int, n: int, perm_seed: int) -> None:
    crit = synthetic_criteria(n, seed=seed)
    crit.iloc[n // 2] = crit.iloc[0]  # force an exact tie between two different sites
    shuffled = crit.sample(frac=1.0, random_state=perm_seed)
    a = score_sites(crit, make_profile())
    b = score_sites(shuffled, make_profile())
    pd.testing.assert_frame_equal(a.scores, b.scores)
    pd.testing.assert_frame_equal(a.breakdown, b.breakdown)


@FAST
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    criterion=st.sampled_from(["area_m2", "labour_pool", "share_brownfield"]),
    bump=st.floats(0.0, 1e6, allow_nan=False),
)
def test_property_monotone_in_benefit_criteria(seed: int, n: int, criterion: str, bump: float) -> None:
    profile = Profile.from_dict(
        {
            "name": "mono",
            "criteria": {
                "time_to_roissy_min": {"weight": 0.3, "method": "linear", "low": 30, "high": 90},
                "area_m2": {"weight": 0.3, "method": "sigmoid", "midpoint": 30000, "spread": 10000},
                "labour_pool": {"weight": 0.2, "method": "linear", "low": 20000, "high": 120000},
                "share_brownfield": {"weight": 0.2, "method": "linear", "low": 0, "high": 0.5},
            },
            "exclusions": [{"criterion": "share_flood_red", "operator": ">", "value": 0.05}],
            "min_site_area_m2": 10000,
        }
    )
    crit = synthetic_criteria(n, seed=seed)
    raised = crit.copy()
    raised[criterion] = raised[criterion] + bump
    before = score_sites(crit, profile).scores["score"]
    after = score_sites(raised, profile).scores["score"].reindex(before.index)
    assert (after >= before).all()

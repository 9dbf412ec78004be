"""Sensitivity: one-at-a-time and Monte Carlo weight changes, rank stability of the top sites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from foncier.errors import ScoringError
from foncier.geo.profile import Profile
from foncier.geo.scoring import prepare, score_sites
from foncier.geo.sensitivity import (
    dirichlet_weights,
    monte_carlo,
    oat_weights,
    one_at_a_time,
    rank_stability,
    run_ranks,
)

from .test_scoring import make_profile, synthetic_criteria

COLUMNS = ["base_rank", "base_score", "share_in_top", "rank_min", "rank_max", "rank_median", "n_runs"]


def test_oat_weights_renormalise_proportionally() -> None:
    w = pd.Series({"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.0})
    runs = oat_weights(w)
    assert len(runs) == 3 * 4  # d weighs 0: not varied
    np.testing.assert_allclose(runs.sum(axis=1), 1.0)
    row = runs.loc["a +20%"]
    assert row["a"] == pytest.approx(0.6)
    assert row["b"] / row["c"] == pytest.approx(1.5)  # others keep their ratios
    assert row["d"] == 0
    assert runs.loc["c -10%", "c"] == pytest.approx(0.18)
    assert runs.attrs["runs"][0] == ("a", -0.2)
    assert oat_weights(pd.Series({"only": 1.0})).empty


def test_dirichlet_is_seeded_centred_and_keeps_zeros() -> None:
    w = pd.Series({"a": 0.5, "b": 0.3, "c": 0.2, "d": 0.0})
    d1 = dirichlet_weights(w, 4000, concentration=100, seed=7)
    d2 = dirichlet_weights(w, 4000, concentration=100, seed=7)
    pd.testing.assert_frame_equal(d1, d2)
    assert not d1.equals(dirichlet_weights(w, 4000, concentration=100, seed=8))
    np.testing.assert_allclose(d1.sum(axis=1), 1.0)
    assert (d1["d"] == 0).all()
    np.testing.assert_allclose(d1.mean(), w, atol=0.01)
    assert d1["a"].std() == pytest.approx(np.sqrt(0.5 * 0.5 / 101), rel=0.1)
    with pytest.raises(ScoringError, match="concentration"):
        dirichlet_weights(w, 10, concentration=0)


def test_monte_carlo_is_reproducible_and_well_formed() -> None:
    crit = synthetic_criteria(400, seed=11)
    profile = make_profile()
    a = monte_carlo(crit, profile, n_runs=300, seed=3, top_n=10)
    b = monte_carlo(crit, profile, n_runs=300, seed=3, top_n=10)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == COLUMNS and len(a) == 10
    base = score_sites(crit, profile).scores
    assert list(a.index) == list(base.index[:10])
    assert list(a["base_rank"]) == list(range(1, 11))
    assert ((a["share_in_top"] >= 0) & (a["share_in_top"] <= 1)).all()
    assert (a["rank_min"] <= a["rank_median"]).all() and (a["rank_median"] <= a["rank_max"]).all()
    assert (a["n_runs"] == 300).all()
    assert a.attrs["method"] == "monte_carlo" and a.attrs["seed"] == 3


def test_one_at_a_time_reports_worst_change() -> None:
    crit = synthetic_criteria(300, seed=12)
    out = one_at_a_time(crit, make_profile(), top_n=5)
    assert list(out.columns) == [*COLUMNS, "worst_change"]
    assert (out["n_runs"] == 12).all()  # 3 criteria x 4 steps
    assert out["worst_change"].str.match(r"^\w+ [+-]\d+%$").all()


def test_dominant_site_is_always_first() -> None:
    crit = synthetic_criteria(200, seed=13)
    crit["share_flood_red"] = 0.0
    best = crit.index[17]
    crit.loc[best, ["time_to_roissy_min", "area_m2", "zoning_class"]] = [20.0, 1e6, "economic_U"]
    out = monte_carlo(crit, make_profile(), n_runs=200, top_n=3, concentration=5)
    assert out.index[0] == best
    assert out.loc[best, "share_in_top"] == 1 and out.loc[best, "rank_max"] == 1


def test_run_ranks_match_score_sites() -> None:
    crit = synthetic_criteria(250, seed=14)
    crit.iloc[40] = crit.iloc[3]  # an exact tie, broken by site id in both
    profile = make_profile()
    prep = prepare(crit, profile)
    runs = dirichlet_weights(profile.weights, 5, concentration=20, seed=1)
    followed = np.flatnonzero(~prep.excluded)
    ranks = run_ranks(prep, runs, followed)
    np.testing.assert_array_equal(run_ranks(prep, runs), ranks)  # the sort path agrees with the counting one
    for r in range(len(runs)):
        other = profile.with_weights(runs.iloc[r].to_dict())
        expected = score_sites(crit, other).scores["rank"].reindex(prep.site_ids[followed])
        np.testing.assert_array_equal(ranks[:, r], expected.to_numpy())


def test_excluded_sites_are_never_followed() -> None:
    crit = synthetic_criteria(30, seed=15)
    crit["share_flood_red"] = [0.0] * 3 + [1.0] * 27  # 3 sites left
    profile = make_profile()
    crit["area_m2"] = 50000.0
    crit["zoning_class"] = "economic_U"
    out = monte_carlo(crit, profile, n_runs=50, top_n=10)
    assert len(out) == 3 and out.attrs["top_n"] == 3
    assert (out["share_in_top"] == 1).all()
    prep = prepare(crit, profile)
    with pytest.raises(ScoringError, match="excluded"):
        run_ranks(prep, np.array([prep.weights]), np.flatnonzero(prep.excluded)[:1])


def test_single_criterion_profile() -> None:
    p = Profile.from_dict(
        {"name": "one", "criteria": {"area_m2": {"weight": 1.0, "method": "linear", "low": 0, "high": 1e5}}}
    )
    crit = synthetic_criteria(20, seed=16)
    out = one_at_a_time(crit, p, top_n=3)
    assert (out["share_in_top"] == 1).all()
    mc = monte_carlo(crit, p, n_runs=10, top_n=3)
    assert (mc["rank_max"] == mc["base_rank"]).all()


def test_rank_stability_with_prepared_input_is_fast_path() -> None:
    crit = synthetic_criteria(100, seed=17)
    profile = make_profile()
    prep = prepare(crit, profile)
    runs = dirichlet_weights(profile.weights, 20, seed=2)
    direct = rank_stability(prep, runs, top_n=4)
    pd.testing.assert_frame_equal(direct, monte_carlo(prep, profile, n_runs=20, seed=2, top_n=4))
    pd.testing.assert_frame_equal(direct, monte_carlo(crit, profile, n_runs=20, seed=2, top_n=4))


def test_prepared_criteria_with_other_weights() -> None:
    crit = synthetic_criteria(150, seed=18)
    profile = make_profile()
    prep = prepare(crit, profile)
    other = profile.with_weights({"time_to_roissy_min": 0.1, "area_m2": 0.1, "zoning_class": 0.8})
    a = monte_carlo(prep, other, n_runs=30, top_n=5)
    b = monte_carlo(crit, other, n_runs=30, top_n=5)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == list(score_sites(crit, other).scores.index[:5])
    with pytest.raises(ScoringError, match="prepare them again"):
        one_at_a_time(prep, make_profile(min_site_area_m2=1))


# --- rank groups: ties are ties (issue 12) ----------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from foncier.geo.sensitivity import rank_groups  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([5.0, 50.0, 500.0]))
def test_rank_groups_partition_the_eligible_ranking(seed: int, concentration: float) -> None:
    crit = synthetic_criteria(120, seed=seed)
    profile = make_profile()
    groups = rank_groups(crit, profile, n_runs=200, concentration=concentration, seed=seed)
    scores = score_sites(crit, profile).scores
    eligible = scores[~scores["excluded"]]
    assert list(groups.index) == list(eligible.index)  # eligible sites, in rank order
    assert groups["rank"].tolist() == list(range(1, len(groups) + 1))
    assert (groups["group_first"] <= groups["rank"]).all() and (groups["rank"] <= groups["group_last"]).all()
    # groups are contiguous blocks: every site of a block names the same ends
    for (first, last), block in groups.groupby(["group_first", "group_last"]):
        assert block["rank"].tolist() == list(range(first, last + 1))
        assert (block["group_size"] == last - first + 1).all()


def test_rank_groups_tie_identical_sites_and_split_clear_gaps() -> None:
    profile = make_profile()
    crit = synthetic_criteria(40, seed=5)
    best = crit.index[:3]
    crit.loc[best, ["time_to_roissy_min", "area_m2", "zoning_class"]] = [20.0, 1e6, "economic_U"]
    crit.loc[best, ["share_flood_red", "slope_mean_pct"]] = 0.0
    crit.loc[crit.index[3], ["time_to_roissy_min", "area_m2", "zoning_class"]] = [20.0, 1e6, "economic_U"]
    crit.loc[crit.index[3], "time_to_roissy_min"] = 20.5  # a hair behind the three identical sites
    crit.loc[crit.index[3], ["share_flood_red", "slope_mean_pct"]] = 0.0
    g = rank_groups(crit, profile, n_runs=300, seed=1)
    top = g.iloc[:3]
    assert set(top.index) == set(best)
    # identical criteria: always the same score, a tie whatever the weights
    assert (top["group_first"] == 1).all() and (top["group_last"] >= 3).all()
    # far from the noise, a single site forms its own group (concentration huge: draws = the weights)
    tight = rank_groups(crit, profile, n_runs=50, concentration=1e9, seed=1)
    singles = tight[tight["group_size"] == 1]
    assert len(singles) >= len(tight) - 4
    assert tight["rank_group"].iloc[0] == f"1-{tight['group_last'].iloc[0]}"
    pd.testing.assert_frame_equal(g, rank_groups(crit, profile, n_runs=300, seed=1))  # seeded

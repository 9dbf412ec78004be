"""Effective weights: nominal weight x swing of the standardised values over the eligible sites (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.geo.criteria_catalogue import synthetic_criteria
from foncier.geo.scoring import effective_weights, prepare
from foncier.layers.profile_store import list_profiles, load_profile


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(list_profiles()), st.floats(0.01, 10))
def test_shares_are_a_distribution_and_ignore_weight_scale(seed: int, name: str, scale: float) -> None:
    profile = load_profile(name)
    prep = prepare(synthetic_criteria(200, seed=seed), profile)
    eff = effective_weights(prep)
    assert eff["criterion"].tolist() == list(prep.names)
    if eff["n_eligible"].iloc[0] < 2:
        assert eff["effective_share"].isna().all()
        return
    assert eff["effective_share"].sum() == pytest.approx(1.0)
    assert (eff["effective_share"] >= 0).all() and ((eff["swing"] >= 0) & (eff["swing"] <= 1)).all()
    # multiplying every weight by a constant changes no share
    scaled = effective_weights(prep, prep.weights * scale)
    np.testing.assert_allclose(scaled["effective_share"], eff["effective_share"])


def test_a_criterion_that_does_not_vary_decides_nothing() -> None:
    profile = load_profile("logistics")
    heaviest = str(profile.weights.idxmax())
    crit = synthetic_criteria(300, seed=3)
    crit[heaviest] = crit[heaviest].iloc[0]  # every site alike on the heaviest criterion
    eff = effective_weights(prepare(crit, profile)).set_index("criterion")
    assert eff.loc[heaviest, "weight"] == pytest.approx(profile.weights.max())
    assert eff.loc[heaviest, "swing"] == 0
    assert eff.loc[heaviest, "effective_share"] == 0
    # the others share the whole: weight x swing / sum
    rest = eff.drop(index=heaviest)
    expected = rest["weight"] * rest["swing"] / (rest["weight"] * rest["swing"]).sum()
    np.testing.assert_allclose(rest["effective_share"], expected)

"""Standardisation: linear, sigmoid, classes; alignment, NaN passthrough, directions, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.errors import ProfileError
from foncier.geo.standardise import classes, linear, sigmoid

finite = st.floats(-1e9, 1e9, allow_nan=False)


def test_linear_benefit_and_cost() -> None:
    x = pd.Series([0.0, 10.0, 15.0, 20.0, 30.0, np.nan], index=list("abcdef"), name="t")
    b = linear(x, 10, 20, "benefit")
    assert list(b.index) == list("abcdef") and b.name == "t"
    np.testing.assert_allclose(b.to_numpy()[:5], [0, 0, 0.5, 1, 1])
    assert np.isnan(b["f"])
    c = linear(x, 10, 20, "cost")
    np.testing.assert_allclose(c.to_numpy()[:5], [1, 1, 0.5, 0, 0])
    assert np.isnan(c["f"])


def test_linear_accepts_arrays_and_ints() -> None:
    out = linear(np.array([1, 2, 3]), 1, 3)
    assert isinstance(out, pd.Series) and list(out.index) == [0, 1, 2]
    np.testing.assert_allclose(out, [0, 0.5, 1])


@pytest.mark.parametrize(("low", "high"), [(20, 10), (5, 5)])
def test_linear_reversed_thresholds_refused(low: float, high: float) -> None:
    with pytest.raises(ProfileError, match="reversed or equal"):
        linear(pd.Series([1.0]), low, high)


def test_bad_inputs_refused() -> None:
    with pytest.raises(ProfileError, match="direction"):
        linear(pd.Series([1.0]), 0, 1, "up")  # type: ignore[arg-type]
    with pytest.raises(ProfileError, match="numeric"):
        linear(pd.Series(["a", "b"]), 0, 1)
    with pytest.raises(ProfileError, match="finite"):
        linear(pd.Series([1.0]), 0, np.inf)
    with pytest.raises(ProfileError, match="spread must be positive"):
        sigmoid(pd.Series([1.0]), 0, 0)


def test_sigmoid_midpoint_and_directions() -> None:
    x = pd.Series([-np.inf, 0.0, 5.0, 10.0, np.inf, np.nan])
    b = sigmoid(x, 5, 1)
    assert b[2] == pytest.approx(0.5)
    assert b[0] == 0 and b[4] == 1 and np.isnan(b[5])
    assert b[3] == pytest.approx(1 / (1 + np.exp(-5)))
    c = sigmoid(x, 5, 1, "cost")
    np.testing.assert_allclose(c.to_numpy()[:5], 1 - b.to_numpy()[:5])


def test_classes_mapping() -> None:
    x = pd.Series(["U", "A", None, "Ux"], index=[10, 11, 12, 13])
    v = classes(x, {"U": 0.5, "A": 0.0})
    assert list(v.index) == [10, 11, 12, 13]
    assert v[10] == 0.5 and v[11] == 0.0 and np.isnan(v[12]) and np.isnan(v[13])


def test_classes_breaks_are_left_closed() -> None:
    x = pd.Series([-1.0, 0.0, 4.999, 5.0, 10.0, 1e9, np.nan])
    v = classes(x, breaks=[0, 5, 10], values=[0.0, 0.2, 0.6, 1.0])
    np.testing.assert_allclose(v.to_numpy()[:6], [0.0, 0.2, 0.2, 0.6, 1.0, 1.0])
    assert np.isnan(v.iloc[6])


def test_classes_spec_problems_are_collected() -> None:
    with pytest.raises(ProfileError) as err:
        classes(pd.Series([1.0]), breaks=[5, 3], values=[0.0, 2.0])
    text = str(err.value)
    assert "strictly increasing" in text and "one more value" in text and "[0, 1]" in text
    with pytest.raises(ProfileError, match="either 'mapping'"):
        classes(pd.Series([1.0]))
    with pytest.raises(ProfileError, match=r"\[0, 1\]"):
        classes(pd.Series(["a"]), {"a": 3.0})


@settings(max_examples=80, deadline=None)
@given(xs=st.lists(finite, min_size=1, max_size=30), a=finite, b=finite, direction=st.sampled_from(["benefit", "cost"]))
def test_property_linear_in_unit_interval_and_monotone(xs: list[float], a: float, b: float, direction: str) -> None:
    low, high = min(a, b), max(a, b)
    if low == high:
        high = low + 1.0
    x = pd.Series(sorted(xs))
    v = linear(x, low, high, direction).to_numpy()  # type: ignore[arg-type]
    assert ((v >= 0) & (v <= 1)).all()
    d = np.diff(v)
    assert (d >= 0).all() if direction == "benefit" else (d <= 0).all()


@settings(max_examples=80, deadline=None)
@given(
    xs=st.lists(finite, min_size=1, max_size=30),
    mid=finite,
    spread=st.floats(1e-3, 1e6),
    direction=st.sampled_from(["benefit", "cost"]),
)
def test_property_sigmoid_in_unit_interval_and_monotone(
    xs: list[float], mid: float, spread: float, direction: str
) -> None:
    x = pd.Series(sorted(xs))
    v = sigmoid(x, mid, spread, direction).to_numpy()  # type: ignore[arg-type]
    assert ((v >= 0) & (v <= 1)).all()
    d = np.diff(v)
    assert (d >= 0).all() if direction == "benefit" else (d <= 0).all()

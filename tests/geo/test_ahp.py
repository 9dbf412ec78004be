"""AHP: Saaty's textbook examples, validation that collects every problem, consistency properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.errors import AHPConsistencyError, ValidationError
from foncier.geo.ahp import RANDOM_INDEX, ahp_weights, consistent_matrix, matrix_problems, parse_judgement

DRINKS = ["coffee", "wine", "tea", "beer", "sodas", "milk", "water"]
DRINKS_MATRIX = [
    [1, 9, 5, 2, 1, 1, "1/2"],
    ["1/9", 1, "1/3", "1/9", "1/9", "1/9", "1/9"],
    ["1/5", 3, 1, "1/3", "1/4", "1/3", "1/9"],
    ["1/2", 9, 3, 1, "1/2", 1, "1/3"],
    [1, 9, 4, 2, 1, 2, "1/2"],
    [1, 9, 3, 1, "1/2", 1, "1/3"],
    [2, 9, 9, 3, 2, 3, 1],
]

HOUSE = ["size", "transportation", "neighbourhood", "age", "yard", "modern_facilities", "condition", "financing"]
HOUSE_MATRIX = [
    [1, 5, 3, 7, 6, 6, "1/3", "1/4"],
    ["1/5", 1, "1/3", 5, 3, 3, "1/5", "1/7"],
    ["1/3", 3, 1, 6, 3, 4, 6, "1/5"],
    ["1/7", "1/5", "1/6", 1, "1/3", "1/4", "1/7", "1/8"],
    ["1/6", "1/3", "1/3", 3, 1, "1/2", "1/5", "1/6"],
    ["1/6", "1/3", "1/4", 4, 2, 1, "1/5", "1/6"],
    [3, 5, "1/6", 7, 5, 5, 1, "1/2"],
    [4, 7, 5, 8, 6, 6, 2, 1],
]


def test_saaty_2008_drink_consumption() -> None:
    """Saaty, T. L. (2008). Decision making with the analytic hierarchy process. International Journal of
    Services Sciences 1(1), 83-98, Table 2 "Which drink is consumed more in the US?": derived scale
    .177 .019 .042 .116 .190 .129 .327 (actual consumption .180 .010 .040 .120 .180 .140 .330).
    The same example is in Saaty (2013), Notices of the AMS 60(2), 192-208.
    """
    res = ahp_weights(DRINKS_MATRIX, names=DRINKS)
    published = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert list(res.weights.index) == DRINKS
    np.testing.assert_allclose(res.weights.to_numpy(), published, atol=0.0006)
    assert res.weights.sum() == pytest.approx(1.0)
    assert res.ri == 1.32 and res.cr < 0.1 and res.is_consistent()
    assert res.lambda_max > 7


def test_saaty_1990_house_is_refused_with_its_cr() -> None:
    """Saaty, T. L. (1990). How to make a decision: the analytic hierarchy process. European Journal of
    Operational Research 48, 9-26: the "buying a house" criteria matrix, published with weights
    .173 .054 .188 .018 .031 .036 .167 .333, lambda_max = 9.669, CI = 0.238, CR = 0.169 (inconsistent).
    """
    with pytest.raises(AHPConsistencyError) as err:
        ahp_weights(HOUSE_MATRIX, names=HOUSE)
    msg = str(err.value)
    assert "CR = 0.169" in msg and "exceeds 0.10" in msg
    assert "[neighbourhood, condition] = 6" in msg  # Saaty's hint: the judgement to revise first
    assert err.value.code == "ahp_inconsistent"

    res = ahp_weights(HOUSE_MATRIX, names=HOUSE, force=True)
    np.testing.assert_allclose(
        res.weights.to_numpy(), [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333], atol=0.0006
    )
    assert res.lambda_max == pytest.approx(9.669, abs=5e-4)
    assert res.ci == pytest.approx(0.238, abs=5e-4)
    assert res.cr == pytest.approx(0.169, abs=5e-4)
    assert not res.is_consistent()
    assert ahp_weights(HOUSE_MATRIX, names=HOUSE, max_cr=0.2).cr == pytest.approx(0.169, abs=5e-4)


def test_random_index_table() -> None:
    assert [RANDOM_INDEX[n] for n in range(1, 16)] == [
        0,
        0,
        0.58,
        0.90,
        1.12,
        1.24,
        1.32,
        1.41,
        1.45,
        1.49,
        1.51,
        1.48,
        1.56,
        1.57,
        1.59,
    ]


def test_small_matrices() -> None:
    one = ahp_weights([[1]], names=["a"])
    assert one.weights["a"] == 1 and one.cr == 0
    two = ahp_weights([[1, 3], ["1/3", 1]])
    assert list(two.weights.index) == ["c1", "c2"]
    np.testing.assert_allclose(two.weights.to_numpy(), [0.75, 0.25])
    assert two.cr == 0


def test_dataframe_input_gives_names() -> None:
    df = pd.DataFrame([[1, 2], [0.5, 1]], index=["x", "y"], columns=["x", "y"])
    assert list(ahp_weights(df).weights.index) == ["x", "y"]


def test_parse_judgement() -> None:
    assert parse_judgement("1/3") == pytest.approx(1 / 3)
    assert parse_judgement(" 1 / 9 ") == pytest.approx(1 / 9)
    assert parse_judgement(5) == 5.0
    for bad in ("a/b", "1/0", True, None):
        with pytest.raises(ValueError, match="not a judgement"):
            parse_judgement(bad)


def test_every_matrix_problem_is_reported_at_once() -> None:
    bad = [
        [1, 3, 20],  # 20 off the scale
        [0.5, 1, "x"],  # 0.5 not reciprocal of 3, "x" not a number
        [1 / 20, -2, 2],  # negative, diagonal 2
    ]
    with pytest.raises(ValidationError) as err:
        ahp_weights(bad, names=["a", "b", "c"])
    text = str(err.value)
    assert "off Saaty's scale" in text
    assert "not reciprocal" in text
    assert "entry [b, c]: not a judgement" in text
    assert "positive" in text
    assert "diagonal" in text
    assert len(err.value.problems) >= 5


def test_shape_and_names_problems() -> None:
    assert "square" in matrix_problems([[1, 2], [0.5]])[0]
    assert "empty" in matrix_problems([])[0]
    assert any("2 criterion name" in p for p in matrix_problems([[1]], names=["a", "b"]))
    assert any("unique" in p for p in matrix_problems([[1, 1], [1, 1]], names=["a", "a"]))
    big = consistent_matrix(np.ones(16))
    assert any("at most 15" in p for p in matrix_problems(big))
    assert matrix_problems([[1, 0.333], [3, 1]]) == []  # 1/3 written with 3 decimals is fine


# -- properties ---------------------------------------------------------------------------------------

weight_vectors = st.lists(st.floats(1.0, 9.0, allow_nan=False), min_size=1, max_size=15)


@settings(max_examples=60, deadline=None)
@given(raw=weight_vectors)
def test_property_consistent_matrix_recovers_weights(raw: list[float]) -> None:
    w = np.array(raw) / sum(raw)
    res = ahp_weights(consistent_matrix(w))
    assert res.cr == pytest.approx(0.0, abs=1e-9)
    assert res.lambda_max == pytest.approx(len(w), abs=1e-8)
    np.testing.assert_allclose(res.weights.to_numpy(), w, rtol=1e-8, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_property_weights_positive_and_sum_to_one(n: int, data: st.DataObject) -> None:
    scale = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    a = np.ones((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            v = float(data.draw(st.sampled_from(scale)))
            if data.draw(st.booleans()):
                v = 1 / v
            a[i, j], a[j, i] = v, 1 / v
    res = ahp_weights(a, force=True)
    assert (res.weights > 0).all()
    assert res.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert res.lambda_max >= n - 1e-9
    assert res.cr >= 0

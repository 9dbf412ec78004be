"""Standardisation of raw criterion values to preference values in [0, 1].

Every function is vectorised, takes a :class:`pandas.Series` (or anything array-like) and returns a float
Series **aligned on the input index** (a fresh ``RangeIndex`` for non-Series input). Missing input gives
missing output: NaN in, NaN out. Standardisation never decides what a missing value is worth; the scoring
applies its documented missing-value policy and reports every case (:mod:`foncier.geo.scoring`).

Directions
----------
``benefit``: a higher raw value gives a higher value. ``cost``: reversed, a lower raw value gives a higher
value. For ``classes`` the mapping gives the values directly, there is no direction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit

from foncier.errors import ProfileError

logger = logging.getLogger(__name__)

Direction = Literal["benefit", "cost"]

__all__ = ["Direction", "classes", "linear", "sigmoid"]


def _as_series(x: Any, *, numeric: bool = True) -> pd.Series:
    """Return ``x`` as a Series (same object index for Series); numeric ones as float64."""
    s = x if isinstance(x, pd.Series) else pd.Series(x)
    if not numeric:
        return s
    if pd.api.types.is_bool_dtype(s) or not (pd.api.types.is_numeric_dtype(s) or s.isna().all()):
        raise ProfileError([f"expected numeric values, got dtype {s.dtype}"], title="cannot standardise")
    return s.astype("float64")


def _check_direction(direction: str) -> None:
    if direction not in ("benefit", "cost"):
        raise ProfileError([f"direction must be 'benefit' or 'cost', got {direction!r}"], title="cannot standardise")


def linear(x: Any, low: float, high: float, direction: Direction = "benefit") -> pd.Series:
    r"""Linear standardisation between two thresholds (fuzzy linear membership).

    .. math::

        v_{benefit}(x) = \min\left(1, \max\left(0, \frac{x - low}{high - low}\right)\right),
        \qquad v_{cost}(x) = 1 - v_{benefit}(x)

    Parameters
    ----------
    x : Series or array-like
        Raw values (numeric).
    low, high : float
        Thresholds, ``low < high``: for a benefit, values at or below ``low`` give 0 and values at or
        above ``high`` give 1; for a cost, the reverse.
    direction : {"benefit", "cost"}
        Whether a higher raw value is better (benefit) or worse (cost).

    Returns
    -------
    Series
        Float values in [0, 1] aligned on ``x``; NaN where ``x`` is NaN.

    Raises
    ------
    ProfileError
        When ``low >= high``, a threshold is not finite, or ``direction`` is unknown.
    """
    _check_direction(direction)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ProfileError([f"linear thresholds must be finite, got low={low}, high={high}"])
    if low >= high:
        raise ProfileError(
            [
                f"linear thresholds reversed or equal: low={low} must be below high={high} "
                "(use direction: cost to reverse the scale)"
            ]
        )
    s = _as_series(x)
    v = np.clip((s.to_numpy() - low) / (high - low), 0.0, 1.0)
    if direction == "cost":
        v = 1.0 - v
    return pd.Series(v, index=s.index, name=s.name, dtype="float64")


def sigmoid(x: Any, midpoint: float, spread: float, direction: Direction = "benefit") -> pd.Series:
    r"""Logistic (fuzzy sigmoid) standardisation.

    .. math::

        v_{benefit}(x) = \frac{1}{1 + e^{-(x - midpoint)/spread}}, \qquad
        v_{cost}(x) = \frac{1}{1 + e^{(x - midpoint)/spread}} = 1 - v_{benefit}(x)

    ``v = 0.5`` at the midpoint; ``spread`` is the distance over which the value moves from 0.5 to
    about 0.73 (one logistic unit): about 88 % of the change happens within ``midpoint ± 2 spread``.

    Parameters
    ----------
    x : Series or array-like
        Raw values (numeric).
    midpoint : float
        Raw value giving 0.5.
    spread : float
        Positive scale of the transition, in the unit of ``x``.
    direction : {"benefit", "cost"}
        Whether a higher raw value is better (benefit) or worse (cost).

    Returns
    -------
    Series
        Float values in [0, 1] aligned on ``x``; NaN where ``x`` is NaN.

    Raises
    ------
    ProfileError
        When ``spread <= 0``, a parameter is not finite, or ``direction`` is unknown.
    """
    _check_direction(direction)
    if not (np.isfinite(midpoint) and np.isfinite(spread)):
        raise ProfileError([f"sigmoid parameters must be finite, got midpoint={midpoint}, spread={spread}"])
    if spread <= 0:
        raise ProfileError([f"sigmoid spread must be positive, got {spread}"])
    s = _as_series(x)
    z = (s.to_numpy() - midpoint) / spread
    v = expit(-z if direction == "cost" else z)
    return pd.Series(v, index=s.index, name=s.name, dtype="float64")


def classes(
    x: Any,
    mapping: Mapping[Any, float] | None = None,
    *,
    breaks: Sequence[float] | None = None,
    values: Sequence[float] | None = None,
) -> pd.Series:
    r"""Class standardisation: a value per category, or per numeric interval.

    Either ``mapping`` (category -> value), or ``breaks`` with ``values`` for numeric input:

    .. math::

        v(x) = values_k \quad \text{for} \quad breaks_{k-1} \le x < breaks_k,

    with ``breaks_{-1} = -\infty`` and ``breaks_{K} = +\infty`` (``len(values) == len(breaks) + 1``;
    intervals are closed on the left).

    Parameters
    ----------
    x : Series or array-like
        Raw values: categories (with ``mapping``) or numbers (with ``breaks``).
    mapping : mapping, optional
        Category -> value in [0, 1]. Values absent from the mapping give NaN (the scoring reports them).
    breaks : sequence of float, optional
        Strictly increasing interval bounds.
    values : sequence of float, optional
        Value of each interval, in [0, 1].

    Returns
    -------
    Series
        Float values in [0, 1] aligned on ``x``; NaN where ``x`` is missing or has no class.

    Raises
    ------
    ProfileError
        When both or neither of ``mapping`` and ``breaks`` are given, breaks are not strictly increasing,
        ``values`` has the wrong length, or a value lies outside [0, 1].
    """
    problems = classes_problems(mapping, breaks, values)
    if problems:
        raise ProfileError(problems, title="invalid classes")
    if mapping is not None:
        s = _as_series(x, numeric=False)
        out = s.map(dict(mapping)).astype("float64")
        return pd.Series(out.to_numpy(), index=s.index, name=s.name, dtype="float64")
    assert breaks is not None and values is not None  # checked by classes_problems
    s = _as_series(x)
    arr = s.to_numpy()
    idx = np.searchsorted(np.asarray(breaks, dtype="float64"), arr, side="right")
    lut = np.asarray(values, dtype="float64")
    v = np.where(np.isnan(arr), np.nan, lut[np.minimum(idx, len(lut) - 1)])
    return pd.Series(v, index=s.index, name=s.name, dtype="float64")


def classes_problems(
    mapping: Mapping[Any, float] | None,
    breaks: Sequence[float] | None,
    values: Sequence[float] | None,
) -> list[str]:
    """Return what is wrong with a ``classes`` specification (empty list when valid)."""
    problems: list[str] = []
    if (mapping is None) == (breaks is None):
        problems.append("classes needs either 'mapping' (categories) or 'breaks' + 'values' (numbers)")
        return problems
    if mapping is not None:
        if not mapping:
            problems.append("classes mapping is empty")
        for key, val in mapping.items():
            if not _is_unit(val):
                problems.append(f"classes value for {key!r} must be a number in [0, 1], got {val!r}")
        return problems
    assert breaks is not None
    if values is None:
        problems.append("classes 'breaks' need 'values' (one more value than breaks)")
        return problems
    try:
        b = np.asarray(breaks, dtype="float64")
    except (TypeError, ValueError):
        problems.append(f"classes breaks must be numbers, got {list(breaks)!r}")
        return problems
    if len(b) == 0:
        problems.append("classes breaks are empty")
    elif not np.all(np.isfinite(b)):
        problems.append("classes breaks must be finite numbers")
    elif np.any(np.diff(b) <= 0):
        problems.append(f"classes breaks must be strictly increasing, got {b.tolist()}")
    if len(values) != len(b) + 1:
        problems.append(
            f"classes need one more value than breaks: {len(b)} break(s) -> {len(b) + 1} values, got {len(values)}"
        )
    for val in values:
        if not _is_unit(val):
            problems.append(f"classes values must be numbers in [0, 1], got {val!r}")
    return problems


def _is_unit(val: Any) -> bool:
    """True when ``val`` is a real number in [0, 1]."""
    if isinstance(val, bool) or not isinstance(val, int | float | np.number):
        return False
    return bool(np.isfinite(val) and 0.0 <= float(val) <= 1.0)

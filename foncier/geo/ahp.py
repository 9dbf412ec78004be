"""Analytic Hierarchy Process: criterion weights from a pairwise comparison matrix (Saaty).

A planner compares criteria two by two on Saaty's 1-9 scale: ``a[i, j] = 3`` reads "criterion i is
moderately more important than criterion j", ``a[j, i] = 1/3`` its reciprocal. The weights are the
principal (Perron) eigenvector of the matrix; the consistency ratio CR tells how far the judgements are
from being transitive. Saaty's rule refuses a matrix whose CR exceeds 0.10.

References
----------
Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill.
Saaty, T. L. (1990). How to make a decision: the analytic hierarchy process. *European Journal of
Operational Research* 48(1), 9-26.
Saaty, T. L. (2008). Decision making with the analytic hierarchy process. *International Journal of
Services Sciences* 1(1), 83-98.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from foncier.errors import AHPConsistencyError, Problem, ValidationError

logger = logging.getLogger(__name__)

__all__ = [
    "RANDOM_INDEX",
    "AHPResult",
    "ahp_weights",
    "consistent_matrix",
    "matrix_from_table",
    "matrix_problems",
    "parse_judgement",
]

RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}
"""Saaty's random consistency index RI by matrix size n (mean CI of random reciprocal matrices)."""

RECIPROCAL_TOLERANCE = 0.01
"""Relative tolerance on ``a[i, j] * a[j, i] == 1`` (accepts 1/3 written as 0.333)."""

SCALE_MIN, SCALE_MAX = 1.0 / 9.0, 9.0
"""Saaty's scale: judgements lie in [1/9, 9]."""


@dataclass(frozen=True)
class AHPResult:
    """Weights and consistency of a pairwise comparison matrix.

    Attributes
    ----------
    weights : Series
        Principal eigenvector normalised to sum to 1, indexed by criterion name.
    lambda_max : float
        Principal eigenvalue (``>= n``; ``== n`` for a perfectly consistent matrix).
    ci : float
        Consistency index ``(lambda_max - n) / (n - 1)`` (0 when n <= 2).
    cr : float
        Consistency ratio ``CI / RI`` (0 when n <= 2, where every reciprocal matrix is consistent).
    ri : float
        Saaty's random index for n.
    """

    weights: pd.Series
    lambda_max: float
    ci: float
    cr: float
    ri: float

    @property
    def n(self) -> int:
        """Number of criteria compared."""
        return len(self.weights)

    def is_consistent(self, max_cr: float = 0.10) -> bool:
        """True when ``cr <= max_cr``."""
        return self.cr <= max_cr

    def summary(self) -> str:
        """One-line human summary: weights, lambda_max, CI and CR."""
        ws = ", ".join(f"{k}={v:.3f}" for k, v in self.weights.items())
        return f"{ws} (lambda_max={self.lambda_max:.4f}, CI={self.ci:.4f}, CR={self.cr:.4f})"


def parse_judgement(value: Any) -> float:
    """Return a judgement as a float; accepts numbers and fraction strings such as ``"1/3"``.

    Raises
    ------
    ValueError
        When ``value`` is neither a number nor a fraction string.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a judgement: {value!r}")
    if isinstance(value, int | float | np.number):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Fraction(value.strip().replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"not a judgement: {value!r} (write a number or a fraction like 1/3)") from None
    raise ValueError(f"not a judgement: {value!r}")


def _is_judgement(cell: str) -> bool:
    try:
        parse_judgement(cell)
    except ValueError:
        return False
    return True


def matrix_from_table(
    cells: Sequence[Sequence[str]], source: str = "matrix"
) -> tuple[list[list[str]], list[str] | None]:
    """Split a table read from a file (CSV cells) into the pairwise matrix and its criterion names.

    Four layouts are recognised: names in the first row and the first column (the usual spreadsheet), names in
    the first row only, names in the first column only, or a bare matrix with no names (every cell a number or a
    fraction). A row (column) holds names when every one of its cells, beyond the corner, is not a judgement.
    The result must be square: a bare 3 x 3 matrix is read as 3 x 3, never as a 2 x 2 matrix with names.

    Raises
    ------
    ValidationError
        When the table is empty, mixes names and numbers in its first row or column, has row names that differ
        from its column names, or is not square once the names are set aside (the message gives the shape found
        and, for a cell that is not a judgement, its row (zero-based line of the file) and its column (the
        criterion's name, or its 1-based number in a bare matrix)).
    """
    rows = [[str(c).strip() for c in r] for r in cells]
    for r in rows:  # trailing separators ("1,3,5,")
        while r and not r[-1]:
            r.pop()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows or not any(any(r) for r in rows):
        raise ValidationError([Problem("the file holds no matrix", source=source)], title="invalid AHP matrix")
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    first_row = rows[0][1:]
    first_col = [r[0] for r in rows[1:]]
    row_names = bool(first_row) and not any(_is_judgement(c) for c in first_row)
    col_names = bool(first_col) and not any(_is_judgement(c) for c in first_col)
    problems: list[Problem] = []
    if not row_names and any(not _is_judgement(c) for c in first_row if c) and any(_is_judgement(c) for c in first_row):
        problems.append(Problem("the first row mixes criterion names and numbers", source=source, row=0))
    if not col_names and any(not _is_judgement(c) for c in first_col if c) and any(_is_judgement(c) for c in first_col):
        problems.append(Problem("the first column mixes criterion names and numbers", source=source, column="1"))
    if problems:
        raise ValidationError(problems, title="invalid AHP matrix")
    corner = rows[0][0]
    names: list[str] | None = None
    top = left = 0
    if row_names and col_names:  # the usual spreadsheet: names over the columns and along the rows
        top, left, names = 1, 1, first_row
    elif row_names:  # names over the columns only (the corner cell names the first column)
        top, left, names = 1, (0 if corner else 1), (rows[0] if corner else first_row)
    elif col_names:  # names along the rows only
        left, names = 1, [r[0] for r in rows]
    matrix = [r[left:] for r in rows[top:]]
    n_rows, n_cols = len(matrix), len(matrix[0]) if matrix else 0
    layouts = {(1, 1): "names in the first row and column", (1, 0): "names in the first row",
               (0, 1): "names in the first column", (0, 0): "no names"}  # fmt: skip
    layout = layouts[(top, left)]
    if n_rows != n_cols:
        raise ValidationError(
            [Problem(f"the matrix is {n_rows} x {n_cols} ({layout}); a pairwise matrix must be square", source=source)],
            title="invalid AHP matrix",
        )
    if top and left and first_col != names:
        raise ValidationError(
            [Problem(f"the row names {first_col} differ from the column names {names}", source=source)],
            title="invalid AHP matrix",
        )
    bad = [
        Problem(f"{cell!r} is not a judgement (write a number or a fraction like 1/3)", source=source,
                row=i + top, column=names[j] if names is not None else str(j + 1))
        for i, r in enumerate(matrix) for j, cell in enumerate(r) if not _is_judgement(cell)
    ]  # fmt: skip
    if bad:
        raise ValidationError(bad, title="invalid AHP matrix")
    return matrix, names


def _to_array(matrix: Any, names: Sequence[str] | None = None) -> tuple[np.ndarray | None, list[str]]:
    """Convert ``matrix`` (array-like, DataFrame, nested lists with fraction strings) to a float array."""
    problems: list[str] = []
    if isinstance(matrix, pd.DataFrame):
        matrix = matrix.to_numpy()
    try:
        rows = [list(r) for r in matrix]
    except TypeError:
        return None, [f"the pairwise matrix must be a list of rows, got {type(matrix).__name__}"]
    n = len(rows)
    if n == 0:
        return None, ["the pairwise matrix is empty"]
    bad_rows = [i for i, r in enumerate(rows) if len(r) != n]
    if bad_rows:
        return None, [
            f"the pairwise matrix must be square ({n} x {n}); row(s) {', '.join(str(i + 1) for i in bad_rows)} "
            f"have lengths {', '.join(str(len(rows[i])) for i in bad_rows)}"
        ]
    label = list(names) if names is not None and len(names) == n else [str(i + 1) for i in range(n)]
    out = np.empty((n, n), dtype="float64")
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            try:
                out[i, j] = parse_judgement(v)
            except ValueError as e:
                problems.append(f"entry [{label[i]}, {label[j]}]: {e}")
                out[i, j] = np.nan
    return out, problems


def matrix_problems(matrix: Any, names: Sequence[str] | None = None) -> list[str]:
    """Return every problem of a pairwise comparison matrix (empty list when valid).

    Checks: square, at most 15 criteria (Saaty's RI table), names matching the size and unique, finite
    positive entries, unit diagonal, reciprocity ``a[i, j] * a[j, i] = 1`` (relative tolerance 1 %),
    entries on Saaty's scale [1/9, 9].
    """
    arr, problems = _to_array(matrix, names)
    if arr is None:
        return problems
    n = arr.shape[0]
    if n > max(RANDOM_INDEX):
        problems.append(f"AHP supports at most {max(RANDOM_INDEX)} criteria (Saaty's RI table), got {n}")
    if names is not None:
        if len(names) != n:
            problems.append(f"{len(names)} criterion name(s) for a {n} x {n} matrix")
        if len(set(names)) != len(names):
            problems.append("criterion names in the AHP block must be unique")
    label = list(names) if names is not None and len(names) == n else [str(i + 1) for i in range(n)]

    def at(i: int, j: int) -> str:
        return f"[{label[i]}, {label[j]}]"

    for i in range(n):
        for j in range(n):
            v = arr[i, j]
            if np.isnan(v):
                continue  # already reported by _to_array
            if not np.isfinite(v) or v <= 0:
                problems.append(f"entry {at(i, j)} must be a positive number, got {v}")
            elif i == j and abs(v - 1.0) > 1e-9:
                problems.append(f"diagonal entry {at(i, j)} must be 1, got {v:g}")
            elif not (SCALE_MIN * (1 - RECIPROCAL_TOLERANCE) <= v <= SCALE_MAX * (1 + RECIPROCAL_TOLERANCE)):
                problems.append(f"entry {at(i, j)} = {v:g} is off Saaty's scale 1/9..9")
    for i in range(n):
        for j in range(i + 1, n):
            a, b = arr[i, j], arr[j, i]
            if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0 and abs(a * b - 1.0) > RECIPROCAL_TOLERANCE:
                problems.append(
                    f"entries {at(i, j)} = {a:g} and {at(j, i)} = {b:g} are not reciprocal "
                    f"(expected {at(j, i)} = 1/{a:g} = {1 / a:.4g})"
                )
    return problems


def consistent_matrix(weights: Sequence[float] | pd.Series) -> np.ndarray:
    """Return the perfectly consistent matrix ``a[i, j] = w_i / w_j`` of positive ``weights``."""
    w = np.asarray(weights, dtype="float64")
    return np.asarray(w[:, None] / w[None, :], dtype="float64")


def ahp_weights(
    matrix: Any,
    *,
    names: Sequence[str] | None = None,
    force: bool = False,
    max_cr: float = 0.10,
) -> AHPResult:
    r"""Derive weights from a pairwise comparison matrix with Saaty's eigenvector method.

    .. math::

        A w = \lambda_{max} w, \quad \sum_i w_i = 1, \qquad
        CI = \frac{\lambda_{max} - n}{n - 1}, \qquad CR = \frac{CI}{RI_n}

    Parameters
    ----------
    matrix : array-like or DataFrame
        n x n reciprocal matrix; entries may be numbers or fraction strings (``"1/3"``). A DataFrame's
        index gives the names when ``names`` is None.
    names : sequence of str, optional
        Criterion names in matrix order (default ``"c1"``, ``"c2"``, ...).
    force : bool
        Return the weights even when CR exceeds ``max_cr`` (a warning is logged).
    max_cr : float
        Largest acceptable consistency ratio (Saaty: 0.10).

    Returns
    -------
    AHPResult

    Raises
    ------
    ValidationError
        When the matrix is malformed (every problem listed).
    AHPConsistencyError
        When ``CR > max_cr`` and not ``force``; the message gives the CR and the judgement that departs
        most from the derived weights.
    """
    if names is None and isinstance(matrix, pd.DataFrame):
        names = [str(c) for c in matrix.index]
    problems = matrix_problems(matrix, names)
    if problems:
        raise ValidationError(problems, title="invalid AHP pairwise matrix")
    arr, _ = _to_array(matrix)
    assert arr is not None
    n = arr.shape[0]
    labels = list(names) if names is not None else [f"c{i + 1}" for i in range(n)]

    eigvals, eigvecs = np.linalg.eig(arr)
    k = int(np.argmax(eigvals.real))
    lambda_max = float(eigvals[k].real)
    vec = np.abs(eigvecs[:, k].real)  # Perron vector: one sign, real for a positive matrix
    w = vec / vec.sum()
    ri = RANDOM_INDEX[n]
    ci = max(0.0, (lambda_max - n) / (n - 1)) if n > 2 else 0.0
    cr = ci / ri if ri > 0 else 0.0
    result = AHPResult(pd.Series(w, index=labels, name="weight"), lambda_max, ci, cr, ri)
    if cr > max_cr:
        i, j = _worst_judgement(arr, w)
        msg = (
            f"consistency ratio CR = {cr:.3f} exceeds {max_cr:.2f} (lambda_max = {lambda_max:.3f}, "
            f"CI = {ci:.3f}, RI = {ri:.2f}); the judgement most at odds with the others is "
            f"[{labels[i]}, {labels[j]}] = {_fmt_judgement(arr[i, j])}, the weights suggest about "
            f"{_fmt_judgement(w[i] / w[j])}. Revise the judgements, or force to accept them."
        )
        if not force:
            raise AHPConsistencyError([msg], title="inconsistent AHP pairwise matrix")
        logger.warning("accepting an inconsistent AHP matrix (force): %s", msg)
    return result


def _worst_judgement(arr: np.ndarray, w: np.ndarray) -> tuple[int, int]:
    """Index (i, j), i != j, of the entry with the largest ``a_ij * w_j / w_i`` deviation (Saaty's hint)."""
    dev = arr * w[None, :] / w[:, None]
    dev = np.maximum(dev, 1.0 / dev)
    np.fill_diagonal(dev, 0.0)
    i, j = np.unravel_index(int(np.argmax(dev)), dev.shape)
    if arr[i, j] < 1:  # report the judgement as written on the "greater than" side
        i, j = j, i
    return int(i), int(j)


def _fmt_judgement(v: float) -> str:
    if v >= 1:
        return f"{v:.3g}"
    return f"1/{1 / v:.3g}"

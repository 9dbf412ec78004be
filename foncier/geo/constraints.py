"""Constraint evaluation: each hard constraint of a profile is *passed*, *failed* or *unverified* per site.

A profile's exclusion rules (red flood zone, A/N zoning, strict protection, EBC, ...) are the constraints a
DDT checks. For every site and rule the state is:

- ``failed``: the data is there and the rule excludes the site;
- ``passed``: the data is there and the rule does not exclude the site;
- ``unverified``: the rule could not be checked: the criterion is missing for the site (its layer is
  missing, failed to fetch, or does not cover the site) or holds a value that means "unknown"
  (:data:`UNKNOWN_VALUES`, e.g. zoning ``none``: no zoning known there).

Nothing unchecked passes: under the default policy ``unverified`` an unverified site keeps its score but
carries the list of unverified constraints everywhere (scores table, API, CLI, maps). The policy
``exclude`` excludes it instead, ``error`` refuses to score.

This module is pure (no I/O); :func:`foncier.geo.scoring.prepare` uses it.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "CONSTRAINT_POLICIES",
    "CONSTRAINT_STATES",
    "UNKNOWN_VALUES",
    "ConstraintPolicy",
    "constraint_state_matrix",
    "unknown_mask",
]

CONSTRAINT_STATES: tuple[str, ...] = ("passed", "failed", "unverified")
"""States of a site for one constraint."""

CONSTRAINT_POLICIES: tuple[str, ...] = ("unverified", "exclude", "error")
"""What an unverified constraint does to a site: flagged (kept, never shown as passed), excluded, or an error."""

ConstraintPolicy = Literal["unverified", "exclude", "error"]

UNKNOWN_VALUES: dict[str, tuple[str, ...]] = {"zoning_class": ("none",)}
"""Values of a criterion meaning "not known" for the constraints that test it (besides NaN/None)."""


def unknown_mask(criterion: str, raw: pd.Series) -> np.ndarray:
    """True where ``raw`` (values of ``criterion``) cannot decide a constraint: missing, or a value of
    :data:`UNKNOWN_VALUES`."""
    mask = raw.isna().to_numpy(dtype=bool)
    unknown = UNKNOWN_VALUES.get(criterion)
    if unknown:
        mask = mask | raw.isin(list(unknown)).to_numpy(dtype=bool)
    return mask


def constraint_state_matrix(failed: np.ndarray, unverified: np.ndarray) -> np.ndarray:
    """States from the boolean matrices ``failed`` and ``unverified`` (same shape, sites x rules).

    .. math:: state = \\begin{cases} unverified & u \\\\ failed & \\neg u \\wedge f \\\\
              passed & otherwise \\end{cases}

    Returns
    -------
    numpy.ndarray
        Object array of :data:`CONSTRAINT_STATES`, same shape.
    """
    failed = np.asarray(failed, dtype=bool)
    unverified = np.asarray(unverified, dtype=bool)
    out = np.full(failed.shape, "passed", dtype=object)
    out[failed & ~unverified] = "failed"
    out[unverified] = "unverified"
    return out

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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "CONSTRAINT_POLICIES",
    "CONSTRAINT_STATES",
    "FLAGS",
    "INCIDENCE_DISTANCE_M",
    "UNKNOWN_VALUES",
    "ConstraintPolicy",
    "Flag",
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
    mask: np.ndarray = np.asarray(raw.isna().to_numpy(dtype=bool), dtype=bool)
    unknown = UNKNOWN_VALUES.get(criterion)
    if unknown:
        mask = mask | np.asarray(raw.isin(list(unknown)).to_numpy(dtype=bool), dtype=bool)
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


INCIDENCE_DISTANCE_M = 500.0
"""Distance to a Natura 2000 site under which the site is flagged: an incidence assessment may be due for a
project near a site, not only inside it (Code de l'environnement, L414-4)."""


@dataclass(frozen=True)
class Flag:
    """A check every profile gets, whatever its exclusions: ``criterion > threshold`` (or ``<`` when
    ``below``) flags the site. ``unverifies``: the site is *unverified* for this check (a PPR zone whose rule
    is to read cannot be passed); otherwise the flag is a warning (an incidence assessment to plan)."""

    criterion: str
    threshold: float
    label_en: str
    label_fr: str
    unverifies: bool
    below: bool = False

    @property
    def rule_text(self) -> str:
        """The check as code-like text."""
        return f"{self.criterion} {'<' if self.below else '>'} {self.threshold:g}"

    def mask(self, raw: pd.Series) -> np.ndarray:
        """True where the site is flagged (missing values are not: their own constraints say unverified)."""
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            hit = values < self.threshold if self.below else values > self.threshold
        return np.asarray(hit & np.isfinite(values), dtype=bool)


FLAGS: tuple[Flag, ...] = (
    Flag(
        "share_ppr_to_read",
        0.0,
        "PPR zone, rule to read (share_ppr_to_read > 0)",
        "zone de PPR, règle à lire (share_ppr_to_read > 0)",
        unverifies=True,
    ),
    Flag(
        "dist_natura2000_m",
        INCIDENCE_DISTANCE_M,
        f"Natura 2000 site within {INCIDENCE_DISTANCE_M:g} m: incidence assessment to plan (dist_natura2000_m < "
        f"{INCIDENCE_DISTANCE_M:g})",
        f"site Natura 2000 à moins de {INCIDENCE_DISTANCE_M:g} m : évaluation des incidences à prévoir",
        unverifies=False,
        below=True,
    ),
)
"""Checks applied to every site whatever the profile."""

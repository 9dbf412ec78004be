r"""Multi-criteria scoring of candidate sites (weighted linear combination with hard exclusions).

.. math::

    S_s = \Big(\sum_i w_i \, v_{s,i}\Big) \prod_j c_{s,j}

with :math:`v_{s,i} \in [0, 1]` the standardised value of criterion *i* for site *s*, :math:`w_i \ge 0`,
:math:`\sum_i w_i = 1`, and :math:`c_{s,j} \in \{0, 1\}` the hard exclusions (0 when site *s* breaks rule
*j*, or is smaller than the profile's minimum area). Hence :math:`S_s \in [0, 1]`.

Scoring works in two steps so that changing weights costs only a matrix product:
:func:`prepare` standardises the criteria table once into a value matrix ``V`` (n sites x k criteria) and
an exclusion mask; :meth:`PreparedCriteria.score` computes ``V @ w``. :func:`score_sites` does both and
builds the tables of docs/CONTRACTS.md.

Missing values (policy ``missing_values`` of the profile, or the ``missing`` argument)
-------------------------------------------------------------------------------------
A score is never silently NaN. For a criterion with a positive weight, a missing raw value (NaN/None) is:

- ``"zero"`` (default): valued 0, the worst preference -- a site is never favoured for what is unknown.
  The site gets a warning ("missing value for X, counted as 0") and the result a problem message.
- ``"exclude"``: the site is excluded, with the reason "missing value for X".
- ``"error"``: nothing is scored; :class:`~foncier.errors.ScoringError` lists every case.

For a criterion tested by an exclusion rule (a *constraint*, or ``area_m2`` for the minimum area), a missing
value -- or a value meaning "unknown", such as zoning ``none`` (:data:`foncier.geo.constraints.UNKNOWN_VALUES`)
-- means the rule cannot be checked: the site is **unverified** for that constraint, never passed. The
profile's constraint policy (:attr:`Profile.constraint_policy`) decides what follows: ``"unverified"`` (the
default when ``missing_values`` is ``"zero"``) keeps the site, lists the constraint in its ``unverified``
column and warns; ``"exclude"`` excludes it; ``"error"`` raises. Every site gets a state per constraint
(passed / failed / unverified: :attr:`ScoreResult.constraints`). Missing values of zero-weight criteria are
valued 0 without a warning.

Ranking
-------
Rank 1 is the best. Non-excluded sites come first by decreasing score, excluded sites after them; ties
(scores equal to 1e-12) are broken by ascending ``site_id``, so the ranking does not depend on the row
order of the input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from foncier.errors import ScoringError
from foncier.geo.constraints import FLAGS, constraint_state_matrix, unknown_mask
from foncier.geo.criteria_catalogue import CATALOGUE, criteria_table_problems
from foncier.geo.profile import MISSING_POLICIES, MissingPolicy, Profile

logger = logging.getLogger(__name__)

__all__ = ["TIE_DECIMALS", "PreparedCriteria", "ScoreResult", "prepare", "rank_scores", "score_sites"]

TIE_DECIMALS = 12
"""Scores are compared rounded to this many decimals when ranking (float noise never reorders sites)."""

_MAX_IDS_SHOWN = 5


@dataclass(frozen=True)
class PreparedCriteria:
    """A criteria table standardised once for a profile: what rescoring needs.

    Attributes
    ----------
    site_ids : Index
        Site ids in the input row order (the row order of ``values``).
    names : tuple of str
        Criteria of the profile (column order of ``values``).
    weights : ndarray
        The profile's weights, shape (k,), summing to 1.
    values : ndarray
        Standardised values, shape (n, k), in [0, 1], missing values filled per the policy.
    raw : DataFrame
        The raw values of ``names``, aligned on ``site_ids``.
    raw_matrix : ndarray
        The same as an (n, k) array: float64 when every criterion is numeric, else object.
    excluded : ndarray of bool
        Shape (n,), True for excluded sites.
    id_order : ndarray of int
        Position of each site in ascending ``site_id`` order (the tie-break key).
    reasons_en, reasons_fr, warnings : ndarray of str
        "; "-joined exclusion reasons (English, French) and data warnings, per site.
    constraint_rules, constraint_criteria, constraint_labels_en, constraint_labels_fr : tuple of str
        The constraints (exclusion rules, then the minimum area): rule text, criterion tested, reasons.
    states : ndarray of str
        Shape (n, m): "passed", "failed" or "unverified" per site and constraint.
    unverified_en, unverified_fr : ndarray of str
        "; "-joined reasons of the constraints each site is unverified for (empty when none).
    problems : list of str
        Human-readable summary of missing values (one message per criterion and rule).
    profile_key : str
        :meth:`Profile.structure_key` of the profile prepared for: only profiles with the same key (same
        standardisation, exclusions and policy; any weights) can rescore this.
    policy : str
        The missing-value policy applied.
    """

    site_ids: pd.Index
    names: tuple[str, ...]
    weights: np.ndarray
    values: np.ndarray
    raw: pd.DataFrame
    raw_matrix: np.ndarray
    excluded: np.ndarray
    id_order: np.ndarray
    reasons_en: np.ndarray
    reasons_fr: np.ndarray
    warnings: np.ndarray
    problems: list[str] = field(default_factory=list)
    profile_key: str = ""
    policy: str = "zero"
    constraint_rules: tuple[str, ...] = ()
    constraint_criteria: tuple[str, ...] = ()
    constraint_labels_en: tuple[str, ...] = ()
    constraint_labels_fr: tuple[str, ...] = ()
    states: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=object))
    unverified_en: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    unverified_fr: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_ids)

    def contributions(self, weights: np.ndarray | None = None) -> np.ndarray:
        r"""Contribution matrix :math:`C_{s,i} = w_i v_{s,i} \prod_j c_{s,j}`, shape (n, k)."""
        w = self.weights if weights is None else np.asarray(weights, dtype="float64")
        c: np.ndarray = self.values * w[None, :]
        c[self.excluded] = 0.0
        return c

    def score(self, weights: np.ndarray | None = None) -> np.ndarray:
        r"""Scores :math:`S_s = \sum_i C_{s,i}` for ``weights`` (default: the profile's), shape (n,).

        Each row is summed on its own, so a site's score does not depend on the other rows.
        """
        s = self.contributions(weights).sum(axis=1)
        return np.asarray(np.clip(s, 0.0, 1.0), dtype=float)

    def rank(self, scores: np.ndarray) -> np.ndarray:
        """Ranks (1 = best) for ``scores``: excluded last, then decreasing score, then ``site_id``."""
        return rank_scores(scores, self.excluded, self.id_order)


@dataclass(frozen=True)
class ScoreResult:
    """Scores of every site for one profile.

    Attributes
    ----------
    profile : str
        Profile name.
    scores : DataFrame
        Index ``site_id``, sorted by rank; columns ``score`` (0..1, 0 when excluded), ``rank`` (1 = best,
        excluded after all others), ``excluded`` (bool), ``reasons`` (English, "; "-joined, empty when
        none), ``reasons_fr`` (French), ``warnings`` (missing-value notes, empty when none),
        ``unverified`` / ``unverified_fr`` ("; "-joined constraints that could not be checked for the site:
        never passed) and ``n_unverified``.
    constraints : DataFrame
        Long table, one row per site and constraint, sites in rank order: ``site_id``, ``constraint`` (rule
        text, e.g. ``share_flood_red > 0.05``), ``criterion``, ``state`` (passed / failed / unverified),
        ``label_en``, ``label_fr``.
    breakdown : DataFrame
        Long table, one row per site and criterion, sites in rank order: ``site_id``, ``criterion``,
        ``raw_value`` (float, or str for categorical criteria), ``value`` (0..1), ``weight``,
        ``contribution`` (= weight * value * prod(c)); contributions of a site sum to its score.
    problems : list of str
        Human-readable messages about missing input values (empty when none).
    weights : Series
        The weights used, by criterion.
    """

    profile: str
    scores: pd.DataFrame
    breakdown: pd.DataFrame
    problems: list[str]
    weights: pd.Series
    constraints: pd.DataFrame = field(default_factory=pd.DataFrame)

    def top(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` best sites (excluded ones never make it unless fewer than ``n`` remain)."""
        return self.scores.head(n)

    def to_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The workspace tables ``scores`` and ``score_breakdown`` of docs/CONTRACTS.md.

        ``scores``: profile, site_id, rank, score, excluded (0/1), reasons, reasons_fr, warnings.
        ``score_breakdown``: profile, site_id, criterion, raw_value (float; NaN for categories and
        missing values), raw_label (the category of categorical criteria, else empty), value, weight,
        contribution. One type per column, as a GeoPackage table needs.
        """
        s = self.scores.reset_index()
        s.insert(0, "profile", self.profile)
        s["excluded"] = s["excluded"].astype("int64")
        cols = ["profile", "site_id", "rank", "score", "excluded", "reasons", "reasons_fr", "warnings"]
        s = s[cols + [c for c in ("unverified", "unverified_fr", "n_unverified") if c in s.columns]]
        b = self.breakdown.copy()
        b.insert(0, "profile", self.profile)
        raw = b["raw_value"]
        numeric = pd.to_numeric(raw, errors="coerce").astype("float64")
        is_label = raw.notna() & numeric.isna()
        b["raw_value"] = numeric
        b.insert(list(b.columns).index("raw_value") + 1, "raw_label", raw.where(is_label, "").astype(object))
        return s, b

    def constraints_table(self) -> pd.DataFrame:
        """The workspace table ``site_constraints`` (docs/CONTRACTS.md): profile, site_id, constraint,
        criterion, state, label_en, label_fr."""
        c = self.constraints.copy()
        c.insert(0, "profile", self.profile)
        return c.reset_index(drop=True)


def rank_scores(scores: np.ndarray, excluded: np.ndarray, id_order: np.ndarray) -> np.ndarray:
    """Ranks 1..n: non-excluded first by decreasing score (rounded to :data:`TIE_DECIMALS`), ties by id.

    Parameters
    ----------
    scores : ndarray
        Scores, shape (n,).
    excluded : ndarray of bool
        Exclusion flags, shape (n,).
    id_order : ndarray of int
        Position of each site in ascending id order.
    """
    key = np.round(np.asarray(scores, dtype="float64"), TIE_DECIMALS)
    order = np.lexsort((id_order, -key, np.asarray(excluded, dtype=bool)))
    ranks = np.empty(len(order), dtype="int64")
    ranks[order] = np.arange(1, len(order) + 1)
    return ranks


def _site_index(criteria: pd.DataFrame) -> pd.DataFrame:
    """Return ``criteria`` indexed by site_id (from a ``site_id`` column when there is one)."""
    if "site_id" in criteria.columns:
        criteria = criteria.set_index("site_id")
    out = criteria.copy(deep=False)
    out.index = out.index.rename("site_id")
    return out


def _id_order(index: pd.Index) -> np.ndarray:
    try:
        order = np.asarray(index.argsort(), dtype="int64")  # Arrow-backed for string ids: fast
    except TypeError:  # mixed id types: compare as text
        order = np.asarray(index.astype(str).argsort(), dtype="int64")
    pos = np.empty(len(order), dtype="int64")
    pos[order] = np.arange(len(order))
    return pos


def _join_flags(flags: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """Per row of the boolean matrix ``flags`` (n, m), "; ".join of the texts of its True columns.

    Vectorised over rows: each distinct flag pattern is joined once.
    """
    n = flags.shape[0]
    if flags.shape[1] == 0 or not flags.any():
        return np.full(n, "", dtype=object)
    if flags.shape[1] <= 62:  # one integer code per row, then hash-based factorisation
        codes = flags.astype("int64") @ (np.int64(1) << np.arange(flags.shape[1], dtype="int64"))
        inverse, uniq = pd.factorize(codes)
        patterns = (uniq[:, None] >> np.arange(flags.shape[1])) & 1
    else:
        patterns, inverse = np.unique(flags, axis=0, return_inverse=True)
    joined = np.array(["; ".join(t for t, on in zip(texts, row, strict=True) if on) for row in patterns], dtype=object)
    return np.asarray(joined[np.ravel(inverse)], dtype=object)


def _ids_text(ids: pd.Index, mask: np.ndarray) -> str:
    chosen = ids[mask]
    shown = ", ".join(map(str, chosen[:_MAX_IDS_SHOWN]))
    more = f" and {len(chosen) - _MAX_IDS_SHOWN} more" if len(chosen) > _MAX_IDS_SHOWN else ""
    return f"{shown}{more}"


def _raw_matrix(raw: pd.DataFrame) -> np.ndarray:
    """Raw values as one (n, k) array: float64 when all columns are numeric, else object."""
    n, k = raw.shape
    if all(pd.api.types.is_numeric_dtype(raw[c]) for c in raw.columns):
        return raw.to_numpy(dtype="float64") if k else np.empty((n, 0), dtype="float64")
    out = np.empty((n, k), dtype=object)
    for j, c in enumerate(raw.columns):
        out[:, j] = raw[c].to_numpy(dtype=object)
    return out


def prepare(criteria: pd.DataFrame, profile: Profile, *, missing: MissingPolicy | None = None) -> PreparedCriteria:
    """Standardise ``criteria`` for ``profile`` once: value matrix, exclusions, reasons, warnings.

    Parameters
    ----------
    criteria : DataFrame
        The criteria table: index ``site_id`` (or a ``site_id`` column), one column per criterion.
    profile : Profile
        Weights, standardisation and exclusions.
    missing : {"zero", "exclude", "error"}, optional
        Missing-value policy; default the profile's ``missing_values``. See the module docstring.

    Raises
    ------
    ScoringError
        Columns missing, wrong dtypes, unknown categories, duplicate ids, or missing values under the
        ``"error"`` policy (every problem listed).
    """
    policy = missing if missing is not None else profile.missing_policy
    if policy not in MISSING_POLICIES:
        raise ScoringError(f"unknown missing-value policy '{policy}'; use one of {', '.join(MISSING_POLICIES)}")
    table = _site_index(criteria)
    table_problems = criteria_table_problems(table, profile.required_columns())
    if table_problems:
        raise ScoringError(
            f"cannot score with profile '{profile.name}':\n" + "\n".join(f"  - {p}" for p in table_problems)
        )
    ids = table.index
    n = len(ids)
    names = tuple(profile.criteria)
    weights = profile.weights.reindex(list(names)).to_numpy(dtype="float64")
    k = len(names)

    values = np.empty((n, k), dtype="float64")
    raw = table[list(names)]
    missing_flags: list[np.ndarray] = []  # per weighted criterion with missing values
    missing_names: list[str] = []
    for j, name in enumerate(names):
        v = profile.criteria[name].apply(raw[name], CATALOGUE[name]).to_numpy(dtype="float64")
        nan = np.isnan(v)
        if nan.any():
            v = np.where(nan, 0.0, v)
            if weights[j] > 0:
                missing_flags.append(nan)
                missing_names.append(name)
        values[:, j] = v

    # hard exclusions: rule masks, and "rule could not be checked" masks
    rule_masks: list[np.ndarray] = []
    rule_en: list[str] = []
    rule_fr: list[str] = []
    unchecked: list[tuple[str, np.ndarray]] = []
    c_rules: list[str] = []
    c_criteria: list[str] = []
    c_unknown: list[np.ndarray] = []
    for excl in profile.exclusions:
        col = table[excl.criterion]
        unknown = unknown_mask(excl.criterion, col)
        rule_masks.append(excl.mask(col) & ~unknown)
        rule_en.append(excl.reason("en"))
        rule_fr.append(excl.reason("fr"))
        c_rules.append(excl.rule_text())
        c_criteria.append(excl.criterion)
        c_unknown.append(unknown)
        if unknown.any():
            unchecked.append((excl.rule_text(), unknown))
    if profile.min_site_area_m2 > 0:
        area = table["area_m2"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            rule_masks.append(area < profile.min_site_area_m2)
        m = f"{profile.min_site_area_m2:g}"
        rule_en.append(f"site smaller than the minimum of {m} m2 (area_m2 < {m})")
        rule_fr.append(f"site plus petit que le minimum de {m} m2 (area_m2 < {m})")
        nan = np.isnan(area)
        c_rules.append(f"area_m2 >= {m}")
        c_criteria.append("area_m2")
        c_unknown.append(nan)
        if nan.any():
            unchecked.append((f"area_m2 >= {m}", nan))
    n_excl = len(c_rules)
    c_en_list, c_fr_list = list(rule_en[:n_excl]), list(rule_fr[:n_excl])
    notes: list[tuple[str, np.ndarray]] = []
    for flag in FLAGS:  # checks that cannot pass a site: a PPR rule to read, a Natura 2000 site nearby
        if flag.criterion not in table.columns:
            continue
        hit = flag.mask(table[flag.criterion])
        if flag.unverifies:
            c_rules.append(flag.rule_text)
            c_criteria.append(flag.criterion)
            c_unknown.append(hit)
            c_en_list.append(flag.label_en)
            c_fr_list.append(flag.label_fr)
            if hit.any():
                unchecked.append((flag.rule_text, hit))
        elif hit.any():
            notes.append((flag.label_en, hit))
    n_rules = len(c_rules)
    failed_cols = rule_masks[:n_excl] + [np.zeros(n, dtype=bool)] * (n_rules - n_excl)
    c_failed = np.column_stack(failed_cols) if n_rules else np.zeros((n, 0), dtype=bool)
    c_unverified = np.column_stack(c_unknown) if n_rules else np.zeros((n, 0), dtype=bool)
    states = constraint_state_matrix(c_failed, c_unverified)
    c_en = tuple(c_en_list)
    c_fr = tuple(c_fr_list)
    constraint_policy = profile.constraint_policy if missing is None else _constraint_policy_for(policy, profile)

    problems: list[str] = []
    warn_masks: list[np.ndarray] = []
    warn_texts: list[str] = []
    if (policy == "error" and missing_flags) or (constraint_policy == "error" and unchecked):
        lines = [
            f"criterion '{nm}': missing value for site(s) {_ids_text(ids, f)}"
            for nm, f in zip(missing_names, missing_flags, strict=True)
            if policy == "error"
        ]
        lines += [
            f"exclusion rule '{rule}' cannot be checked (missing value) for site(s) {_ids_text(ids, f)}"
            for rule, f in unchecked
            if constraint_policy == "error"
        ]
        raise ScoringError(
            f"missing values with profile '{profile.name}' (policy 'error'):\n"
            + "\n".join(f"  - {line}" for line in lines)
        )
    for nm, f in zip(missing_names, missing_flags, strict=True):
        count = int(f.sum())
        if policy == "zero":
            warn_masks.append(f)
            warn_texts.append(f"missing value for {nm}, counted as 0")
            problems.append(
                f"criterion '{nm}': {count} site(s) with a missing value, counted as 0 ({_ids_text(ids, f)})"
            )
        else:
            rule_masks.append(f)
            rule_en.append(f"missing value for {nm}")
            rule_fr.append(f"valeur manquante pour {nm}")
            problems.append(f"criterion '{nm}': {count} site(s) with a missing value, excluded ({_ids_text(ids, f)})")
    for text, f in notes:
        warn_masks.append(f)
        warn_texts.append(text)
    for rule, f in unchecked:
        count = int(f.sum())
        if constraint_policy == "unverified":
            warn_masks.append(f)
            warn_texts.append(f"exclusion rule '{rule}' not checked (missing value): unverified")
            problems.append(
                f"exclusion rule '{rule}': {count} site(s) with a missing or unknown value, not checked, "
                f"kept as unverified ({_ids_text(ids, f)})"
            )
        else:
            rule_masks.append(f)
            rule_en.append(f"exclusion rule '{rule}' cannot be checked (missing value)")
            rule_fr.append(f"règle d'exclusion '{rule}' non vérifiable (valeur manquante)")
            problems.append(
                f"exclusion rule '{rule}': {count} site(s) with a missing value, excluded ({_ids_text(ids, f)})"
            )

    flags = np.column_stack(rule_masks) if rule_masks else np.zeros((n, 0), dtype=bool)
    excluded = np.asarray(flags.any(axis=1), dtype=bool) if flags.shape[1] else np.zeros(n, dtype=bool)
    wflags = np.column_stack(warn_masks) if warn_masks else np.zeros((n, 0), dtype=bool)
    for p in problems:
        logger.info("profile %s: %s", profile.name, p)
    return PreparedCriteria(
        site_ids=ids,
        names=names,
        weights=weights,
        values=values,
        raw=raw,
        raw_matrix=_raw_matrix(raw),
        excluded=excluded,
        id_order=_id_order(ids),
        reasons_en=_join_flags(flags, rule_en),
        reasons_fr=_join_flags(flags, rule_fr),
        warnings=_join_flags(wflags, warn_texts),
        problems=problems,
        profile_key=profile.structure_key(),
        policy=policy,
        constraint_rules=tuple(c_rules),
        constraint_criteria=tuple(c_criteria),
        constraint_labels_en=c_en,
        constraint_labels_fr=c_fr,
        states=states,
        unverified_en=_join_flags(c_unverified, list(c_en)),
        unverified_fr=_join_flags(c_unverified, list(c_fr)),
    )


def _constraint_policy_for(policy: str, profile: Profile) -> str:
    """The constraint policy when the missing-value policy is overridden by the caller."""
    if profile.unverified_constraints is not None:
        return profile.unverified_constraints
    return "unverified" if policy == "zero" else policy


def score_sites(
    criteria: pd.DataFrame | PreparedCriteria,
    profile: Profile,
    *,
    missing: MissingPolicy | None = None,
) -> ScoreResult:
    r"""Score and rank every site of ``criteria`` with ``profile``.

    .. math:: S_s = \Big(\sum_i w_i \, v_{s,i}\Big) \prod_j c_{s,j}

    Parameters
    ----------
    criteria : DataFrame or PreparedCriteria
        The criteria table (index ``site_id`` or a ``site_id`` column), or the output of :func:`prepare`
        for a profile differing from ``profile`` at most by its weights: a fast rescoring (``missing`` is
        then ignored, the prepared policy applies).
    profile : Profile
        The scoring profile.
    missing : {"zero", "exclude", "error"}, optional
        Missing-value policy (default: the profile's). See the module docstring.

    Returns
    -------
    ScoreResult
        ``scores`` (index site_id, sorted by rank), ``breakdown`` (long), ``problems``.

    Raises
    ------
    ScoringError
        When the table cannot be scored (missing columns, bad values, missing values under "error").
    """
    if isinstance(criteria, PreparedCriteria):
        prep = criteria
        if prep.profile_key != profile.structure_key():
            raise ScoringError(
                f"the criteria were prepared for a profile that standardises or excludes differently from "
                f"'{profile.name}'; only weights may change on prepared criteria: prepare them again"
            )
    else:
        prep = prepare(criteria, profile, missing=missing)
    weights = profile.weights.reindex(list(prep.names)).to_numpy(dtype="float64")
    contrib = prep.contributions(weights)
    score = np.clip(contrib.sum(axis=1), 0.0, 1.0)
    ranks = prep.rank(score)
    order = np.argsort(ranks, kind="stable")

    ids_sorted = prep.site_ids[order]
    n_all = prep.n_sites
    scores = pd.DataFrame(
        {
            "score": score[order],
            "rank": ranks[order],
            "excluded": prep.excluded[order],
            "reasons": prep.reasons_en[order],
            "reasons_fr": prep.reasons_fr[order],
            "warnings": prep.warnings[order],
            "unverified": _or_empty(prep.unverified_en, n_all)[order],
            "unverified_fr": _or_empty(prep.unverified_fr, n_all)[order],
            "n_unverified": _n_unverified(prep.states, n_all)[order],
        },
        index=ids_sorted,
    )
    scores.index.name = "site_id"

    n, k = prep.values.shape
    raw_matrix = prep.raw_matrix
    # explicit object dtypes: no per-cell string inference on n * k rows
    breakdown = pd.DataFrame(
        {
            "site_id": pd.Series(np.repeat(ids_sorted.to_numpy(dtype=object), k), dtype=object, copy=False),
            "criterion": pd.Series(np.tile(np.array(prep.names, dtype=object), n), dtype=object, copy=False),
            "raw_value": pd.Series(raw_matrix[order].ravel(), dtype=raw_matrix.dtype, copy=False),
            "value": prep.values[order].ravel(),
            "weight": np.tile(weights, n),
            "contribution": contrib[order].ravel(),
        }
    )
    m = len(prep.constraint_rules)
    constraints = pd.DataFrame(
        {
            "site_id": pd.Series(np.repeat(ids_sorted.to_numpy(dtype=object), m), dtype=object, copy=False),
            "constraint": pd.Series(np.tile(np.array(prep.constraint_rules, dtype=object), n), dtype=object),
            "criterion": pd.Series(np.tile(np.array(prep.constraint_criteria, dtype=object), n), dtype=object),
            "state": pd.Series(prep.states[order].ravel() if m else [], dtype=object),
            "label_en": pd.Series(np.tile(np.array(prep.constraint_labels_en, dtype=object), n), dtype=object),
            "label_fr": pd.Series(np.tile(np.array(prep.constraint_labels_fr, dtype=object), n), dtype=object),
        }
    )
    return ScoreResult(
        profile=profile.name,
        scores=scores,
        breakdown=breakdown,
        problems=list(prep.problems),
        weights=pd.Series(weights, index=list(prep.names), name="weight"),
        constraints=constraints,
    )


def _or_empty(texts: np.ndarray, n: int) -> np.ndarray:
    """``texts``, or n empty strings for criteria prepared before constraint states existed."""
    return texts if len(texts) == n else np.full(n, "", dtype=object)


def _n_unverified(states: np.ndarray, n: int) -> np.ndarray:
    """Number of unverified constraints per site."""
    if states.shape[0] != n or states.shape[1] == 0:
        return np.zeros(n, dtype="int64")
    return np.asarray((states == "unverified").sum(axis=1), dtype="int64")


def effective_weights(prepared: PreparedCriteria, weights: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    r"""Effective share of each criterion in the ranking, beside its nominal weight.

    A weight only matters as much as the criterion's standardised values differ between the sites that
    compete: a criterion weighing 0.30 on which every eligible site scores the same decides nothing. With
    :math:`v_{s,i}` the standardised values of the eligible (not excluded) sites:

    .. math::

        \Delta_i = \max_s v_{s,i} - \min_s v_{s,i}, \qquad
        e_i = \frac{w_i \Delta_i}{\sum_j w_j \Delta_j}

    (the *swing* weighting of multi-attribute value theory). NaN shares when fewer than two sites are
    eligible or no criterion varies.

    Parameters
    ----------
    prepared : PreparedCriteria
        :func:`prepare` output (a :class:`ScoreResult` run uses the same preparation).
    weights : array or Series, optional
        Weights in ``prepared.names`` order (a Series is reordered by name); default the profile's.

    Returns
    -------
    DataFrame
        One row per criterion of the profile: ``criterion``, ``weight``, ``swing``, ``effective_share``,
        ``n_eligible``.
    """
    if weights is None:
        w = np.asarray(prepared.weights, dtype="float64")
    elif isinstance(weights, pd.Series):
        w = weights.reindex(list(prepared.names)).to_numpy(dtype="float64")
    else:
        w = np.asarray(weights, dtype="float64")
    eligible = ~np.asarray(prepared.excluded, dtype=bool)
    values = np.asarray(prepared.values, dtype="float64")[eligible]
    n_eligible = int(eligible.sum())
    spread = values.max(axis=0) - values.min(axis=0) if n_eligible >= 2 else None
    swing = spread if spread is not None else np.full(len(prepared.names), np.nan)
    effect = w * swing
    total = float(np.nansum(effect))
    share = effect / total if n_eligible >= 2 and total > 0 else np.full(len(prepared.names), np.nan)
    return pd.DataFrame(
        {
            "criterion": list(prepared.names),
            "weight": w,
            "swing": swing,
            "effective_share": share,
            "n_eligible": n_eligible,
        }
    )

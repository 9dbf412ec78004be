r"""Sensitivity of a ranking to the weights: how stable are the top sites?

Two ways of moving the weights, both pure and reproducible:

- **one at a time** (:func:`one_at_a_time`): each positive weight in turn is changed by -20 %, -10 %, +10 %,
  +20 % (relative), the others rescaled proportionally so that the weights still sum to 1:

  .. math::

      w_i' = \min(1, w_i (1 + \delta)), \qquad
      w_j' = w_j \, \frac{1 - w_i'}{1 - w_i} \quad (j \ne i)

- **Monte Carlo** (:func:`monte_carlo`): weights drawn from a Dirichlet distribution centred on the
  profile's weights, :math:`w' \sim \mathrm{Dir}(\kappa w)`, with concentration :math:`\kappa` (larger =
  closer to the profile; the standard deviation of :math:`w_i'` is
  :math:`\sqrt{w_i (1 - w_i) / (\kappa + 1)}`). Zero weights stay zero. Seeded.

Both report, for each of the top N sites of the base ranking: the share of runs in which it stays in the
top N, and its min, max and median rank over the runs.

**Ties are ties** (:func:`rank_groups`): two sites next to each other in the base ranking are
*indistinguishable* when the difference of their scores is smaller than its own standard deviation over the
Monte Carlo draws, :math:`|\overline{d}| < \sigma_d` with :math:`d_r = S_{k,r} - S_{k+1,r}` (the order
flips in roughly one draw in six or more); chains of such pairs form a rank group, reported as
"indistinguishable from rank 3 to 7". The criteria are standardised once
(:func:`~foncier.geo.scoring.prepare`); a run is one matrix product ``V @ w``, exclusions are fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from foncier.errors import ScoringError
from foncier.geo.profile import MissingPolicy, Profile
from foncier.geo.scoring import TIE_DECIMALS, PreparedCriteria, prepare

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_STEPS",
    "dirichlet_weights",
    "monte_carlo",
    "oat_weights",
    "one_at_a_time",
    "rank_groups",
    "rank_stability",
    "run_ranks",
]

DEFAULT_STEPS: tuple[float, ...] = (-0.2, -0.1, 0.1, 0.2)
"""Relative weight changes of the one-at-a-time analysis."""

_CHUNK = 256  # runs scored per matrix product (bounds memory: n_sites x _CHUNK floats)


def oat_weights(weights: pd.Series, steps: Sequence[float] = DEFAULT_STEPS) -> pd.DataFrame:
    r"""One-at-a-time weight variations.

    For each criterion *i* with :math:`w_i > 0` and each relative step :math:`\delta`:
    :math:`w_i' = \min(1, w_i(1 + \delta))`, the others scaled by :math:`(1 - w_i') / (1 - w_i)`.
    A criterion weighing 1 alone cannot be varied (skipped).

    Returns
    -------
    DataFrame
        One row per run (index ``"<criterion> +10%"``...), one column per criterion; rows sum to 1.
        Columns ``criterion`` and ``step`` are kept in ``DataFrame.attrs["runs"]``.
    """
    w = weights.astype("float64")
    rows: list[np.ndarray] = []
    labels: list[str] = []
    runs: list[tuple[str, float]] = []
    for name in w.index:
        wi = float(w[name])
        if wi <= 0 or wi >= 1:
            continue
        for d in steps:
            new_i = min(1.0, wi * (1.0 + d))
            scale = (1.0 - new_i) / (1.0 - wi)
            row = w.to_numpy() * scale
            row[w.index.get_loc(name)] = new_i
            rows.append(row / row.sum())
            labels.append(f"{name} {d:+.0%}")
            runs.append((str(name), float(d)))
    out = pd.DataFrame(rows, index=labels, columns=w.index, dtype="float64")
    out.attrs["runs"] = runs
    return out


def dirichlet_weights(
    weights: pd.Series, n_runs: int = 1000, *, concentration: float = 100.0, seed: int = 0
) -> pd.DataFrame:
    r"""Monte Carlo weights :math:`w' \sim \mathrm{Dir}(\kappa w)` around ``weights`` (zeros stay zero).

    Parameters
    ----------
    weights : Series
        Base weights (sum 1).
    n_runs : int
        Number of draws.
    concentration : float
        :math:`\kappa > 0`; e.g. 100 gives a weight of 0.3 a standard deviation of about 0.046.
    seed : int
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same draws.

    Returns
    -------
    DataFrame
        ``n_runs`` rows x criteria, each row summing to 1.
    """
    if concentration <= 0 or not np.isfinite(concentration):
        raise ScoringError(f"concentration must be a positive number, got {concentration}")
    if n_runs < 1:
        raise ScoringError(f"n_runs must be at least 1, got {n_runs}")
    w = weights.to_numpy(dtype="float64")
    pos = w > 0
    rng = np.random.default_rng(seed)
    draws = np.zeros((n_runs, len(w)), dtype="float64")
    if pos.sum() == 1:
        draws[:, pos] = 1.0
    else:
        draws[:, pos] = rng.dirichlet(concentration * w[pos], size=n_runs)
    return pd.DataFrame(draws, columns=weights.index, index=pd.RangeIndex(n_runs, name="run"))


def _prepared(
    criteria: pd.DataFrame | PreparedCriteria, profile: Profile, missing: MissingPolicy | None
) -> tuple[PreparedCriteria, pd.Series]:
    """The prepared criteria and the base weights of ``profile`` in their column order."""
    if isinstance(criteria, PreparedCriteria):
        if criteria.profile_key != profile.structure_key():
            raise ScoringError(
                f"the criteria were prepared for a profile that standardises or excludes "
                f"differently from '{profile.name}': prepare them again"
            )
        prep = criteria
    else:
        prep = prepare(criteria, profile, missing=missing)
    return prep, profile.weights.reindex(list(prep.names))


def _top_sites(
    prep: PreparedCriteria, base_weights: np.ndarray, top_n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (rows of prep) of the base top N non-excluded sites, their base scores and ranks."""
    if top_n < 1:
        raise ScoringError(f"top_n must be at least 1, got {top_n}")
    scores = prep.score(base_weights)
    ranks = prep.rank(scores)
    n_in = int((~prep.excluded).sum())
    top = np.argsort(ranks, kind="stable")[: min(top_n, n_in)]
    return top, scores[top], ranks[top]


def run_ranks(
    prep: PreparedCriteria, weight_runs: pd.DataFrame | np.ndarray, sites: np.ndarray | None = None
) -> np.ndarray:
    """Rank of each chosen site in each run, shape (len(sites), n_runs).

    Parameters
    ----------
    prep : PreparedCriteria
        Standardised criteria.
    weight_runs : DataFrame or ndarray
        One row of weights per run, columns in ``prep.names`` order (a DataFrame is reordered by name).
    sites : ndarray of int, optional
        Row positions in ``prep`` of the sites to follow (default: every non-excluded site, in row
        order, ranked with one sort per run).

    Notes
    -----
    The rank of site *s* in a run is ``1 + #{t not excluded: S_t > S_s, or S_t == S_s and id_t < id_s}``
    (scores rounded to :data:`~foncier.geo.scoring.TIE_DECIMALS`), i.e. exactly the rank of
    :func:`~foncier.geo.scoring.score_sites`; excluded sites always rank after the others and are not
    followed. Runs are scored in chunks by a matrix product.
    """
    if isinstance(weight_runs, pd.DataFrame):
        W = weight_runs.reindex(columns=list(prep.names)).to_numpy(dtype="float64")
    else:
        W = np.asarray(weight_runs, dtype="float64")
    if W.ndim != 2 or W.shape[1] != len(prep.names) or np.isnan(W).any():
        raise ScoringError(f"weight runs must have one column per criterion ({', '.join(prep.names)})")
    included = np.flatnonzero(~prep.excluded)
    V = prep.values[included]
    ids = prep.id_order[included]
    if sites is None:  # every non-excluded site: one sort per run
        out_all = np.empty((len(included), W.shape[0]), dtype="int64")
        for start in range(0, W.shape[0], _CHUNK):
            S = np.round(np.clip(V @ W[start : start + _CHUNK].T, 0.0, 1.0), TIE_DECIMALS)
            for r in range(S.shape[1]):
                order = np.lexsort((ids, -S[:, r]))
                out_all[order, start + r] = np.arange(1, len(order) + 1)
        return out_all
    sites = np.asarray(sites, dtype="int64")
    if prep.excluded[sites].any():
        raise ScoringError("excluded sites have no rank to follow in a sensitivity analysis")
    where = np.searchsorted(included, sites)  # positions of the followed sites within `included`
    out = np.empty((len(sites), W.shape[0]), dtype="int64")
    for start in range(0, W.shape[0], _CHUNK):
        Wc = W[start : start + _CHUNK]
        S = np.round(np.clip(V @ Wc.T, 0.0, 1.0), TIE_DECIMALS)  # (n_included, runs)
        for a, p in enumerate(where):
            s_p = S[p]
            better = (s_p < S).sum(axis=0)
            tied_before = ((s_p == S) & (ids < ids[p])[:, None]).sum(axis=0)
            out[a, start : start + len(Wc)] = 1 + better + tied_before
    return out


def rank_stability(
    prep: PreparedCriteria,
    weight_runs: pd.DataFrame | np.ndarray,
    *,
    base_weights: np.ndarray | None = None,
    top_n: int = 10,
) -> pd.DataFrame:
    """Stability of the base top ``top_n`` sites over weight runs.

    Returns
    -------
    DataFrame
        Index ``site_id`` (base rank order); columns ``base_rank``, ``base_score``, ``share_in_top``
        (share of runs in which the site ranks <= top_n), ``rank_min``, ``rank_max``, ``rank_median``,
        ``n_runs``. ``attrs["top_n"]`` holds the N used (at most the number of non-excluded sites).
    """
    return _stability(prep, weight_runs, base_weights, top_n)[0]


def _stability(
    prep: PreparedCriteria,
    weight_runs: pd.DataFrame | np.ndarray,
    base_weights: np.ndarray | None,
    top_n: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    bw = prep.weights if base_weights is None else np.asarray(base_weights, dtype="float64")
    top, base_scores, base_ranks = _top_sites(prep, bw, top_n)
    n_runs = len(weight_runs)
    if n_runs == 0:
        raise ScoringError("no weight runs to analyse")
    n_top = len(top)
    ranks = run_ranks(prep, weight_runs, top)
    if n_top:
        stats = {
            "share_in_top": (ranks <= n_top).mean(axis=1),
            "rank_min": ranks.min(axis=1),
            "rank_max": ranks.max(axis=1),
            "rank_median": np.median(ranks, axis=1),
        }
    else:
        stats = {
            "share_in_top": np.empty(0),
            "rank_min": np.empty(0, dtype="int64"),
            "rank_max": np.empty(0, dtype="int64"),
            "rank_median": np.empty(0),
        }
    out = pd.DataFrame(
        {"base_rank": base_ranks, "base_score": base_scores, **stats, "n_runs": np.full(n_top, n_runs, dtype="int64")},
        index=pd.Index(prep.site_ids[top], name="site_id"),
    )
    out.attrs["top_n"] = n_top
    return out, ranks


def one_at_a_time(
    criteria: pd.DataFrame | PreparedCriteria,
    profile: Profile,
    *,
    top_n: int = 10,
    steps: Sequence[float] = DEFAULT_STEPS,
    missing: MissingPolicy | None = None,
) -> pd.DataFrame:
    """One-at-a-time sensitivity: each weight ±10 % and ±20 % in turn (see the module docstring).

    Parameters
    ----------
    criteria : DataFrame or PreparedCriteria
        The criteria table, or its :func:`~foncier.geo.scoring.prepare` output for ``profile``.
    profile : Profile
        Base profile.
    top_n : int
        How many of the best base sites to follow (and the "top" to stay in).
    steps : sequence of float
        Relative weight changes.
    missing : {"zero", "exclude", "error"}, optional
        Missing-value policy (default: the profile's).

    Returns
    -------
    DataFrame
        See :func:`rank_stability`; ``attrs`` also hold ``method="one_at_a_time"`` and ``steps``.
        Extra column ``worst_change``: the weight change that moved the site down most (first one
        on ties).
    """
    prep, weights = _prepared(criteria, profile, missing)
    runs = oat_weights(weights, steps)
    if runs.empty:  # a single criterion: nothing to vary
        runs = pd.DataFrame([weights.to_numpy()], columns=list(prep.names), index=["base"])
    out, ranks = _stability(prep, runs, weights.to_numpy(), top_n)
    worst = np.argmax(ranks, axis=1) if ranks.shape[1] else np.zeros(len(out), dtype="int64")
    out["worst_change"] = [str(runs.index[i]) for i in worst]
    out.attrs.update({"method": "one_at_a_time", "steps": list(steps), "profile": profile.name})
    return out


def monte_carlo(
    criteria: pd.DataFrame | PreparedCriteria,
    profile: Profile,
    *,
    n_runs: int = 1000,
    concentration: float = 100.0,
    seed: int = 0,
    top_n: int = 10,
    missing: MissingPolicy | None = None,
) -> pd.DataFrame:
    """Monte Carlo sensitivity: Dirichlet weight draws around the profile (see the module docstring).

    Parameters
    ----------
    criteria : DataFrame or PreparedCriteria
        The criteria table, or its :func:`~foncier.geo.scoring.prepare` output for ``profile``.
    profile : Profile
        Base profile.
    n_runs : int
        Number of weight draws.
    concentration : float
        Dirichlet concentration (larger = draws closer to the profile's weights).
    seed : int
        Random seed; the same inputs and seed give the same result.
    top_n : int
        How many of the best base sites to follow.
    missing : {"zero", "exclude", "error"}, optional
        Missing-value policy (default: the profile's).

    Returns
    -------
    DataFrame
        See :func:`rank_stability`; ``attrs`` also hold ``method="monte_carlo"``, ``n_runs``,
        ``concentration`` and ``seed``.
    """
    prep, weights = _prepared(criteria, profile, missing)
    runs = dirichlet_weights(weights, n_runs, concentration=concentration, seed=seed)
    out = rank_stability(prep, runs, base_weights=weights.to_numpy(), top_n=top_n)
    out.attrs.update(
        {
            "method": "monte_carlo",
            "n_runs": n_runs,
            "concentration": concentration,
            "seed": seed,
            "profile": profile.name,
        }
    )
    return out


def rank_groups(
    criteria: pd.DataFrame | PreparedCriteria,
    profile: Profile,
    *,
    n_runs: int = 500,
    concentration: float = 100.0,
    seed: int = 0,
    missing: MissingPolicy | None = None,
) -> pd.DataFrame:
    r"""Groups of consecutive eligible sites whose order is within the Monte Carlo noise of the weights.

    For the eligible sites in base rank order and each pair :math:`(k, k+1)`, over the Dirichlet draws
    :math:`r` (:func:`dirichlet_weights`): :math:`d_r = S_{k,r} - S_{k+1,r}`; the pair is tied when
    :math:`|\overline{d}| < \sigma_d` (or both base scores are equal after rounding to
    :data:`~foncier.geo.scoring.TIE_DECIMALS`). A group is a maximal chain of tied pairs.

    Returns
    -------
    DataFrame
        Index ``site_id`` (eligible sites, base rank order); columns ``rank``, ``score``, ``group_first``,
        ``group_last`` (ranks of the group's ends), ``group_size``, ``rank_group`` (text, "3-7" or "3").
        ``attrs`` hold ``n_runs``, ``concentration``, ``seed``, ``profile``.
    """
    prep, weights = _prepared(criteria, profile, missing)
    runs = dirichlet_weights(weights, n_runs, concentration=concentration, seed=seed)
    W = runs.reindex(columns=list(prep.names)).to_numpy(dtype="float64")
    base = prep.score(weights.to_numpy(dtype="float64"))
    ranks = prep.rank(base)
    eligible = np.flatnonzero(~prep.excluded)
    order = eligible[np.argsort(ranks[eligible], kind="stable")]
    n = len(order)
    tied = np.zeros(max(n - 1, 0), dtype=bool)
    if n >= 2:
        V = prep.values[order]
        total = np.zeros(n - 1)
        total_sq = np.zeros(n - 1)
        for start in range(0, W.shape[0], _CHUNK):
            S = V @ W[start : start + _CHUNK].T  # (n, runs)
            d = S[:-1] - S[1:]
            total += d.sum(axis=1)
            total_sq += (d * d).sum(axis=1)
        mean = total / W.shape[0]
        sd = np.sqrt(np.maximum(total_sq / W.shape[0] - mean * mean, 0.0))
        rounded = np.round(base[order], TIE_DECIMALS)
        tied = (np.abs(mean) < sd) | (rounded[:-1] == rounded[1:])
    group = np.concatenate([[0], np.cumsum(~tied)]) if n else np.empty(0, dtype="int64")
    site_rank = ranks[order]
    first = pd.Series(site_rank).groupby(group).transform("min").to_numpy() if n else site_rank
    last = pd.Series(site_rank).groupby(group).transform("max").to_numpy() if n else site_rank
    label = [f"{a}-{b}" if a != b else f"{a}" for a, b in zip(first, last, strict=True)]
    out = pd.DataFrame(
        {
            "rank": site_rank.astype("int64"),
            "score": base[order],
            "group_first": np.asarray(first, dtype="int64"),
            "group_last": np.asarray(last, dtype="int64"),
            "group_size": (np.asarray(last) - np.asarray(first) + 1).astype("int64"),
            "rank_group": label,
        },
        index=pd.Index(prep.site_ids[order], name="site_id"),
    )
    out.attrs.update({"n_runs": n_runs, "concentration": concentration, "seed": seed, "profile": profile.name})
    return out


def ranking_diagnostics(
    criteria: pd.DataFrame | PreparedCriteria,
    profile: Profile,
    *,
    n_runs: int = 500,
    concentration: float = 100.0,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables stored beside a profile's scores: effective weights and rank groups.

    Returns
    -------
    effective, groups : DataFrame
        :func:`~foncier.geo.scoring.effective_weights` and :func:`rank_groups` (``site_id`` as a column), each
        with a leading ``profile`` column (the workspace tables ``effective_weights`` and ``rank_groups``).
    """
    from foncier.geo.scoring import effective_weights

    prep, _ = _prepared(criteria, profile, None)
    eff = effective_weights(prep)
    eff.insert(0, "profile", profile.name)
    groups = rank_groups(prep, profile, n_runs=n_runs, concentration=concentration, seed=seed).reset_index()
    groups.insert(0, "profile", profile.name)
    return eff, groups

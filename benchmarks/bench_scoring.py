"""Benchmark: scoring and sensitivity on a synthetic criteria table (no workspace needed).

Run: ``.venv/bin/python benchmarks/bench_scoring.py [n_sites]`` (default 10,000). Prints the median wall time of
- ``prepare``: standardise the criteria table once for a profile (value matrix, exclusions, reasons);
- ``rescore``: new weights -> scores and ranks on the prepared matrix (what a weight slider or ``POST /scores``
  costs);
- ``score_sites``: the full public call, from the table to the scores and the long breakdown table;
- ``monte_carlo``: 1,000 Dirichlet weight draws, rank stability of the top 10;
- ``one_at_a_time``: every weight ±10 % and ±20 %, rank stability of the top 10.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from foncier.geo.criteria_catalogue import synthetic_criteria
from foncier.geo.scoring import prepare, score_sites
from foncier.geo.sensitivity import dirichlet_weights, monte_carlo, one_at_a_time
from foncier.layers.profile_store import load_profile


def timeit(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    crit = synthetic_criteria(n)
    profile = load_profile("default")
    prep = prepare(crit, profile)
    draws = dirichlet_weights(profile.weights, 50, seed=1).to_numpy()
    k = iter(range(10**9))

    def rescore() -> object:
        w = draws[next(k) % len(draws)]
        scores = prep.score(w)
        return prep.rank(scores)

    figures = {
        "prepare_ms": timeit(lambda: prepare(crit, profile), 20),
        "rescore_ms": timeit(rescore, 200),
        "score_sites_ms": timeit(lambda: score_sites(crit, profile), 20),
        "score_sites_prepared_ms": timeit(lambda: score_sites(prep, profile), 20),
        "monte_carlo_1000_ms": timeit(lambda: monte_carlo(prep, profile, n_runs=1000, top_n=10), 5),
        "one_at_a_time_ms": timeit(lambda: one_at_a_time(prep, profile, top_n=10), 5),
    }
    print(
        f"sites={n} criteria={len(profile.criteria)} excluded={int(prep.excluded.sum())} "
        + " ".join(f"{k}={v:.2f}" for k, v in figures.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

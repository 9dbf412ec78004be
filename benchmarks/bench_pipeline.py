"""Benchmark: the full sample territory from workspace to stored criteria and scores (issue 3).

Run: ``.venv/bin/python benchmarks/bench_pipeline.py [full|small]``. Builds the sample workspace (not timed),
then in a fresh process runs the pipeline (sites, criteria, isochrones, the 5 built-in profiles' scores, all
stored) and reports its time and peak memory; then times rescoring every site with new weights, from the
stored criteria table (``score_sites``, with breakdowns) and from prepared criteria (weights only), and the
ratio to the full run. Targets: pipeline <= 60 s and 4 GiB; rescoring >= 100x faster than the full run.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from foncier.layers.workspace import Workspace
from foncier.pipeline import run_pipeline
t = time.perf_counter()
report = run_pipeline(Workspace.open(sys.argv[1]))
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mb": peak_mb,
                  "sites": report.n_sites, "parcels": report.n_parcels, "timings": report.timings}))
"""


def main() -> int:
    size = sys.argv[1] if len(sys.argv) > 1 else "full"
    from foncier.geo.scoring import prepare, score_sites
    from foncier.layers.ingest import store_sample
    from foncier.layers.profile_store import load_profile
    from foncier.layers.sample import build_sample_territory
    from foncier.layers.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        sample = build_sample_territory(size, seed=2023)  # type: ignore[arg-type]
        ws = Workspace.create(Path(tmp), territory=sample.territory, synthetic=True)
        store_sample(ws, sample)
        del sample
        out = subprocess.run([sys.executable, "-c", CHILD, tmp], capture_output=True, text=True, check=True)
        run = json.loads(out.stdout.strip().splitlines()[-1])
        criteria = ws.read_table("criteria").set_index("site_id")
        base = load_profile("logistics")
        weights = base.weights * 0
        weights[:] = 1.0 / len(weights)
        other = base.with_weights(weights)
        reps = 50
        t = time.perf_counter()
        for _ in range(reps):
            score_sites(criteria, other)
        full_rescore = (time.perf_counter() - t) / reps
        prep = prepare(criteria, base)
        w = other.weights.reindex(list(prep.names)).to_numpy()
        t = time.perf_counter()
        for _ in range(reps * 20):
            prep.rank(prep.score(w))
        fast_rescore = (time.perf_counter() - t) / (reps * 20)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"sample={size} parcels={run['parcels']} sites={run['sites']} pipeline_s={run['seconds']:.1f} "
        f"pipeline_peak_rss_mb={run['peak_mb']:.0f} steps={run['timings']}"
    )
    print(
        f"rescore_score_sites_ms={full_rescore * 1e3:.2f} (x{run['seconds'] / full_rescore:,.0f} faster) "
        f"rescore_prepared_ms={fast_rescore * 1e3:.3f} (x{run['seconds'] / fast_rescore:,.0f} faster) "
        f"bench_peak_rss_mb={peak:.0f}"
    )
    ok = run["seconds"] <= 60 and run["peak_mb"] <= 4096 and run["seconds"] / full_rescore >= 100
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

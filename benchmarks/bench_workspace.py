"""Benchmark: build the FULL sample territory and store it in a workspace (issue 2).

Run: ``.venv/bin/python benchmarks/bench_workspace.py`` (or ``make bench``). Prints the parcel count, the build
and store times, the peak resident memory, and whether two builds with the same seed give the same layers
(checksums of every stored layer).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time

from foncier.layers.ingest import store_sample
from foncier.layers.sample import build_sample_territory
from foncier.layers.workspace import Workspace, frame_checksum


def main() -> int:
    size = sys.argv[1] if len(sys.argv) > 1 else "full"
    t0 = time.perf_counter()
    sample = build_sample_territory(size, seed=2023)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(tmp, territory=sample.territory, synthetic=True)
        store_sample(ws, sample)
        t2 = time.perf_counter()
        size_mb = ws.gpkg.stat().st_size / 1e6
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    again = build_sample_territory(size, seed=2023)  # type: ignore[arg-type]
    same = all(frame_checksum(sample.layers[k]) == frame_checksum(again.layers[k]) for k in sample.layers)
    same = same and bool((sample.dem == again.dem).all())
    print(
        f"sample={size} parcels={len(sample.layers['parcels'])} build_s={t1 - t0:.1f} store_s={t2 - t1:.1f} "
        f"total_s={t2 - t0:.1f} gpkg_mb={size_mb:.0f} peak_rss_mb={peak_mb:.0f} deterministic={same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

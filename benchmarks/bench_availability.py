"""Benchmark: built shares and availability states of the full sample's parcels against their buildings.

Run: ``.venv/bin/python benchmarks/bench_availability.py`` (figures go to docs/BENCHMARKS.md by hand).
"""

from __future__ import annotations

import resource
import time

from foncier.geo.availability import built_share, parcel_availability, state_counts
from foncier.layers.sample import build_sample_territory


def main() -> None:
    sample = build_sample_territory("full")
    layers = sample.layers
    parcels, buildings = layers["parcels"], layers["buildings"]
    t = time.perf_counter()
    share = built_share(parcels, buildings)
    t_share = time.perf_counter() - t
    t = time.perf_counter()
    table = parcel_availability(parcels, buildings=buildings, plu=layers["plu"], zones=layers["zones"],
                                friches=layers["friches"], terrains=layers["terrains"])  # fmt: skip
    t_all = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"parcels {len(parcels):,}, buildings {len(buildings):,}")
    print(f"built_share: {t_share:.2f} s ({int((share > 0.1).sum()):,} above 10 %)")
    print(f"parcel_availability (all rules): {t_all:.2f} s; states {state_counts(table)}")
    print(f"peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()

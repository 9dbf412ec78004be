"""Benchmark: build the synthetic sample territory (``foncier.layers.sample``), full size by default.

Run: ``.venv/bin/python benchmarks/bench_sample.py [full|small] [seed]``. Prints the parcel count, the feature
count of every layer, the build time in seconds, the peak resident memory of the process (the budget: full
well under 40 s, small under 5 s) and the number of candidate clusters (groups of touching parcels of 1 to
30 ha in economic zoning, zones d'activite or friches; at least ~60 expected in full, ~15 in small).
"""

from __future__ import annotations

import resource
import sys
import time

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from foncier.layers.sample import build_sample_territory


def candidate_clusters(layers: dict[str, gpd.GeoDataFrame]) -> int:
    """Number of groups of touching parcels of 1 to 30 ha in economic zoning, zones d'activite or friches."""
    plu = layers["plu"]
    available = shapely.union_all(
        np.concatenate(
            [
                plu.geometry[plu["destdomi"] == "activite"].to_numpy(),
                layers["zones"].geometry.to_numpy(),
                layers["friches"].geometry.to_numpy(),
            ]
        )
    )
    parcels = layers["parcels"].geometry.to_numpy()
    inside = parcels[shapely.contains(available, shapely.point_on_surface(parcels))]
    left, right = shapely.STRtree(inside).query(inside, predicate="dwithin", distance=0.05)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(inside), len(inside)))
    _, label = connected_components(graph, directed=False)
    area = np.bincount(label, weights=shapely.area(inside))
    return int(((area >= 1e4) & (area <= 3e5)).sum())


def main() -> int:
    size = sys.argv[1] if len(sys.argv) > 1 else "full"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 2023
    if size not in ("small", "full"):
        print(f"usage: {sys.argv[0]} [full|small] [seed]")
        return 2
    t0 = time.perf_counter()
    sample = build_sample_territory(size, seed=seed)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = " ".join(f"{name}={len(gdf)}" for name, gdf in sample.layers.items())
    budget = 40.0 if size == "full" else 5.0
    print(
        f"sample={size} seed={seed} parcels={len(sample.layers['parcels'])} build_s={seconds:.1f} "
        f"peak_rss_mb={peak_mb:.0f} dem={sample.dem.shape[1]}x{sample.dem.shape[0]}@{sample.dem_transform.a:.0f}m"
    )
    print(f"layers: {counts}")
    print(f"candidate clusters (1-30 ha of touching economic parcels): {candidate_clusters(sample.layers)}")
    return 0 if seconds < budget else 1


if __name__ == "__main__":
    raise SystemExit(main())

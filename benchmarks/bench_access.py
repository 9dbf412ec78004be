"""Benchmark-style check of the travel-time calibration (issue 12): the sample network against public trip times.

Run: ``.venv/bin/python benchmarks/bench_access.py``. Builds the sample territory's road network, compiles the
calibrated car and lorry graphs (:mod:`foncier.geo.speeds`) and routes Soissons, Villers-Cotterêts and
Oulchy-le-Château (commune centres) to Paris-CDG. Prints, for each trip and vehicle, the time, the road distance,
the reference window (:data:`foncier.geo.speeds.REFERENCE_TRIPS`, sources in docs/ACCESS.md) and whether the
sample lands inside, then the free-flow times at the legal limits for comparison. Exit code 1 when a trip
falls outside its window.
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    from foncier.geo.network import build_road_graph, build_vehicle_graphs, roissy_hub, route_to_hub
    from foncier.geo.speeds import REFERENCE_TRIPS, SpeedModel
    from foncier.layers.sample.communes import commune_centres
    from foncier.layers.sample.territory import build_sample_territory

    sample = build_sample_territory("small")
    roads, hubs = sample.layers["roads"], sample.layers["hubs"]
    centres = commune_centres()
    towns = centres[centres["insee"].isin(list(REFERENCE_TRIPS))].set_index("insee")
    cdg = roissy_hub(hubs)
    t0 = time.perf_counter()
    graphs = build_vehicle_graphs(roads, communes=sample.layers["communes"])
    build_s = time.perf_counter() - t0
    legal = build_road_graph(roads, vehicle="car", speed_model=SpeedModel.legal())
    free = route_to_hub(towns, legal, cdg)
    ok = True
    print(f"graphs built in {build_s:.2f} s ({graphs['car'].n_nodes} nodes, {graphs['car'].n_edges} edges)")
    print(f"{'commune':<22}{'vehicle':<9}{'minutes':>8}{'km':>7}  {'window':<11}{'in':<4}{'legal-limit min':>16}")
    for vehicle, g in graphs.items():
        r = route_to_hub(towns, g, cdg)
        for insee, windows in REFERENCE_TRIPS.items():
            lo, hi = windows[vehicle]
            minutes, km = float(r.loc[insee, "minutes"]), float(r.loc[insee, "km"])
            inside = lo <= minutes <= hi
            ok &= inside
            name = str(towns.loc[insee, "nom"])
            print(
                f"{name:<22}{vehicle:<9}{minutes:>8.1f}{km:>7.1f}  {lo:>3.0f}-{hi:<3.0f} min "
                f"{'yes' if inside else 'NO':<4}{float(free.loc[insee, 'minutes']):>16.1f}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

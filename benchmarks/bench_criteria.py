"""Benchmark of the spatial chain: available_parcels + candidate_sites + compute_criteria (+ isochrones).

Builds synthetic inputs of the real territory's size itself (no file, no network):

- ~150,000 parcels: a 387 x 387 grid of ~100 m cells with jittered shared corners (they tile exactly);
- ~9,400 PLU zones (400 m blocks, outlines densified to 20 m vertices), ~8 % economic;
- ~75,000 road segments: a 200 m grid of two-way streets (5 % one-way, every 10th line faster), densified
  to 50 m vertices, plus a motorway to a CDG stand-in 45 km to the south-west;
- 150 zones d'activite, 70 friches (points and polygons), 300 flood and 100 protected polygons, 163
  communes with population, a 25 m DEM (2.4 M cells).

Run: ``.venv/bin/python benchmarks/bench_criteria.py [--scale 1.0] [--seed 0]``; it prints the time of
each step.
"""

from __future__ import annotations

import argparse
import logging
import time

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine

from foncier.geo.criteria import compute_criteria
from foncier.geo.network import build_road_graph, isochrones, roissy_hub
from foncier.geo.sites import available_parcels, candidate_sites

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0


def grid_parcels(n: int, cell: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """n x n parcels tiling the square, corners jittered by up to 20 % of a cell."""
    xs = X0 + np.arange(n + 1) * cell
    ys = Y0 + np.arange(n + 1) * cell
    cx, cy = np.meshgrid(xs, ys, indexing="ij")
    cx = cx + rng.uniform(-0.2, 0.2, cx.shape) * cell
    cy = cy + rng.uniform(-0.2, 0.2, cy.shape) * cell
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    i, j = i.ravel(), j.ravel()
    ring = np.stack(
        [
            np.stack([cx[i, j], cy[i, j]], -1),
            np.stack([cx[i + 1, j], cy[i + 1, j]], -1),
            np.stack([cx[i + 1, j + 1], cy[i + 1, j + 1]], -1),
            np.stack([cx[i, j + 1], cy[i, j + 1]], -1),
            np.stack([cx[i, j], cy[i, j]], -1),
        ],
        axis=1,
    )
    geoms = shapely.polygons(ring)
    commune_ix = (i // 30) * 13 + (j // 30)
    insee = np.array([f"02{k:03d}" for k in range(13 * 13)])[commune_ix]
    ids = [
        f"{c}000{chr(65 + (k // 10000) % 26)}{chr(65 + (k // 260000) % 26)}{k % 10000:04d}" for k, c in enumerate(insee)
    ]
    status = rng.choice(
        np.array(["available", "under_option", "sold", "not_for_sale", None], dtype=object),
        len(ids),
        p=[0.1, 0.02, 0.08, 0.05, 0.75],
    )
    return gpd.GeoDataFrame(
        {
            "parcel_id": ids,
            "commune": insee,
            "section": "AB",
            "numero": "0001",
            "contenance_m2": np.nan,
            "status": status,
        },
        geometry=geoms,
        crs=L93,
    )


def plu_blocks(extent: float, block: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    k = int(np.ceil(extent / block))
    x0 = X0 + np.repeat(np.arange(k), k) * block
    y0 = Y0 + np.tile(np.arange(k), k) * block
    geoms = shapely.segmentize(shapely.box(x0, y0, x0 + block, y0 + block), 20.0)
    kind = rng.choice(np.arange(6), len(geoms), p=[0.05, 0.03, 0.12, 0.05, 0.5, 0.25])
    typezone = np.array(["U", "AUc", "U", "AUs", "A", "N"])[kind]
    libelle = np.array(["UX", "1AUx", "UB", "2AU", "A", "N"])[kind]
    return gpd.GeoDataFrame({"typezone": typezone, "destdomi": None, "libelle": libelle}, geometry=geoms, crs=L93)


def road_grid(extent: float, spacing: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    k = int(extent // spacing)
    starts, ends, fast = [], [], []
    for a in range(k + 1):
        for b in range(k):
            starts += [(X0 + a * spacing, Y0 + b * spacing), (X0 + b * spacing, Y0 + a * spacing)]
            ends += [(X0 + a * spacing, Y0 + (b + 1) * spacing), (X0 + (b + 1) * spacing, Y0 + a * spacing)]
            fast += [a % 10 == 0, a % 10 == 0]
    s, e = np.array(starts), np.array(ends)
    lines = shapely.segmentize(shapely.linestrings(np.stack([s, e], axis=1)), 50.0)
    fast_arr = np.array(fast)
    motorway = shapely.segmentize(shapely.LineString([(X0, Y0 + 10_000), (X0 - 32_000, Y0 - 22_000)]), 1000.0)
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "road_id": [f"r{i}" for i in range(n + 1)],
            "class": [*np.where(fast_arr, "primary", "residential"), "motorway"],
            "speed_kmh": [*np.where(fast_arr, 80.0, 40.0), 110.0],
            "oneway": [*(rng.random(n) < 0.05), False],
        },
        geometry=[*lines, motorway],
        crs=L93,
    )


def random_boxes(n: int, extent: float, size: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    x = X0 + rng.uniform(0, extent, n)
    y = Y0 + rng.uniform(0, extent, n)
    w = rng.uniform(*size, n)
    h = rng.uniform(*size, n)
    return shapely.segmentize(shapely.box(x, y, x + w, y + h), 25.0)


def build_inputs(
    scale: float, seed: int
) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame], tuple[np.ndarray, Affine]]:
    rng = np.random.default_rng(seed)
    n = round(387 * np.sqrt(scale))
    cell = 100.0
    extent = n * cell
    parcels = grid_parcels(n, cell, rng)
    communes_geoms = [
        shapely.box(X0 + a * 3000, Y0 + b * 3000, X0 + (a + 1) * 3000, Y0 + (b + 1) * 3000)
        for a in range(13)
        for b in range(13)
    ][:163]
    layers = {
        "parcels": parcels,
        "plu": plu_blocks(extent, 400.0, rng),
        "roads": road_grid(extent, 200.0, rng),
        "zones": gpd.GeoDataFrame(
            {"zone_id": [f"z{i}" for i in range(150)], "nom": "ZA"},
            geometry=random_boxes(150, extent, (150, 600), rng),
            crs=L93,
        ),
        "friches": gpd.GeoDataFrame(
            {
                "site_id": [f"f{i}" for i in range(70)],
                "site_statut": None,
                "site_surface_m2": rng.uniform(1e3, 5e4, 70),
            },
            geometry=[
                *shapely.points(np.array([X0, Y0]) + rng.uniform(0, extent, (50, 2))),
                *random_boxes(20, extent, (50, 300), rng),
            ],
            crs=L93,
        ),
        "flood": gpd.GeoDataFrame(
            {"level": rng.choice(["red", "blue"], 300)}, geometry=random_boxes(300, extent, (100, 1500), rng), crs=L93
        ),
        "protected": gpd.GeoDataFrame(
            {"kind": "znieff1", "code": [f"p{i}" for i in range(100)]},
            geometry=random_boxes(100, extent, (300, 3000), rng),
            crs=L93,
        ),
        "communes": gpd.GeoDataFrame(
            {"insee": [f"02{k:03d}" for k in range(163)], "nom": "c", "population": rng.integers(100, 30_000, 163)},
            geometry=communes_geoms,
            crs=L93,
        ),
        "hubs": gpd.GeoDataFrame(
            {"hub_id": ["CDG"], "nom": ["Paris-CDG"], "kind": ["airport"]},
            geometry=[shapely.Point(X0 - 32_000, Y0 - 22_000)],
            crs=L93,
        ),
        "interchanges": gpd.GeoDataFrame(
            {"interchange_id": [f"i{i}" for i in range(10)], "road_class": "motorway"},
            geometry=shapely.points(np.array([X0, Y0]) + rng.uniform(0, extent, (10, 2))),
            crs=L93,
        ),
        "rail_stations": gpd.GeoDataFrame(
            {"code_uic": [f"87{i:06d}" for i in range(30)], "nom": "g", "fret": np.arange(30) < 10, "voyageurs": True},
            geometry=shapely.points(np.array([X0, Y0]) + rng.uniform(0, extent, (30, 2))),
            crs=L93,
        ),
    }
    res = 25.0
    m = int(extent // res)
    yy, xx = np.mgrid[0:m, 0:m] * res
    dem = 80 + 40 * np.sin(xx / 3000) * np.cos(yy / 4000) + 0.001 * xx
    transform = Affine(res, 0, X0, 0, -res, Y0 + m * res)
    return parcels, layers, (dem.astype(np.float32), transform)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = ~150k parcels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--stress",
        action="store_true",
        help="also group a random 45 %% of all parcels (percolation-like clusters, one of ~60k parcels)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")

    t0 = time.perf_counter()
    parcels, layers, dem = build_inputs(args.scale, args.seed)
    print(
        f"inputs: {len(parcels):,} parcels, {len(layers['plu']):,} PLU zones, {len(layers['roads']):,} road lines, "
        f"DEM {dem[0].shape[0]}x{dem[0].shape[1]}  (built in {time.perf_counter() - t0:.1f} s)"
    )
    timings: dict[str, float] = {}

    t = time.perf_counter()
    avail = available_parcels(parcels, layers["plu"], layers["zones"], layers["friches"])
    timings["available_parcels"] = time.perf_counter() - t
    print(f"available_parcels: {timings['available_parcels']:.2f} s ({int(avail.sum()):,} available)")

    t = time.perf_counter()
    sites, site_parcels = candidate_sites(parcels[avail.to_numpy()])
    timings["candidate_sites"] = time.perf_counter() - t
    print(f"candidate_sites: {timings['candidate_sites']:.2f} s ({len(sites):,} sites, {len(site_parcels):,} parcels)")

    t = time.perf_counter()
    graph = build_road_graph(layers["roads"])
    timings["build_road_graph"] = time.perf_counter() - t
    print(f"  build_road_graph: {timings['build_road_graph']:.2f} s ({graph.n_nodes:,} nodes, {graph.n_edges:,} edges)")

    steps: list[tuple[str, float]] = []
    last = [time.perf_counter()]

    def progress(step: str, done: int, total: int) -> None:
        now = time.perf_counter()
        steps.append((step, now - last[0]))
        last[0] = now

    t = time.perf_counter()
    last[0] = t
    criteria = compute_criteria(sites, layers, dem, graph=graph, progress=progress)
    timings["compute_criteria"] = time.perf_counter() - t
    for step, secs in steps:
        print(f"  {step:<22} {secs:6.2f} s")
    print(f"compute_criteria: {timings['compute_criteria']:.2f} s ({criteria.shape[0]:,} x {criteria.shape[1]})")

    chain = (
        timings["available_parcels"]
        + timings["candidate_sites"]
        + timings["build_road_graph"]
        + timings["compute_criteria"]
    )
    print(f"CHAIN (available + sites + graph + criteria): {chain:.2f} s")

    if args.stress:
        rng = np.random.default_rng(args.seed + 1)
        subset = parcels[rng.random(len(parcels)) < 0.45]
        t = time.perf_counter()
        big_sites, _ = candidate_sites(subset)
        t_sites = time.perf_counter() - t
        t = time.perf_counter()
        big_criteria = compute_criteria(big_sites, layers, dem, graph=graph)
        t_crit = time.perf_counter() - t
        print(
            f"STRESS: candidate_sites on {len(subset):,} random parcels {t_sites:.2f} s "
            f"({len(big_sites):,} sites, largest {big_sites['n_parcels'].max():,} parcels); "
            f"compute_criteria {t_crit:.2f} s ({big_criteria.shape[0]:,} rows)"
        )

    t = time.perf_counter()
    cdg = roissy_hub(layers["hubs"])
    iso = isochrones(graph, cdg, reverse=True, minutes=(15, 30, 45, 60))
    print(
        f"isochrones (4 budgets, CDG): {time.perf_counter() - t:.2f} s, areas km2: {[round(a / 1e6) for a in iso.area]}"
    )
    print(criteria.describe(include="all").T[["count", "mean", "min", "max"]].to_string())


if __name__ == "__main__":
    main()

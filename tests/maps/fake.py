"""Small made-up results and layers around Soissons, shaped as docs/CONTRACTS.md says (for the map tests)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

L93 = "EPSG:2154"
SOISSONS = (726_500.0, 6_917_500.0)
CRITERIA = {
    "time_to_roissy_min": ("min", 0.25),
    "time_to_interchange_min": ("min", 0.15),
    "dist_freight_station_m": ("m", 0.10),
    "share_brownfield": ("0..1", 0.10),
    "zoning_class": ("class", 0.15),
    "area_m2": ("m2", 0.15),
    "labour_pool": ("persons", 0.10),
}
COMMUNES = [("02722", "Soissons"), ("02064", "Belleu"), ("02811", "Villeneuve-Saint-Germain"), ("02166", "Crouy")]
OWNER = "Jean-Pierre Dupont-Propriétaire"


@dataclass
class FakeResults:
    sites: gpd.GeoDataFrame
    breakdown: pd.DataFrame
    parcels: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame]
    provenance: pd.DataFrame


def make_results(n_sites: int = 24, *, seed: int = 1, excluded_every: int = 5) -> FakeResults:
    """``n_sites`` sites of 2 to 5 parcels each on a grid around Soissons, scored, with context layers."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_sites)))
    parcel_rows = []
    site_rows = []
    for i in range(n_sites):
        x0 = SOISSONS[0] - 6000 + (i % side) * 12000 / side
        y0 = SOISSONS[1] - 6000 + (i // side) * 12000 / side
        n_par = int(rng.integers(2, 6))
        insee, _ = COMMUNES[i % len(COMMUNES)]
        geoms = []
        ids = []
        for j in range(n_par):
            w = float(rng.uniform(60, 160))
            g = box(x0 + j * 170, y0, x0 + j * 170 + w + 10, y0 + float(rng.uniform(80, 200)))
            pid = f"{insee}000AB{i * 10 + j:04d}"
            geoms.append(g)
            ids.append(pid)
            parcel_rows.append(
                {
                    "parcel_id": pid,
                    "commune": insee,
                    "section": "AB",
                    "numero": f"{i * 10 + j:04d}",
                    "contenance_m2": round(g.area),
                    "proprietaire": OWNER,
                    "geometry": g,
                }
            )
        union = shapely.union_all([g.buffer(6, join_style="mitre") for g in geoms]).buffer(-6, join_style="mitre")
        areas = [g.area for g in geoms]
        site_rows.append(
            {
                "site_id": f"S{i:010x}",
                "area_m2": float(sum(areas)),
                "n_parcels": n_par,
                "min_lot_m2": min(areas),
                "max_lot_m2": max(areas),
                "communes": insee,
                "parcel_ids": ",".join(ids),
                "geometry": union,
            }
        )
    sites = gpd.GeoDataFrame(site_rows, crs=L93)
    crit = pd.DataFrame({"site_id": sites["site_id"]})
    crit["time_to_roissy_min"] = rng.uniform(40, 80, n_sites).round(1)
    crit["time_to_interchange_min"] = rng.uniform(1, 15, n_sites).round(1)
    crit["dist_freight_station_m"] = rng.uniform(200, 12000, n_sites).round()
    crit["share_brownfield"] = rng.uniform(0, 1, n_sites).round(3)
    crit["zoning_class"] = rng.choice(["economic_U", "economic_AU", "U", "A"], n_sites)
    crit["labour_pool"] = rng.integers(20000, 90000, n_sites)
    sites = sites.merge(crit, on="site_id")
    rows = []
    scores = []
    excluded = np.array([(i % excluded_every == excluded_every - 1) for i in range(n_sites)])
    for k, rec in enumerate(sites.to_dict("records")):
        total = 0.0
        for name, (_unit, w) in CRITERIA.items():
            value = float(rng.uniform(0, 1))
            contribution = 0.0 if excluded[k] else w * value
            total += contribution
            rows.append(
                {
                    "site_id": rec["site_id"],
                    "criterion": name,
                    "raw_value": rec[name],
                    "value": value,
                    "weight": w,
                    "contribution": contribution,
                }
            )
        scores.append(total)
    sites["score"] = np.where(excluded, 0.0, scores)
    sites["excluded"] = excluded
    sites["reasons"] = np.where(excluded, "red flood zone share > 0.1; zoning A or N", "")
    sites["reasons_fr"] = np.where(excluded, "part en zone rouge > 0,1 ; zonage A ou N", "")
    order = np.lexsort((sites["site_id"], -sites["score"].to_numpy(), sites["excluded"].to_numpy()))
    ranks = np.empty(n_sites, dtype=int)
    ranks[order] = np.arange(1, n_sites + 1)
    sites["rank"] = ranks
    sites = sites.sort_values("rank").set_index("site_id", drop=False)
    sites.index.name = "site_id"
    breakdown = pd.DataFrame(rows)
    parcels = gpd.GeoDataFrame(parcel_rows, crs=L93)

    x, y = SOISSONS
    communes = gpd.GeoDataFrame(
        {"insee": [c for c, _ in COMMUNES], "nom": [n for _, n in COMMUNES]},
        geometry=[
            box(x - 8000, y - 8000, x, y),
            box(x, y - 8000, x + 8000, y),
            box(x - 8000, y, x, y + 8000),
            box(x, y, x + 8000, y + 8000),
        ],
        crs=L93,
    )
    layers = {
        "communes": communes,
        "zones": gpd.GeoDataFrame(
            {"zone_id": ["Z1"], "nom": ["ZAC du Plateau"], "type": ["industrial"]},
            geometry=[box(x - 3000, y - 3000, x - 1000, y - 1500)],
            crs=L93,
        ),
        "roads": gpd.GeoDataFrame(
            {"road_id": ["r1", "r2", "r3"], "class": ["trunk", "primary", "residential"], "ref": ["N2", "D1", ""]},
            geometry=[
                LineString([(x - 8000, y - 5000), (x + 8000, y + 2000)]),
                LineString([(x - 8000, y + 3000), (x + 8000, y + 3500)]),
                LineString([(x, y), (x + 100, y + 100)]),
            ],
            crs=L93,
        ),
        "interchanges": gpd.GeoDataFrame(
            {"interchange_id": ["i1"], "nom": ["Échangeur N2"], "road_class": ["trunk"]},
            geometry=[Point(x - 2000, y - 3700)],
            crs=L93,
        ),
        "rail_lines": gpd.GeoDataFrame(
            {"code_ligne": ["242000"], "libelle": ["Paris - Soissons"]},
            geometry=[LineString([(x - 8000, y), (x + 8000, y - 500)])],
            crs=L93,
        ),
        "rail_stations": gpd.GeoDataFrame(
            {
                "code_uic": ["87296004", "87296004", "87296005"],
                "nom": ["Soissons", "Soissons", "Crouy"],
                "fret": [True, True, False],
                "voyageurs": [True, True, True],
            },
            geometry=[Point(x, y - 250), Point(x, y - 250), Point(x + 3000, y)],
            crs=L93,
        ),
        "isochrones": gpd.GeoDataFrame(
            {"minutes": [45, 60], "hub_id": ["CDG", "CDG"]},
            geometry=[Point(x - 20000, y - 20000).buffer(20000), Point(x - 20000, y - 20000).buffer(32000)],
            crs=L93,
        ),
        "flood": gpd.GeoDataFrame(
            {"level": ["red", "blue"]},
            geometry=[box(x - 8000, y - 300, x + 8000, y + 200), box(x - 8000, y - 900, x + 8000, y + 700)],
            crs=L93,
        ),
        "protected": gpd.GeoDataFrame(
            {"kind": ["znieff1"], "code": ["220013456"], "nom": ["Bois de Belleu"]},
            geometry=[Point(x + 4000, y - 4000).buffer(1500)],
            crs=L93,
        ),
        "friches": gpd.GeoDataFrame(
            {
                "site_id": ["F1", "F2"],
                "site_statut": ["friche sans projet", "friche"],
                "nom": ["Ancienne sucrerie", "Ancien dépôt"],
            },
            geometry=[box(x + 1000, y + 1000, x + 1400, y + 1300), Point(x - 500, y + 2000)],
            crs=L93,
        ),
    }
    provenance = pd.DataFrame(
        {
            "layer": ["parcels", "communes", "roads"],
            "source": [
                "synthetic sample, seed 2023",
                "/home/someone/data/communes.geojson",
                "synthetic sample, seed 2023",
            ],
            "licence": ["Licence Ouverte 2.0", "Licence Ouverte 2.0", "ODbL"],
            "retrieved": ["2025-11-27T10:00:00+00:00", "2025-11-26", "2025-11-27"],
            "vintage": ["", "2025", ""],
            "feature_count": [len(parcels), 4, 3],
            "checksum": ["", "", ""],
        }
    )
    return FakeResults(sites, breakdown, parcels, layers, provenance)

"""Write Etalab cadastre ``batiments`` files (test-made buildings on real parcels) in the publisher's shape.

The Etalab bulk files are FeatureCollections written one feature per line, in EPSG:4326, each feature with
the properties ``type`` ("01" hard materials, "02" light), ``nom``, ``commune``, ``created``, ``updated``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping


def etalab_text(features: list[dict[str, Any]], *, crs: str | None = None) -> str:
    """A FeatureCollection written one feature per line, as the Etalab files are (optionally with a legacy
    ``crs`` member)."""
    head = '{"type":"FeatureCollection",'
    if crs:
        head += '"crs":{"type":"name","properties":{"name":"' + crs + '"}},'
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    return head + '"features":[\n' + lines + "\n]}\n"


def buildings_on(parcels: gpd.GeoDataFrame, *, every: int = 3, cover: float = 0.4, seed: int = 7) -> gpd.GeoDataFrame:
    """Buildings in Lambert-93 on every ``every``-th parcel: the parcel shrunk to cover about ``cover`` of it
    (type 01), and a light 3 x 4 m shed (type 02) at the representative point of every 5th parcel."""
    rng = np.random.default_rng(seed)
    geoms = parcels.geometry.to_numpy()
    sel = np.arange(0, len(parcels), every)
    area, perim = shapely.area(geoms[sel]), shapely.length(geoms[sel])
    d = (1.0 - cover) * area / np.maximum(perim, 1.0) * rng.uniform(0.9, 1.1, len(sel))
    main = shapely.buffer(geoms[sel], -d, join_style="mitre")
    sheds_i = np.arange(1, len(parcels), 5)
    pts = shapely.point_on_surface(geoms[sheds_i])
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    sheds = shapely.intersection(shapely.box(x - 1.5, y - 2.0, x + 1.5, y + 2.0), geoms[sheds_i])
    footprints = np.concatenate([main, sheds])
    types = ["01"] * len(main) + ["02"] * len(sheds)
    communes = np.concatenate([parcels["commune"].to_numpy()[sel], parcels["commune"].to_numpy()[sheds_i]])
    out = gpd.GeoDataFrame({"type": types, "commune": communes}, geometry=footprints, crs=parcels.crs)
    return out[~out.geometry.is_empty & (out.geometry.geom_type == "Polygon")].reset_index(drop=True)


def write_etalab_buildings(
    buildings: gpd.GeoDataFrame, path: Path, *, lonlat: bool = True, crs_member: str | None = None
) -> Path:
    """Write ``buildings`` as an Etalab ``cadastre-{insee}-batiments.json(.gz)`` file. ``lonlat=False``
    writes the Lambert-93 coordinates as they are (the wrong-CRS case when no ``crs`` member says so)."""
    gdf = buildings.to_crs("EPSG:4326") if lonlat else buildings
    feats = [
        {
            "type": "Feature",
            "geometry": mapping(g),
            "properties": {"type": t, "nom": None, "commune": c, "created": "2008-11-04", "updated": "2023-02-09"},
        }
        for g, t, c in zip(gdf.geometry, gdf["type"], gdf["commune"], strict=True)
    ]
    text = etalab_text(feats, crs=crs_member)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path

"""Constraints of the sample territory: flood zones (PPRI) and protected natural areas.

Flood zones follow the valleys of :mod:`.rivers`: a red zone (building prohibited) in the river corridor and a
blue zone (building under conditions) around it, both of smoothly varying width. Protected areas are the
Natura 2000 sites and ZNIEFF of the Foret de Retz, of wooded valley sides and of wet valley floors.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from foncier.geo.crs import LAMBERT93
from foncier.layers.sample._geom import FloatArray, GeomArray, blobs, polygon_parts
from foncier.layers.sample.rivers import River

logger = logging.getLogger(__name__)

_STEP_M = 110.0


def _smooth_profile(n: int, rng: np.random.Generator, step: float) -> FloatArray:
    """A smooth random profile of ``n`` samples ``step`` metres apart, mean 0, amplitude about 1."""
    s = np.arange(n) * step
    wavelengths = np.array([6000.0, 2600.0, 1300.0])
    phase = rng.uniform(0, 2 * np.pi, wavelengths.size)
    weight = np.array([0.55, 0.3, 0.15])
    wave = np.sin(2 * np.pi * s[None, :] / wavelengths[:, None] + phase[:, None])
    return np.asarray(np.sum(weight[:, None] * wave, axis=0), dtype=np.float64)


def flood_zones(
    rivers: list[tuple[River, shapely.LineString]], outline: shapely.Polygon, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Build the red and blue flood zones along the rivers that have a flood plan.

    Parameters
    ----------
    rivers : list of (River, LineString)
        Rivers and their centrelines (:func:`.rivers.river_lines`).
    outline : shapely.Polygon
        Territory outline (zones are clipped to it).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``flood`` layer: ``level`` ("red"/"blue") plus ``river`` and ``nom``; Polygons.
    """
    reds: list[shapely.Geometry] = []
    blues: list[shapely.Geometry] = []
    names: list[str] = []
    for river, line in rivers:
        if river.red_half_width <= 0:
            continue
        step = min(_STEP_M, river.red_half_width * 0.4)
        n = int(shapely.length(line) / step) + 1
        at = shapely.line_interpolate_point(line, np.linspace(0, 1, n), normalized=True)
        red_r = river.red_half_width * (1.0 + 0.4 * _smooth_profile(n, rng, step))
        blue_r = river.blue_half_width * (1.0 + 0.3 * _smooth_profile(n, rng, step))
        red = shapely.union_all(shapely.buffer(at, np.maximum(red_r, 25.0), quad_segs=6))
        blue = shapely.union_all(shapely.buffer(at, np.maximum(blue_r, red_r + 40.0), quad_segs=6))
        reds.append(red)
        blues.append(blue)
        names.append(river.name)
    red_all = shapely.intersection(shapely.union_all(reds), outline)
    blue_all = shapely.difference(shapely.intersection(shapely.union_all(blues), outline), red_all)
    red_parts, _ = polygon_parts(np.asarray([red_all], dtype=object), min_area=500.0)
    blue_parts, _ = polygon_parts(np.asarray([blue_all], dtype=object), min_area=500.0)
    geoms = np.concatenate([red_parts, blue_parts])
    levels = ["red"] * len(red_parts) + ["blue"] * len(blue_parts)
    # name each zone after the nearest river (zones of the Aisne and of the Vesle meet at Conde-sur-Aisne)
    lines = np.asarray([line for river, line in rivers if river.red_half_width > 0], dtype=object)
    probe = shapely.point_on_surface(geoms)
    nearest = np.argmin(shapely.distance(probe[:, None], lines[None, :]), axis=1)
    label = np.asarray([_ppri_name(n) for n in names])[nearest]
    return gpd.GeoDataFrame(
        {"level": levels, "river": np.asarray(names)[nearest], "nom": label}, geometry=geoms, crs=LAMBERT93
    )


def _of(river: str) -> str:
    """French "of the" + river name: "de la Vesle", "de l'Aisne"."""
    return f"de l'{river}" if river[0] in "AEIOUY" else f"de la {river}"


def _ppri_name(river: str) -> str:
    """Name of the flood risk plan of ``river``."""
    return f"PPRI de la vallée {_of(river)}"


def protected_areas(
    retz: shapely.Geometry,
    side_woods: GeomArray,
    rivers: list[tuple[River, shapely.LineString]],
    outline: shapely.Polygon,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Build the Natura 2000 sites and ZNIEFF.

    Parameters
    ----------
    retz : shapely.Geometry
        The Foret de Retz.
    side_woods : ndarray of Polygon
        Woods on the valley sides (coteaux).
    rivers : list of (River, LineString)
        Rivers and centrelines (wet valley floors of the Vesle and the Ourcq).
    outline : shapely.Polygon
        Territory outline.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``protected`` layer: ``kind, code, nom``; Polygons (areas of different kinds may overlap,
        as in the real inventories).
    """
    records: list[tuple[str, str, str, shapely.Geometry]] = []
    retz_core = shapely.buffer(retz, -250.0)
    records.append(("natura2000_sic", "FR2200398", "Massif forestier de Retz", retz_core))
    records.append(("natura2000_zps", "FR2212001", "Forêt de Retz (oiseaux)", shapely.buffer(retz, -600.0)))
    records.append(("znieff2", "220013447", "Massif forestier de Retz et ses lisières", shapely.buffer(retz, 200.0)))
    # ZNIEFF 1 on a share of the wooded valley sides (coteaux calcaires)
    areas = shapely.area(side_woods)
    order = np.argsort(-areas, kind="stable")
    chosen = np.sort(order[: max(6, len(order) // 4)])
    for k, i in enumerate(chosen):
        records.append(
            ("znieff1", f"2200{14000 + 37 * k:05d}", f"Coteaux boisés n°{k + 1}", shapely.buffer(side_woods[i], 60.0))
        )
    # Natura 2000 SIC on a few of the same coteaux (calcareous grasslands)
    for k, i in enumerate(chosen[::3]):
        records.append(
            (
                "natura2000_sic",
                f"FR220{440 + k:04d}",
                f"Coteaux calcaires du Soissonnais n°{k + 1}",
                shapely.buffer(side_woods[i], -20.0),
            )
        )
    # wet valley floors: marshes of the Vesle and of the Ourcq
    line_of = {r.name: (r, line) for r, line in rivers}
    for name, count, code0 in (("Vesle", 3, 220005010), ("Ourcq", 3, 220030020)):
        river, line = line_of[name]
        pos = np.sort(rng.uniform(0.15, 0.85, count))
        at = shapely.line_interpolate_point(line, pos, normalized=True)
        marsh = blobs(
            shapely.get_x(at), shapely.get_y(at), rng.uniform(350, 700, count), rng, roughness=0.25, elongation=2.5
        )
        for k in range(count):
            records.append(("znieff1", str(code0 + 11 * k), f"Marais de la vallée {_of(name)} n°{k + 1}", marsh[k]))
        records.append(
            ("znieff2", str(code0 + 500), f"Vallée {_of(name)}", shapely.buffer(line, river.floor_half_width + 150.0))
        )
    kinds, codes, noms, geoms = zip(*records, strict=True)
    clipped = shapely.intersection(np.asarray(geoms, dtype=object), outline)
    parts, idx = polygon_parts(clipped, min_area=2000.0)
    out = gpd.GeoDataFrame(
        {
            "kind": np.asarray(kinds)[idx],
            "code": np.asarray(codes)[idx],
            "nom": np.asarray(noms)[idx],
        },
        geometry=parts,
        crs=LAMBERT93,
    )
    return out.reset_index(drop=True)

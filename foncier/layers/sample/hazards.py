"""Constraints of the sample territory: flood zones (PPRI) and protected natural areas.

Flood zones follow the valleys of :mod:`.rivers`: a red zone (building prohibited) in the river corridor and a
blue zone (building under conditions) around it, both of smoothly varying width. Protected areas are the
Natura 2000 sites and ZNIEFF of the Foret de Retz, of wooded valley sides and of wet valley floors.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.geo.crs import LAMBERT93
from foncier.layers.sample._geom import FloatArray, GeomArray, blobs, polygon_parts
from foncier.layers.sample.rivers import River

logger = logging.getLogger(__name__)

_STEP_M = 110.0
_BELT_M = 60.0
_UNKNOWN_TYPEREGLEMENT = "07"
"""A regulation type outside the CNIG PPR list (01-04): the zone's rule is to read."""


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
        Canonical ``flood`` layer: ``level`` ("red"/"blue"; "to_read" for a precaution belt of the Aisne
        coded with a regulation type unknown to the CNIG list), ``hazard`` ("flood"), ``typereglement``
        (CNIG PPR: 03 red, 02 blue), ``river`` and ``nom``; Polygons.
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
    river_of = np.asarray(names)[nearest]
    codes = ["03" if lv == "red" else "02" for lv in levels]  # CNIG PPR typereglement: interdiction / prescriptions
    # a precaution belt around the Aisne zones coded with a regulation type the classifier does not know: kept as
    # "PPR zone, rule to read" (the sites it touches are flagged)
    aisne = [i for i, r in enumerate(names) if r == "Aisne"][:1]
    belt_parts = np.empty(0, dtype=object)
    if aisne:
        flooded = shapely.union(reds[aisne[0]], blues[aisne[0]])
        belt = shapely.intersection(shapely.difference(shapely.buffer(flooded, _BELT_M), flooded), outline)
        belt_parts, _ = polygon_parts(np.asarray([belt], dtype=object), min_area=500.0)
    out = gpd.GeoDataFrame(
        {
            "level": levels + ["to_read"] * len(belt_parts),
            "hazard": "flood",
            "typereglement": codes + [_UNKNOWN_TYPEREGLEMENT] * len(belt_parts),
            "river": np.concatenate([river_of, np.full(len(belt_parts), "Aisne", dtype=object)]),
            "nom": np.concatenate(
                [label, np.full(len(belt_parts), f"{_ppri_name('Aisne')}, zone de précaution", dtype=object)]
            ),
        },
        geometry=np.concatenate([geoms, belt_parts]),
        crs=LAMBERT93,
    )
    return out


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
        as in the real inventories). Kinds: Natura 2000 (natura2000_sic, natura2000_zps), ZNIEFF (znieff1,
        znieff2) and one regional nature reserve (rnr) in the largest marsh of the territory.
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
    marshes: list[tuple[str, shapely.Geometry]] = []
    for name, count, code0 in (("Vesle", 3, 220005010), ("Ourcq", 3, 220030020)):
        river, line = line_of[name]
        pos = np.sort(rng.uniform(0.15, 0.85, count))
        at = shapely.line_interpolate_point(line, pos, normalized=True)
        marsh = blobs(
            shapely.get_x(at), shapely.get_y(at), rng.uniform(350, 700, count), rng, roughness=0.25, elongation=2.5
        )
        for k in range(count):
            records.append(("znieff1", str(code0 + 11 * k), f"Marais de la vallée {_of(name)} n°{k + 1}", marsh[k]))
        marshes.extend((name, m) for m in marsh)
        records.append(
            ("znieff2", str(code0 + 500), f"Vallée {_of(name)}", shapely.buffer(line, river.floor_half_width + 150.0))
        )
    # the heart of the largest marsh inside the territory is a regional nature reserve: building forbidden
    inside = [shapely.area(shapely.intersection(m, outline)) for _, m in marshes]
    river_name, marsh = marshes[int(np.argmax(inside))]
    reserve = shapely.buffer(shapely.intersection(marsh, outline), -60.0)
    records.append(("rnr", "FR9300991", f"Réserve naturelle régionale du marais {_of(river_name)}", reserve))
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


def plu_prescriptions(
    zones: gpd.GeoDataFrame, plu: gpd.GeoDataFrame, window: shapely.Geometry | None = None
) -> gpd.GeoDataFrame:
    """Surface prescriptions of the PLU (CNIG ``typepsc``) on a few zones d'activité, deterministic.

    Only the parts of the zones in a commune with a PLU count (a carte communale or the RNU has no
    prescriptions). The first three zones meeting ``window`` (the small sample's) get, in order, an espace
    boisé classé (01) on a wooded corner, an emplacement réservé (05) for a road widening along an edge, and an
    inconstructible corner (02, a view cone), smaller than elsewhere (shown in the shares, excluding only small
    sites); farther zones by ``zone_id``: every 9th an EBC, every 7th (from
    the 4th) an emplacement réservé, every 11th (from the 6th) an inconstructible corner.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``prescriptions`` layer: ``kind`` (ebc, reserved_location, no_build), ``typepsc``,
        ``libelle``; Polygons.
    """
    with_plu = shapely.union_all(plu.geometry[plu["typezone"].isin(["U", "AUc", "AUs", "A", "N"])].to_numpy())
    near = zones.intersects(window).to_numpy() if window is not None else np.zeros(len(zones), dtype=bool)
    ordered = zones.assign(_far=~near).sort_values(["_far", "zone_id"], kind="stable")
    n_near = int(near.sum())
    rows: list[tuple[str, str, str, shapely.Geometry]] = []
    for k, zone in enumerate(ordered.geometry.to_numpy()):
        part = shapely.intersection(zone, with_plu)
        if shapely.is_empty(part) or shapely.area(part) < 1000.0:
            continue
        corner = shapely.Point(shapely.get_coordinates(shapely.get_exterior_ring(_largest(part)))[0])
        far = k - n_near
        kind = (
            ("ebc", "reserved_location", "no_build")[k]
            if k < min(n_near, 3)
            else "ebc"
            if far >= 0 and far % 9 == 0
            else "reserved_location"
            if far >= 0 and far % 7 == 3
            else "no_build"
            if far >= 0 and far % 11 == 5
            else None
        )
        scale = 0.45 if k < n_near else 1.0  # near the small window: small enough to show without excluding
        if kind == "ebc":
            rows.append(("ebc", "01", "Espace boisé classé", shapely.intersection(part, corner.buffer(90.0 * scale))))
        elif kind == "reserved_location":
            edge = shapely.intersection(part, shapely.buffer(shapely.boundary(part), 12.0))
            rows.append(("reserved_location", "05", f"ER n°{k + 1}: élargissement de voirie",
                         shapely.intersection(edge, corner.buffer(250.0))))  # fmt: skip
        elif kind == "no_build":
            rows.append(("no_build", "02", "Secteur inconstructible (cône de vue)",
                         shapely.intersection(part, corner.buffer(70.0 * scale))))  # fmt: skip
    if not rows:
        return gpd.GeoDataFrame({"kind": [], "typepsc": [], "libelle": []}, geometry=[], crs=LAMBERT93)
    kinds, codes, labels, polys = zip(*rows, strict=True)
    parts, idx = polygon_parts(np.asarray(polys, dtype=object), min_area=100.0)
    return gpd.GeoDataFrame(
        {"kind": np.asarray(kinds)[idx], "typepsc": np.asarray(codes)[idx], "libelle": np.asarray(labels)[idx]},
        geometry=parts,
        crs=LAMBERT93,
    ).reset_index(drop=True)


def _largest(geom: shapely.Geometry) -> shapely.Polygon:
    """The largest polygon of ``geom``."""
    parts = shapely.get_parts(geom)
    return parts[int(np.argmax(shapely.area(parts)))]


def runoff_zone(flood: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, window: shapely.Geometry) -> gpd.GeoDataFrame:
    """``flood`` plus one PPR runoff zone (coulées de boue) coded with a regulation type unknown to the CNIG list
    ("07"): the classifier keeps it as "PPR zone, rule to read". It lies on the corner of the second zone
    d'activité meeting ``window`` (so the small sample shows it), a disc of 120 m."""
    near = zones[zones.intersects(window)].sort_values("zone_id", kind="stable")
    if len(near) < 2:
        return flood
    corner = shapely.Point(shapely.get_coordinates(shapely.get_exterior_ring(_largest(near.geometry.iloc[1])))[0])
    row = gpd.GeoDataFrame(
        {"level": ["to_read"], "hazard": ["flood"], "typereglement": [_UNKNOWN_TYPEREGLEMENT],
         "river": [None], "nom": ["PPR ruissellement et coulées de boue, zone à règle particulière"]},
        geometry=[corner.buffer(120.0)], crs=flood.crs,
    )  # fmt: skip
    return gpd.GeoDataFrame(pd.concat([flood, row], ignore_index=True), crs=flood.crs)

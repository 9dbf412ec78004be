"""Buildings of the sample territory, in the shape of the Etalab cadastre ``batiments`` files.

Plausible, not real: houses (type ``01``, hard materials) on most village and town plots, with a garden shed
(type ``02``, light) behind some of them; sheds, workshops and factories on 40 % of the plots of the
zones d'activite (``UX``/``UI``/``UE``), none on their extension zones (``1AUx``/``2AUx``); old buildings on
most brownfield plots (they stay candidates, flagged "demolition / reconversion"); none on the plots a land
officer declared available (the sample's statuses: vacant plots); a farm building on a few
fields near the villages; nothing in woods, natural zones and housing extension zones. The footprint of a
house is a 9-14 m by 8-12 m rectangle at the plot's representative point; a shed or a factory is the plot
shrunk inwards (a negative mitred buffer) to cover a drawn share of it. Every footprint is clipped to its plot.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.geo.crs import LAMBERT93

logger = logging.getLogger(__name__)

_CREATED = "2019-04-15"
_UPDATED = "2024-01-19"

#: probability that a plot of each land use holds a main building, and the built share drawn for it
_P_MAIN = {"urban": 0.85, "eco": 0.4, "friche": 0.6, "agri": 0.012}
_SHARE = {"eco": (0.25, 0.6), "friche": (0.2, 0.5)}
_P_SHED = 0.3  # garden shed (light) behind a house
_AGRI_MAX_DIST_M = 600.0  # farm buildings only on fields this close to a built-up zone


def _land_use(parcels: gpd.GeoDataFrame, plu: gpd.GeoDataFrame, friches: gpd.GeoDataFrame) -> np.ndarray:
    """Land use of each parcel: "urban", "eco", "friche", "agri" or "other", from the PLU label under its
    representative point (friches win)."""
    pts = shapely.point_on_surface(parcels.geometry.to_numpy())
    plu_geoms = plu.geometry.to_numpy()
    labels = plu["libelle"].astype("string").fillna("").to_numpy(dtype=object)
    pi, zi = shapely.STRtree(plu_geoms).query(pts, predicate="intersects")
    label = np.full(len(parcels), "", dtype=object)
    label[pi] = labels[zi]
    use = np.full(len(parcels), "other", dtype=object)
    use[np.isin(label, ["UA", "UB"])] = "urban"
    use[np.isin(label, ["UX", "UI", "UE"])] = "eco"
    use[label == "A"] = "agri"
    if len(friches):
        fi, _ = shapely.STRtree(friches.geometry.to_numpy()).query(pts, predicate="intersects")
        use[fi] = "friche"
    return use


def _houses(geoms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A house rectangle at each plot's representative point, clipped to the plot."""
    pts = shapely.point_on_surface(geoms)
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    w = rng.uniform(4.5, 7.0, len(geoms))
    h = rng.uniform(4.0, 6.0, len(geoms))
    return np.asarray(shapely.intersection(shapely.box(x - w, y - h, x + w, y + h), geoms), dtype=object)


def _sheds(geoms: np.ndarray, houses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A light 4 x 5 m shed beside each house (to its south-west), clipped to the plot."""
    b = shapely.bounds(houses)
    x, y = b[:, 0] - 3.0, b[:, 1] - 3.0
    shed = shapely.box(x - 4.0, y - 5.0, x, y)
    return np.asarray(shapely.intersection(shed, geoms), dtype=object)


def _shrunk(geoms: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Each plot shrunk inwards so that its footprint covers about ``share`` of it (mitred negative buffer
    by ``d = (1 - share) * area / perimeter``, the first-order solution of ``area - perimeter * d = share *
    area``), simplified to 1 m."""
    area, perim = shapely.area(geoms), shapely.length(geoms)
    d = (1.0 - share) * area / np.maximum(perim, 1.0)
    inner = shapely.buffer(geoms, -d, join_style="mitre")
    return np.asarray(shapely.simplify(inner, 1.0), dtype=object)


def _zone_fill(geoms: np.ndarray, eco: np.ndarray, zones: gpd.GeoDataFrame, rng: np.random.Generator) -> np.ndarray:
    """Which economic plots are built: a zone d'activité fills from its centre (where its access road arrives)
    outwards, so the plots nearest the centre are built, up to a drawn share of its plots (35-65 %), and the
    outer ones are vacant, in one piece; an economic plot outside every zone is built with probability 0.4."""
    out = np.zeros(len(geoms), dtype=bool)
    idx = np.flatnonzero(eco)
    if not len(idx):
        return out
    pts = shapely.point_on_surface(geoms[idx])
    pi, zi = shapely.STRtree(zones.geometry.to_numpy()).query(pts, predicate="within")
    in_zone = np.full(len(idx), -1, dtype=np.int64)
    in_zone[pi] = zi
    out[idx[in_zone < 0]] = rng.random(int((in_zone < 0).sum())) < _P_MAIN["eco"]
    centres = shapely.centroid(zones.geometry.to_numpy())
    fill = rng.uniform(0.35, 0.65, len(zones))
    for z in np.unique(in_zone[in_zone >= 0]):
        members = np.flatnonzero(in_zone == z)
        dist = shapely.distance(pts[members], centres[z])
        rank = np.argsort(np.argsort(dist, kind="stable"), kind="stable")
        out[idx[members[rank < fill[z] * len(members)]]] = True
    return out


def build_buildings(
    parcels: gpd.GeoDataFrame,
    plu: gpd.GeoDataFrame,
    friches: gpd.GeoDataFrame,
    rng: np.random.Generator,
    zones: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Plausible buildings on the sample parcels (Etalab ``batiments`` columns).

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Sample parcels (``commune``, Polygons, EPSG:2154).
    plu : geopandas.GeoDataFrame
        PLU zones with ``libelle`` (land use of each parcel).
    friches : geopandas.GeoDataFrame
        Brownfields.
    rng : numpy.random.Generator
        Random source.
    zones : geopandas.GeoDataFrame, optional
        Zones d'activité: each fills from its centre outwards (:func:`_zone_fill`); without them an economic
        plot is built with probability 0.4.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``buildings`` layer: ``type`` ("01" hard, "02" light), ``nom`` (null), ``commune``,
        ``created``, ``updated``; Polygons within their plot, EPSG:2154.
    """
    geoms = parcels.geometry.to_numpy()
    communes = parcels["commune"].astype(str).to_numpy(dtype=object)
    use = _land_use(parcels, plu, friches)
    draw = rng.random(len(parcels))
    if "status" in parcels:  # plots an officer declared available are the vacant ones
        draw[parcels["status"].astype("string").fillna("").to_numpy() == "available"] = 1.0
    parts: list[tuple[np.ndarray, np.ndarray, str]] = []  # (footprints, communes, type)

    urban = np.flatnonzero((use == "urban") & (draw < _P_MAIN["urban"]))
    houses = _houses(geoms[urban], rng)
    parts.append((houses, communes[urban], "01"))
    with_shed = rng.random(len(urban)) < _P_SHED
    parts.append((_sheds(geoms[urban[with_shed]], houses[with_shed], rng), communes[urban[with_shed]], "02"))

    eco_built = _zone_fill(geoms, use == "eco", zones, rng) if zones is not None else draw < _P_MAIN["eco"]
    for kind in ("eco", "friche"):
        chosen = eco_built & (draw < 1.0) if kind == "eco" else draw < _P_MAIN[kind]
        sel = np.flatnonzero((use == kind) & chosen)
        lo, hi = _SHARE[kind]
        parts.append((_shrunk(geoms[sel], rng.uniform(lo, hi, len(sel))), communes[sel], "01"))

    agri = np.flatnonzero(use == "agri")
    if len(agri) and len(urban):
        built_up = shapely.STRtree(geoms[urban])
        near = built_up.query(geoms[agri], predicate="dwithin", distance=_AGRI_MAX_DIST_M)[0]
        close = np.zeros(len(agri), dtype=bool)
        close[near] = True
        sel = agri[close & (draw[agri] < _P_MAIN["agri"] * 4)]
        farm = _shrunk(geoms[sel], rng.uniform(0.02, 0.06, len(sel)))
        kinds = np.where(rng.random(len(sel)) < 0.5, "01", "02")
        for t in ("01", "02"):
            parts.append((farm[kinds == t], communes[sel][kinds == t], t))

    footprints = np.concatenate([p[0] for p in parts]) if parts else np.array([], dtype=object)
    commune = np.concatenate([p[1] for p in parts]) if parts else np.array([], dtype=object)
    btype = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts]) if parts else commune
    footprints = shapely.make_valid(footprints)
    polys = np.asarray(shapely.get_type_id(footprints)) == 3
    keep = polys & ~shapely.is_empty(footprints) & (shapely.area(footprints) >= 8.0)
    out = gpd.GeoDataFrame(
        {
            "type": pd.array(btype[keep], dtype="string"),
            "nom": pd.array([None] * int(keep.sum()), dtype="string"),
            "commune": pd.array(commune[keep], dtype="string"),
            "created": _CREATED,
            "updated": _UPDATED,
        },
        geometry=footprints[keep],
        crs=LAMBERT93,
    )
    logger.debug("sample buildings: %d (%d light)", len(out), int((out["type"] == "02").sum()))
    return out.reset_index(drop=True)


def build_terrains(parcels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The zones d'activité's inventory in the CNIG TERRAIN-ECO shape: every built plot of a zone is a terrain
    (``terr_refcad`` = its parcel id), occupied, sold, held by a firm; the vacant plots are left out of the
    inventory (the availability rules find them: vacant plots of a zone d'activité)."""
    geoms = parcels.geometry.to_numpy()
    pts = shapely.point_on_surface(geoms)
    pi, zi = shapely.STRtree(zones.geometry.to_numpy()).query(pts, predicate="within")
    built = np.zeros(len(parcels), dtype=bool)
    hit = shapely.STRtree(buildings.geometry.to_numpy()).query(geoms[pi], predicate="intersects")[0]
    built[pi[np.unique(hit)]] = True
    keep = built[pi]
    pi, zi = pi[keep], zi[keep]
    ids = parcels["parcel_id"].astype(str).to_numpy()[pi]
    zone_ids = zones["zone_id"].astype(str).to_numpy()[zi]
    out = gpd.GeoDataFrame(
        {
            "terr_id": [f"{p[:5]}_TERRAIN-ECO_{i + 1:05d}" for i, p in enumerate(ids)],
            "site_id": zone_ids,
            "terr_refcad": ids,
            "terr_surf_brute": np.round(shapely.area(geoms[pi]) / 10_000.0, 4),
            "terr_maitrise_fonc": "établissement industriel et commercial",
            "terr_stade_amngt": "viabilisé et aménagé",
            "terr_stade_comm": "vendu, commercialisation achevée",
            "terr_etat_occup": "occupé",
            "terr_usage": "bâti productif",
            "terr_cle_en_main": pd.array([None] * len(pi), dtype="string"),
            "terr_m2_prix": np.nan,
        },
        geometry=geoms[pi],
        crs=LAMBERT93,
    )
    return out.reset_index(drop=True)

"""Cadastral parcels of the sample territory.

Parcels are cut out of the PLU zones of each commune, minus the public right of way of the roads (cadastral
parcels leave roads out, which also separates the blocks of a zone d'activite). Every block is cut recursively
(:func:`._geom.split_polygons`) until its pieces reach the parcel size wanted for its land use and position:
small house lots in town centres, garden plots and house lots in villages, 0.5 to 3 ha lots in economic zones
and brownfields, agricultural fields growing from gardens near the villages to 1-20 ha in the open country,
large forest parcels. The pieces tile the blocks exactly (no overlap).

Identifiers follow the Etalab cadastre: ``parcel_id`` = INSEE (5) + prefix ``000`` + section (2, zero-padded,
e.g. ``0A``, ``AB``, ``ZC``) + number (4, zero-padded); ``section`` and ``numero`` are given unpadded as in the
Etalab files. Sections are squares of about 1.1 km in each commune; mostly rural ones get the ``Z*`` codes of
land consolidation (remembrement), the others letters ``A``, ``B``... Numbers follow a Z-order curve.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from foncier.geo.crs import LAMBERT93
from foncier.layers.sample._geom import FloatArray, GeomArray, IntArray, polygon_parts, split_polygons
from foncier.layers.sample.network import HALF_WIDTH_M
from foncier.layers.sample.zoning import town_radius

logger = logging.getLogger(__name__)

KINDS = ("urban_core", "urban", "eco", "eco_au", "au", "friche", "agri", "forest", "natural")
"""Block kinds (land uses), indexed by the kind codes used while cutting."""

_K = {k: i for i, k in enumerate(KINDS)}
_BASE_AREA = np.array([380.0, 650.0, 9000.0, 14000.0, 4500.0, 7000.0, 0.0, 110000.0, 14000.0])
_STRIP_PROBABILITY = np.array([0.5, 0.45, 0.15, 0.2, 0.3, 0.1, 0.45, 0.2, 0.4])
_MAX_ASPECT = np.array([4.0, 3.5, 2.5, 3.0, 3.0, 2.0, 5.0, 3.0, 4.0])
_AGRI_NEAR_M2 = 2500.0
_AGRI_FAR_M2 = 75000.0
_AGRI_FADE_M = 800.0
_SECTION_M = 1100.0
_ECO_STATUS_SHARE = 0.07
_STATUSES = ("available", "under_option", "sold", "not_for_sale")
_STATUS_P = (0.45, 0.2, 0.2, 0.15)
_ECONOMIC = np.array([_K["eco"], _K["eco_au"], _K["friche"]])


def _block_kind(libelle: pd.Series, commune_population: pd.Series) -> IntArray:
    """Kind code of each PLU zone from its label."""
    lab = libelle.to_numpy()
    kind = np.full(len(lab), _K["agri"], dtype=np.int64)
    kind[lab == "UA"] = np.where(commune_population.to_numpy()[lab == "UA"] >= 2000, _K["urban_core"], _K["urban"])
    kind[lab == "UB"] = _K["urban"]
    kind[np.isin(lab, ["UX", "UI", "UE"])] = _K["eco"]
    kind[np.isin(lab, ["1AUx", "2AUx"])] = _K["eco_au"]
    kind[np.isin(lab, ["1AU", "2AU"])] = _K["au"]
    kind[lab == "Nf"] = _K["forest"]
    kind[lab == "N"] = _K["natural"]
    return kind


def road_corridors(roads: gpd.GeoDataFrame, area: shapely.Geometry) -> shapely.Geometry:
    """Union of the public rights of way of the roads crossing ``area`` (buffers by class)."""
    sel = roads[roads.intersects(shapely.envelope(area))]
    width = sel["class"].map(HALF_WIDTH_M).fillna(4.0).to_numpy()
    return shapely.union_all(shapely.buffer(sel.geometry.to_numpy(), width, quad_segs=2, cap_style="flat"))


def _target_function(centres: gpd.GeoDataFrame) -> tuple[cKDTree, FloatArray]:
    """Index of the commune centres and radius of their built-up areas (for the size of fields)."""
    pts = shapely.get_coordinates(centres.geometry.to_numpy())
    return cKDTree(pts), town_radius(centres["population"].to_numpy())


def build_parcels(
    plu: gpd.GeoDataFrame,
    centres: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    friches: gpd.GeoDataFrame,
    rng: np.random.Generator,
    *,
    window: shapely.Geometry | None = None,
    public_domain: shapely.Geometry | None = None,
    area_scale: float = 1.0,
) -> gpd.GeoDataFrame:
    """Cut the territory (or the part of it inside ``window``) into cadastral parcels.

    Parameters
    ----------
    plu : geopandas.GeoDataFrame
        PLU zones with ``libelle`` and ``insee`` (commune of each zone).
    centres : geopandas.GeoDataFrame
        Commune centres with ``insee`` and ``population``.
    roads : geopandas.GeoDataFrame
        Roads (their right of way is left out of the parcels).
    friches : geopandas.GeoDataFrame
        Brownfields (cut as their own blocks, in industrial-size lots).
    rng : numpy.random.Generator
        Random source.
    window : shapely.Geometry, optional
        Only land inside it is cut into parcels (the small sample).
    public_domain : shapely.Geometry, optional
        Land outside the cadastre besides the roads (river beds).
    area_scale : float
        Multiplies every wanted parcel area (tunes the parcel count).

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``parcels`` layer: ``parcel_id, commune, prefixe, section, numero, contenance_m2, status``,
        Polygons, sorted by ``parcel_id``.
    """
    pop_by_insee = centres.set_index("insee")["population"]
    zones = plu
    if window is not None:
        zones = plu[plu.intersects(window)]
    geoms = zones.geometry.to_numpy()
    insee = zones["insee"].to_numpy()
    kind = _block_kind(zones["libelle"], zones["insee"].map(pop_by_insee))
    if window is not None:
        geoms = shapely.intersection(geoms, window)
    # brownfields: their own blocks, taken out of the zone they lie in
    fr = shapely.union_all(friches.geometry.to_numpy())
    hit = shapely.intersects(geoms, fr)
    fr_blocks = shapely.intersection(geoms[hit], fr)
    geoms = geoms.copy()
    geoms[hit] = shapely.difference(geoms[hit], fr)
    geoms = np.concatenate([geoms, fr_blocks])
    insee = np.concatenate([insee, insee[hit]])
    kind = np.concatenate([kind, np.full(int(hit.sum()), _K["friche"])])
    # public right of way of the roads
    extent = window if window is not None else shapely.box(*shapely.total_bounds(geoms))
    corridors = road_corridors(roads, extent)
    if public_domain is not None:
        corridors = shapely.union(corridors, shapely.intersection(public_domain, shapely.envelope(extent)))
    blocks = shapely.difference(geoms, corridors)
    blocks, idx = polygon_parts(blocks, min_area=20.0)
    insee, kind = insee[idx], kind[idx]
    logger.debug("parcels: %d blocks to cut", len(blocks))

    tree, radius = _target_function(centres)

    def target(x: FloatArray, y: FloatArray, k: IntArray) -> FloatArray:
        """Wanted parcel area: by land use; fields grow from gardens near villages to large plots."""
        area = _BASE_AREA[k].copy()
        agri = k == _K["agri"]
        if agri.any():
            dist, j = tree.query(np.column_stack([x[agri], y[agri]]), k=4)
            edge = np.min(dist - radius[j], axis=1)
            fade = 1.0 - np.exp(-np.maximum(edge, 0.0) / _AGRI_FADE_M)
            area[agri] = _AGRI_NEAR_M2 + (_AGRI_FAR_M2 - _AGRI_NEAR_M2) * fade
        return area * area_scale

    parts, src = split_polygons(blocks, kind, target, rng, strip_probability=_STRIP_PROBABILITY, max_aspect=_MAX_ASPECT)
    return _identify(parts, insee[src], kind[src], rng)


def _morton(ix: IntArray, iy: IntArray) -> IntArray:
    """Interleave the bits of two 16-bit integers (Z-order)."""

    def spread(v: IntArray) -> IntArray:
        """Insert a zero bit between the bits of ``v``."""
        v = v.astype(np.int64) & 0xFFFF
        v = (v | (v << 8)) & 0x00FF00FF
        v = (v | (v << 4)) & 0x0F0F0F0F
        v = (v | (v << 2)) & 0x33333333
        v = (v | (v << 1)) & 0x55555555
        return v

    return np.asarray(spread(ix) | (spread(iy) << 1), dtype=np.int64)


def _section_code(rank: IntArray, rural: np.ndarray) -> np.ndarray:
    """Section codes: ``A``..``W``, ``AA``.. for urban sections, ``ZA``..``ZZ``, ``YA``.. for rural ones."""
    out = np.empty(len(rank), dtype=object)
    for i, (r, ru) in enumerate(zip(rank.tolist(), rural.tolist(), strict=True)):
        if ru:
            out[i] = ("Z" if r < 26 else "Y") + chr(65 + r % 26)
        elif r < 23:
            out[i] = chr(65 + r)
        else:
            out[i] = chr(65 + (r - 23) // 26) + chr(65 + (r - 23) % 26)
    return out


def _identify(parts: GeomArray, insee: np.ndarray, kind: IntArray, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Give parcels their commune, section, number, id, tax area and (for a few economic ones) a status."""
    cent = shapely.centroid(parts)
    df = pd.DataFrame({"commune": insee, "x": shapely.get_x(cent), "y": shapely.get_y(cent), "kind": kind})
    grp = df.groupby("commune", sort=True)
    x0 = grp["x"].transform("min")
    y1 = grp["y"].transform("max")
    df["gx"] = ((df["x"] - x0) // _SECTION_M).astype(np.int64)
    df["gy"] = ((y1 - df["y"]) // _SECTION_M).astype(np.int64)
    df["rural"] = np.isin(df["kind"].to_numpy(), [_K["agri"], _K["forest"], _K["natural"]])
    cells = df.groupby(["commune", "gy", "gx"], sort=True).agg(rural=("rural", "mean")).reset_index()
    cells["rural"] = cells["rural"] > 0.5
    cells["rank"] = cells.groupby(["commune", "rural"], sort=False).cumcount()
    cells["section"] = _section_code(cells["rank"].to_numpy(), cells["rural"].to_numpy())
    df = df.merge(cells[["commune", "gy", "gx", "section"]], on=["commune", "gy", "gx"], how="left", sort=False)
    qx = ((df["x"] - x0) / 2.0).astype(np.int64).to_numpy()
    qy = ((y1 - df["y"]) / 2.0).astype(np.int64).to_numpy()
    df["z"] = _morton(np.clip(qx, 0, 0xFFFF), np.clip(qy, 0, 0xFFFF))
    order = np.lexsort((df["z"].to_numpy(), df["section"].to_numpy().astype(str), df["commune"].to_numpy().astype(str)))
    df = df.iloc[order]
    geoms = parts[order]
    numero = df.groupby(["commune", "section"], sort=False).cumcount().to_numpy() + 1
    if numero.max(initial=0) > 9999:  # pragma: no cover - sections are small enough
        raise RuntimeError("more than 9999 parcels in one section")
    section = df["section"].to_numpy().astype(str)
    commune = df["commune"].to_numpy().astype(str)
    parcel_id = (
        pd.Series(commune) + "000" + pd.Series(section).str.rjust(2, "0") + pd.Series(numero).astype(str).str.zfill(4)
    )
    area = shapely.area(geoms)
    # the tax area differs a little from the drawn one (older surveys); tiny parcels keep their drawn area
    noise = np.where(area >= 200.0, np.clip(rng.normal(0.0, 0.006, len(area)), -0.02, 0.02), 0.0)
    contenance = np.maximum(np.round(area * (1.0 + noise)), 1.0)
    status = np.full(len(geoms), None, dtype=object)
    eco = np.flatnonzero(np.isin(df["kind"].to_numpy(), _ECONOMIC))
    chosen = eco[rng.random(eco.size) < _ECO_STATUS_SHARE]
    status[chosen] = np.asarray(_STATUSES, dtype=object)[rng.choice(len(_STATUSES), chosen.size, p=_STATUS_P)]
    out = gpd.GeoDataFrame(
        {
            "parcel_id": parcel_id.to_numpy(),
            "commune": commune,
            "prefixe": "000",
            "section": section,
            "numero": numero.astype(str),
            "contenance_m2": contenance.astype(float),
            "status": status,
        },
        geometry=geoms,
        crs=LAMBERT93,
    )
    return out.sort_values("parcel_id", kind="stable").reset_index(drop=True)

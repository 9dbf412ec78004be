"""Availability of every parcel as a reasoned state: what stands on the land, who holds it, what is known.

A land officer's "available" is not "zoned for industry": a parcel under a running factory, sold last year or
under option is not available, whatever its zoning. Every parcel gets one state and the reason for it
(docs/CONTRACTS.md, ``parcel_availability``):

=============  =================================================================================================
state          when (first rule that applies, in this order)
=============  =================================================================================================
committed      an officer's status ``under_option``, ``sold``, ``not_for_sale``; an inventory (CNIG TERRAIN-ECO)
               saying sold, reserved or not for sale; a Cartofriches site "avec projet"
available      an officer declared it (status ``available``)
occupied       the inventory says occupied (``occupé``, ``occupation transitoire``); a reconverted friche
available      the inventory offers it for sale and unoccupied (``en vente``...)
built          built share above the threshold (default 10 % of the parcel) and not a brownfield
available      brownfield (Cartofriches, not reconverted nor with a project; a built one is flagged
               ``demolition_reconversion``), or free land (built share at most the threshold) whose dominant
               zoning is economic, or a vacant plot lying mostly in a zone d'activité
to_verify      nothing known: the default
=============  =================================================================================================

Pure functions (no I/O): GeoDataFrames in EPSG:2154 in, pandas objects out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.geo.overlay import (
    _geoms,
    _pairs,
    _polygonal,
    class_areas,
    covered_area,
    intersection_areas,
    require_lambert93,
    zoning_class,
)

logger = logging.getLogger(__name__)

STATES = ("available", "built", "occupied", "committed", "to_verify")
"""Availability states, in display order."""

DEFAULT_BUILT_THRESHOLD = 0.10
"""A parcel whose built share exceeds this is ``built`` (unless a brownfield)."""

LIGHT_BUILDING_FACTOR = 0.5
"""Weight of a light building (Etalab type "02": sheds, greenhouses, hangars) in the built share: half of its
footprint counts, as light structures are cheaper to clear than buildings in hard materials (type "01")."""

ECONOMIC_ZONING = ("economic_U", "economic_AU", "economic_AUc", "economic_AUs", "cc_activity")
"""Zoning classes of :func:`foncier.geo.overlay.zoning_class` meaning economic activity (both the older
"economic_AU" and the finer "economic_AUc"/"economic_AUs", and a carte communale activity sector)."""

OFFICER_COMMITTED = ("under_option", "sold", "not_for_sale")
"""Officers' statuses that commit a parcel (it is not on the market)."""

REASONS_FR: dict[str, str] = {
    "economic_zoning": "terrain libre en zone économique du PLU",
    "zone_vacant_plot": "lot vacant d'une zone d'activité",
    "brownfield": "friche",
    "declared": "déclarée disponible par un agent",
    "inventory_for_sale": "en vente, inoccupé (inventaire des zones d'activité)",
    "built_share": "bâtie",
    "inventory_occupied": "occupée (inventaire des zones d'activité)",
    "friche_reconverted": "friche reconvertie (Cartofriches)",
    "under_option": "sous option",
    "sold": "vendue",
    "not_for_sale": "pas à vendre",
    "inventory_sold": "vendue (inventaire des zones d'activité)",
    "inventory_reserved": "réservée (inventaire des zones d'activité)",
    "inventory_not_for_sale": "non commercialisable (inventaire des zones d'activité)",
    "friche_with_project": "friche avec projet (Cartofriches)",
    "no_information": "à vérifier : rien de connu",
    "invalid_status": "à vérifier : statut saisi hors vocabulaire",
}
"""French label of each reason code (maps, sheets, ``foncier parcel``)."""

FLAGS_FR: dict[str, str] = {
    "demolition_reconversion": "démolition / reconversion",
    "pollution": "pollution des sols avérée ou site BASIAS/BASOL",
    "built_declared": "déclarée disponible mais bâtie",
    "friche_unconfirmed": "friche potentielle (à confirmer)",
}

#: CNIG TERRAIN-ECO ``terr_stade_comm`` codes that commit a terrain, with the reason they give
INVENTORY_COMMITTED: dict[str, str] = {
    "vendu, commercialisation achevée": "inventory_sold",
    "réservé par option de réservation": "inventory_reserved",
    "réservé par une délibération de l'EPCI": "inventory_reserved",
    "non commercialisable": "inventory_not_for_sale",
}
INVENTORY_FOR_SALE = ("en vente", "en vente avec contraintes")
INVENTORY_OCCUPIED = ("occupé", "occupation transitoire")
INVENTORY_VACANT = ("inoccupé", "vacant", "friche")

#: Cartofriches ``site_statut`` values: with a project, or reconverted (no parcel available)
FRICHE_WITH_PROJECT = ("friche avec projet", "site avec projet")
FRICHE_RECONVERTED = ("site reconverti", "friche reconvertie")
FRICHE_POTENTIAL = ("friche potentielle",)


def built_share(
    parcels: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    light_factor: float = LIGHT_BUILDING_FACTOR,
    workers: int | None = None,
) -> pd.Series:
    """Share of each parcel's area under buildings.

    .. math:: b_p = \\min\\left(1, \\frac{\\sum_k w_k \\, |B_k \\cap P_p|}{|P_p|}\\right),
              \\quad w_k = 1 \\text{ (type 01)},\\ w_k = \\text{light\\_factor} \\text{ (type 02)}

    Parameters
    ----------
    parcels, buildings : geopandas.GeoDataFrame
        EPSG:2154; ``buildings`` with the Etalab ``type`` ("01" hard, "02" light; other or missing count 1).
    light_factor : float, default 0.5
        Weight of light buildings (:data:`LIGHT_BUILDING_FACTOR`).
    workers : int, optional
        Threads for the overlays of buildings meeting several parcels (default: up to 4, the CPU count).

    Notes
    -----
    A building meeting exactly one parcel counts its whole footprint on it (the cadastre draws buildings
    within parcels; a sliver over the public road is not parcel land anyway); a building meeting several
    (party walls, straddling) counts its intersection with each.

    Returns
    -------
    pandas.Series of float
        Aligned on ``parcels.index``, 0..1 (0 where no building touches the parcel).
    """
    require_lambert93(parcels, "parcels")
    require_lambert93(buildings, "buildings")
    if not 0 <= light_factor <= 1:
        raise ValueError(f"light_factor must be within 0..1, got {light_factor}")
    pg = _geoms(parcels)
    n = len(pg)
    out = np.zeros(n, dtype=float)
    if n == 0 or len(buildings) == 0:
        return pd.Series(out, index=parcels.index, name="built_share")
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    bg = _geoms(buildings)
    btype = buildings["type"].astype("string").fillna("01").to_numpy(dtype=object) if "type" in buildings else None
    weight = np.where(btype == "02", light_factor, 1.0) if btype is not None else np.ones(len(bg))
    ok = ~(shapely.is_empty(bg) | pd.isna(bg))
    bg, weight = bg[ok], weight[ok]
    # pairs from the parcels' tree, each building prepared once as the query geometry
    bi, pi = shapely.STRtree(pg).query(bg, predicate="intersects")
    area = np.empty(len(pi), dtype=float)
    # a building meeting one parcel only lies on it (its footprint, no overlay to compute)
    alone = np.bincount(bi, minlength=len(bg))[bi] == 1
    area[alone] = shapely.area(bg[bi[alone]])
    shared = np.flatnonzero(~alone)  # party walls and straddling buildings: the overlay, in parallel threads
    area[shared] = intersection_areas(pg[pi[shared]], bg[bi[shared]], workers=workers)
    covered = np.bincount(pi, weights=area * weight[bi], minlength=n)
    parcel_area = shapely.area(pg)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(parcel_area > 0, covered / parcel_area, 0.0)
    return pd.Series(np.clip(share, 0.0, 1.0), index=parcels.index, name="built_share")


def economic_dominant(parcels: gpd.GeoDataFrame, plu: gpd.GeoDataFrame) -> np.ndarray:
    """True for parcels whose dominant zoning class (:func:`foncier.geo.overlay.zoning_class`, by largest
    intersection area, the uncovered share competing as "none") is economic_U or economic_AU.

    Only parcels meeting an economic zone can be economic-dominant, so the full class balance is only computed
    for them.
    """
    require_lambert93(plu, "plu")
    out = np.zeros(len(parcels), dtype=bool)
    classes = zoning_class(plu).to_numpy()
    geoms = _geoms(plu)
    keep = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    geoms, classes = _polygonal(geoms[keep], "plu"), classes[keep]
    eco = np.isin(classes, ECONOMIC_ZONING)
    if not eco.any():
        return out
    _, ti = _pairs(parcels, geoms[eco], "intersects")
    cand = np.unique(ti)
    if len(cand) == 0:
        return out
    sub = parcels.iloc[cand]
    names, areas = class_areas(sub, geoms, classes)
    uncovered = np.maximum(shapely.area(_geoms(sub)) - areas.sum(axis=1), 0.0)
    eco_cols = np.isin(names, ECONOMIC_ZONING)
    best_eco = areas[:, eco_cols].max(axis=1)
    other = areas[:, ~eco_cols]
    best_other = np.maximum(other.max(axis=1) if other.shape[1] else 0.0, uncovered)
    out[cand] = best_eco > best_other
    return out


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A text column, stripped (case kept), "" where missing or absent."""
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    return np.asarray(frame[column].astype("string").fillna("").str.strip().to_numpy(dtype=object))


def _friche_facts(
    parcels: gpd.GeoDataFrame, friches: gpd.GeoDataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per parcel: on a friche (any), on one with a project, on a reconverted one, on a potential one, polluted."""
    n = len(parcels)
    flags = [np.zeros(n, dtype=bool) for _ in range(5)]
    if friches is None or not len(friches):
        return flags[0], flags[1], flags[2], flags[3], flags[4]
    require_lambert93(friches, "friches")
    fg = _geoms(friches)
    ok = ~shapely.is_empty(fg)
    fr = friches[ok]
    statut = np.char.lower(_text(fr, "site_statut").astype(str))
    pollution = np.char.lower(_text(fr, "sol_pollution_existe").astype(str))
    basias = _text(fr, "site_numero_basias").astype(str)
    basol = _text(fr, "site_numero_basol").astype(str)
    polluted = (pollution == "pollution avérée") | (np.char.str_len(basias) > 0) | (np.char.str_len(basol) > 0)
    for col in ("basias", "basol"):  # other spellings of the references
        if col in fr:
            polluted |= np.char.str_len(_text(fr, col).astype(str)) > 0
    pi, fi = shapely.STRtree(fg[ok]).query(_geoms(parcels), predicate="intersects")
    on, project, reconverted, potential, poll = flags
    on[pi] = True
    project[pi[np.isin(statut[fi], FRICHE_WITH_PROJECT)]] = True
    reconverted[pi[np.isin(statut[fi], FRICHE_RECONVERTED)]] = True
    potential[pi[np.isin(statut[fi], FRICHE_POTENTIAL)]] = True
    poll[pi[polluted[fi]]] = True
    return on, project, reconverted, potential, poll


def _inventory(parcels: gpd.GeoDataFrame, terrains: gpd.GeoDataFrame | None, id_column: str) -> pd.DataFrame:
    """The TERRAIN-ECO facts of each parcel: ``stade`` (commercial stage) and ``occup`` (occupation), from the
    terrain listing it in ``terr_refcad`` or else the terrain holding its representative point."""
    n = len(parcels)
    out_stade = np.full(n, "", dtype=object)
    out_occup = np.full(n, "", dtype=object)
    if terrains is None or not len(terrains):
        return pd.DataFrame({"stade": out_stade, "occup": out_occup})
    stade = _text(terrains, "terr_stade_comm")
    occup = _text(terrains, "terr_etat_occup")
    ids = parcels[id_column].astype(str).to_numpy(dtype=object)
    pos: dict[str, int] = {}
    for i, pid in enumerate(ids):  # first position of each id (as a Series index lookup gives with unique ids)
        pos.setdefault(pid, i)
    listed = np.zeros(n, dtype=bool)
    refs = _text(terrains, "terr_refcad")
    for t, ref in enumerate(refs):  # numpy writes: pandas' per-terrain setitem on text columns took seconds
        if not ref:
            continue
        hit = np.array([pos[r] for r in str(ref).split("|") if r in pos], dtype=np.int64)
        out_stade[hit] = stade[t]
        out_occup[hit] = occup[t]
        listed[hit] = True
    if isinstance(terrains, gpd.GeoDataFrame) and terrains.geometry is not None:
        require_lambert93(terrains, "terrains")
        tg = _geoms(terrains)
        free = np.flatnonzero(~listed)
        ok = ~(pd.isna(tg) | shapely.is_empty(tg))
        ti_all = np.flatnonzero(ok)
        tree = shapely.STRtree(tg[ok])
        if len(free):  # only parcels whose box meets a terrain's can have their point in it
            free = free[np.unique(tree.query(_geoms(parcels)[free])[0])]
        if len(free):
            pts = shapely.point_on_surface(_geoms(parcels)[free])
            pi, ti = tree.query(pts, predicate="within")
            out_stade[free[pi]] = stade[ti_all[ti]]
            out_occup[free[pi]] = occup[ti_all[ti]]
    return pd.DataFrame({"stade": out_stade, "occup": out_occup})


def parcel_availability(
    parcels: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    plu: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    friches: gpd.GeoDataFrame | None = None,
    terrains: gpd.GeoDataFrame | None = None,
    statuses: pd.Series | Mapping[str, str] | None = None,
    built_threshold: float = DEFAULT_BUILT_THRESHOLD,
    light_factor: float = LIGHT_BUILDING_FACTOR,
    zone_share: float = 0.5,
    valid_statuses: Collection[str] = ("available", *OFFICER_COMMITTED),
    id_column: str = "parcel_id",
) -> pd.DataFrame:
    """The availability state of every parcel, with its reason, built share and flags.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Canonical parcels (EPSG:2154). Their ``status`` column (officers' statuses) is used when ``statuses``
        is not given.
    buildings, plu, zones, friches, terrains : geopandas.GeoDataFrame, optional
        Cadastre buildings, PLU zoning, zones d'activité, Cartofriches brownfields and CNIG TERRAIN-ECO
        terrains (canonical ``terrains`` layer: ``terr_refcad``, ``terr_stade_comm``, ``terr_etat_occup``);
        a missing layer contributes nothing (no buildings: the built share is unknown, null, and no parcel
        is ``built``).
    statuses : Series or mapping, optional
        Officers' statuses by parcel id (overrides the ``status`` column).
    built_threshold : float, default 0.10
        A parcel whose built share exceeds this is ``built``.
    light_factor : float, default 0.5
        Weight of light buildings in the built share (:func:`built_share`).
    zone_share : float, default 0.5
        A vacant plot lies in a zone d'activité when more than this share of it is inside one.
    valid_statuses : collection of str
        The officers' vocabulary; another value makes the parcel ``to_verify`` (reason ``invalid_status``),
        never available.

    Returns
    -------
    pandas.DataFrame
        Aligned on ``parcels.index``: ``parcel_id``, ``state`` (one of :data:`STATES`), ``reason`` (a key of
        :data:`REASONS_FR`), ``reason_fr``, ``built_share`` (float, NaN without buildings), ``flags``
        (";"-joined keys of :data:`FLAGS_FR`), ``candidate`` (bool: the parcel goes into candidate sites, i.e.
        its state is ``available``). The rules and their order are in the module docstring.
    """
    require_lambert93(parcels, "parcels")
    if not 0 <= built_threshold <= 1:
        raise ValueError(f"built_threshold must be within 0..1, got {built_threshold}")
    n = len(parcels)
    ids = parcels[id_column].astype(str).to_numpy(dtype=object)
    state = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    flags: list[list[str]] = [[] for _ in range(n)]

    def assign(mask: np.ndarray, st: str, why: str | np.ndarray) -> None:
        free = mask & (state == "")
        state[free] = st
        reason[free] = why[free] if isinstance(why, np.ndarray) else why

    # officers' statuses
    if statuses is not None:
        status = pd.Series(statuses, dtype="string").reindex(ids).fillna("").to_numpy(dtype=object)
    elif "status" in parcels:
        status = parcels["status"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    else:
        status = np.full(n, "", dtype=object)
    known = np.isin(status, list(valid_statuses))
    bad = (status != "") & ~known
    if bad.any():
        logger.warning("availability: %d parcels with a status outside the vocabulary: %s", int(bad.sum()),
                       ", ".join(sorted(set(ids[bad].tolist()))[:10]))  # fmt: skip
    assign(np.isin(status, list(OFFICER_COMMITTED)), "committed", status)
    assign(bad, "to_verify", "invalid_status")

    # the facts
    share = built_share(parcels, buildings, light_factor=light_factor).to_numpy() if buildings is not None else None
    is_built = share > built_threshold if share is not None else np.zeros(n, dtype=bool)
    on_friche, project, reconverted, potential, polluted = _friche_facts(parcels, friches)
    inv = _inventory(parcels, terrains, id_column)
    stade, occup = inv["stade"].to_numpy(dtype=object), inv["occup"].to_numpy(dtype=object)

    # committed by the inventory or a friche project (an officer's "available" still wins below: declared)
    officer_available = status == "available"
    assign(officer_available, "available", "declared")
    inv_committed = np.array([INVENTORY_COMMITTED.get(s, "") for s in stade], dtype=object)
    assign(inv_committed != "", "committed", inv_committed)
    assign(project, "committed", "friche_with_project")
    assign(np.isin(occup, INVENTORY_OCCUPIED), "occupied", "inventory_occupied")
    assign(reconverted, "occupied", "friche_reconverted")
    assign(np.isin(stade, INVENTORY_FOR_SALE) & ~is_built, "available", "inventory_for_sale")
    brownfield = on_friche & ~project & ~reconverted
    assign(is_built & ~brownfield, "built", "built_share")
    assign(brownfield, "available", "brownfield")
    if plu is not None and len(plu):
        assign(economic_dominant(parcels, plu), "available", "economic_zoning")
    if zones is not None and len(zones):
        require_lambert93(zones, "zones")
        covered = covered_area(parcels, _polygonal(_geoms(zones), "zones"))
        in_zone = covered > zone_share * shapely.area(_geoms(parcels))
        assign(in_zone, "available", "zone_vacant_plot")
    assign(np.ones(n, dtype=bool), "to_verify", "no_information")

    for i in np.flatnonzero(brownfield & is_built & (state == "available")):
        flags[i].append("demolition_reconversion")
    for i in np.flatnonzero(polluted):
        flags[i].append("pollution")
    for i in np.flatnonzero(officer_available & is_built):
        flags[i].append("built_declared")
        if "demolition_reconversion" not in flags[i]:
            flags[i].append("demolition_reconversion")
    for i in np.flatnonzero(potential & brownfield):
        flags[i].append("friche_unconfirmed")

    out = pd.DataFrame(
        {
            "parcel_id": ids,
            "state": state,
            "reason": reason,
            "reason_fr": [REASONS_FR.get(r, r) for r in reason],
            "built_share": share if share is not None else np.full(n, np.nan),
            "flags": [";".join(f) for f in flags],
            "candidate": state == "available",
        },
        index=parcels.index,
    )
    logger.info("availability: %s", state_counts(out))
    return out


def state_counts(availability: pd.DataFrame) -> dict[str, int]:
    """Number of parcels in each state (every state listed, in :data:`STATES` order)."""
    counts = availability["state"].value_counts()
    return {s: int(counts.get(s, 0)) for s in STATES}


INVENTORY_CRITERIA = (
    "inventory_turnkey_share",
    "inventory_price_m2",
    "inventory_public_control_share",
    "inventory_epf_control_share",
)
"""Criteria from the zones d'activité inventory (CNIG TERRAIN-ECO), one value per site."""

#: ``terr_maitrise_fonc`` values meaning public land control (the EPF counted apart)
PUBLIC_CONTROL = (
    "Etat", "région", "département", "structure intercommunale", "commune", "autre collectivité territoriale",
    "SEM ou SPLA",
)  # fmt: skip
EPF_CONTROL = ("établissement public foncier",)


def _str_or_empty(value: object) -> str:
    """A text value, "" when missing (None, NaN, pd.NA)."""
    return "" if value is None or bool(pd.isna(value)) else str(value)


def inventory_criteria(
    site_parcels: pd.DataFrame, parcel_area: pd.Series, terrains: pd.DataFrame | None
) -> pd.DataFrame:
    """Criteria of each site from the TERRAIN-ECO terrains listing its parcels (``terr_refcad``).

    For a site :math:`s` with parcels :math:`P_s` (areas :math:`a_p`) and :math:`K_s \\subseteq P_s` the
    parcels some terrain lists (:math:`t(p)` that terrain):

    - ``inventory_turnkey_share`` :math:`= \\sum_{p \\in K_s, t(p).cle\\_en\\_main = oui} a_p / \\sum_{p \\in K_s} a_p`
    - ``inventory_price_m2`` :math:`= \\sum_{p \\in K_s, price} a_p \\, price_{t(p)} / \\sum_{p \\in K_s, price} a_p`
      (EUR per m2, area-weighted)
    - ``inventory_public_control_share``: as the turnkey share, for ``terr_maitrise_fonc`` in
      :data:`PUBLIC_CONTROL`; ``inventory_epf_control_share`` for the établissement public foncier.

    Every value is NaN for a site no terrain describes (the profile's missing-value policy decides), so an
    empty inventory never looks like "not turnkey".

    Returns
    -------
    pandas.DataFrame
        Indexed by ``site_id`` (every site of ``site_parcels``), columns :data:`INVENTORY_CRITERIA`.
    """
    sites = pd.Index(site_parcels["site_id"].astype(str).unique(), name="site_id")
    out = pd.DataFrame(np.nan, index=sites, columns=list(INVENTORY_CRITERIA))
    if terrains is None or not len(terrains) or "terr_refcad" not in terrains or site_parcels.empty:
        return out
    rows = []
    for t in terrains.itertuples(index=False):
        ref = getattr(t, "terr_refcad", None)
        if not isinstance(ref, str) or not ref:
            continue
        price = pd.to_numeric(getattr(t, "terr_m2_prix", np.nan), errors="coerce")
        control = _str_or_empty(getattr(t, "terr_maitrise_fonc", ""))
        turnkey = _str_or_empty(getattr(t, "terr_cle_en_main", ""))
        for pid in ref.split("|"):
            if pid:
                rows.append((pid, turnkey == "oui", price, control in PUBLIC_CONTROL, control in EPF_CONTROL))
    if not rows:
        return out
    facts = pd.DataFrame(rows, columns=["parcel_id", "turnkey", "price", "public", "epf"])
    facts = facts.drop_duplicates("parcel_id", keep="last")
    known = site_parcels.astype({"parcel_id": str, "site_id": str}).merge(facts, on="parcel_id")
    if known.empty:
        return out
    known["a"] = known["parcel_id"].map(parcel_area.astype(float)).fillna(0.0)
    g = known.groupby("site_id")
    total = g["a"].sum().replace(0, np.nan)
    for col, flag in (("inventory_turnkey_share", "turnkey"), ("inventory_public_control_share", "public"),
                      ("inventory_epf_control_share", "epf")):  # fmt: skip
        out.loc[total.index, col] = (known["a"] * known[flag]).groupby(known["site_id"]).sum() / total
    priced = known[known["price"].notna()]
    if len(priced):
        gp = priced.groupby("site_id")
        out.loc[gp.size().index, "inventory_price_m2"] = (priced["a"] * priced["price"]).groupby(
            priced["site_id"]
        ).sum() / gp["a"].sum().replace(0, np.nan)
    return out

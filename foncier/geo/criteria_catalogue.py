"""The catalogue of site criteria (docs/CONTRACTS.md, "Criteria").

The criteria table is a :class:`pandas.DataFrame` indexed by ``site_id`` with one column per criterion
below. This module only *describes* the criteria (label, unit, default direction, kind); computing them is the
job of the criterion functions of :mod:`foncier.geo`, scoring them the job of :mod:`foncier.geo.scoring`.

A criterion is a *benefit* when a higher raw value is better (site area, labour pool) and a *cost* when a
lower raw value is better (travel time, flood share). A profile may override the default direction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from foncier.geo.zoning import ZONING_CLASSES

logger = logging.getLogger(__name__)

Direction = Literal["benefit", "cost"]
Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Criterion:
    """One criterion of the criteria table.

    Attributes
    ----------
    name : str
        Column name in the criteria table.
    label_fr, label_en : str
        Short human labels (maps, site sheets, API).
    unit : str
        Unit of the raw value (``min``, ``m``, ``m2``, ``%``, ``0..1``, ``persons``, ``class``).
    direction : {"benefit", "cost"}
        Default direction: benefit = higher raw value is better, cost = lower is better.
    kind : {"numeric", "categorical"}
        Numeric criteria are standardised with ``linear``, ``sigmoid`` or ``classes`` (breaks);
        categorical ones only with ``classes`` (mapping).
    description : str
        What the value means and how it is measured.
    categories : tuple of str, or None
        Allowed values of a categorical criterion.
    minimum, maximum : float or None
        Physical range of a numeric criterion (e.g. shares lie in 0..1), for plausibility checks.
    """

    name: str
    label_fr: str
    label_en: str
    unit: str
    direction: Direction
    kind: Kind
    description: str
    categories: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "time_to_roissy_min",
        "Temps d'accès à Roissy-CDG",
        "Travel time to Roissy-CDG",
        "min",
        "cost",
        "numeric",
        "Road travel time from the site to Paris-CDG airport (hub kind airport, hub_id 'CDG').",
        minimum=0.0,
    ),
    Criterion(
        "time_to_interchange_min",
        "Temps d'accès à un échangeur",
        "Travel time to an interchange",
        "min",
        "cost",
        "numeric",
        "Road travel time to the nearest motorway/trunk-road interchange.",
        minimum=0.0,
    ),
    Criterion(
        "dist_freight_station_m",
        "Distance à une gare fret",
        "Distance to a freight station",
        "m",
        "cost",
        "numeric",
        "Straight-line distance to the nearest rail station open to freight.",
        minimum=0.0,
    ),
    Criterion(
        "dist_zone_activite_m",
        "Distance à une zone d'activité",
        "Distance to a business park",
        "m",
        "cost",
        "numeric",
        "Distance to the nearest zone d'activité (0 when the site is inside one).",
        minimum=0.0,
    ),
    Criterion(
        "share_brownfield",
        "Part en friche",
        "Brownfield share",
        "0..1",
        "benefit",
        "numeric",
        "Share of the site area on brownfields (Cartofriches); reusing them consumes no new land (ZAN).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_flood_red",
        "Part en zone rouge inondable",
        "Red flood zone share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in red flood zones (PPRI: building prohibited).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_flood_blue",
        "Part en zone bleue inondable",
        "Blue flood zone share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in blue flood zones (PPRI: building under conditions).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_protected",
        "Part en zones à enjeux écologiques",
        "Share in areas of ecological interest",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in zones à enjeux écologiques (Natura 2000 habitats and birds, ZNIEFF 1 and 2; "
        "overlaps counted once). An inventory or a Natura 2000 site does not forbid building by itself.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_natura2000_habitats",
        "Part en Natura 2000 (directive Habitats)",
        "Natura 2000 habitats share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in Natura 2000 sites of the Habitats directive (SIC/ZSC): an incidence "
        "assessment is due (Code de l'environnement L414-4).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_natura2000_birds",
        "Part en Natura 2000 (directive Oiseaux)",
        "Natura 2000 birds share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in Natura 2000 sites of the Birds directive (ZPS): an incidence assessment is due.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_znieff1",
        "Part en ZNIEFF de type 1",
        "ZNIEFF type 1 share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in ZNIEFF type 1 (inventory of remarkable habitats: no ban, but strong "
        "stakes in any impact study).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_znieff2",
        "Part en ZNIEFF de type 2",
        "ZNIEFF type 2 share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in ZNIEFF type 2 (large natural ensembles: an inventory, no ban).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "dist_natura2000_m",
        "Distance au site Natura 2000 le plus proche",
        "Distance to the nearest Natura 2000 site",
        "m",
        "benefit",
        "numeric",
        "Straight-line distance to the nearest Natura 2000 site (0 inside). A project near a site, not only "
        "inside it, may need an incidence assessment.",
        minimum=0.0,
    ),
    Criterion(
        "share_strict_protection",
        "Part en protection forte (réserve, cœur de parc, APB)",
        "Strict protection share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in protections that forbid or strictly regulate building: national and "
        "regional nature reserves, national park cores, biotope protection orders (APB).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_ebc",
        "Part en espace boisé classé (EBC)",
        "Classified woodland (EBC) share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in espaces boisés classés of the PLU (CNIG typepsc 01): clearing forbidden, "
        "building impossible.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_no_build_prescription",
        "Part en secteur inconstructible du PLU",
        "No-build PLU sector share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in PLU prescriptions forbidding building (inconstructible sectors, natural "
        "or landscape protection, risks: CNIG typepsc 07, 15, 19, 22, 23...).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_reserved_location",
        "Part en emplacement réservé",
        "Reserved location share",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in emplacements réservés of the PLU (CNIG typepsc 05): land earmarked for a "
        "public project.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_ppr_to_read",
        "Part en zone de PPR à lire",
        "Share in PPR zones to read",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in PPR regulation zones whose rule could not be classified (code other than "
        "interdiction or prescriptions, or unreadable): the rule must be read.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_other_hazard_red",
        "Part en zone rouge d'un PPR (autre qu'inondation)",
        "Red zone share of other PPR (non-flood)",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in red (interdiction) zones of PPR other than flood: ground movement, "
        "technological (PPRT).",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "share_other_hazard_blue",
        "Part en zone bleue d'un PPR (autre qu'inondation)",
        "Blue zone share of other PPR (non-flood)",
        "0..1",
        "cost",
        "numeric",
        "Share of the site area in blue (prescriptions) zones of PPR other than flood.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "zoning_class",
        "Zonage PLU dominant",
        "Dominant zoning",
        "class",
        "benefit",
        "categorical",
        "Dominant zoning of the site on the CNIG standards (PLU destdomi/typezone, carte communale typesect, "
        "RNU): " + ", ".join(ZONING_CLASSES) + "; 'none' when no zoning is known there.",
        categories=ZONING_CLASSES,
    ),
    Criterion(
        "zoning_presumed",
        "Zonage présumé (d'après le libellé)",
        "Zoning presumed (from the label)",
        "0..1",
        "cost",
        "numeric",
        "1 when the dominant zoning class was read from the zone label only (CNIG destdomi 00, 99 or missing), else 0.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "slope_mean_pct",
        "Pente moyenne",
        "Mean slope",
        "%",
        "cost",
        "numeric",
        "Area-weighted mean slope of the site.",
        minimum=0.0,
    ),
    Criterion(
        "slope_max_pct",
        "Pente maximale",
        "Maximum slope",
        "%",
        "cost",
        "numeric",
        "Maximum slope of the DEM cells touching the site.",
        minimum=0.0,
    ),
    Criterion(
        "area_m2",
        "Surface du site",
        "Site area",
        "m2",
        "benefit",
        "numeric",
        "Site area (sum of its parcels).",
        minimum=0.0,
    ),
    Criterion(
        "labour_pool",
        "Bassin d'emploi (45 min, pondéré)",
        "Labour pool (45 min, weighted)",
        "persons",
        "benefit",
        "numeric",
        "Working-age (15-64) population where the communes layer gives it, else total population, of the "
        "communes (inside the territory and in the neighbouring departments) weighted by their car commute time "
        "to the site: full weight up to 20 min, none beyond 45 min, a smooth decay in between.",
        minimum=0.0,
    ),
    Criterion(
        "time_to_roissy_hgv_min",
        "Temps d'accès à Roissy-CDG (poids lourd)",
        "Travel time to Roissy-CDG (lorry)",
        "min",
        "cost",
        "numeric",
        "Road travel time from the site to Paris-CDG for a heavy goods vehicle (> 3.5 t: 90 km/h on motorways, "
        "80 elsewhere, Code de la route R413-8), calibrated speeds.",
        minimum=0.0,
    ),
    Criterion(
        "time_to_interchange_hgv_min",
        "Temps d'accès à un échangeur (poids lourd)",
        "Travel time to an interchange (lorry)",
        "min",
        "cost",
        "numeric",
        "Heavy goods vehicle travel time to the nearest motorway/trunk-road interchange.",
        minimum=0.0,
    ),
    Criterion(
        "time_to_freight_station_min",
        "Temps d'accès à une gare fret (voiture)",
        "Travel time to a freight station (car)",
        "min",
        "cost",
        "numeric",
        "Car travel time by road to the nearest rail station open to freight.",
        minimum=0.0,
    ),
    Criterion(
        "time_to_freight_station_hgv_min",
        "Temps d'accès à une gare fret (poids lourd)",
        "Travel time to a freight station (lorry)",
        "min",
        "cost",
        "numeric",
        "Heavy goods vehicle travel time by road to the nearest rail station open to freight.",
        minimum=0.0,
    ),
    Criterion(
        "aeroport_dist",
        "Distance à l'aéroport (route)",
        "Road distance to the airport",
        "km",
        "cost",
        "numeric",
        "CNIG SITE-ECO aeroport_dist: km along the fastest car route to Paris-CDG.",
        minimum=0.0,
    ),
    Criterion(
        "autoroute_echang_dist",
        "Distance à l'échangeur (route)",
        "Road distance to the interchange",
        "km",
        "cost",
        "numeric",
        "CNIG SITE-ECO autoroute_echang_dist: km along the fastest car route to the nearest motorway/trunk "
        "interchange.",
        minimum=0.0,
    ),
    Criterion(
        "gare_fret_dist",
        "Distance à la gare fret (route)",
        "Road distance to the freight station",
        "km",
        "cost",
        "numeric",
        "CNIG SITE-ECO gare_fret_dist: km along the fastest car route to the nearest freight station.",
        minimum=0.0,
    ),
    Criterion(
        "dist_freight_line_m",
        "Distance à une ligne ouverte au fret",
        "Distance to a freight rail line",
        "m",
        "cost",
        "numeric",
        "Straight-line distance to the nearest rail line section open to freight, by its SNCF operating regime.",
        minimum=0.0,
    ),
    Criterion(
        "reseau_fret_ferroviaire",
        "Embranchement ferroviaire (ITE)",
        "Rail siding (ITE)",
        "0..1",
        "benefit",
        "numeric",
        "CNIG SITE-ECO reseau_fret_ferroviaire: 1 when the zones d'activité inventory gives the site's zone a rail "
        "siding (installation terminale embranchée), 0 when it says no, missing when it says nothing.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "labour_pool_30min",
        "Bassin d'emploi (30 min, pondéré)",
        "Labour pool (30 min, weighted)",
        "persons",
        "benefit",
        "numeric",
        "As labour_pool for a 30-minute commute: full weight up to 15 min, none beyond 30 min.",
        minimum=0.0,
    ),
    Criterion(
        "labour_pool_60min",
        "Bassin d'emploi (60 min, pondéré)",
        "Labour pool (60 min, weighted)",
        "persons",
        "benefit",
        "numeric",
        "As labour_pool for a 60-minute commute: full weight up to 30 min, none beyond 60 min.",
        minimum=0.0,
    ),
)

_INVENTORY_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "inventory_turnkey_share",
        "Part clé en main",
        "Turnkey share",
        "0..1",
        "benefit",
        "numeric",
        "CNIG TERRAIN-ECO terr_cle_en_main: share of the site's inventoried land that is turnkey (cleared of any "
        "appeal, ready to build); missing when no terrain of the inventory lists its parcels.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "inventory_price_m2",
        "Prix au m²",
        "Price per m2",
        "EUR/m2",
        "cost",
        "numeric",
        "CNIG TERRAIN-ECO terr_m2_prix: area-weighted asking price of the site's inventoried land; missing when "
        "the inventory gives none.",
        minimum=0.0,
    ),
    Criterion(
        "inventory_public_control_share",
        "Part de maîtrise foncière publique",
        "Public land control share",
        "0..1",
        "benefit",
        "numeric",
        "CNIG TERRAIN-ECO terr_maitrise_fonc: share of the site's inventoried land held by the State, a local "
        "authority or a SEM/SPLA (quicker to sell); missing when no terrain lists its parcels.",
        minimum=0.0,
        maximum=1.0,
    ),
    Criterion(
        "inventory_epf_control_share",
        "Part portée par un EPF",
        "Public land agency (EPF) share",
        "0..1",
        "benefit",
        "numeric",
        "CNIG TERRAIN-ECO terr_maitrise_fonc 'établissement public foncier': share of the site's inventoried land "
        "carried by a public land agency; missing when no terrain lists its parcels.",
        minimum=0.0,
        maximum=1.0,
    ),
)
"""Criteria from the zones d'activité inventory (issue 13; computed by the pipeline from the ``terrains``
layer with :func:`foncier.geo.availability.inventory_criteria`)."""

CATALOGUE: dict[str, Criterion] = {c.name: c for c in (*_CRITERIA, *_INVENTORY_CRITERIA)}
"""Every known criterion by name, in the order of docs/CONTRACTS.md."""

CRITERIA_NAMES: tuple[str, ...] = tuple(CATALOGUE)
"""Names of the known criteria, in catalogue order."""


def known_criteria_text() -> str:
    """Return the known criterion names as one comma-separated string (for error messages)."""
    return ", ".join(CRITERIA_NAMES)


def get_criterion(name: str) -> Criterion:
    """Return the catalogue entry for ``name``.

    Raises
    ------
    KeyError
        When ``name`` is not a known criterion; the message lists the known ones.
    """
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown criterion '{name}'; known criteria: {known_criteria_text()}") from None


def catalogue_frame() -> pd.DataFrame:
    """Return the catalogue as a DataFrame indexed by criterion name.

    Columns: ``label_fr``, ``label_en``, ``unit``, ``direction``, ``kind``, ``description``,
    ``categories`` (comma-joined, empty for numeric criteria).
    """
    rows = [
        {
            "name": c.name,
            "label_fr": c.label_fr,
            "label_en": c.label_en,
            "unit": c.unit,
            "direction": c.direction,
            "kind": c.kind,
            "description": c.description,
            "categories": ",".join(c.categories or ()),
        }
        for c in _CRITERIA
    ]
    return pd.DataFrame(rows).set_index("name")


def criteria_table_problems(criteria: pd.DataFrame, required: Iterable[str]) -> list[str]:
    """List what prevents ``criteria`` from being scored on the criteria ``required``.

    Checks: unique, non-null site ids; every required column present; numeric criteria of a numeric
    dtype; categorical criteria holding only known categories (missing values are allowed here, they
    are handled by the scoring's missing-value policy). Returns every problem (empty when fine).
    """
    problems: list[str] = []
    index = criteria.index
    if index.hasnans:
        problems.append("the criteria table has missing site ids")
    if not index.is_unique:
        dupes = index[index.duplicated()].unique()[:5]
        problems.append(f"duplicate site ids in the criteria table: {', '.join(map(str, dupes))}")
    missing = [name for name in required if name not in criteria.columns]
    if missing:
        problems.append(
            f"the criteria table lacks column(s) {', '.join(missing)} "
            f"(it has: {', '.join(map(str, criteria.columns)) or 'none'})"
        )
    for name in required:
        if name not in criteria.columns or name not in CATALOGUE:
            continue
        col = criteria[name]
        crit = CATALOGUE[name]
        if crit.kind == "numeric":
            if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
                problems.append(f"criterion '{name}' must be numeric, got dtype {col.dtype}")
        elif crit.categories is not None:
            present = col.dropna()
            bad = present[~present.isin(crit.categories)]
            if len(bad):
                examples = ", ".join(repr(v) for v in pd.unique(bad)[:5])
                problems.append(
                    f"criterion '{name}' has unknown value(s) {examples}; allowed: {', '.join(crit.categories)}"
                )
    return problems


_ZONING_DRAW = [0.28, 0.1, 0.05, 0.05, 0.15, 0.05, 0.05, 0.03, 0.02, 0.02, 0.1, 0.1, 0.0]  # "none" never drawn


def synthetic_criteria(n: int, seed: int = 0, *, nan_share: float = 0.0) -> pd.DataFrame:
    """A made-up criteria table of ``n`` sites with plausible values for the Soissonnais, for tests, benchmarks
    and examples (ids ``S0000000000``...; seeded). ``nan_share`` blanks that share of three criteria."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "time_to_roissy_min": rng.uniform(30, 95, n),
            "time_to_interchange_min": rng.uniform(0, 25, n),
            "dist_freight_station_m": rng.uniform(0, 25000, n),
            "dist_zone_activite_m": rng.choice([0.0, 500.0, 5000.0], n) * rng.uniform(0, 1, n),
            "share_brownfield": rng.choice([0.0, 0.0, 0.3, 1.0], n),
            "share_flood_red": rng.choice([0.0] * 9 + [0.2], n),
            "share_flood_blue": rng.choice([0.0, 0.0, 0.1, 0.6], n),
            "share_protected": rng.choice([0.0] * 8 + [0.1, 0.8], n),
            "share_natura2000_habitats": rng.choice([0.0] * 9 + [0.5], n),
            "share_natura2000_birds": rng.choice([0.0] * 9 + [0.3], n),
            "share_znieff1": rng.choice([0.0] * 9 + [0.4], n),
            "share_znieff2": rng.choice([0.0] * 7 + [0.2, 0.9], n),
            "dist_natura2000_m": rng.uniform(0, 15000, n),
            "share_strict_protection": rng.choice([0.0] * 19 + [0.6], n),
            "share_ebc": rng.choice([0.0] * 14 + [0.2], n),
            "share_no_build_prescription": rng.choice([0.0] * 19 + [0.3], n),
            "share_reserved_location": rng.choice([0.0] * 14 + [0.1], n),
            "share_ppr_to_read": np.zeros(n),  # a PPR rule to read leaves a site unverified: none here
            "share_other_hazard_red": rng.choice([0.0] * 19 + [0.2], n),
            "share_other_hazard_blue": rng.choice([0.0] * 14 + [0.3], n),
            "zoning_class": rng.choice(list(ZONING_CLASSES), n, p=_ZONING_DRAW),
            "zoning_presumed": rng.choice([0.0] * 4 + [1.0], n),
            "slope_mean_pct": rng.gamma(2.0, 1.5, n),
            "slope_max_pct": rng.gamma(3.0, 3.0, n),
            "area_m2": rng.lognormal(10.3, 0.8, n),
            "labour_pool": rng.uniform(5000, 150000, n),
            "time_to_roissy_hgv_min": rng.uniform(36, 115, n),
            "time_to_interchange_hgv_min": rng.uniform(0, 30, n),
            "time_to_freight_station_min": rng.uniform(1, 30, n),
            "time_to_freight_station_hgv_min": rng.uniform(1, 36, n),
            "aeroport_dist": rng.uniform(45, 110, n),
            "autoroute_echang_dist": rng.uniform(0, 25, n),
            "gare_fret_dist": rng.uniform(0, 30, n),
            "dist_freight_line_m": rng.uniform(0, 15000, n),
            "reseau_fret_ferroviaire": rng.choice([0.0] * 9 + [1.0], n),
            "labour_pool_30min": rng.uniform(3000, 90000, n),
            "labour_pool_60min": rng.uniform(20000, 400000, n),
        },
        index=pd.Index([f"S{i:010d}" for i in range(n)], name="site_id"),
    )
    inv = np.random.default_rng([seed, 13])  # own stream: the draws above stay as they were
    described = inv.uniform(size=n) < 0.3  # the inventory describes about a third of the sites
    df["inventory_turnkey_share"] = np.where(described, inv.choice([0.0, 0.5, 1.0], n), np.nan)
    df["inventory_price_m2"] = np.where(described, inv.uniform(12, 60, n), np.nan)
    df["inventory_public_control_share"] = np.where(described, inv.choice([0.0, 1.0], n), np.nan)
    df["inventory_epf_control_share"] = np.where(described, inv.choice([0.0] * 4 + [1.0], n), np.nan)
    if nan_share:
        for col in ("time_to_roissy_min", "slope_mean_pct", "share_flood_red"):
            df.loc[rng.uniform(size=n) < nan_share, col] = np.nan
    return df

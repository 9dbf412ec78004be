"""Rail freight criteria: lines open to freight, and rail sidings (ITE) of the zones d'activité.

Which line sections carry freight is read from their **operating regime**, the field ``exploitati`` of the
SNCF Réseau open dataset "régime d'exploitation des lignes" (``exploitation`` in the canonical ``rail_lines``
layer). Its values, and what they mean for a freight customer:

====================================================== =======================================================
value                                                  open to freight?
====================================================== =======================================================
``Double voie``, ``Voie unique``, ``Voie banalisée``   yes: ordinary lines of the national network (mixed traffic)
``Voie unique à trafic restreint (consigne de ligne)`` yes: the VUTR regime of the capillary freight lines (few
                                                       trains, line instructions), often freight only
``_Autre``                                             only when the line is a freight siding (its name says
                                                       "voie-mère", "embranchement", "ITE"), else no
empty / unknown                                        no (logged)
====================================================== =======================================================

whatever the regime, high-speed lines (``LGV`` in the name: no freight train runs on LGV Nord or Est) and
lines dedicated to suburban passenger services (RER, tram-train "Tangentielle", VMI) are not open to freight.

The siding flag follows the CNIG SITE-ECO field ``reseau_fret_ferroviaire`` ("présence d'une Installation
Terminale Embranchée"): a site inside (or touching) a zone d'activité whose inventory says "oui" has a siding.

Everything here is pure: no file or network I/O.
"""

from __future__ import annotations

import logging
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from foncier.geo.overlay import distance_to, require_lambert93

logger = logging.getLogger(__name__)

FREIGHT_REGIMES: frozenset[str] = frozenset(
    {
        "double voie",
        "voie unique",
        "voie banalisée",
        "voie unique à trafic restreint (consigne de ligne)",
        "ligne à plusieurs voies",
        "voie unique à signalisation simplifiée",
    }
)
"""Operating regimes (lower case) of sections open to freight."""

SIDING_REGIME = "_autre"
_SIDING_NAME = re.compile(r"voie[- ]m[èe]re|embranchement|\bITE\b", re.IGNORECASE)
_NO_FREIGHT_NAME = re.compile(r"\bLGV\b|grande vitesse|\bRER\b|tangentielle|\bVMI\b", re.IGNORECASE)

SIDING_COLUMNS: tuple[str, ...] = ("reseau_fret_ferroviaire", "ite", "embranchement_fer")
"""Columns of a zones d'activité inventory that tell whether a zone has a rail siding (first found wins)."""


def open_to_freight(rail_lines: gpd.GeoDataFrame) -> pd.Series:
    """Whether each rail line section is open to freight, by its operating regime (see the module docstring).

    Parameters
    ----------
    rail_lines : geopandas.GeoDataFrame
        Canonical ``rail_lines`` (``exploitation``; ``libelle`` optional); the SNCF names ``exploitati`` and
        ``lib_ligne`` are accepted too.

    Returns
    -------
    pandas.Series of bool
        Aligned on ``rail_lines.index``.
    """
    regime_col = next((c for c in ("exploitation", "exploitati") if c in rail_lines), None)
    name_col = next((c for c in ("libelle", "lib_ligne") if c in rail_lines), None)
    n = len(rail_lines)
    if regime_col is None:
        logger.warning("rail_lines have no operating regime (exploitation): no section counts as open to freight")
        return pd.Series(np.zeros(n, dtype=bool), index=rail_lines.index, name="open_to_freight")
    regime = rail_lines[regime_col].astype("string").str.strip().str.lower().fillna("")
    names = rail_lines[name_col].astype("string").fillna("") if name_col else pd.Series("", index=rail_lines.index)
    ordinary = regime.isin(FREIGHT_REGIMES).to_numpy(dtype=bool)
    siding = (regime == SIDING_REGIME).to_numpy(dtype=bool) & names.str.contains(_SIDING_NAME).to_numpy(dtype=bool)
    excluded = names.str.contains(_NO_FREIGHT_NAME).to_numpy(dtype=bool)
    unknown = sorted(set(regime[~regime.isin(FREIGHT_REGIMES) & (regime != SIDING_REGIME)]) - {""})
    if unknown:
        logger.warning("rail_lines: unknown operating regime(s) %s counted as closed to freight", ", ".join(unknown))
    out = (ordinary | siding) & ~excluded
    return pd.Series(out, index=rail_lines.index, name="open_to_freight")


def distance_to_freight_line(sites: gpd.GeoDataFrame, rail_lines: gpd.GeoDataFrame) -> pd.Series:
    """Straight-line distance (m) from each site to the nearest rail line section open to freight.

    .. math:: d_i = \\min_{l \\in F} \\operatorname{dist}(s_i, l)

    with :math:`F` the sections for which :func:`open_to_freight` is true (0 when a line crosses the site).
    NaN when no section is open to freight.
    """
    require_lambert93(sites, "sites")
    require_lambert93(rail_lines, "rail_lines")
    freight = rail_lines[open_to_freight(rail_lines).to_numpy()]
    return distance_to(sites, freight).rename("dist_freight_line_m")


def _yes_no(col: pd.Series) -> pd.Series:
    """1.0 for yes (oui, o, yes, true, 1), 0.0 for no, NaN otherwise."""
    text = col.astype("string").str.strip().str.lower()
    yes = text.isin(["oui", "o", "yes", "y", "true", "1", "1.0"])
    no = text.isin(["non", "n", "no", "false", "0", "0.0"])
    return pd.Series(np.where(yes, 1.0, np.where(no, 0.0, np.nan)), index=col.index)


def siding_flag(sites: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None) -> pd.Series:
    """Rail siding (ITE) of each site, from the zones d'activité inventory (CNIG ``reseau_fret_ferroviaire``).

    A site gets 1 when it intersects a zone whose inventory says "oui", else 0 when it intersects a zone that
    says "non", else NaN (no zone, or the inventory says nothing): the flag is only what the inventory says.

    Returns
    -------
    pandas.Series of float
        Aligned on ``sites.index``, named ``reseau_fret_ferroviaire``.
    """
    require_lambert93(sites, "sites")
    out = pd.Series(np.nan, index=sites.index, name="reseau_fret_ferroviaire", dtype=float)
    if zones is None or len(zones) == 0 or len(sites) == 0:
        return out
    require_lambert93(zones, "zones")
    column = next((c for c in SIDING_COLUMNS if c in zones), None)
    if column is None:
        return out
    flag = _yes_no(zones[column]).to_numpy(dtype=float)
    known = np.isfinite(flag)
    if not known.any():
        return out
    zone_geoms = np.asarray(zones.geometry.values, dtype=object)[known]
    site_idx, zone_idx = gpd.GeoSeries(zone_geoms, crs=zones.crs).sindex.query(
        np.asarray(sites.geometry.values, dtype=object), predicate="intersects"
    )
    values = pd.Series(flag[known][zone_idx]).groupby(site_idx).max()
    result = out.to_numpy().copy()
    result[values.index.to_numpy()] = values.to_numpy()
    return pd.Series(result, index=sites.index, name="reseau_fret_ferroviaire")

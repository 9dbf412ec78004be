"""Attribution and licences of the workspace layers: the text maps show, the links OGC API collections carry.

Every map shows one attribution line naming the producers of the layers it draws (OpenStreetMap contributors
under the ODbL, DGFiP/Etalab, IGN/GPU, INPN, Géorisques, Cerema, SNCF, Copernicus, as applicable); every
OGC API collection links to its licence (``rel: license``); a published workspace holding OSM-derived layers
carries the ODbL notice (:func:`odbl_notice`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

__all__ = ["LAYER_SOURCES", "Licence", "attributions", "licence_link", "odbl_notice", "osm_derived"]


@dataclass(frozen=True)
class Licence:
    """A licence: short name and the page of its text."""

    name: str
    url: str


LICENCE_OUVERTE = Licence("Licence Ouverte 2.0 (Etalab)", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")
ODBL = Licence("ODbL 1.0", "https://opendatacommons.org/licenses/odbl/1-0/")
COPERNICUS = Licence(
    "Copernicus DEM licence (free, attribution)",
    "https://spacedata.copernicus.eu/collections/copernicus-digital-elevation-model",
)
LOCAL = Licence("licence of the local inventory (see its provenance)", "")

LAYER_SOURCES: dict[str, tuple[str, Licence]] = {
    "parcels": ("© DGFiP / Etalab (cadastre)", LICENCE_OUVERTE),
    "buildings": ("© DGFiP / Etalab (cadastre)", LICENCE_OUVERTE),
    "communes": ("© IGN / INSEE (geo.api.gouv.fr)", LICENCE_OUVERTE),
    "labour_communes": ("© IGN / INSEE (geo.api.gouv.fr)", LICENCE_OUVERTE),
    "plu": ("© IGN / Géoportail de l'urbanisme", LICENCE_OUVERTE),
    "prescriptions": ("© IGN / Géoportail de l'urbanisme", LICENCE_OUVERTE),
    "protected": ("© INPN / MNHN (IGN API Carto)", LICENCE_OUVERTE),
    "flood": ("© Géorisques / Géoportail de l'urbanisme (PPR)", LICENCE_OUVERTE),
    "friches": ("© Cerema (Cartofriches)", LICENCE_OUVERTE),
    "roads": ("© OpenStreetMap contributors", ODBL),
    "interchanges": ("© OpenStreetMap contributors", ODBL),
    "rail_lines": ("© SNCF Réseau", ODBL),
    "rail_stations": ("© SNCF", ODBL),
    "dem": ("© Copernicus DEM GLO-30 (ESA)", COPERNICUS),
    "zones": ("inventaire local des zones d'activité (CNIG SITE-ECO)", LOCAL),
    "terrains": ("inventaire local des terrains (CNIG TERRAIN-ECO)", LOCAL),
}
"""Producer credit and licence of each canonical layer (derived tables inherit those of their inputs)."""

OSM_LAYERS = frozenset({"roads", "interchanges"})
"""Layers derived from OpenStreetMap (ODbL: share-alike, attribution, notice on publication)."""

DERIVED_FROM_ROADS = frozenset({"sites", "criteria", "scores", "score_breakdown", "isochrones"})
"""Tables computed with the road network (travel times): OSM-derived when the roads come from OSM."""

ODBL_NOTICE = (
    "Contains information from OpenStreetMap, which is made available under the Open Database License (ODbL) "
    "1.0: https://opendatacommons.org/licenses/odbl/1-0/ - © OpenStreetMap contributors. Derived databases "
    "published from it are under the ODbL too."
)


def attributions(workspace_layers: Iterable[str]) -> list[str]:
    """The attribution credits for the layers present (each credit once, in catalogue order).

    Examples
    --------
    >>> attributions(["roads", "parcels", "interchanges", "sites"])
    ['© DGFiP / Etalab (cadastre)', '© OpenStreetMap contributors']
    """
    present = set(workspace_layers)
    out: list[str] = []
    for layer, (credit, _licence) in LAYER_SOURCES.items():
        if layer in present and credit not in out:
            out.append(credit)
    return out


def licence_link(layer: str) -> dict[str, str] | None:
    """An OGC API / RFC 8288 link to the licence of ``layer`` (``rel: license``), None when not known."""
    entry = LAYER_SOURCES.get(layer)
    if entry is None or not entry[1].url:
        return None
    credit, licence = entry
    return {"href": licence.url, "rel": "license", "type": "text/html", "title": f"{licence.name} - {credit}"}


def osm_derived(workspace_layers: Iterable[str]) -> list[str]:
    """The layers of ``workspace_layers`` that derive from OpenStreetMap (the roads, and what was computed
    with them when the roads are present)."""
    present = set(workspace_layers)
    out = sorted(present & OSM_LAYERS)
    if out:
        out += sorted(present & DERIVED_FROM_ROADS)
    return out


def odbl_notice(workspace_layers: Iterable[str]) -> str | None:
    """The ODbL notice when a published workspace holds OSM-derived layers, else None."""
    return ODBL_NOTICE if osm_derived(workspace_layers) else None

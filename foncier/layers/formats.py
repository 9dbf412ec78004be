"""Mappings from the publishers' formats to the canonical layers.

Each mapping recognises a publisher's columns and renames or converts them to the canonical schema of
:mod:`foncier.layers.schemas`. Detection is by columns, so a file that is already canonical passes through
unchanged. Publishers covered:

- Etalab cadastre parcels (``id, commune, prefixe, section, numero, contenance``) and buildings
  (``type`` 01/02, ``nom``, ``commune``, ``created``, ``updated``);
- IGN ADMIN EXPRESS / geo.api.gouv.fr communes (``code`` or ``INSEE_COM``, ``nom``, ``population``, ``codeEpci``);
- SNCF Réseau stations (``code_uic, libelle, fret, voyageurs``) and lines (``code_ligne, lib_ligne, exploitati``);
- Cerema Cartofriches (``site_id, site_nom, site_statut, site_surface``);
- CNIG Sites économiques (:mod:`foncier.layers.cnig`): SITE-ECO as ``zones`` (``site_id, site_nom,
  site_vocadomi, site_surf_brute`` in ha; ``site_taux_vacance`` is a share of unités foncières by count, kept
  as ``vacancy_uf_share``) and TERRAIN-ECO (``terr_id``...) as ``terrains``, never as zones;
- Geoportail de l'urbanisme zone-urba (``typezone, destdomi, libelle``: AUc/AUs spelt in several ways);
- airports (airportsdata: ``icao, name``) as hubs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

from foncier.geo.hazards import classify_ppr

logger = logging.getLogger(__name__)

from foncier.errors import DataFormatError  # noqa: E402
from foncier.layers.cnig import cnig_class, map_site_eco, map_terrains  # noqa: E402

Mapper = Callable[[gpd.GeoDataFrame], gpd.GeoDataFrame]

PPR_LABEL_COLUMNS = (
    "code_zone_reglement", "lib_zone_reglement", "codezone", "typezone", "zone", "couleur", "libelle", "nom",
    "nomsuplitt", "typeass", "nomass",
)  # fmt: skip
"""Columns read, in order, to classify a PPR zone by its labels when it carries no CNIG code."""


def _lower_columns(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lower-case attribute column names (Shapefiles from IGN use upper case)."""
    renames = {c: c.lower() for c in gdf.columns if c != gdf.geometry.name and c.lower() not in gdf.columns}
    return gdf.rename(columns=renames)


def _first_present(gdf: gpd.GeoDataFrame, *names: str) -> str | None:
    for n in names:
        if n in gdf.columns:
            return n
    return None


def _yes_no(series: pd.Series) -> pd.Series:
    """SNCF 'O'/'N' flags (and oui/non, true/false) to booleans; other values stay for the validator."""
    mapping = {"o": True, "oui": True, "true": True, "1": True, "n": False, "non": False, "false": False, "0": False}
    return series.map(lambda v: mapping.get(str(v).strip().lower(), v) if v is not None else v)


def map_parcels(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Etalab cadastre parcels to the canonical ``parcels`` layer.

    ``id`` -> ``parcel_id``; ``contenance`` (m2, sometimes absent) -> ``contenance_m2``; ``commune``,
    ``prefixe``, ``section``, ``numero`` kept. DGFiP/EDIGEO exports with ``idu`` are recognised too.
    """
    gdf = _lower_columns(gdf)
    if "parcel_id" not in gdf.columns:
        src = _first_present(gdf, "id", "idu", "id_parcelle", "idpar")
        if src is not None:
            gdf = gdf.rename(columns={src: "parcel_id"})
    if "contenance_m2" not in gdf.columns and "contenance" in gdf.columns:
        gdf = gdf.rename(columns={"contenance": "contenance_m2"})
    if "parcel_id" in gdf.columns:
        ids = gdf["parcel_id"].astype("string").str.strip()
        gdf["parcel_id"] = ids
        derived = ids.where(ids.str.len() == 14)
        if "commune" not in gdf.columns:
            gdf["commune"] = derived.str[:5]
        if "section" not in gdf.columns:
            gdf["section"] = derived.str[8:10].str.lstrip("0").replace("", "0")
        if "numero" not in gdf.columns:
            gdf["numero"] = derived.str[10:14].str.lstrip("0")
        if "prefixe" not in gdf.columns:
            gdf["prefixe"] = derived.str[5:8]
    for c in ("commune", "section", "numero", "prefixe"):
        if c in gdf.columns:
            gdf[c] = gdf[c].astype("string")
    if "contenance_m2" not in gdf.columns:
        gdf["contenance_m2"] = np.nan
    return gdf


def map_communes(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """IGN ADMIN EXPRESS or geo.api.gouv.fr communes to the canonical ``communes`` layer."""
    gdf = _lower_columns(gdf)
    renames: dict[str, str] = {}
    if "insee" not in gdf.columns:
        src = _first_present(gdf, "code", "insee_com", "code_insee", "codgeo")
        if src:
            renames[src] = "insee"
    if "nom" not in gdf.columns:
        src = _first_present(gdf, "nom_com", "libelle", "name")
        if src:
            renames[src] = "nom"
    if "epci_siren" not in gdf.columns:
        src = _first_present(gdf, "codeepci", "siren_epci", "code_epci", "epci")
        if src:
            renames[src] = "epci_siren"
    gdf = gdf.rename(columns=renames)
    for c in ("epci_siren", "population"):
        if c not in gdf.columns:
            gdf[c] = pd.NA
    # geo.api population arrives as int; ADMIN EXPRESS sometimes as text
    return gdf


def map_rail_stations(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """SNCF 'liste des gares' to ``rail_stations`` (``libelle`` -> ``nom``, O/N flags -> booleans)."""
    gdf = _lower_columns(gdf)
    if "nom" not in gdf.columns and "libelle" in gdf.columns:
        gdf = gdf.rename(columns={"libelle": "nom"})
    for c in ("fret", "voyageurs"):
        if c in gdf.columns:
            gdf[c] = _yes_no(gdf[c])
    if "code_uic" in gdf.columns:
        gdf["code_uic"] = gdf["code_uic"].astype("string").str.strip()
    return gdf


def map_rail_lines(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """SNCF 'régime d'exploitation des lignes' to ``rail_lines``."""
    gdf = _lower_columns(gdf)
    renames = {}
    if "libelle" not in gdf.columns and "lib_ligne" in gdf.columns:
        renames["lib_ligne"] = "libelle"
    if "exploitation" not in gdf.columns and "exploitati" in gdf.columns:
        renames["exploitati"] = "exploitation"
    gdf = gdf.rename(columns=renames)
    if "code_ligne" in gdf.columns:
        gdf["code_ligne"] = gdf["code_ligne"].astype("string")
    return gdf


def map_friches(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cerema Cartofriches to ``friches`` (``site_surface`` m2 -> ``site_surface_m2``, ``site_nom`` -> ``nom``)."""
    gdf = _lower_columns(gdf)
    renames = {}
    if "site_surface_m2" not in gdf.columns and "site_surface" in gdf.columns:
        renames["site_surface"] = "site_surface_m2"
    if "nom" not in gdf.columns and "site_nom" in gdf.columns:
        renames["site_nom"] = "nom"
    gdf = gdf.rename(columns=renames)
    if "site_surface_m2" not in gdf.columns:
        gdf["site_surface_m2"] = np.nan
    # personal data never travels: Cartofriches carries owner fields
    drop = [c for c in gdf.columns if c.startswith("proprio_")]
    return gdf.drop(columns=drop)


def map_zones(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """CNIG Sites économiques (SITE-ECO or TERRAIN-ECO) to the canonical ``zones`` layer.

    SITE-ECO: ``site_id`` -> ``zone_id``, ``site_nom`` -> ``nom``, ``site_vocadomi`` (or ``site_type``) ->
    ``type``, ``site_surf_brute`` (ha) -> ``surface_m2``, ``site_taux_vacance`` (%) -> ``vacancy`` (0..1).
    TERRAIN-ECO: ``terrain_id`` -> ``zone_id``, name from the parent ``site_id``, ``type`` = "terrain",
    vacancy 1 for an unoccupied terrain (``terrain_occupation`` starting with "inoccup" or "vacant"), else 0.
    """
    gdf = _lower_columns(gdf)
    if "zone_id" in gdf.columns:
        return gdf
    if cnig_class(gdf.columns) == "terrain-eco":
        raise DataFormatError(
            "this is a CNIG TERRAIN-ECO file (it has terr_id): terrains are not zones; ingest it as the "
            "'terrains' layer (foncier ingest -w WS terrains FILE)"
        )
    if cnig_class(gdf.columns) == "site-eco":
        return map_site_eco(gdf)
    out = gdf.copy()
    if "terrain_id" in gdf.columns:
        out["zone_id"] = gdf["terrain_id"].astype("string")
        nom_src = _first_present(gdf, "terrain_nom", "site_nom", "site_id")
        out["nom"] = gdf[nom_src].astype("string") if nom_src else out["zone_id"]
        out["type"] = "terrain"
        surf = _first_present(gdf, "terrain_surf", "terrain_surface")
        out["surface_m2"] = pd.to_numeric(gdf[surf], errors="coerce") if surf else gdf.geometry.area
        occ = _first_present(gdf, "terrain_occupation", "terrain_occup", "terrain_etat")
        if occ:
            state = gdf[occ].astype("string").str.lower().fillna("")
            out["vacancy"] = np.where(state.str.startswith(("inoccup", "vacant", "libre")), 1.0, 0.0)
        else:
            out["vacancy"] = np.nan
        return out
    if "site_id" in gdf.columns:
        out = out.rename(columns={"site_id": "zone_id"})
        out["nom"] = gdf["site_nom"] if "site_nom" in gdf.columns else out["zone_id"]
        type_src = _first_present(gdf, "site_vocadomi", "site_type")
        out["type"] = gdf[type_src] if type_src else pd.NA
        if "site_surf_brute" in gdf.columns:
            out["surface_m2"] = pd.to_numeric(gdf["site_surf_brute"], errors="coerce") * 10_000.0
        else:
            out["surface_m2"] = gdf.geometry.area
        if "site_taux_vacance" in gdf.columns:
            out["vacancy"] = pd.to_numeric(gdf["site_taux_vacance"], errors="coerce") / 100.0
        else:
            out["vacancy"] = np.nan
    return out


_ZONING_ALIASES = {
    "U": "U", "AUC": "AUc", "AUS": "AUs", "1AU": "AUc", "2AU": "AUs", "A": "A", "N": "N",
    "AH": "A", "NH": "N", "RNU": "RNU",
    # cartes communales (CNIG CC): ZC open to building, ZCa reserved for activities (not agriculture), ZnC not open
    "ZC": "ZC", "ZCA": "ZCa", "ZNC": "ZnC", "ZCN": "ZnC",
}  # fmt: skip
_CC_TYPESECT = {"01": "ZC", "02": "ZCa", "03": "ZnC", "99": "RNU"}


def map_plu(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Geoportail de l'urbanisme ``zone-urba`` to ``plu``.

    ``typezone`` values are normalised ("AUc", "AUs", "Ah" -> "A", "Nh" -> "N"; a bare "AU" is AUc when its
    label starts with 1AU, else AUs: closed, the safe side); carte communale sectors (GPU ``secteur-cc``) get
    ``typezone`` ZC / ZCa / ZnC from their CNIG ``typesect`` (01 / 02 / 03; 99 RNU), and ZCa is the
    activities sector, never agriculture. ``destdomi`` is kept as the CNIG code or label it comes with.
    """
    gdf = _lower_columns(gdf)
    if "typesect" in gdf.columns:
        sect = gdf["typesect"].astype("string").str.strip().str.zfill(2).map(_CC_TYPESECT)
        gdf["typezone"] = sect.where(sect.notna(), gdf["typezone"] if "typezone" in gdf.columns else pd.NA)
    if "typezone" in gdf.columns:
        norm = gdf["typezone"].astype("string").str.strip().str.upper()
        label = gdf["libelle"].astype("string").str.strip().str.upper() if "libelle" in gdf.columns else norm
        bare_au = norm.eq("AU").fillna(False)
        norm = norm.mask(bare_au, label.str.startswith("1AU").fillna(False).map({True: "AUC", False: "AUS"}))
        gdf["typezone"] = norm.map(lambda v: _ZONING_ALIASES.get(v, v) if isinstance(v, str) else v)
    for c in ("destdomi", "libelle"):
        if c not in gdf.columns:
            gdf[c] = pd.NA
        else:
            gdf[c] = gdf[c].astype("string")
    return gdf


def map_hubs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Airports from airportsdata (``icao``, ``name``) to ``hubs``; Paris-CDG gets hub_id ``CDG``."""
    gdf = _lower_columns(gdf)
    if "hub_id" in gdf.columns:
        return gdf
    if "icao" in gdf.columns:
        out = gdf.copy()
        out["hub_id"] = gdf["icao"].astype("string").replace({"LFPG": "CDG"})
        out["nom"] = gdf["name"] if "name" in gdf.columns else out["hub_id"]
        out["kind"] = "airport"
        return out
    return gdf


def map_flood(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """PPR regulation zones to ``flood`` with the one PPR classifier (:func:`foncier.geo.hazards.classify_ppr`).

    CNIG PPR coded fields first (``typereglement`` 03/04 red, 02 blue, others to_read; ``typealea`` for the
    hazard), then labels (Georisques ``code_zone_reglement`` R.../B..., ``lib_zone_reglement``, ``libelle``,
    ``nom``...). A file already carrying ``level`` keeps it (rouge/bleu read as red/blue); unplaceable zones
    are kept as ``to_read``, never dropped. ``hazard`` (flood, ground_movement, technological, other) and
    ``typereglement`` are added when absent.
    """
    gdf = _lower_columns(gdf)
    if "level" in gdf.columns:
        gdf["level"] = gdf["level"].astype("string").str.strip().str.lower().replace({"rouge": "red", "bleu": "blue"})
        if "hazard" not in gdf.columns:
            gdf["hazard"] = "flood"
        return gdf
    classified = classify_ppr(gdf, PPR_LABEL_COLUMNS)
    for column in ("level", "hazard", "typereglement"):
        gdf[column] = classified[column].astype("string")
    return gdf


def map_buildings(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Etalab cadastre ``batiments`` to ``buildings``.

    The Etalab files carry ``type`` ("01" building in hard materials, "02" light building), ``nom``, ``commune``
    (INSEE), ``created`` and ``updated``. ``type`` read as a number (1, 2) is zero-padded back to "01"/"02";
    the DGFiP labels "dur"/"leger" are recognised too. Other values stay for the validator to refuse.
    """
    gdf = _lower_columns(gdf)
    if "type" in gdf.columns:
        labels = {"1": "01", "2": "02", "01": "01", "02": "02", "dur": "01", "leger": "02", "léger": "02"}
        raw = gdf["type"].astype("string").str.strip().str.lower()
        gdf["type"] = raw.map(lambda v: labels.get(v, v) if isinstance(v, str) else v).astype("string")
    if "commune" in gdf.columns:
        gdf["commune"] = gdf["commune"].astype("string").str.strip()
    for c in ("nom", "created", "updated"):
        if c in gdf.columns:
            gdf[c] = gdf[c].astype("string")
    return gdf


def _identity(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf


MAPPERS: dict[str, Mapper] = {
    "parcels": map_parcels,
    "buildings": map_buildings,
    "terrains": map_terrains,
    "communes": map_communes,
    "rail_stations": map_rail_stations,
    "rail_lines": map_rail_lines,
    "friches": map_friches,
    "zones": map_zones,
    "plu": map_plu,
    "hubs": map_hubs,
    "flood": map_flood,
}
"""Publisher-format mapping per canonical layer (identity for the others)."""


def to_canonical(gdf: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """Map a publisher's columns to the canonical columns of ``layer`` (no validation)."""
    return MAPPERS.get(layer, _identity)(gdf)

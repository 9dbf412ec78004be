"""The CNIG "Sites économiques" standard (SITE-ECO, TERRAIN-ECO v1.0.1), in and out.

The standard's exchange form is a CSV file separated by semicolons, one record a line, the geometry as GeoJSON
text in Lambert-93 (``terr_geomsurf``, ``site_geomsurf``); its table schemas (Frictionless) and code lists are
those of cnigfr/schema-sites-economiques (v1.0.1). This module holds the field names and code lists, tells the
two classes apart, checks the codes (every unknown code reported with its row and column), and writes candidate
sites as TERRAIN-ECO records and zones d'activité as SITE-ECO records.

A TERRAIN-ECO file is recognised by ``terr_id``: it is read as terrains (the ``terrains`` layer), never as
zones, and its parent ``site_id`` may repeat (a site holds many terrains). ``site_taux_vacance`` is, by law
(art. L318-8-2 of the Code de l'urbanisme), a share of *unités foncières* by count: it is stored as such
(``vacancy_uf_share``, 0..1), never as a share of land.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.errors import DataFormatError, LayerValidationError, Problem
from foncier.geo.crs import LAMBERT93

logger = logging.getLogger(__name__)

TERRAIN_ECO_FIELDS = (
    "terr_id", "site_id", "terr_refcad", "terr_surf_brute", "terr_utile", "terr_identif_date", "terr_actu_date",
    "terr_maitrise_fonc", "terr_stade_amngt", "terr_stade_comm", "terr_etat_occup", "terr_usage",
    "terr_url_cartofriches", "terr_geomsurf", "terr_cle_en_main", "terr_acquereur", "terr_cession_date",
    "terr_vente_montant", "terr_m2_prix",
)  # fmt: skip
"""TERRAIN-ECO v1.0.1 fields, in the standard's order."""

SITE_ECO_FIELDS = (
    "site_id", "pole_id", "site_nom", "site_type", "site_vocadomi", "site_etat", "site_surf_brute",
    "site_surf_utile", "site_creation_date", "site_identif_date", "site_actu_date", "source_producteur",
    "site_description", "site_quali_territoire", "site_evol_urba", "site_url", "site_epci_nom", "site_epci_siren",
    "site_comm_nom", "site_comm_insee", "site_moa_type", "site_moa_nom", "site_moa_amngt", "site_moa_comm",
    "site_uf_nbre", "site_uf_vacant_nbre", "site_taux_vacance", "site_uf_bati_nbre", "site_nb_etab",
    "site_nb_emploi", "site_geomsurf", "site_geompoint", "site_media", "site_surf_comm_dispo", "site_surf_projet",
    "site_voca_industrielle", "site_voca_commerciale", "site_voca_tertiaire", "site_voca_artisanale",
    "site_voca_touristique", "site_voca_portuaire", "site_voca_aeroportuaire", "reseau_eau_pluviale",
    "reseau_eau_potable", "reseau_assainissement", "reseau_gaz", "reseau_electrique", "reseau_fibre_optique",
    "reseau_fret_ferroviaire", "reseau_fluvial", "desserte_tc", "desserte_route_nom", "autoroute_nom",
    "autoroute_echang_dist", "gare_nom", "gare_dist", "gare_fret_nom", "gare_fret_dist", "aeroport_nom",
    "aeroport_dist", "port_nom", "port_dist",
)  # fmt: skip
"""SITE-ECO v1.0.1 fields, in the standard's order."""

YES_NO = ("oui", "non")

MAITRISE_FONC = (
    "personne physique", "Etat", "région", "département", "structure intercommunale", "commune",
    "autre collectivité territoriale", "organisme de logement social", "établissement public foncier",
    "SEM ou SPLA", "aménageur", "investisseur professionnel", "établissement de santé et structure sociale",
    "établissement de tourisme et structure de loisir sportive ou cultuelle",
    "établissement industriel et commercial", "organisation de gestion foncière et immobilière",
    "établissement d'enseignement d'étude et de recherche", "inconnu", "autre", "sans objet",
)  # fmt: skip
STADE_AMNGT = (
    "non aménageable", "non aménagé, non viabilisé", "viabilisation en cours", "viabilisé non aménagé",
    "viabilisé et aménagé", "inconnu", "autre", "sans objet",
)  # fmt: skip
STADE_COMM = (
    "non commercialisé", "non commercialisable", "en vente", "en vente avec contraintes",
    "vendu, commercialisation achevée", "réservé par option de réservation",
    "réservé par une délibération de l'EPCI", "inconnu", "autre", "sans objet",
)  # fmt: skip
ETAT_OCCUP = ("inoccupé", "occupation transitoire", "occupé", "vacant", "friche", "inconnu", "autre", "sans objet")
USAGE = (
    "voirie ou infrastructure", "parkings, stationnement", "zone de retournement poids-lourds",
    "autres équipements publics", "bâti productif", "bâti résidentiel", "bassin d'orage ou de rétention",
    "espace vert", "espace naturel ou forestier", "espace agricole", "zone de service partagée entre entreprises",
    "carrières, zones d'extraction", "dépôt, stockage", "production d’énergie renouvelable", "inconnu", "autre",
    "sans objet",
)  # fmt: skip

TERRAIN_CODE_LISTS: dict[str, tuple[str, ...]] = {
    "terr_maitrise_fonc": MAITRISE_FONC,
    "terr_stade_amngt": STADE_AMNGT,
    "terr_stade_comm": STADE_COMM,
    "terr_etat_occup": ETAT_OCCUP,
    "terr_usage": USAGE,
    "terr_utile": YES_NO,
    "terr_cle_en_main": YES_NO,
}
"""Code lists of TERRAIN-ECO (the standard's ``enum``; exact values)."""

PUBLIC_CONTROL = (
    "Etat", "région", "département", "structure intercommunale", "commune", "autre collectivité territoriale",
    "SEM ou SPLA",
)  # fmt: skip
"""``terr_maitrise_fonc`` values meaning public land control (the EPF is counted apart)."""
EPF_CONTROL = ("établissement public foncier",)

_GEOMETRY_FIELDS = ("terr_geomsurf", "site_geomsurf")


def cnig_class(columns: pd.Index | list[str]) -> str | None:
    """``"terrain-eco"`` when the columns hold ``terr_id``, ``"site-eco"`` when they hold ``site_id`` and
    ``site_nom`` (and no ``terr_id``), else None."""
    cols = {str(c).lower() for c in columns}
    if "terr_id" in cols:
        return "terrain-eco"
    if {"site_id", "site_nom"} <= cols:
        return "site-eco"
    return None


def geojson_column(df: pd.DataFrame) -> str | None:
    """The CNIG geometry column (GeoJSON text) of a table, if any."""
    return next((c for c in df.columns if str(c).lower() in _GEOMETRY_FIELDS), None)


def _close_rings(text: str, tolerance: float = 1.0) -> shapely.Geometry | None:
    """Parse a GeoJSON (Multi)Polygon whose rings are not closed but whose ends lie within ``tolerance``
    metres (as in the standard's own example): the ring is closed on its first point. None otherwise."""
    try:
        doc = json.loads(text)
        polys = [doc["coordinates"]] if doc["type"] == "Polygon" else doc["coordinates"]
        if doc["type"] not in ("Polygon", "MultiPolygon"):
            return None
        for poly in polys:
            for ring in poly:
                if ring[0] != ring[-1]:
                    if float(np.hypot(ring[0][0] - ring[-1][0], ring[0][1] - ring[-1][1])) > tolerance:
                        return None
                    ring[-1] = ring[0]
        return shapely.from_geojson(json.dumps(doc))
    except (ValueError, KeyError, TypeError, IndexError, shapely.errors.GEOSException):
        return None


def frame_from_cnig_table(df: pd.DataFrame, source: str) -> gpd.GeoDataFrame:
    """A CNIG exchange table (strings) to a GeoDataFrame in Lambert-93, the GeoJSON geometry parsed.

    Raises
    ------
    foncier.errors.LayerValidationError
        Listing every geometry that is not GeoJSON, with its row (1 = first record) and column.
    """
    col = geojson_column(df)
    if col is None:
        raise DataFormatError(f"{source}: no CNIG geometry column (terr_geomsurf or site_geomsurf)")
    geoms = np.empty(len(df), dtype=object)
    problems = []
    for i, text in enumerate(df[col].tolist()):
        if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
            geoms[i] = None
            continue
        try:
            geoms[i] = shapely.from_geojson(str(text))
        except (shapely.errors.GEOSException, ValueError) as exc:
            closed = _close_rings(str(text))
            if closed is None:
                problems.append(Problem(f"not a GeoJSON geometry ({str(exc)[:80]})", source, i + 1, col))
            else:
                logger.warning("%s, row %d, column '%s': ring closed (its ends were less than 1 m apart)",
                               source, i + 1, col)  # fmt: skip
                geoms[i] = closed
    if problems:
        raise LayerValidationError(problems, title="invalid CNIG geometries")
    return gpd.GeoDataFrame(df.drop(columns=[col]), geometry=geoms, crs=LAMBERT93)


def check_terrain_codes(df: pd.DataFrame, source: str) -> None:
    """Refuse a TERRAIN-ECO table with codes outside the standard's lists.

    Raises
    ------
    foncier.errors.LayerValidationError
        With one problem per unknown value: its row (1 = first record), column, the value and the list.
    """
    problems = []
    for column, codes in TERRAIN_CODE_LISTS.items():
        if column not in df:
            continue
        values = df[column].astype("string").str.strip()
        bad = values.notna() & (values != "") & ~values.isin(codes)
        for i in np.flatnonzero(bad.to_numpy()):
            shown = ", ".join(f"'{c}'" for c in codes[:6]) + (", ..." if len(codes) > 6 else "")
            problems.append(
                Problem(f"unknown code '{values.iloc[i]}' (TERRAIN-ECO list: {shown})", source, int(i) + 1, column)
            )
    if problems:
        raise LayerValidationError(problems, title="TERRAIN-ECO codes outside the standard's lists")


def map_terrains(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """TERRAIN-ECO records to the canonical ``terrains`` layer: the standard's fields kept as they are,
    ``terr_surf_brute`` (ha) and ``terr_m2_prix`` as numbers, ``site_id`` may repeat."""
    gdf = gdf.rename(columns={c: c.lower() for c in gdf.columns if c != gdf.geometry.name})
    for c in ("terr_surf_brute", "terr_m2_prix", "terr_vente_montant"):
        if c in gdf:
            gdf[c] = pd.to_numeric(gdf[c], errors="coerce")
    for c in ("terr_id", "site_id", "terr_refcad", *TERRAIN_CODE_LISTS):
        if c in gdf:
            gdf[c] = gdf[c].astype("string").str.strip().replace("", pd.NA)
        elif c in ("terr_refcad", "terr_cle_en_main"):
            gdf[c] = pd.array([pd.NA] * len(gdf), dtype="string")
    if "terr_m2_prix" not in gdf:
        gdf["terr_m2_prix"] = np.nan
    return gdf


def map_site_eco(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """SITE-ECO records to the canonical ``zones`` layer.

    ``site_id`` -> ``zone_id``, ``site_nom`` -> ``nom``, ``site_vocadomi`` (or ``site_type``) -> ``type``,
    ``site_surf_brute`` (ha) -> ``surface_m2``; ``site_taux_vacance`` (%, a share of unités foncières by count,
    art. L318-8-2 CU) -> ``vacancy_uf_share`` (0..1), or ``site_uf_vacant_nbre / site_uf_nbre`` when the rate is
    missing; ``vacancy`` (a share of *land*) = ``site_surf_comm_dispo / site_surf_utile`` when both are given.
    """
    out = gdf.copy()
    out = out.rename(columns={"site_id": "zone_id"})
    out["nom"] = gdf["site_nom"] if "site_nom" in gdf else out["zone_id"]
    type_src = "site_vocadomi" if "site_vocadomi" in gdf else ("site_type" if "site_type" in gdf else None)
    out["type"] = gdf[type_src] if type_src else pd.NA

    def num(c: str) -> pd.Series:
        return pd.to_numeric(gdf[c], errors="coerce") if c in gdf else pd.Series(np.nan, index=gdf.index)

    surf = num("site_surf_brute") * 10_000.0
    out["surface_m2"] = surf.where(surf.notna(), gdf.geometry.area)
    rate = num("site_taux_vacance") / 100.0
    by_count = num("site_uf_vacant_nbre") / num("site_uf_nbre").replace(0, np.nan)
    out["vacancy_uf_share"] = rate.where(rate.notna(), by_count).clip(0, 1)
    land = num("site_surf_comm_dispo") / num("site_surf_utile").replace(0, np.nan)
    out["vacancy"] = land.clip(0, 1)
    return out


def read_cnig_csv(path: str | Path) -> gpd.GeoDataFrame:
    """Read a CNIG exchange CSV (semicolon separated, UTF-8, GeoJSON geometry in Lambert-93) as it is."""
    path = Path(path)
    try:
        df = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: cannot read the CNIG CSV ({exc})") from None
    df = df.replace({"": None})
    return frame_from_cnig_table(df, str(path))


# ---------------------------------------------------------------------------------------------- writing
def _geojson_text(geom: shapely.Geometry) -> str:
    return json.dumps(json.loads(shapely.to_geojson(shapely.set_precision(geom, 0.01))), separators=(", ", ": "))


def _commercial_stage(statuses: list[str]) -> str:
    """TERRAIN-ECO ``terr_stade_comm`` from the officers' statuses of a terrain's parcels (the most committed
    wins; parcels with no status leave the stage "inconnu" unless every parcel was declared available)."""
    s = set(statuses)
    if "sold" in s:
        return "vendu, commercialisation achevée"
    if "under_option" in s:
        return "réservé par option de réservation"
    if "not_for_sale" in s:
        return "non commercialisable"
    if s == {"available"}:
        return "en vente"
    return "inconnu"


def terrain_eco_records(
    sites: gpd.GeoDataFrame,
    site_parcels: pd.DataFrame,
    parcels: pd.DataFrame,
    *,
    availability: pd.DataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    identified: str,
    updated: str,
) -> gpd.GeoDataFrame:
    """Candidate sites as TERRAIN-ECO v1.0.1 records (every field, in the standard's order).

    ``terr_id`` = ``{INSEE}_TERRAIN-ECO_{site_id}``; ``site_id`` = the zone d'activité holding most of it
    (``zone_id``), else ``{INSEE}_SITE-ECO_{site_id}``; ``terr_refcad`` = the parcel ids joined by "|";
    ``terr_surf_brute`` = gross area in ha; ``terr_identif_date`` / ``terr_actu_date`` = ``identified`` (when
    the parcels were retrieved, from the provenance) / ``updated`` (when the sites were computed);
    ``terr_stade_comm`` from the officers' statuses; ``terr_etat_occup`` "friche" for a brownfield, else
    "inoccupé" (candidates are unbuilt); unknown fields "inconnu" or empty.
    """
    status = parcels.set_index("parcel_id")["status"] if "status" in parcels else pd.Series(dtype=object)
    reason = availability.set_index("parcel_id")["reason"] if availability is not None else pd.Series(dtype=object)
    members = site_parcels.groupby("site_id")["parcel_id"].apply(list)
    zone_of: dict[str, str] = {}
    if zones is not None and len(zones):
        reps = gpd.GeoDataFrame(geometry=sites.geometry.representative_point(), crs=sites.crs)
        joined = gpd.sjoin(reps, zones[["zone_id", "geometry"]], predicate="within", how="inner")
        zone_of = {str(sites["site_id"].iloc[i]): str(z) for i, z in zip(joined.index, joined["zone_id"], strict=True)}
    rows = []
    for i, site in enumerate(sites.itertuples(index=False)):
        sid = str(site.site_id)
        pids = sorted(members.get(sid, str(site.parcel_ids).split(",")))
        insee = pids[0][:5]
        stats = [str(status.get(p)) for p in pids if isinstance(status.get(p), str)]
        reasons = {str(reason.get(p)) for p in pids}
        rows.append(
            {
                "terr_id": f"{insee}_TERRAIN-ECO_{sid}",
                "site_id": zone_of.get(sid, f"{insee}_SITE-ECO_{sid}"),
                "terr_refcad": "|".join(pids),
                "terr_surf_brute": round(float(site.area_m2) / 10_000.0, 4),
                "terr_utile": "oui",
                "terr_identif_date": identified,
                "terr_actu_date": updated,
                "terr_maitrise_fonc": "inconnu",
                "terr_stade_amngt": "inconnu",
                "terr_stade_comm": _commercial_stage(stats if len(stats) == len(pids) else [*stats, ""]),
                "terr_etat_occup": "friche" if "brownfield" in reasons else "inoccupé",
                "terr_usage": "inconnu",
                "terr_url_cartofriches": None,
                "terr_geomsurf": _geojson_text(sites.geometry.iloc[i]),
                "terr_cle_en_main": None,
                "terr_acquereur": None,
                "terr_cession_date": None,
                "terr_vente_montant": None,
                "terr_m2_prix": None,
            }
        )
    table = pd.DataFrame(rows, columns=list(TERRAIN_ECO_FIELDS))
    return gpd.GeoDataFrame(table, geometry=list(sites.geometry), crs=LAMBERT93)


def site_eco_records(
    zones: gpd.GeoDataFrame,
    *,
    communes: pd.DataFrame | None = None,
    identified: str,
    updated: str,
    distances_km: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Zones d'activité as SITE-ECO v1.0.1 records (every field, in the standard's order).

    Distances (``autoroute_echang_dist``, ``gare_dist``, ``gare_fret_dist``, ``aeroport_dist``) are road km
    and are written only when ``distances_km`` (indexed by ``zone_id``, columns of those names) gives them:
    foncier does not invent a straight-line distance for a field the standard defines by road.
    """
    names = communes.set_index("insee")["nom"] if communes is not None and "nom" in communes else pd.Series()
    epci = communes.set_index("insee")["epci_siren"] if communes is not None and "epci_siren" in communes else None
    rows = []
    for i, z in enumerate(zones.itertuples(index=False)):
        geom = zones.geometry.iloc[i]
        insee = str(getattr(z, "insee", "") or "")
        c = geom.representative_point()
        lonlat = gpd.GeoSeries([c], crs=zones.crs).to_crs("EPSG:4326").iloc[0]
        rec: dict[str, object] = dict.fromkeys(SITE_ECO_FIELDS)
        rec.update(
            {
                "site_id": str(z.zone_id),
                "pole_id": "inconnu",
                "site_nom": str(z.nom),
                "site_type": "zone d'activité économique",
                "site_vocadomi": "inconnu",
                "site_etat": "existant et actif",
                "site_surf_brute": round(float(geom.area) / 10_000.0, 4),
                "site_surf_utile": round(float(geom.area) / 10_000.0, 4),
                "site_identif_date": identified,
                "site_actu_date": updated,
                "site_epci_nom": "inconnu",
                "site_epci_siren": str(epci.get(insee)) if epci is not None and insee in epci else "inconnu",
                "site_comm_nom": str(names.get(insee, "inconnu")),
                "site_comm_insee": insee or "inconnu",
                "site_moa_type": "inconnu",
                "site_geomsurf": _geojson_text(shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom),
                "site_geompoint": f"{lonlat.x:.5f}, {lonlat.y:.5f}",
            }
        )
        if distances_km is not None and str(z.zone_id) in distances_km.index:
            for field in ("autoroute_echang_dist", "gare_dist", "gare_fret_dist", "aeroport_dist"):
                if field in distances_km:
                    v = distances_km.at[str(z.zone_id), field]
                    rec[field] = None if pd.isna(v) else round(float(v), 1)
        rows.append(rec)
    table = pd.DataFrame(rows, columns=list(SITE_ECO_FIELDS))
    return gpd.GeoDataFrame(table, geometry=list(zones.geometry), crs=LAMBERT93)


def write_cnig_csv(records: gpd.GeoDataFrame, path: Path) -> None:
    """Write CNIG records as the standard's exchange CSV (";" separated, UTF-8, GeoJSON geometry column)."""
    records.drop(columns=records.geometry.name).to_csv(path, sep=";", index=False, encoding="utf-8")

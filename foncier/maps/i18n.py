"""Every user-facing string of the maps, in French (the default) and English.

Maps are read by French land officers and by foreign investors: labels are French unless ``lang="en"`` is
asked for. All text shown on a map or a site sheet comes from this module (layer titles, legend, popups,
side panel, banners, criterion labels and units, number formats), so adding a language means adding a
column here and nothing else.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

from foncier.geo.criteria_catalogue import CATALOGUE

logger = logging.getLogger(__name__)

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")
DEFAULT_LANG: Lang = "fr"

#: key -> {lang: text}. ``{name}`` placeholders are filled by :func:`t`.
TEXT: dict[str, dict[Lang, str]] = {
    # ------------------------------------------------------------------ titles, banners
    "site_map_title": {
        "fr": "Sites pour l'implantation industrielle",
        "en": "Sites for industrial development",
    },
    "territory": {
        "fr": "Territoire d'industrie Soissonnais et Valois",
        "en": "Soissonnais et Valois industrial territory",
    },
    "profile": {"fr": "Profil", "en": "Profile"},
    "synthetic_banner": {
        "fr": "ÉCHANTILLON SYNTHÉTIQUE : territoire fictif de démonstration, ce ne sont pas des terrains réels",
        "en": "SYNTHETIC SAMPLE: a made-up demonstration territory, not real land",
    },
    "synthetic_short": {"fr": "Échantillon synthétique", "en": "Synthetic sample"},
    "sheet_title": {"fr": "Fiche site", "en": "Site sheet"},
    "parcel_map_title": {"fr": "Parcelles du territoire", "en": "Parcels of the territory"},
    # ------------------------------------------------------------------ side panel, legend
    "top_sites": {"fr": "Les {n} meilleurs sites", "en": "The {n} best sites"},
    "click_to_zoom": {"fr": "Cliquer pour zoomer sur le site", "en": "Click to zoom to the site"},
    "no_site": {"fr": "Aucun site candidat.", "en": "No candidate site."},
    "legend_score": {"fr": "Score du site", "en": "Site score"},
    "legend_excluded": {"fr": "Site exclu", "en": "Excluded site"},
    "legend_rank": {"fr": "Rang (meilleurs sites)", "en": "Rank (best sites)"},
    "legend_classes_note": {
        "fr": "classes par quintiles des sites retenus",
        "en": "classes: quintiles of the sites kept",
    },
    "sites_layer": {"fr": "Sites candidats", "en": "Candidate sites"},
    "n_sites": {"fr": "{n} sites, dont {k} exclus", "en": "{n} sites, {k} of them excluded"},
    # ------------------------------------------------------------------ layers
    "layer_communes": {"fr": "Communes", "en": "Municipalities"},
    "layer_zones": {"fr": "Zones d'activité", "en": "Business parks"},
    "layer_rail_lines": {"fr": "Voies ferrées", "en": "Rail lines"},
    "layer_rail_stations": {"fr": "Gares fret", "en": "Freight stations"},
    "layer_roads": {"fr": "Grands axes routiers", "en": "Main roads"},
    "layer_interchanges": {"fr": "Échangeurs", "en": "Interchanges"},
    "layer_isochrones": {"fr": "Isochrones vers Roissy-CDG", "en": "Travel time to Roissy-CDG"},
    "layer_flood": {"fr": "Zones inondables (PPRI)", "en": "Flood zones (PPRI)"},
    "layer_protected": {"fr": "Espaces protégés", "en": "Protected areas"},
    "layer_friches": {"fr": "Friches", "en": "Brownfields"},
    "layer_parcels": {"fr": "Parcelles du site", "en": "Parcels of the site"},
    "layer_site": {"fr": "Contour du site", "en": "Site outline"},
    "flood_red": {"fr": "zone rouge (inconstructible)", "en": "red zone (no building)"},
    "flood_blue": {"fr": "zone bleue (sous conditions)", "en": "blue zone (under conditions)"},
    "minutes_to_roissy": {"fr": "{m} min de Roissy-CDG", "en": "{m} min from Roissy-CDG"},
    "protected_natura2000_sic": {"fr": "Natura 2000 (ZSC/SIC)", "en": "Natura 2000 (SAC/SCI)"},
    "protected_natura2000_zps": {"fr": "Natura 2000 (ZPS)", "en": "Natura 2000 (SPA)"},
    "protected_znieff1": {"fr": "ZNIEFF de type 1", "en": "ZNIEFF type 1"},
    "protected_znieff2": {"fr": "ZNIEFF de type 2", "en": "ZNIEFF type 2"},
    # ------------------------------------------------------------------ popups and sheets
    "site": {"fr": "Site", "en": "Site"},
    "rank": {"fr": "Rang", "en": "Rank"},
    "rank_of": {"fr": "{rank} sur {n}", "en": "{rank} of {n}"},
    "score": {"fr": "Score", "en": "Score"},
    "area": {"fr": "Surface", "en": "Area"},
    "parcels": {"fr": "Parcelles", "en": "Parcels"},
    "smallest_lot": {"fr": "Plus petit lot", "en": "Smallest lot"},
    "largest_lot": {"fr": "Plus grand lot", "en": "Largest lot"},
    "roissy_time": {"fr": "Accès à Roissy-CDG", "en": "Travel time to Roissy-CDG"},
    "communes": {"fr": "Communes", "en": "Municipalities"},
    "excluded": {"fr": "Exclu", "en": "Excluded"},
    "reasons": {"fr": "Motifs d'exclusion", "en": "Reasons for exclusion"},
    "breakdown": {"fr": "Décomposition du score", "en": "Score breakdown"},
    "criterion": {"fr": "Critère", "en": "Criterion"},
    "raw_value": {"fr": "Valeur", "en": "Value"},
    "weight": {"fr": "Poids", "en": "Weight"},
    "contribution": {"fr": "Contribution", "en": "Contribution"},
    "breakdown_note": {
        "fr": "barre grise : poids du critère ; barre colorée : points obtenus (somme = score)",
        "en": "grey bar: weight of the criterion; coloured bar: points earned (they add up to the score)",
    },
    "breakdown_excluded_note": {
        "fr": "site exclu : points qu'il aurait obtenus sans exclusion, entre parenthèses (son score est 0)",
        "en": "excluded site: points it would have earned without the exclusion, in brackets (its score is 0)",
    },
    "access": {"fr": "Accès", "en": "Access"},
    "constraints": {"fr": "Contraintes", "en": "Constraints"},
    "key_figures": {"fr": "Chiffres clés", "en": "Key figures"},
    "parcel_list": {"fr": "Parcelles cadastrales du site", "en": "Cadastral parcels of the site"},
    "parcel_id": {"fr": "Identifiant", "en": "Parcel id"},
    "commune": {"fr": "Commune", "en": "Municipality"},
    "section": {"fr": "Section", "en": "Section"},
    "numero": {"fr": "Numéro", "en": "Number"},
    "contenance": {"fr": "Contenance", "en": "Tax area"},
    "status": {"fr": "Disponibilité", "en": "Availability"},
    "zoning": {"fr": "Zonage", "en": "Zoning"},
    "none": {"fr": "aucune", "en": "none"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "unknown": {"fr": "inconnu", "en": "unknown"},
    "not_excluded": {"fr": "Aucun motif d'exclusion", "en": "No reason for exclusion"},
    "privacy_note": {
        "fr": "Aucune donnée personnelle (propriétaires) n'est publiée.",
        "en": "No personal data (owners) is published.",
    },
    # ------------------------------------------------------------------ site comparison
    "compare_title": {"fr": "Comparaison de sites", "en": "Site comparison"},
    "compare_sub": {"fr": "{n} sites comparés", "en": "{n} sites compared"},
    "compare_of_ranked": {"fr": "sur {n} sites classés", "en": "out of {n} ranked sites"},
    "compare_map_layer": {"fr": "Sites comparés", "en": "Compared sites"},
    "compare_best_note": {
        "fr": "Sur fond vert : la meilleure valeur de chaque ligne.",
        "en": "Green background: the best value of each row.",
    },
    "compare_bar_note": {
        "fr": "barre grise : poids du critère ; barre colorée : points obtenus (leur somme est le score) ; "
        "entre parenthèses, pour un site exclu, les points qu'il aurait obtenus",
        "en": "grey bar: weight of the criterion; coloured bar: points earned (they add up to the score); "
        "in brackets, for an excluded site, the points it would have earned",
    },
    "open_sheet": {"fr": "Ouvrir la fiche", "en": "Open the sheet"},
    # ------------------------------------------------------------------ provenance
    "sources": {"fr": "Sources des données", "en": "Data sources"},
    "source": {"fr": "Source", "en": "Source"},
    "licence": {"fr": "Licence", "en": "Licence"},
    "retrieved": {"fr": "Date", "en": "Date"},
    "vintage": {"fr": "Millésime", "en": "Vintage"},
    "layer": {"fr": "Couche", "en": "Layer"},
    "generated": {
        "fr": "Carte produite le {date} par foncier {version}",
        "en": "Map made on {date} by foncier {version}",
    },
    "data_of": {"fr": "données du {date}", "en": "data of {date}"},
    # ------------------------------------------------------------------ parcel map
    "color_by_zoning": {"fr": "Couleur : zonage d'urbanisme", "en": "Colour: planning zone"},
    "color_by_availability": {"fr": "Couleur : disponibilité", "en": "Colour: availability"},
    "color_by_state": {"fr": "Couleur : état de disponibilité", "en": "Colour: availability state"},
    "state": {"fr": "État", "en": "State"},
    "zoom_in_for_parcels": {
        "fr": "Zoomer (niveau {z} et plus) pour voir les parcelles",
        "en": "Zoom in (level {z} and above) to see the parcels",
    },
    "tiles_note": {
        "fr": "Parcelles servies en tuiles vectorielles par l'API foncier ({url})",
        "en": "Parcels served as vector tiles by the foncier API ({url})",
    },
    "site_of_parcel": {"fr": "Site candidat", "en": "Candidate site"},
    "availability_available": {"fr": "disponible", "en": "available"},
    "availability_under_option": {"fr": "sous option", "en": "under option"},
    "availability_sold": {"fr": "vendue", "en": "sold"},
    "availability_not_for_sale": {"fr": "non à vendre", "en": "not for sale"},
    "availability_unknown": {"fr": "non renseignée", "en": "not recorded"},
    "zoning_U": {"fr": "U (urbaine)", "en": "U (urban)"},
    "zoning_AUc": {"fr": "AUc (à urbaniser)", "en": "AUc (to be urbanised)"},
    "zoning_AUs": {"fr": "AUs (à urbaniser, fermée)", "en": "AUs (to be urbanised, closed)"},
    "zoning_A": {"fr": "A (agricole)", "en": "A (agricultural)"},
    "zoning_N": {"fr": "N (naturelle)", "en": "N (natural)"},
    "zoning_other": {"fr": "autre / inconnu", "en": "other / unknown"},
    # ------------------------------------------------------------------ find, filter, orientation (issue 14)
    "search": {"fr": "Rechercher", "en": "Search"},
    "search_placeholder": {"fr": "Commune, n° de site ou de parcelle", "en": "Commune, site or parcel id"},
    "search_none": {"fr": "Aucun site trouvé", "en": "No site found"},
    "filters": {"fr": "Filtres", "en": "Filters"},
    "filter_min_area": {"fr": "Surface minimale (ha)", "en": "Minimum area (ha)"},
    "filter_min_lot": {"fr": "Plus grand lot, au moins (ha)", "en": "Largest lot at least (ha)"},
    "filter_max_time": {"fr": "Roissy-CDG à moins de (min)", "en": "Roissy-CDG within (min)"},
    "filter_zoning": {"fr": "Zonage", "en": "Zoning"},
    "filter_any": {"fr": "tous", "en": "any"},
    "filter_brownfield": {"fr": "Friches seulement", "en": "Brownfields only"},
    "filter_available": {"fr": "Disponibles maintenant seulement", "en": "Available now only"},
    "filter_reset": {"fr": "Effacer", "en": "Clear"},
    "filter_count": {"fr": "{n} site(s) sur {total}", "en": "{n} of {total} site(s)"},
    "panel_toggle": {"fr": "Sites", "en": "Sites"},
    "legend_toggle": {"fr": "Légende", "en": "Legend"},
    "roissy_label": {"fr": "Roissy-CDG", "en": "Roissy-CDG"},
    "roissy_direction": {"fr": "Roissy-CDG à {km} km", "en": "Roissy-CDG {km} km away"},
    "target_direction": {"fr": "{label} à {km} km", "en": "{label} {km} km away"},
    "vehicle_car": {"fr": "voiture, hors pointe", "en": "car, off-peak"},
    "vehicle_hgv": {"fr": "poids lourd", "en": "heavy goods vehicle"},
    "iso_label": {"fr": "{m} min ({vehicle})", "en": "{m} min ({vehicle})"},
    "roissy_time_hgv": {"fr": "Roissy-CDG en poids lourd", "en": "Roissy-CDG by lorry"},
    "availability": {"fr": "Disponibilité", "en": "Availability"},
    "site_av_free": {"fr": "libre", "en": "free"},
    "site_av_under_option": {"fr": "sous option", "en": "under option"},
    "site_av_sold": {"fr": "vendu / non à vendre", "en": "sold / not for sale"},
    "site_av_built": {"fr": "bâti ou occupé en partie", "en": "partly built or occupied"},
    "site_av_unverified": {"fr": "non vérifiée", "en": "unverified"},
    "status_changed": {"fr": "statut modifié le {date}", "en": "status changed on {date}"},
    "tie_group": {
        "fr": "ex æquo des rangs {first} à {last} : le classement ne les distingue pas",
        "en": "tied from rank {first} to {last}: the ranking cannot tell them apart",
    },
    "tie_short": {"fr": "ex æquo {first}–{last}", "en": "tied {first}–{last}"},
    "tie_label": {"fr": "Ex æquo (classement)", "en": "Tied (ranking)"},
    "unverified_constraints": {"fr": "Contraintes non vérifiées", "en": "Unverified constraints"},
    "unverified_badge": {"fr": "non vérifié", "en": "unverified"},
    "legend_unverified": {
        "fr": "Contrainte non vérifiée (donnée absente)",
        "en": "Constraint not checked (data missing)",
    },
    "parcel_states": {"fr": "Parcelles par état", "en": "Parcels by state"},
    "parcel_state_available": {"fr": "disponibles", "en": "available"},
    "parcel_state_built": {"fr": "bâties", "en": "built"},
    "parcel_state_occupied": {"fr": "occupées", "en": "occupied"},
    "parcel_state_committed": {"fr": "engagées", "en": "committed"},
    "parcel_state_to_verify": {"fr": "à vérifier", "en": "to verify"},
    "effective_share": {"fr": "part effective", "en": "effective share"},
    "effective_weights": {"fr": "Poids effectifs", "en": "Effective weights"},
    "effective_weights_note": {
        "fr": "part réelle de chaque critère dans les écarts entre sites (poids × étendue des valeurs)",
        "en": "each criterion's real share in the differences between sites (weight × spread of values)",
    },
    "nominal_weight": {"fr": "poids nominal", "en": "nominal weight"},
    "nearest_interchange": {"fr": "Échangeur le plus proche", "en": "Nearest interchange"},
    "zoning_class_economic_U": {"fr": "zone urbaine économique", "en": "urban business zone"},
    "zoning_class_economic_AU": {"fr": "zone à urbaniser économique", "en": "business zone to be urbanised"},
    "zoning_class_U": {"fr": "zone urbaine", "en": "urban zone"},
    "zoning_class_AU": {"fr": "zone à urbaniser", "en": "zone to be urbanised"},
    "zoning_class_A": {"fr": "zone agricole", "en": "agricultural zone"},
    "zoning_class_N": {"fr": "zone naturelle", "en": "natural zone"},
    "zoning_class_none": {"fr": "sans zonage", "en": "no zoning"},
}

#: Units as shown after a number.
UNITS: dict[str, dict[Lang, str]] = {
    "min": {"fr": "min", "en": "min"},
    "m": {"fr": "m", "en": "m"},
    "km": {"fr": "km", "en": "km"},
    "m2": {"fr": "m²", "en": "m²"},
    "ha": {"fr": "ha", "en": "ha"},
    "%": {"fr": "%", "en": "%"},
    "persons": {"fr": "hab.", "en": "people"},
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` as a :data:`Lang`.

    Raises
    ------
    ValueError
        When ``lang`` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}'; choose one of {', '.join(LANGS)}")
    return "fr" if lang == "fr" else "en"


def t(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """The text ``key`` in ``lang``, with ``{name}`` placeholders filled from ``values``.

    Raises
    ------
    KeyError
        When ``key`` is not a known text.
    """
    entry = TEXT[key]
    text = entry[check_lang(lang)]
    return text.format(**values) if values else text


def table(lang: str, keys: list[str] | None = None) -> dict[str, str]:
    """The texts of ``keys`` (all when None) in ``lang``: what a page's JavaScript needs."""
    lang = check_lang(lang)
    return {k: v[lang] for k, v in TEXT.items() if keys is None or k in keys}


def layer_title(name: str, lang: str = DEFAULT_LANG) -> str:
    """Title of the canonical layer ``name`` (falls back on the name itself)."""
    key = f"layer_{name}"
    return t(key, lang) if key in TEXT else name


def criterion_label(name: str, lang: str = DEFAULT_LANG) -> str:
    """Short label of criterion ``name`` from the criteria catalogue (its name when unknown)."""
    crit = CATALOGUE.get(name)
    if crit is None:
        return name
    return crit.label_fr if check_lang(lang) == "fr" else crit.label_en


def criterion_unit(name: str) -> str:
    """Unit of criterion ``name`` (``""`` when unknown)."""
    crit = CATALOGUE.get(name)
    return crit.unit if crit is not None else ""


def zoning_class_label(value: object, lang: str = DEFAULT_LANG) -> str:
    """Readable label of a ``zoning_class`` value (the value itself when unknown)."""
    key = f"zoning_class_{value}"
    return t(key, lang) if key in TEXT else str(value)


def unit_label(unit: str, lang: str = DEFAULT_LANG) -> str:
    """Readable unit (``m2`` becomes ``m²``...)."""
    entry = UNITS.get(unit)
    return entry[check_lang(lang)] if entry else unit


def fmt_number(value: object, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """Format a number the way readers of ``lang`` expect (``12 345,6`` in French, ``12,345.6`` in English).

    Missing values (None, NaN) give ``"–"``.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–" if value is None else str(value)
    if math.isnan(number):
        return "–"
    text = f"{number:,.{decimals}f}"
    if check_lang(lang) == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def fmt_area(m2: object, lang: str = DEFAULT_LANG) -> str:
    """An area in hectares (two decimals below 10 ha, one above) or in m² below 0.1 ha."""
    try:
        value = float(m2)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if math.isnan(value):
        return "–"
    if value < 1000:
        return f"{fmt_number(value, lang)} {unit_label('m2', lang)}"
    ha = value / 10_000
    return f"{fmt_number(ha, lang, 2 if ha < 10 else 1)} {unit_label('ha', lang)}"


def fmt_value(value: object, unit: str, lang: str = DEFAULT_LANG) -> str:
    """A criterion's raw value with its unit (shares as percentages, distances in km above 1 km)."""
    if isinstance(value, str):
        return zoning_class_label(value, lang)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if math.isnan(number):
        return "–"
    if unit == "0..1":
        return f"{fmt_number(number * 100, lang)} %"
    if unit == "m2":
        return fmt_area(number, lang)
    if unit == "m":
        if number >= 1000:
            return f"{fmt_number(number / 1000, lang, 1)} {unit_label('km', lang)}"
        return f"{fmt_number(number, lang)} {unit_label('m', lang)}"
    if unit == "min":
        return f"{fmt_number(number, lang)} {unit_label('min', lang)}"
    if unit == "%":
        return f"{fmt_number(number, lang, 1)} %"
    if unit == "persons":
        return f"{fmt_number(number, lang)} {unit_label('persons', lang)}"
    return fmt_number(number, lang, 2)


def colon(lang: str = DEFAULT_LANG) -> str:
    """The colon as typeset in ``lang`` (French puts a space before it)."""
    return "\u00a0: " if check_lang(lang) == "fr" else ": "


def reasons_column(lang: str) -> str:
    """Column of the scored sites holding the exclusion reasons in ``lang`` (``reasons_fr`` or ``reasons``)."""
    return "reasons_fr" if check_lang(lang) == "fr" else "reasons"

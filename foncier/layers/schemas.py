"""Canonical schemas of foncier's layers (DESIGN.md, "Canonical layers").

Every vector layer is stored in Lambert-93 (EPSG:2154) with its geometry in the column ``geometry``.
A schema lists the columns a layer must carry, their kind, whether they may be null, and simple value
constraints; :mod:`foncier.layers.validate` checks a GeoDataFrame against it and collects every problem.

Extra columns are kept (a land officer's own attributes survive ingestion), canonical ones are coerced to
their kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from foncier.geo.hazards import HAZARDS, PPR_LEVELS, PRESCRIPTION_KINDS
from foncier.layers import cnig

ColumnKind = Literal["str", "int", "float", "bool", "date"]

PARCEL_ID_RE = re.compile(r"^\d{2}[0-9AB]\d{2}[0-9A-Z]{3}[0-9A-Z]{2}\d{4}$")
"""Etalab/DGFiP parcel id: INSEE (5, Corsica 2A/2B) + prefix (3) + section (2) + number (4)."""

INSEE_RE = re.compile(r"^\d[0-9AB]\d{3}$")
SIREN_RE = re.compile(r"^\d{9}$")

AVAILABILITY_STATUSES = ("available", "under_option", "sold", "not_for_sale")
"""Availability statuses a land officer may give a parcel."""


@dataclass(frozen=True)
class Column:
    """One canonical column.

    Attributes
    ----------
    name : str
        Column name.
    kind : {"str", "int", "float", "bool", "date"}
        Value kind; values are coerced to it on validation.
    nullable : bool
        Whether missing values are allowed.
    pattern : re.Pattern or None
        For strings, a regular expression every non-null value must match fully.
    choices : tuple of str, or None
        For strings, the allowed values.
    minimum, maximum : float or None
        For numbers, the allowed range (inclusive).
    description : str
        What the column means, with its unit.
    """

    name: str
    kind: ColumnKind
    nullable: bool = False
    pattern: re.Pattern[str] | None = None
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class LayerSchema:
    """Schema of one canonical layer.

    Attributes
    ----------
    name : str
        Layer name in the workspace.
    title : str
        Human-readable French title (used in maps and QGIS).
    geometry_types : tuple of str
        Allowed shapely geometry types.
    columns : tuple of Column
        Required columns (besides ``geometry``).
    id_column : str or None
        Column whose values must be unique and non-null.
    """

    name: str
    title: str
    geometry_types: tuple[str, ...]
    columns: tuple[Column, ...]
    id_column: str | None = None
    description: str = ""
    optional_columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        """Names of the required columns, in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """Return the column called ``name`` (required or optional)."""
        for col in (*self.columns, *self.optional_columns):
            if col.name == name:
                return col
        raise KeyError(name)


POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString")
PUNCTUAL = ("Point",)

ROAD_CLASSES = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "service",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "track",
    "living_street",
)
"""OpenStreetMap ``highway`` values kept as road classes."""

ZONING_TYPES = ("U", "AUc", "AUs", "A", "N", "ZC", "ZCa", "ZnC", "RNU")
"""PLU zone types (CNIG), carte communale sectors (ZC open, ZCa activities, ZnC not open) and RNU communes."""
FLOOD_LEVELS = PPR_LEVELS
PROTECTED_KINDS = ("natura2000_sic", "natura2000_zps", "znieff1", "znieff2", "rnn", "rnr", "pn_coeur", "apb")
"""Natura 2000 (habitats SIC/ZSC, birds ZPS), ZNIEFF 1/2; and protections forbidding building: national and
regional nature reserves, national park cores, biotope protection orders."""
HUB_KINDS = ("airport", "interchange", "freight_station", "port", "city")
BUILDING_TYPES = ("01", "02")
"""Etalab/DGFiP building types: ``01`` hard materials (en dur), ``02`` light (léger: sheds, greenhouses)."""

SCHEMAS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema(
            name="parcels",
            title="Parcelles cadastrales",
            geometry_types=POLYGONAL,
            id_column="parcel_id",
            columns=(
                Column("parcel_id", "str", pattern=PARCEL_ID_RE, description="14-character cadastral id"),
                Column("commune", "str", pattern=INSEE_RE, description="INSEE code of the commune"),
                Column("section", "str", description="cadastral section (1-2 characters)"),
                Column("numero", "str", description="parcel number within the section"),
                Column(
                    "contenance_m2",
                    "float",
                    nullable=True,
                    minimum=0,
                    maximum=1e8,
                    description="tax area in m2 (may be missing)",
                ),
            ),
            optional_columns=(
                Column("prefixe", "str", nullable=True),
                Column("status", "str", nullable=True, choices=AVAILABILITY_STATUSES),
            ),
        ),
        LayerSchema(
            name="communes",
            title="Communes",
            geometry_types=POLYGONAL,
            id_column="insee",
            columns=(
                Column("insee", "str", pattern=INSEE_RE),
                Column("nom", "str"),
                Column("epci_siren", "str", nullable=True, pattern=SIREN_RE),
                Column("population", "int", nullable=True, minimum=0, maximum=3e6),
            ),
            optional_columns=(
                Column(
                    "pop_15_64",
                    "int",
                    nullable=True,
                    minimum=0,
                    maximum=3e6,
                    description="working-age population (INSEE 15-64), set by `foncier ingest insee-population`",
                ),
            ),
        ),
        LayerSchema(
            name="labour_communes",
            title="Communes du bassin d'emploi (départements voisins)",
            geometry_types=POLYGONAL,
            id_column="insee",
            description="Communes of the territory's departments and their neighbours (territory file "
            "'labour_departments'), used only for the labour pool criterion.",
            columns=(
                Column("insee", "str", pattern=INSEE_RE),
                Column("nom", "str"),
                Column("population", "int", nullable=True, minimum=0, maximum=3e6),
            ),
            optional_columns=(
                Column(
                    "pop_15_64",
                    "int",
                    nullable=True,
                    minimum=0,
                    maximum=3e6,
                    description="working-age population (INSEE 15-64), when an INSEE table gives it",
                ),
            ),
        ),
        LayerSchema(
            name="zones",
            title="Zones d'activité",
            geometry_types=POLYGONAL,
            id_column="zone_id",
            columns=(
                Column("zone_id", "str"),
                Column("nom", "str"),
                Column("type", "str", nullable=True, description="activity kind (industrial, logistics, mixed...)"),
                Column("surface_m2", "float", nullable=True, minimum=0),
                Column("vacancy", "float", nullable=True, minimum=0, maximum=1, description="share of land vacant"),
            ),
        ),
        LayerSchema(
            name="roads",
            title="Routes",
            geometry_types=LINEAR,
            id_column="road_id",
            columns=(
                Column("road_id", "str"),
                Column("class", "str", choices=ROAD_CLASSES),
                Column("speed_kmh", "float", minimum=1, maximum=150),
                Column("oneway", "bool"),
            ),
            optional_columns=(Column("nom", "str", nullable=True), Column("ref", "str", nullable=True)),
        ),
        LayerSchema(
            name="interchanges",
            title="Échangeurs",
            geometry_types=PUNCTUAL,
            id_column="interchange_id",
            columns=(
                Column("interchange_id", "str"),
                Column("nom", "str", nullable=True),
                Column("road_class", "str", choices=("motorway", "trunk")),
            ),
        ),
        LayerSchema(
            name="rail_lines",
            title="Lignes ferroviaires",
            geometry_types=LINEAR,
            id_column=None,
            columns=(
                Column("code_ligne", "str"),
                Column("libelle", "str", nullable=True),
            ),
            optional_columns=(Column("exploitation", "str", nullable=True),),
        ),
        LayerSchema(
            name="rail_stations",
            title="Gares",
            geometry_types=PUNCTUAL,
            id_column=None,
            description="SNCF lists a station once per line it serves (same code_uic, another code_ligne).",
            columns=(
                Column("code_uic", "str", pattern=re.compile(r"^\d{8}$")),
                Column("nom", "str"),
                Column("fret", "bool"),
                Column("voyageurs", "bool"),
            ),
            optional_columns=(Column("code_ligne", "str", nullable=True),),
        ),
        LayerSchema(
            name="hubs",
            title="Pôles (aéroport, échangeurs, gares fret)",
            geometry_types=PUNCTUAL,
            id_column="hub_id",
            columns=(
                Column("hub_id", "str"),
                Column("nom", "str"),
                Column("kind", "str", choices=HUB_KINDS),
            ),
        ),
        LayerSchema(
            name="plu",
            title="Zonage d'urbanisme (PLU)",
            geometry_types=POLYGONAL,
            id_column=None,
            columns=(
                Column("typezone", "str", choices=ZONING_TYPES),
                Column("destdomi", "str", nullable=True, description="dominant use, e.g. 'activite'"),
                Column("libelle", "str", nullable=True, description="zone label, e.g. 'UX', '1AUe'"),
            ),
            optional_columns=(
                Column("typesect", "str", nullable=True, description="CNIG carte communale sector type 01/02/03/99"),
                Column("datappro", "str", nullable=True, description="approval date of the plan (CNIG)"),
                Column("urlfic", "str", nullable=True, description="link to the plan's rules (CNIG)"),
            ),
        ),
        LayerSchema(
            name="flood",
            title="Zones inondables (PPRI)",
            geometry_types=POLYGONAL,
            id_column=None,
            columns=(Column("level", "str", choices=FLOOD_LEVELS),),
            optional_columns=(
                Column("hazard", "str", nullable=True, choices=HAZARDS, description="flood, ground_movement..."),
                Column("typereglement", "str", nullable=True, description="CNIG PPR regulation code 01-04"),
            ),
        ),
        LayerSchema(
            name="protected",
            title="Espaces protégés",
            geometry_types=POLYGONAL,
            id_column=None,
            columns=(
                Column("kind", "str", choices=PROTECTED_KINDS),
                Column("code", "str"),
            ),
            optional_columns=(Column("nom", "str", nullable=True),),
        ),
        LayerSchema(
            name="prescriptions",
            title="Prescriptions du PLU (EBC, emplacements réservés, secteurs inconstructibles)",
            geometry_types=POLYGONAL,
            id_column=None,
            columns=(Column("kind", "str", choices=PRESCRIPTION_KINDS),),
            optional_columns=(
                Column("typepsc", "str", nullable=True, description="CNIG PLU prescription type code"),
                Column("libelle", "str", nullable=True),
                Column("urlfic", "str", nullable=True),
            ),
        ),
        LayerSchema(
            name="buildings",
            title="Bâtiments (cadastre)",
            geometry_types=POLYGONAL,
            id_column=None,
            description="Etalab cadastre 'batiments' (one file per commune); type 01 = hard materials, 02 = light.",
            columns=(
                Column("type", "str", choices=BUILDING_TYPES, description="01 building in hard materials, 02 light"),
                Column("commune", "str", pattern=INSEE_RE, description="INSEE code of the commune"),
            ),
            optional_columns=(
                Column("nom", "str", nullable=True),
                Column("created", "str", nullable=True, description="date the record was created (ISO)"),
                Column("updated", "str", nullable=True, description="date the record was last updated (ISO)"),
            ),
        ),
        LayerSchema(
            name="terrains",
            title="Terrains économiques (CNIG TERRAIN-ECO)",
            geometry_types=POLYGONAL,
            id_column="terr_id",
            description="CNIG Sites économiques TERRAIN-ECO v1.0.1 records; site_id (the parent site) may repeat.",
            columns=(
                Column("terr_id", "str"),
                Column("site_id", "str", description="parent SITE-ECO site (repeats)"),
                Column("terr_surf_brute", "float", minimum=0, description="gross area, ha"),
                Column("terr_maitrise_fonc", "str", choices=cnig.MAITRISE_FONC),
                Column("terr_stade_comm", "str", choices=cnig.STADE_COMM),
                Column("terr_etat_occup", "str", choices=cnig.ETAT_OCCUP),
            ),
            optional_columns=(
                Column("terr_refcad", "str", nullable=True, description="parcel ids joined by '|'"),
                Column("terr_stade_amngt", "str", nullable=True, choices=cnig.STADE_AMNGT),
                Column("terr_usage", "str", nullable=True, choices=cnig.USAGE),
                Column("terr_cle_en_main", "str", nullable=True, choices=cnig.YES_NO),
                Column("terr_m2_prix", "float", nullable=True, minimum=0, description="price, EUR per m2"),
            ),
        ),
        LayerSchema(
            name="friches",
            title="Friches",
            geometry_types=(*POLYGONAL, *PUNCTUAL),
            id_column="site_id",
            columns=(
                Column("site_id", "str"),
                Column("site_statut", "str", nullable=True),
                Column("site_surface_m2", "float", nullable=True, minimum=0),
            ),
            optional_columns=(Column("nom", "str", nullable=True),),
        ),
    )
}
"""The canonical vector layers, by name."""

RASTER_LAYERS = ("dem",)
"""Raster layers (stored as GeoTIFF beside the GeoPackage)."""

LAYER_NAMES = (*SCHEMAS, *RASTER_LAYERS)


def get_schema(name: str) -> LayerSchema:
    """Return the schema of layer ``name``.

    Raises
    ------
    KeyError
        With the list of known layers when ``name`` is not one of them.
    """
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown layer '{name}'; known layers: {', '.join(LAYER_NAMES)}") from None

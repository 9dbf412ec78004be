"""Personal data never leaves: owner and owner-derived columns are dropped at ingest, and every output
(API JSON, OGC, vector tiles, maps, exports, PostGIS publish) keeps only the columns allowed for its layer.

- :data:`PERSONAL_COLUMNS` names the owner / contact / owner-derived fields of the sources foncier reads
  (cadastre-like owner files, Cerema Cartofriches: ``proprio_nom``, ``l_catpro3txt`` "PERSONNE PHYSIQUE",
  ``source_producteur``, ``source_contact``, ``date_mutation``...); :func:`is_personal` also matches the usual
  spellings (``*proprietaire*``, ``*owner*``, ``*email*``, ``*telephone*``...). :func:`drop_personal` removes them
  (readers call it: the ingest report names what was dropped; the workspace's writer calls it again).
- :func:`allowed_columns` is the allowlist of a canonical layer: its schema's columns and optional columns,
  the status columns officers edit, and a few known harmless extras. Layers foncier computes itself (sites,
  criteria, scores...) hold no personal data: every column but the personal ones is allowed.
  :func:`public_columns` / :func:`public_frame` apply it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TypeVar, cast

import pandas as pd

logger = logging.getLogger(__name__)

#: Owner and owner-derived fields of the sources foncier knows (lower case).
PERSONAL_COLUMNS = frozenset(
    {
        # cadastre-like owner files, DVF-like exports, generic contacts
        "nom_proprietaire", "prenom_proprietaire", "proprietaire", "proprietaires", "nom_proprio", "owner",
        "owner_name", "owner_email", "owner_phone", "owner_address", "nom_acquereur", "nom_vendeur", "email",
        "mail", "courriel", "telephone", "tel", "phone", "portable", "adresse_proprietaire", "date_naissance",
        "siren_proprietaire", "denomination_proprietaire",
        # Cerema Cartofriches: owner identity and category, unit of ownership, producer contacts, sale date
        "proprio_nom", "proprio_personne", "proprio_type", "l_catpro3txt", "l_idtup", "source_producteur",
        "source_contact", "date_mutation", "producteur_fk", "nom_prodcartofriches",
    }
)  # fmt: skip
_PERSONAL_RE = re.compile(r"(propri|owner|e?mail|courriel|t[eé]l[eé]phone|phone|contact|acquereur|vendeur)", re.I)

#: Columns a canonical layer may carry beyond its schema (none of them personal).
SAFE_EXTRAS: dict[str, frozenset[str]] = {
    "parcels": frozenset({"status", "status_date", "status_source", "status_note", "arpente", "created", "updated"}),
    "friches": frozenset({"site_type", "site_statut", "site_surface_m2", "nom", "site_nom", "comm_insee",
                          "activite_libelle", "bati_type", "urba_zone_type", "site_url", "source_nom"}),
}  # fmt: skip

Frame = TypeVar("Frame", bound=pd.DataFrame)


def is_personal(column: str) -> bool:
    """Whether ``column`` holds (or may hold) an owner's identity or contact, or owner-derived data."""
    name = str(column).lower()
    return name in PERSONAL_COLUMNS or bool(_PERSONAL_RE.search(name))


def allowed_columns(layer: str) -> frozenset[str] | None:
    """The attribute columns layer ``layer`` may show in any output, or None when every non-personal column
    is allowed (layers foncier computes: sites, criteria, scores...)."""
    from foncier.layers.schemas import SCHEMAS

    schema = SCHEMAS.get(layer)
    if schema is None:
        return None
    names = {c.name for c in (*schema.columns, *schema.optional_columns)}
    return frozenset(n for n in names | SAFE_EXTRAS.get(layer, frozenset()) if not is_personal(n))


def public_columns(layer: str, columns: Iterable[str]) -> list[str]:
    """``columns`` (in their order) that layer ``layer`` may show."""
    allowed = allowed_columns(layer)
    return [c for c in columns if not is_personal(c) and (allowed is None or c in allowed)]


def public_frame(layer: str, frame: Frame) -> Frame:
    """``frame`` with only the columns ``layer`` may show (its geometry column kept)."""
    geometry = getattr(frame, "_geometry_column_name", None)
    keep = set(public_columns(layer, [c for c in frame.columns if c != geometry]))
    dropped = [c for c in frame.columns if c != geometry and c not in keep]
    if not dropped:
        return frame
    logger.debug("%s: columns not shown: %s", layer, ", ".join(map(str, dropped)))
    return cast(Frame, frame.drop(columns=dropped))


def drop_personal(frame: Frame) -> tuple[Frame, list[str]]:
    """``frame`` without its personal columns, and their names (for the ingest report)."""
    dropped = [str(c) for c in frame.columns if is_personal(str(c))]
    if not dropped:
        return frame, []
    return cast(Frame, frame.drop(columns=dropped)), dropped

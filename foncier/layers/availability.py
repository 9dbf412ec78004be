"""Reading the stored availability of parcels (the ``parcel_availability`` table the pipeline writes).

The states, reasons and flags are computed by :func:`foncier.geo.availability.parcel_availability`; this
module turns a stored row into the record shown by ``foncier parcel``, the API's parcel answer and the
maps, and counts the states for ``foncier info``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

from foncier.geo.availability import FLAGS_FR, REASONS_FR, STATES
from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)

TABLE = "parcel_availability"

STATES_FR = {
    "available": "disponible",
    "built": "bâtie",
    "occupied": "occupée",
    "committed": "engagée (option, vendue, pas à vendre)",
    "to_verify": "à vérifier",
}


def availability_record(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A stored ``parcel_availability`` row as a JSON-ready record: ``state``, ``state_fr``, ``reason``,
    ``reason_fr``, ``built_share`` (None when unknown), ``flags`` (list of codes), ``flags_fr``, ``candidate``."""
    if row is None:
        return None
    share = row.get("built_share")
    try:
        share_f = None if share is None or math.isnan(float(share)) else round(float(share), 4)
    except (TypeError, ValueError):
        share_f = None
    flags = [f for f in str(row.get("flags") or "").split(";") if f]
    state = str(row.get("state"))
    reason = str(row.get("reason"))
    return {
        "state": state,
        "state_fr": STATES_FR.get(state, state),
        "reason": reason,
        "reason_fr": REASONS_FR.get(reason, str(row.get("reason_fr") or reason)),
        "built_share": share_f,
        "flags": flags,
        "flags_fr": [FLAGS_FR.get(f, f) for f in flags],
        "candidate": bool(int(row.get("candidate") or 0)),
    }


def parcel_availability_record(ws: Workspace, parcel_id: str) -> dict[str, Any] | None:
    """The stored availability of one parcel (None before the pipeline ran). ``parcel_id`` must have been
    checked by the caller (it goes into a SQL ``where``)."""
    if TABLE not in ws.list_layers():
        return None
    rows = ws.read_table(TABLE, where=f"parcel_id = '{parcel_id}'")
    return availability_record(rows.iloc[0].to_dict()) if len(rows) else None


def availability_counts(ws: Workspace) -> dict[str, int] | None:
    """Number of parcels in each state, as the last pipeline run stored them (None before any run)."""
    raw = ws.metadata.get("availability_counts")
    if raw:
        try:
            counts = json.loads(raw)
            return {s: int(counts.get(s, 0)) for s in STATES}
        except (ValueError, AttributeError):
            logger.warning("unreadable availability_counts in the metadata: %r", raw)
    if TABLE not in ws.list_layers():
        return None
    states = ws.read_table(TABLE)["state"].value_counts()
    return {s: int(states.get(s, 0)) for s in STATES}


FRICHE_FIELDS = ("site_id", "nom", "site_statut", "sol_pollution_existe", "site_numero_basias", "site_numero_basol")
"""Cartofriches fields carried to a site's sheet (status and soil pollution: BASIAS/BASOL references)."""


def site_friches(ws: Workspace, geometry: Any) -> list[dict[str, Any]]:
    """The Cartofriches brownfields touching a site's outline, with their status and pollution fields (those
    present in the stored layer), and ``polluted`` (soil pollution proven or a BASIAS/BASOL reference)."""
    if geometry is None or "friches" not in ws.list_layers():
        return []
    friches = ws.read_layer("friches", bbox=tuple(float(v) for v in geometry.bounds))  # type: ignore[arg-type]
    friches = friches[friches.intersects(geometry)]
    out = []
    for rec in friches.drop(columns=friches.geometry.name).to_dict("records"):
        item: dict[str, Any] = {
            k: (None if _missing(rec.get(k)) else str(rec.get(k))) for k in FRICHE_FIELDS if k in rec
        }
        refs = [item.get("site_numero_basias"), item.get("site_numero_basol")]
        item["polluted"] = item.get("sol_pollution_existe") == "pollution avérée" or any(refs)
        out.append(item)
    return out


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value) or str(value) == "" or str(value) == "<NA>"
    except (TypeError, ValueError):
        return False

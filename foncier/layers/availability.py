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

"""What became of a site id: the ``site_lineage`` table the pipeline records (docs/CONTRACTS.md).

A site keeps its id while most of its land stays the same (:func:`foncier.geo.sites.stable_site_ids`); when
it does not, its old id is recorded with what it became (``split``, ``merged``, ``replaced``, ``gone``), so
a link to an old site sheet can redirect or say what happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from foncier.layers.workspace import Workspace

TABLE = "site_lineage"

RELATIONS_FR = {
    "kept": "même site (parcelles modifiées)",
    "split": "scindé",
    "merged": "fusionné",
    "replaced": "remplacé",
    "gone": "disparu (plus aucune parcelle disponible)",
}


def fate_from_rows(site_id: str, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The fate of ``site_id`` from its lineage rows (latest record wins): ``relation``, ``successors``
    (site ids, largest share of its land first) and ``redirect`` (the one successor when there is exactly
    one), or None when the id never changed."""
    rows = [r for r in rows if str(r.get("old_site_id")) == site_id]
    if not rows:
        return None
    last = max(str(r.get("recorded") or "") for r in rows)
    latest = [r for r in rows if str(r.get("recorded") or "") == last]
    latest.sort(key=lambda r: -float(r.get("shared_share") or 0.0))
    successors = [str(r["new_site_id"]) for r in latest if r.get("new_site_id")]
    relation = str(latest[0]["relation"])
    return {
        "site_id": site_id,
        "relation": relation,
        "relation_fr": RELATIONS_FR.get(relation, relation),
        "successors": successors,
        "redirect": successors[0] if len(successors) == 1 else None,
        "recorded": last,
    }


def site_fate(ws: Workspace, site_id: str) -> dict[str, Any] | None:
    """What became of ``site_id`` (see :func:`fate_from_rows`); ``site_id`` must have been checked by the
    caller (it goes into a SQL ``where``)."""
    if TABLE not in ws.list_layers():
        return None
    table = ws.read_table(TABLE, where=f"old_site_id = '{site_id}'")
    return fate_from_rows(site_id, table.to_dict("records"))


def fate_message(fate: Mapping[str, Any] | None) -> str:
    """A sentence saying what became of a site, "" when nothing is recorded."""
    if not fate:
        return ""
    if fate["relation"] == "gone":
        return f"; site {fate['site_id']} is gone (none of its land is available any more)"
    return f"; site {fate['site_id']} was {fate['relation']}: now {', '.join(fate['successors'])}"

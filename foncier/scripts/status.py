"""``foncier status``: land officers keep the availability status of parcels up to date."""

from __future__ import annotations

from pathlib import Path

import click

from foncier.errors import ValidationError
from foncier.layers.schemas import AVAILABILITY_STATUSES, PARCEL_ID_RE
from foncier.layers.statuses import apply_statuses, invalid_statuses, status_history
from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import workspace_option


@click.command()
@workspace_option
@click.argument("parcel_ids", nargs=-1, required=True)
@click.option(
    "--set",
    "new_status",
    type=click.Choice([*AVAILABILITY_STATUSES, "none"]),
    default=None,
    help="New status ('none' clears it).",
)
@click.option(
    "--history", "show_history", is_flag=True, help="Show the status history of the parcels (also of parcels "
    "no longer in the cadastre) instead of setting a status.",
)  # fmt: skip
@handle_errors
def status(workspace: Path, parcel_ids: tuple[str, ...], new_status: str | None, show_history: bool) -> None:
    """Set the availability status of PARCEL_IDS (available, under_option, sold, not_for_sale, none).

    Sold and not-for-sale parcels leave the candidate sites at the next `foncier score`. The change is atomic:
    if any id is malformed or unknown, nothing is changed. Statuses can also be edited in QGIS (column
    `status` of the `parcels` layer: values outside the vocabulary are refused there too). Every change is
    kept in the history (`--history`), which survives a new cadastre (re-ingest, refresh).
    """
    ids = [p.strip().upper() for p in parcel_ids]
    bad = [p for p in ids if not PARCEL_ID_RE.fullmatch(p)]
    if bad:
        raise ValidationError(
            [f"malformed parcel id '{p}' (expected 14 characters, e.g. 022580000A0099)" for p in bad],
            title="invalid parcel ids",
        )
    ws = Workspace.open(workspace)
    if show_history:
        history = status_history(ws, ids)
        if history.empty:
            click.echo("no status recorded for these parcels")
        else:
            click.echo(history.fillna("").to_string(index=False))
        return
    if new_status is None:
        raise click.UsageError("give --set STATUS (or --history)")
    n = apply_statuses(ws, dict.fromkeys(ids, None if new_status == "none" else new_status), source="foncier status")
    unchanged = len(set(ids)) - n
    note = f" ({unchanged} already had it)" if unchanged else ""
    click.echo(f"{n} parcel(s) set to '{new_status}'{note}. Run 'foncier score' to update the sites.")
    bad = invalid_statuses(ws)
    if len(bad):
        shown = ", ".join(f"{r.parcel_id} ('{r.status}')" for r in bad.head(10).itertuples())
        click.echo(f"warning: {len(bad)} other parcel status(es) outside the vocabulary: {shown}", err=True)

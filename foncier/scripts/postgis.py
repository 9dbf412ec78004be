"""``foncier publish`` and ``foncier pull-status``: the workspace in PostGIS, where land officers edit together."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import workspace_option

logger = logging.getLogger(__name__)

dsn_option = click.option(
    "--dsn",
    envvar="FONCIER_PG_DSN",
    show_envvar=True,
    required=True,
    help="PostgreSQL connection: 'postgresql://user:password@host:5432/dbname' or 'host=... dbname=...' "
    "(a password is better kept in ~/.pgpass or PGPASSWORD).",
)
schema_option = click.option("--schema", default="foncier", show_default=True, help="PostgreSQL schema.")


@click.command()
@workspace_option
@dsn_option
@schema_option
@click.option("--layer", "layers", multiple=True, help="Publish only this layer/table (repeatable).")
@handle_errors
def publish(workspace: Path, dsn: str, schema: str, layers: tuple[str, ...]) -> None:
    """Copy the workspace's layers and tables into a PostGIS schema (one transaction).

    Tables of the same names are replaced; a failed publish leaves the previous ones. The officers' statuses
    (table parcel_status) are seeded from the workspace the first time and never overwritten afterwards.
    Open the view parcels_status in QGIS to see and edit them; bring them back with `foncier pull-status`.
    Owner and contact columns are never published; when OpenStreetMap-derived tables are (roads,
    interchanges, what was computed with them), the ODbL notice is written with them and printed.
    """
    from foncier.layers.postgis import STATUS_TABLE, published_notice, redact_dsn
    from foncier.layers.postgis import publish as publish_workspace

    ws = Workspace.open(workspace)
    counts = publish_workspace(ws, dsn, schema=schema, layers=list(layers) or None)
    for name, n in counts.items():
        if name != STATUS_TABLE:
            click.echo(f"{schema}.{name}: {n} row(s)")
    if STATUS_TABLE in counts:
        click.echo(f"{schema}.{STATUS_TABLE}: {counts[STATUS_TABLE]} status(es) (the officers' live data, kept)")
    click.echo(f"Published {len(counts) - (STATUS_TABLE in counts)} table(s) to {redact_dsn(dsn)}.")
    notice = published_notice(dsn, schema=schema)
    if notice:  # OSM-derived tables: the ODbL asks for the notice wherever the database is published
        click.echo(f"ODbL notice (also in {schema}.foncier_notice and the schema's comment): {notice}")


@click.command("pull-status")
@workspace_option
@dsn_option
@schema_option
@handle_errors
def pull_status(workspace: Path, dsn: str, schema: str) -> None:
    """Write the statuses edited in PostGIS (table parcel_status) into the workspace parcels, atomically.

    Run `foncier score` afterwards: sold and not-for-sale parcels leave the candidate sites.
    """
    from foncier.layers.postgis import pull_statuses

    ws = Workspace.open(workspace)
    changed = pull_statuses(ws, dsn, schema=schema)
    click.echo(
        f"{changed} parcel status(es) changed in {ws.path}."
        + (" Run 'foncier score' to update the sites." if changed else "")
    )

"""``foncier info``: what a workspace holds (layers, counts, provenance, metadata)."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from foncier.layers.availability import availability_counts
from foncier.layers.statuses import invalid_statuses
from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import workspace_option


@click.command()
@workspace_option
@handle_errors
def info(workspace: Path) -> None:
    """Print the layers, feature counts, provenance and metadata of a workspace."""
    ws = Workspace.open(workspace)
    meta = ws.metadata
    banner = "  [SYNTHETIC SAMPLE - not real land]" if ws.synthetic else ""
    click.echo(f"Workspace {ws.path} - {meta.get('territory', '?')}{banner}")
    click.echo(ws.summary().to_string(index=False))
    counts = availability_counts(ws)
    if counts is not None:
        threshold = ws.metadata.get("built_threshold", "0.1")
        click.echo("\nParcel availability (built above " + f"{float(threshold):.0%}" + " of the parcel): "
                   + ", ".join(f"{state} {n}" for state, n in counts.items()))  # fmt: skip
    prov = ws.provenance()
    if len(prov):
        click.echo("\nProvenance:")
        for column in ("state", "vintage", "checksum"):
            if column not in prov.columns:
                prov[column] = ""
        prov["state"] = prov["state"].fillna("").astype(str).replace("", "unknown")
        table = pd.DataFrame(
            {
                "layer": prov["layer"],
                "state": prov["state"].str.split(":").str[0],
                "features": prov["feature_count"],
                "retrieved": prov["retrieved"].astype(str).str[:10],
                "vintage": prov["vintage"].fillna("").astype(str).str.slice(0, 40),
                "checksum": prov["checksum"].fillna("").astype(str).str[:12],
            }
        )
        click.echo(table.to_string(index=False))
        click.echo("\nSources:")
        for row in prov.itertuples():
            click.echo(f"  {row.layer}: {row.source} ({row.licence})")
            if row.state not in ("complete", "unknown"):
                click.echo(f"      state: {row.state}")
        partial = prov[prov["state"].str.startswith("partial")]
        for row in partial.itertuples():
            click.echo(f"warning: layer '{row.layer}' is {row.state}", err=True)
    bad = invalid_statuses(ws)
    if len(bad):
        shown = ", ".join(f"{r.parcel_id} ('{r.status}')" for r in bad.head(10).itertuples())
        click.echo(
            f"warning: {len(bad)} parcel status(es) outside the vocabulary: {shown}; fix them with "
            "'foncier status PARCEL_ID --set ...' (they are not treated as available)",
            err=True,
        )

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
        prov["state"] = prov["state"].fillna("").replace("", "unknown")
        prov["checksum"] = prov["checksum"].fillna("").astype(str).str[:12]
        columns = ["layer", "state", "feature_count", "retrieved", "vintage", "checksum", "licence"]
        with pd.option_context("display.max_colwidth", 80, "display.width", 250):
            click.echo(prov[columns].to_string(index=False))
        click.echo("\nSources:")
        for row in prov.itertuples():
            click.echo(f"  {row.layer}: {row.source}")
        partial = prov[prov["state"].astype(str).str.startswith("partial")]
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

"""``foncier info``: what a workspace holds (layers, counts, provenance, metadata)."""

from __future__ import annotations

from pathlib import Path

import click

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
    prov = ws.provenance()
    if len(prov):
        click.echo("\nProvenance:")
        click.echo(prov[["layer", "source", "licence", "retrieved", "feature_count"]].to_string(index=False))

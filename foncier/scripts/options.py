"""Options shared by several ``foncier`` commands (rasterio-style: one definition, reused)."""

from __future__ import annotations

from pathlib import Path

import click

workspace_option = click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FONCIER_WORKSPACE",
    show_envvar=True,
    required=True,
    help="Workspace directory (holds foncier.gpkg and dem.tif).",
)

profile_option = click.option(
    "--profile",
    "-p",
    default="default",
    show_default=True,
    help="Scoring profile: a built-in name (default, logistics, bio-economy, eco-construction, agri-food) "
    "or the path of a YAML file.",
)

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)

size_option = click.option(
    "--size",
    type=click.Choice(["small", "full"]),
    default="small",
    show_default=True,
    help="Sample territory size: small (a few thousand parcels) or full (about 150,000).",
)

seed_option = click.option("--seed", type=int, default=2023, show_default=True, help="Random seed of the sample.")

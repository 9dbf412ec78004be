"""``foncier sites``: the ranked candidate sites for a profile."""

from __future__ import annotations

from pathlib import Path

import click

from foncier.layers.results import SYNTHETIC_NOTICE_EN, scored_sites
from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts._output import echo_frame
from foncier.scripts.options import format_option, profile_option, workspace_option
from foncier.scripts.score import ensure_criteria

COLUMNS = [
    "rank", "site_id", "score", "excluded", "reasons", "n_unverified", "unverified", "area_m2", "n_parcels",
    "min_lot_m2", "max_lot_m2",
    "communes", "time_to_roissy_min", "time_to_interchange_min", "dist_freight_station_m", "zoning_class",
    "share_flood_red", "share_protected", "slope_mean_pct", "labour_pool",
]  # fmt: skip


@click.command()
@workspace_option
@profile_option
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="How many sites.")
@click.option("--include-excluded", is_flag=True, help="Also list excluded sites (with their reasons).")
@format_option
@handle_errors
def sites(workspace: Path, profile: str, top: int, include_excluded: bool, output_format: str) -> None:
    """List the best candidate sites for PROFILE, best first."""
    ws = Workspace.open(workspace)
    ensure_criteria(ws, quiet=output_format != "table")
    scored = scored_sites(ws, profile)
    frame = scored.sites
    if not include_excluded:
        frame = frame[~frame["excluded"].astype(bool)]
    frame = frame.head(top)
    table = frame[[c for c in COLUMNS if c in frame.columns]].reset_index(drop=True)
    extra = {"profile": scored.profile.name, "n_sites": len(scored.sites), "synthetic": scored.synthetic}
    if "n_unverified" in scored.sites.columns:  # nothing unchecked passes: say how many sites were not fully checked
        extra["n_sites_unverified"] = int((scored.sites["n_unverified"] > 0).sum())
    if scored.synthetic:
        extra["notice"] = SYNTHETIC_NOTICE_EN
    echo_frame(table, output_format, extra=extra)
    if output_format == "table" and scored.synthetic:
        click.echo(f"({SYNTHETIC_NOTICE_EN})")

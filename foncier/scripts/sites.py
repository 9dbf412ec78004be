"""``foncier sites``: the ranked candidate sites for a profile."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from foncier.geo.profile import Profile
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
    "time_to_roissy_hgv_min", "aeroport_dist", "rank_group", "group_first", "group_last",
]  # fmt: skip


def _with_rank_groups(ws: Workspace, frame: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """``frame`` with the rank group of each eligible site (``group_first``, ``group_last``, ``rank_group``):
    the ranks its score cannot be told apart from under the Monte Carlo noise of the weights (issue 12)."""
    from foncier.geo.sensitivity import rank_groups

    groups = rank_groups(ws.read_table("criteria").set_index("site_id"), profile)
    ids = frame["site_id"].astype(str) if "site_id" in frame.columns else frame.index.astype(str)
    out = frame.copy()
    for col in ("group_first", "group_last", "rank_group"):
        values = groups[col].reindex(ids.to_numpy())
        out[col] = values.astype("Int64").to_numpy() if col != "rank_group" else values.to_numpy()
    return out


@click.command()
@workspace_option
@profile_option
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True, help="How many sites.")
@click.option("--include-excluded", is_flag=True, help="Also list excluded sites (with their reasons).")
@format_option
@handle_errors
def sites(workspace: Path, profile: str, top: int, include_excluded: bool, output_format: str) -> None:
    """List the best candidate sites for PROFILE, best first.

    Each eligible site carries its rank group: "3-7" means its score cannot be told apart from those of the
    sites ranked 3 to 7 when the weights move within the Monte Carlo noise (500 Dirichlet draws, see
    `foncier sensitivity`).
    """
    ws = Workspace.open(workspace)
    ensure_criteria(ws, quiet=output_format != "table")
    scored = scored_sites(ws, profile)
    frame = scored.sites
    if not include_excluded:
        frame = frame[~frame["excluded"].astype(bool)]
    frame = _with_rank_groups(ws, frame, scored.profile).head(top)
    table = frame[[c for c in COLUMNS if c in frame.columns]].reset_index(drop=True)
    extra = {"profile": scored.profile.name, "n_sites": len(scored.sites), "synthetic": scored.synthetic}
    if "n_unverified" in scored.sites.columns:  # nothing unchecked passes: say how many sites were not fully checked
        extra["n_sites_unverified"] = int((scored.sites["n_unverified"] > 0).sum())
    if scored.synthetic:
        extra["notice"] = SYNTHETIC_NOTICE_EN
    echo_frame(table, output_format, extra=extra)
    if output_format == "table" and scored.synthetic:
        click.echo(f"({SYNTHETIC_NOTICE_EN})")

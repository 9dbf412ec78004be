"""``foncier sensitivity``: how stable is the ranking when the weights move?"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from foncier.geo.scoring import prepare
from foncier.geo.sensitivity import monte_carlo, one_at_a_time, rank_groups
from foncier.layers.results import resolve_profile
from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts._output import echo_frame
from foncier.scripts.options import format_option, profile_option, workspace_option
from foncier.scripts.score import ensure_criteria


@click.command()
@workspace_option
@profile_option
@click.option(
    "--runs", type=click.IntRange(1, 1_000_000), default=1000, show_default=True, help="Monte Carlo weight draws."
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Size of the top list.")
@click.option(
    "--concentration",
    type=click.FloatRange(min=0, min_open=True),
    default=100.0,
    show_default=True,
    help="Dirichlet concentration around the profile's weights (lower = wider draws).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--method", type=click.Choice(["monte-carlo", "one-at-a-time", "both"]), default="both", show_default=True
)
@format_option
@handle_errors
def sensitivity(
    workspace: Path,
    profile: str,
    runs: int,
    top: int,
    concentration: float,
    seed: int,
    method: str,
    output_format: str,
) -> None:
    """Report how often each of the top sites stays in the top N, and its rank range, as weights vary.

    One-at-a-time: each weight is moved by -20, -10, +10 and +20 % (the others rescaled to keep the sum at 1).
    Monte Carlo: RUNS weight vectors drawn from a Dirichlet distribution centred on the profile's weights.
    Rank groups: consecutive sites whose score difference is smaller than its standard deviation over the
    draws are indistinguishable ("3-7"); they are stored for the maps and `foncier sites`.
    """
    ws = Workspace.open(workspace)
    ensure_criteria(ws, quiet=output_format != "table")
    prof = resolve_profile(profile)
    prep = prepare(ws.read_table("criteria").set_index("site_id"), prof)
    extra = {"profile": prof.name, "top": top, "synthetic": ws.synthetic}
    if method in ("one-at-a-time", "both"):
        oat = one_at_a_time(prep, prof, top_n=top).reset_index()
        if output_format == "table":
            click.echo(f"One-at-a-time (weights ±10 %, ±20 %), top {top} of '{prof.name}':")
        echo_frame(oat, output_format, extra={**extra, "method": "one-at-a-time"})
    if method in ("monte-carlo", "both"):
        mc = monte_carlo(prep, prof, n_runs=runs, concentration=concentration, seed=seed, top_n=top).reset_index()
        if output_format == "table":
            click.echo(f"\nMonte Carlo ({runs} draws, concentration {concentration:g}), top {top}:")
        echo_frame(mc, output_format, extra={**extra, "method": "monte-carlo", "runs": runs})
        groups = rank_groups(prep, prof, n_runs=runs, concentration=concentration, seed=seed)
        stored = groups.reset_index()
        stored.insert(0, "profile", prof.name)
        with ws.lock():  # replace this profile's rank groups (read by the maps and `foncier sites`)
            if "rank_groups" in ws.list_layers():
                old = ws.read_table("rank_groups")
                stored = pd.concat([old[old["profile"] != prof.name], stored], ignore_index=True)
            ws.write_layers({"rank_groups": stored})
        shown = groups.head(top).reset_index()[["rank", "site_id", "score", "rank_group", "group_size"]]
        if output_format == "table":
            click.echo("\nRank groups (ties within the Monte Carlo noise; stored in 'rank_groups'):")
        echo_frame(shown, output_format, extra={**extra, "method": "rank-groups", "runs": runs})

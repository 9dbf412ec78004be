"""``foncier score``: compute (once) the sites and criteria, then score them with a profile and store it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pandas as pd

from foncier.layers.results import resolve_profile
from foncier.layers.workspace import Workspace
from foncier.pipeline import criteria_are_current, profile_record, run_pipeline
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import profile_option, workspace_option

if TYPE_CHECKING:
    from foncier.geo.profile import Profile
    from foncier.geo.scoring import ScoreResult

logger = logging.getLogger(__name__)


def ensure_criteria(ws: Workspace, *, refresh: bool = False, quiet: bool = False) -> None:
    """Run the pipeline when the criteria are missing, stale (layers changed) or ``refresh`` is asked."""
    if not refresh and criteria_are_current(ws):
        return
    steps = ["reading", "sites", "graph", "criteria", "isochrones", "scoring", "storing"]
    with click.progressbar(length=len(steps), label="Computing sites and criteria", file=None,
                           hidden=quiet) as bar:  # fmt: skip
        report = run_pipeline(ws, on_step=lambda _name: bar.update(1))
    if not quiet:
        click.echo(
            f"{report.n_parcels} parcels, {report.n_available} available, {report.n_sites} candidate sites "
            f"(criteria computed in {report.total_seconds:.1f} s)",
            err=True,
        )
        missing = [name for name in ("plu", "zones", "friches") if name not in ws.list_layers()]
        if report.n_sites == 0:
            hint = f" (missing layers: {', '.join(missing)})" if missing else ""
            click.echo(
                "No candidate site: parcels are available when they lie in economic zoning (plu), a zone "
                f"d'activité (zones) or on a brownfield (friches), and contiguous ones must reach 1 ha{hint}.",
                err=True,
            )


@click.command()
@workspace_option
@profile_option
@click.option("--refresh", is_flag=True, help="Recompute sites and criteria even if they are current.")
@click.option(
    "--built-threshold",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Built share (0..1) above which a parcel counts as built and is not available (default 0.10; light "
    "buildings count half). Kept for the workspace; changing it recomputes the sites.",
)
@handle_errors
def score(workspace: Path, profile: str, refresh: bool, built_threshold: float | None) -> None:
    """Score the candidate sites of the workspace with PROFILE and store the scores.

    Sites and criteria are computed once per data refresh (when missing or when a layer changed) and stored;
    rescoring with another profile only reads the criteria table. The scores and their breakdown are stored
    in the `scores` and `score_breakdown` tables (replacing those of the same profile).
    """
    ws = Workspace.open(workspace)
    prof = resolve_profile(profile)
    with ws.lock():  # read-compute-write: concurrent `foncier score` runs never lose each other's profiles
        if built_threshold is not None and ws.metadata.get("built_threshold") != f"{built_threshold:g}":
            meta = {**ws.metadata, "built_threshold": f"{built_threshold:g}"}
            ws.write_tables({"metadata": pd.DataFrame({"key": list(meta), "value": list(meta.values())})})
        result, effective = _score_and_store(ws, prof, refresh=refresh)
    n = len(result.scores)
    n_excluded = int(result.scores["excluded"].sum())
    click.echo(f"Profile '{prof.name}': {n} sites scored, {n - n_excluded} eligible, {n_excluded} excluded.")
    n_unverified = int((result.scores["n_unverified"] > 0).sum()) if "n_unverified" in result.scores else 0
    if n_unverified:  # nothing unchecked passes: say how many sites could not be fully checked
        click.echo(f"{n_unverified} site(s) with at least one constraint not checked (unverified, never passed).")
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    if n:
        top = result.scores.head(10).reset_index()[["rank", "site_id", "score"]]
        click.echo(top.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    _echo_effective(effective)
    if ws.synthetic:
        click.echo("(synthetic sample: not real land)")


def _echo_effective(effective: pd.DataFrame) -> None:
    """Print each criterion's nominal weight beside its effective share over the eligible sites."""
    if effective.empty:
        return
    n = int(effective["n_eligible"].iloc[0])
    click.echo(f"\nWeights: nominal and effective (weight x swing of the value over the {n} eligible sites):")
    table = effective[["criterion", "weight", "swing", "effective_share"]].sort_values(
        "effective_share", ascending=False, na_position="last"
    )
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))


def _replace_profile_rows(
    ws: Workspace, stored: set[str], name: str, table: pd.DataFrame, profile: str
) -> pd.DataFrame:
    """``table`` (one profile's rows) with the other profiles' rows of the stored table ``name``."""
    if name not in stored:
        return table
    old = ws.read_table(name)
    return pd.concat([old[old["profile"] != profile], table], ignore_index=True)


def _score_and_store(ws: Workspace, prof: Profile, *, refresh: bool) -> tuple[ScoreResult, pd.DataFrame]:
    """Score with ``prof`` and store its tables, replacing only this profile's rows (call under the lock).

    Returns the result and the profile's effective weights (also stored, with its rank groups)."""
    from foncier.geo.scoring import score_sites
    from foncier.geo.sensitivity import ranking_diagnostics

    ensure_criteria(ws, refresh=refresh)
    criteria = ws.read_table("criteria").set_index("site_id")
    result = score_sites(criteria, prof)
    effective, groups = ranking_diagnostics(criteria, prof)
    scores, breakdown = result.to_tables()
    stored = set(ws.list_layers())
    if "scores" in stored:
        old = ws.read_table("scores")
        scores = pd.concat([old[old["profile"] != prof.name], scores], ignore_index=True)
    if "score_breakdown" in stored:
        old_b = ws.read_table("score_breakdown")
        breakdown = pd.concat([old_b[old_b["profile"] != prof.name], breakdown], ignore_index=True)
    profiles = pd.DataFrame([profile_record(prof)])
    if "score_profiles" in stored:
        old_p = ws.read_table("score_profiles")
        profiles = pd.concat([old_p[old_p["profile"] != prof.name], profiles], ignore_index=True)
    ws.write_layers(
        {
            "scores": scores,
            "score_breakdown": breakdown,
            "score_profiles": profiles,
            "effective_weights": _replace_profile_rows(ws, stored, "effective_weights", effective, prof.name),
            "rank_groups": _replace_profile_rows(ws, stored, "rank_groups", groups, prof.name),
        }
    )
    return result, effective

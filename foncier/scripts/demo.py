"""``foncier demo``: build the synthetic sample territory into a workspace, offline, in one go."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from foncier.errors import WorkspaceError
from foncier.layers.ingest import store_sample
from foncier.layers.results import scored_sites
from foncier.layers.sample import build_sample_territory
from foncier.layers.workspace import Workspace
from foncier.maps.assets import MapAssetsError
from foncier.scripts._errors import handle_errors
from foncier.scripts.map import write_demo_maps
from foncier.scripts.options import seed_option, size_option, workspace_option
from foncier.scripts.score import ensure_criteria

logger = logging.getLogger(__name__)


@click.command()
@workspace_option
@size_option
@seed_option
@handle_errors
def demo(workspace: Path, size: str, seed: int) -> None:
    """Build the synthetic sample territory (Soissonnais et Valois) into WORKSPACE and summarise it.

    Everything is offline and deterministic: the same seed gives the same workspace. The workspace is marked
    synthetic; every output made from it says so.
    """
    existing = Workspace(workspace)
    if existing.gpkg.exists() and not existing.synthetic:
        raise WorkspaceError(
            f"{existing.gpkg} holds real (non-synthetic) data; the demo never overwrites it: choose another --workspace"
        )
    started = time.perf_counter()
    with click.progressbar(length=2, label=f"Building the {size} sample territory", file=None) as bar:
        sample = build_sample_territory(size, seed=seed)  # type: ignore[arg-type]
        bar.update(1)
        ws = Workspace.create(
            workspace,
            territory=sample.territory,
            synthetic=True,
            extra_metadata={"seed": str(seed), "size": size},
        )
        store_sample(ws, sample)
        bar.update(1)
    elapsed = time.perf_counter() - started
    click.echo(f"\nSynthetic sample territory '{sample.territory}' ({size}, seed {seed}) built in {elapsed:.1f} s")
    click.echo(f"Workspace: {ws.gpkg} (open it in QGIS)\n")
    click.echo(ws.summary().to_string(index=False))
    click.echo("")
    ensure_criteria(ws, refresh=True)
    scored = scored_sites(ws, "default")
    eligible = scored.sites[~scored.sites["excluded"].astype(bool)]
    click.echo(f"\nBest sites (profile 'default', {len(eligible)} eligible of {len(scored.sites)}):")
    top = eligible.head(10).reset_index(drop=True)
    top["area_ha"] = top["area_m2"] / 10_000
    columns = ["rank", "site_id", "score", "area_ha", "communes", "time_to_roissy_min", "zoning_class"]
    click.echo(top[columns].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    click.echo("(synthetic sample: not real land)")
    maps_dir = ws.path / "maps"
    try:
        written = write_demo_maps(ws.path, maps_dir, profile="default", offline=True)
        mode = "offline: Leaflet from maps/assets"
    except MapAssetsError as exc:
        logger.warning("offline map assets unavailable (%s); writing maps that load Leaflet from the CDN", exc)
        written = write_demo_maps(ws.path, maps_dir, profile="default", offline=False)
        mode = "online: Leaflet from the CDN; this development checkout lacks the map assets: run 'make assets'"
    click.echo(f"\nMaps ({mode}):")
    click.echo(f"  site map:    {written[0]}")
    for path in written[1:]:
        click.echo(f"  site sheet:  {path}")

"""``foncier fetch``: download a territory's layers from the official open-data sources into a workspace."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click

from foncier.errors import FetchError
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import workspace_option

logger = logging.getLogger(__name__)

_LAYER_HELP = (
    "Layers to fetch, comma-separated or repeated: communes, parcels, plu, protected, flood, friches, "
    "rail_lines, rail_stations (or rail), roads, interchanges (or osm), hubs, dem. Default: all."
)


@click.command()
@workspace_option
@click.option(
    "--territory",
    "-t",
    default="soissonnais-valois",
    show_default=True,
    help="A built-in territory name or a territory YAML file (see docs/FETCH.md).",
)
@click.option("--layers", "-l", "layers", multiple=True, help=_LAYER_HELP)
@click.option("--offline", is_flag=True, help="Use the download cache only; list what is missing.")
@click.option(
    "--source-url",
    "source_urls",
    multiple=True,
    metavar="NAME=URL",
    help="Base URL of a source (mirror or file:// copy), repeatable. Names: cadastre, geo, apicarto, georisques, "
    "cartofriches, sncf, osm, dem.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FONCIER_FETCH_CACHE_DIR",
    show_envvar=True,
    help="Download cache (default ~/.cache/foncier).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: when stderr is a terminal).")
@handle_errors
def fetch(
    workspace: Path,
    territory: str,
    layers: tuple[str, ...],
    offline: bool,
    source_urls: tuple[str, ...],
    cache_dir: Path | None,
    progress: bool | None,
) -> None:
    """Fetch a territory's layers from the official sources into the workspace.

    Parcels (Etalab cadastre), communes (geo.api.gouv.fr), zoning (Géoportail de l'urbanisme), protected
    areas (INPN), flood zones (PPR), brownfields (Cartofriches), rail (SNCF), roads (OpenStreetMap) and
    elevation (Copernicus DEM) are downloaded once into a cache, validated and stored with their provenance.
    A run that fails half-way keeps what is complete: run the same command again to fetch only the rest.

    \b
    Examples:
      foncier fetch -w ws-real                                   # the Soissonnais et Valois
      foncier fetch -w ws-real --layers parcels,communes
      foncier fetch -w ws-real --offline                         # from the cache only
      foncier fetch -w ws-x -t my-territory.yaml --source-url cadastre=http://mirror/etalab-cadastre
    """
    from foncier.layers.fetch import fetch_territory, parse_source_urls
    from foncier.layers.fetch.run import FetchInterrupted

    overrides = parse_source_urls(source_urls)
    terminal = sys.stderr.isatty()
    show = terminal if progress is None else progress

    def line(text: str) -> None:
        click.echo(f"fetch: {text}", err=True)

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        report = fetch_territory(
            workspace,
            territory,
            layers or None,
            offline=offline,
            source_urls=overrides,
            progress=show,
            cache_dir=cache_dir,
            on_progress=None if terminal else line,
        )
    except FetchInterrupted as exc:
        click.echo(exc.report.render(), err=True)
        click.echo(exc.report.interrupted_summary(), err=True)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(report.render())
    if not report.ok:
        not_done = [r.layer for r in report.layers.values() if r.status not in ("stored", "empty")]
        hints = []
        if report.offline and report.missing:
            hints.append(
                f"{len(report.missing)} download(s) are missing from the cache: run without --offline to fetch them."
            )
        if report.failures and report.retry_helps:
            hints.append(
                "Layers already stored are kept and downloads are cached: run the same command again to resume."
            )
        elif report.failures:
            hints.append(
                "Layers already stored are kept. Running again will not fix these failures (see the advice above)."
            )
        detail = f"incomplete layers: {', '.join(not_done)}" if not_done else "the workspace check found problems"
        raise FetchError(f"{detail}. {' '.join(hints)}".strip())


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops a fetch as Ctrl-C does: temporary downloads are removed, the report says what was kept."""
    raise KeyboardInterrupt

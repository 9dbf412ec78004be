"""``foncier serve``: run the API (FastAPI + uvicorn) over a workspace."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from foncier.scripts._errors import handle_errors
from foncier.scripts.options import workspace_option

logger = logging.getLogger(__name__)


@click.command("serve")
@workspace_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (more than one: each with its own socket on the port, connections spread "
              "evenly by the kernel on Linux; they read the FONCIER_API_* environment).")  # fmt: skip
@click.option("--max-limit", type=click.IntRange(1, 100_000), default=None,
              help="Largest page size (default 1000, or FONCIER_API_MAX_LIMIT).")  # fmt: skip
@click.option("--cors", "cors_origins", multiple=True, help="Origin allowed by CORS (repeat; '*' for any).")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request.")
@handle_errors
def serve(
    workspace: Path,
    host: str,
    port: int,
    workers: int,
    max_limit: int | None,
    cors_origins: tuple[str, ...],
    access_log: bool,
) -> None:
    """Serve the workspace: JSON/GeoJSON API, OGC API - Features (/ogc) and vector tiles.

    Open http://HOST:PORT/docs for the documentation; in QGIS add an "OGC API - Features" (WFS 3)
    connection to http://HOST:PORT/ogc.
    """
    import uvicorn

    from foncier.api.app import create_app
    from foncier.api.server import ensure_port_free, run_workers
    from foncier.api.settings import ApiSettings

    overrides: dict[str, object] = {"workspace": workspace}
    if max_limit is not None:
        overrides["max_limit"] = max_limit
    if cors_origins:
        overrides["cors_origins"] = list(cors_origins)
    settings = ApiSettings(**overrides)  # type: ignore[arg-type]
    app = create_app(settings)  # checks the workspace and prepares its indexes before listening
    ensure_port_free(host, port)
    click.echo(f"foncier API on http://{host}:{port} (docs: /docs, OGC API - Features: /ogc); Ctrl+C to stop",
               err=True)  # fmt: skip
    if workers > 1:
        os.environ["FONCIER_API_WORKSPACE"] = str(workspace)
        if max_limit is not None:
            os.environ["FONCIER_API_MAX_LIMIT"] = str(max_limit)
        if cors_origins:
            import json

            os.environ["FONCIER_API_CORS_ORIGINS"] = json.dumps(list(cors_origins))
        run_workers(host, port, workers, access_log=access_log)  # one SO_REUSEPORT socket per worker (Linux)
    else:
        uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="warning")

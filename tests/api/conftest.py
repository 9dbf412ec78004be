"""Fixtures of the API tests: the scored small sample workspace and a live uvicorn server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from foncier.api.settings import ApiSettings
from tests._servers import stop_process, wait_healthy


@pytest.fixture(scope="session")
def api_workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small sample workspace, run through the scoring pipeline (sites, criteria, scores).

    ``FONCIER_API_TEST_WORKSPACE`` points the tests at another (already built) workspace instead.
    """
    override = os.environ.get("FONCIER_API_TEST_WORKSPACE")
    if override:
        return Path(override)
    source: Path = request.getfixturevalue("small_sample_workspace")
    path = tmp_path_factory.mktemp("api-ws")
    shutil.copytree(source, path, dirs_exist_ok=True)
    from foncier.layers.workspace import Workspace
    from foncier.pipeline import run_pipeline

    run_pipeline(Workspace.open(path))
    return path


@pytest.fixture(scope="session")
def api_settings(api_workspace: Path) -> ApiSettings:
    """Settings of the test server (small limits so that paging is exercised)."""
    return ApiSettings(workspace=api_workspace, max_limit=500, default_limit=50)


@dataclass
class LiveServer:
    """A uvicorn server running the app in a subprocess."""

    base_url: str
    port: int
    settings: ApiSettings
    process: subprocess.Popen[bytes]
    sock: socket.socket

    def stop(self) -> None:
        """Stop the server (terminated, killed after 10 s) and close its socket."""
        stop_process(self.process, timeout_s=10)
        self.sock.close()


def _serve_subprocess(settings: ApiSettings, sock: socket.socket) -> subprocess.Popen[bytes]:
    """Run uvicorn on the already bound ``sock`` (no port race) with the app built from the environment.

    A subprocess rather than a thread: GDAL's OAPIF driver (a client in this process) holds the GIL while it
    waits for the server.
    """
    env = {
        **os.environ,
        "FONCIER_API_WORKSPACE": str(settings.workspace),
        "FONCIER_API_MAX_LIMIT": str(settings.max_limit),
        "FONCIER_API_DEFAULT_LIMIT": str(settings.default_limit),
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "foncier.api.app:create_app_from_env",
        "--fd",
        str(sock.fileno()),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(cmd, env=env, pass_fds=(sock.fileno(),))


def start_api(settings: ApiSettings) -> LiveServer:
    """The API of ``settings`` served by uvicorn on 127.0.0.1 and a free port, once ``/health`` answers.

    Parameters
    ----------
    settings : ApiSettings
        Workspace and limits of the server (passed through its environment).

    Returns
    -------
    LiveServer
        The running server: call its :meth:`LiveServer.stop` when done (it is already stopped when it never
        answered, and the error raised).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = LiveServer(f"http://127.0.0.1:{port}", port, settings, _serve_subprocess(settings, sock), sock)
    try:
        wait_healthy(server.base_url, server.process, timeout_s=60, poll_s=0.1)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def live_server(api_settings: ApiSettings) -> Iterator[LiveServer]:
    """The API served by uvicorn on 127.0.0.1 and a free port, for the whole session."""
    server = start_api(api_settings)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An httpx client on the live server."""
    with httpx.Client(base_url=live_server.base_url, timeout=30) as c:
        yield c

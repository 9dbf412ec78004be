"""Fixtures of the API tests: the scored small sample workspace, an app, a live uvicorn server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from foncier.api.app import create_app
from foncier.api.settings import ApiSettings


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
    from foncier.scripts.pipeline import run_pipeline

    run_pipeline(Workspace.open(path))
    return path


@pytest.fixture(scope="session")
def api_settings(api_workspace: Path) -> ApiSettings:
    """Settings of the test server (small limits so that paging is exercised)."""
    return ApiSettings(workspace=api_workspace, max_limit=500, default_limit=50)


@dataclass
class LiveServer:
    """A uvicorn server running the app in a thread."""

    base_url: str
    port: int
    settings: ApiSettings


def _start(app: object, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture(scope="session")
def live_server(api_settings: ApiSettings) -> Iterator[LiveServer]:
    """The API served by uvicorn on 127.0.0.1 and a free port, for the whole session."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server, thread = _start(create_app(api_settings), sock)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, api_settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    """An httpx client on the live server."""
    with httpx.Client(base_url=live_server.base_url, timeout=30) as c:
        yield c

"""Fixtures of the map tests: made-up results, the scored small sample, headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require

from .fake import FakeResults, make_results


@pytest.fixture(scope="session")
def fake() -> FakeResults:
    """24 made-up scored sites around Soissons, their parcels, breakdown and context layers."""
    return make_results(24)


@pytest.fixture(scope="session")
def assets_installed() -> None:
    """The npm assets (``make assets``) are needed for offline maps."""
    from foncier.maps.assets import assets_available, node_modules_dir

    require(assets_available(), f"map assets not installed in {node_modules_dir()} (run 'make assets')")


@pytest.fixture(scope="session")
def scored_workspace(small_sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small sample workspace run through the pipeline (sites, criteria, scores, isochrones)."""
    from foncier.layers.workspace import Workspace
    from foncier.pipeline import run_pipeline

    path = tmp_path_factory.mktemp("maps-ws")
    shutil.copytree(small_sample_workspace, path, dirs_exist_ok=True)
    run_pipeline(Workspace.open(path))
    return path


#: Viewports the browser tests look at the maps in (width, height in CSS pixels).
SIZES = {"desktop": (1280, 860), "phone": (375, 667)}


@dataclass
class Watched:
    """A page with its JavaScript errors, failed requests and requests that left the machine."""

    page: Any
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        assert self.remote == [], self.remote


@contextmanager
def watched_page(browser: Any, **context_options: Any) -> Iterator[Watched]:
    """A new page of the session's ``browser`` (tests/conftest.py) in a context of its own, watched.

    Parameters
    ----------
    browser : playwright Browser
        The one session-scoped Chromium.
    **context_options
        Options of ``browser.new_context`` (``viewport``, ``is_mobile``, ``has_touch`` ...).

    Yields
    ------
    Watched
        The page, recording JavaScript errors (uncaught and ``console.error``), failed requests and any request
        that is not ``file:``, ``data:`` or ``blob:``. The context is closed afterwards.
    """
    context = browser.new_context(**context_options)
    try:
        page = context.new_page()
        w = Watched(page)
        page.on("pageerror", lambda exc: w.errors.append(str(exc)))
        page.on("console", lambda msg: w.errors.append(msg.text) if msg.type == "error" else None)
        page.on("requestfailed", lambda req: w.failed.append(f"{req.url} {req.failure}"))
        local = ("file:", "data:", "blob:")
        page.on("request", lambda req: None if req.url.startswith(local) else w.remote.append(req.url))
        yield w
    finally:
        context.close()


def viewport(size: str) -> dict[str, int]:
    """The ``viewport`` option of a browser context for one of :data:`SIZES`."""
    width, height = SIZES[size]
    return {"width": width, "height": height}


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A watched desktop-size page."""
    with watched_page(browser, viewport=viewport("desktop")) as w:
        yield w

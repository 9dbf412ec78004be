"""Fixtures of the map tests: made-up results, the scored small sample, headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

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

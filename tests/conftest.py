"""Shared fixtures: the real data folder, tiny workspaces, the small sample territory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("FONCIER_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, except in CI where it is a failure (services and data are there)."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of real extracts (../shared/data/real); skipped locally when absent, required in CI."""
    require(REAL_DATA.is_dir(), f"real data folder {REAL_DATA} is absent")
    return REAL_DATA


@pytest.fixture(scope="session")
def small_sample_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding the small synthetic sample territory (built once per test session/worker)."""
    from foncier.layers.ingest import store_sample
    from foncier.layers.sample import build_sample_territory
    from foncier.layers.workspace import Workspace

    path = tmp_path_factory.mktemp("sample-ws")
    sample = build_sample_territory("small", seed=2023)
    ws = Workspace.create(path, territory=sample.territory, synthetic=True, extra_metadata={"seed": "2023"})
    store_sample(ws, sample)
    return path


@pytest.fixture(scope="session")
def scored_sample_workspace(small_sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the small sample workspace after the pipeline (sites, criteria, isochrones, scores)."""
    import shutil

    from foncier.layers.workspace import Workspace
    from foncier.pipeline import run_pipeline

    path = tmp_path_factory.mktemp("scored-ws") / "ws"
    shutil.copytree(small_sample_workspace, path)
    run_pipeline(Workspace.open(path))
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by playwright (skipped locally when absent, a failure in CI).

    ONE per test process: playwright's sync API refuses to start while another sync session runs in the same
    thread, so every test (maps, install) shares this one.
    """
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed (make system-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()

"""``python -m foncier`` and ``python -m foncier.scripts.cli`` run the command (the benchmarks use the latter)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["foncier", "foncier.scripts.cli"])
def test_module_runs_the_command(module: str) -> None:
    done = subprocess.run([sys.executable, "-m", module, "serve", "--help"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "--workers" in done.stdout
    bad = subprocess.run([sys.executable, "-m", module, "no-such-command"], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "no-such-command" in bad.stderr

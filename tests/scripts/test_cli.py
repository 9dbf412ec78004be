"""The ``foncier`` command group, in-process (click's runner): help of every command, version, missing extras.

The installed console script itself (``foncier --help`` from a fresh virtual environment) is tested in
``tests/test_install.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier._version import __version__
from foncier.scripts.cli import COMMANDS, cli


def _listed_commands(output: str) -> list[str]:
    return [line.split()[0] for line in output.split("Commands:")[1].strip().splitlines() if line.strip()]


def test_help_lists_every_command_and_each_help_works() -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["--help"])
    assert out.exit_code == 0, out.output
    listed = _listed_commands(out.output)
    assert set(listed) == set(COMMANDS)
    for command in listed:
        sub = runner.invoke(cli, [command, "--help"], prog_name="foncier")
        assert sub.exit_code == 0, (command, sub.output)
        assert f"Usage: foncier {command}" in sub.output, command
        assert "(unavailable)" not in sub.output, command


def test_version() -> None:
    out = CliRunner().invoke(cli, ["--version"])
    assert out.exit_code == 0 and f"foncier, version {__version__}" in out.output


def _without(monkeypatch: pytest.MonkeyPatch, package: str, *modules: str) -> None:
    """Make ``import package`` fail as it does when the package is not installed."""
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, package, None)  # the import system then raises ModuleNotFoundError
    for name in modules:
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_missing_postgis_extra_gives_one_line_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _without(monkeypatch, "psycopg", "foncier.layers.postgis")
    runner = CliRunner()
    assert runner.invoke(cli, ["--help"]).exit_code == 0
    assert runner.invoke(cli, ["publish", "--help"]).exit_code == 0
    out = runner.invoke(cli, ["publish", "-w", str(tmp_path), "--dsn", "host=127.0.0.1 dbname=nothing"])
    assert out.exit_code == 1, out.output
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert lines == [
        "Error [missing_dependency]: foncier publish needs the Python package 'psycopg', which is not installed: "
        'pip install "foncier[postgis]"'
    ], out.output
    assert "Traceback" not in out.output


def test_a_command_whose_module_cannot_import_stays_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subcommand module needing a missing package: ``--help`` still works and the command says why."""
    _without(monkeypatch, "psycopg", "foncier.scripts.postgis", "foncier.layers.postgis")
    monkeypatch.setitem(COMMANDS, "publish", "foncier.layers.postgis:publish")  # imports psycopg at import time
    runner = CliRunner()
    out = runner.invoke(cli, ["--help"])
    assert out.exit_code == 0 and "publish" in _listed_commands(out.output)
    run = runner.invoke(cli, ["publish", "--dsn", "x"])
    assert run.exit_code == 1
    assert "psycopg" in run.output and 'pip install "foncier[postgis]"' in run.output

"""The ``foncier`` command: one group, one module per subcommand, loaded lazily (fast ``--help``)."""

from __future__ import annotations

import importlib
import importlib.util
import logging

import click

from foncier._version import __version__

logger = logging.getLogger(__name__)

#: subcommand name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "demo": "foncier.scripts.demo:demo",
    "fetch": "foncier.scripts.fetch:fetch",
    "ingest": "foncier.scripts.ingest:ingest",
    "info": "foncier.scripts.info:info",
    "score": "foncier.scripts.score:score",
    "sites": "foncier.scripts.sites:sites",
    "parcel": "foncier.scripts.parcel:parcel",
    "map": "foncier.scripts.map:map_command",
    "serve": "foncier.scripts.serve:serve",
    "export": "foncier.scripts.export:export",
    "sensitivity": "foncier.scripts.sensitivity:sensitivity",
    "status": "foncier.scripts.status:status",
    "ahp": "foncier.scripts.ahp:ahp",
    "publish": "foncier.scripts.postgis:publish",
    "pull-status": "foncier.scripts.postgis:pull_status",
}


#: Python packages of optional extras -> the command that installs them
OPTIONAL_PACKAGES: dict[str, str] = {
    "psycopg": 'pip install "foncier[postgis]"',
    "psycopg_binary": 'pip install "foncier[postgis]"',
}


def missing_dependency_message(exc: ModuleNotFoundError, command: str | None = None) -> str:
    """One line saying which package is missing and how to install it."""
    name = (exc.name or str(exc)).split(".")[0]
    what = f"foncier {command} needs" if command else "foncier needs"
    install = OPTIONAL_PACKAGES.get(name)
    if install is None:  # a core dependency: the installation is broken
        install = "pip install --force-reinstall foncier (a core dependency is missing)"
    return f"Error [missing_dependency]: {what} the Python package '{name}', which is not installed: {install}"


def _unavailable(cmd_name: str, exc: ModuleNotFoundError) -> click.Command:
    """A stand-in for a command whose module cannot be imported: ``--help`` still works, running it says why."""
    message = missing_dependency_message(exc, cmd_name)

    def run() -> None:
        click.echo(message, err=True)
        raise SystemExit(1)

    return click.Command(cmd_name, callback=run, help=f"(unavailable) {message}", short_help="(unavailable)",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})  # fmt: skip


class LazyGroup(click.Group):
    """A click group importing each subcommand's module only when it is used.

    A subcommand whose module needs a package that is not installed (an optional extra) stays listed, and
    running it prints one line naming the package and the install command; ``--help`` never breaks.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [name for name in COMMANDS if importlib.util.find_spec(COMMANDS[name].split(":")[0])]
        return sorted({*super().list_commands(ctx), *available})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attr = COMMANDS[cmd_name].split(":")
            if importlib.util.find_spec(module_name) is None:
                return None
            try:
                command = getattr(importlib.import_module(module_name), attr)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.split(".")[0] == "foncier":
                    raise
                return _unavailable(cmd_name, exc)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:  # a command importing an optional package when it runs
            if exc.name and exc.name.split(".")[0] == "foncier":
                raise
            click.echo(missing_dependency_message(exc, ctx.invoked_subcommand), err=True)
            raise SystemExit(1) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="foncier")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
def cli(verbose: int, quiet: bool) -> None:
    """foncier: find and rank land for new industrial firms (Soissonnais et Valois).

    Start with `foncier demo --workspace ws` to build, score and map the synthetic sample territory.
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyogrio").setLevel(max(level, logging.WARNING))


def main() -> None:
    """Entry point of the ``foncier`` console script."""
    cli(prog_name="foncier")


if __name__ == "__main__":  # python -m foncier.scripts.cli (benchmarks, tests)
    main()

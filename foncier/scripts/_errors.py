"""How the CLI turns foncier's exceptions into messages and exit codes (never a traceback)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from foncier import errors

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: Exit code per exception class (the first matching class in order wins). 2 is click's usage error.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (errors.ValidationError, 3),
    (errors.DataFormatError, 3),
    (errors.ScoringError, 3),
    (errors.NotFoundError, 4),
    (errors.LayerNotFoundError, 4),
    (errors.WorkspaceError, 5),
    (errors.DatabaseError, 7),
    (errors.FetchError, 6),
    (errors.ServerError, 8),
    (errors.FoncierError, 1),
)


def exit_code_for(exc: BaseException) -> int:
    """Exit code of the CLI for ``exc``."""
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return 1


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command: report foncier errors as plain messages on stderr with their exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except errors.FoncierError as exc:
            click.echo(f"Error [{exc.code}]: {exc}", err=True)
            raise SystemExit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing half-written was kept.", err=True)
            raise SystemExit(130) from None

    return wrapper

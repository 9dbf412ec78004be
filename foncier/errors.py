"""Exceptions shared by every part of foncier.

Every exception raised on purpose by foncier derives from :class:`FoncierError` and also from the builtin
exception it is closest to (as rasterio does), so that callers can catch either. The API maps each class
to an HTTP status in one table (:mod:`foncier.api.errors`), the CLI to an exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class FoncierError(Exception):
    """Base class of foncier's own errors. ``code`` is a stable machine-readable identifier."""

    code = "foncier_error"


@dataclass(frozen=True)
class Problem:
    """One problem found while validating input.

    Attributes
    ----------
    message : str
        What is wrong, in plain words.
    source : str or None
        File, URL or layer name the problem was found in.
    row : int or None
        Zero-based feature/row number in the source, when the problem concerns one row.
    column : str or None
        Column (or ``geometry``) concerned.
    """

    message: str
    source: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ValidationError(FoncierError, ValueError):
    """Input failed validation. Carries every problem found, not only the first."""

    code = "invalid_input"

    def __init__(self, problems: Iterable[Problem | str], *, title: str = "invalid input") -> None:
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        self.title = title
        super().__init__(self.render())

    def render(self, limit: int = 50) -> str:
        """Return a human-readable report of the problems (at most ``limit`` lines)."""
        lines = [f"{self.title}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join(lines)


class LayerValidationError(ValidationError):
    """A layer file or GeoDataFrame does not match its canonical schema."""

    code = "invalid_layer"


class CRSError(ValidationError):
    """Missing, unknown or implausible coordinate reference system."""

    code = "invalid_crs"


class DataFormatError(FoncierError, ValueError):
    """A file cannot be read at all (corrupt, truncated, unknown format)."""

    code = "unreadable_file"


class WorkspaceError(FoncierError, OSError):
    """The workspace is missing, unreadable or cannot be written."""

    code = "workspace_error"


class LayerNotFoundError(FoncierError, KeyError):
    """A layer or table is not in the workspace."""

    code = "layer_not_found"

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else self.code


class NotFoundError(FoncierError, LookupError):
    """A requested object (parcel, site, profile) does not exist."""

    code = "not_found"


class ProfileError(ValidationError):
    """A scoring profile is invalid (unknown criterion, weights, thresholds)."""

    code = "invalid_profile"


class AHPConsistencyError(ValidationError):
    """An AHP pairwise matrix is too inconsistent (CR above the limit)."""

    code = "ahp_inconsistent"


class ScoringError(FoncierError, ValueError):
    """Scoring could not be done (missing criteria, NaN inputs that are not allowed)."""

    code = "scoring_error"


class FetchError(FoncierError, OSError):
    """Downloading from an official source failed after retries."""

    code = "fetch_error"


class DatabaseError(FoncierError, OSError):
    """A database (PostGIS) cannot be reached, refuses the login, lacks PostGIS, or refused a write."""

    code = "database_error"


class ServerError(FoncierError, OSError):
    """The API server cannot start or keep running (address in use, workers that keep stopping)."""

    code = "server_error"

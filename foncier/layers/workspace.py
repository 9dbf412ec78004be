"""The workspace: one GeoPackage per territory, plus the DEM beside it.

A workspace is a directory holding ``foncier.gpkg`` (every vector layer, the derived layers and tables:
sites, criteria, scores, breakdowns, isochrones; a ``provenance`` table and a ``metadata`` table) and
``dem.tif``. The GeoPackage opens in QGIS as it is; see docs/CONTRACTS.md for its tables.

Write model (in place, transactional; see docs/CONTRACTS.md "Writing to a workspace")
-------------------------------------------------------------------------------------
- The GeoPackage is in SQLite WAL mode and is never copied or replaced: readers (the API, QGIS) keep
  reading during a write and see the state before or after it, never an error or a mix; edits committed in
  place by other programs (QGIS) are never lost.
- foncier's writers take ONE workspace lock (``.foncier.lock``, :func:`workspace_lock`, cross-platform with
  :mod:`filelock`; the CLI and the API use the same). A writer waiting for it says so after 2 s and gives
  up with a :class:`~foncier.errors.WorkspaceError` after ``FONCIER_LOCK_TIMEOUT`` seconds (default 600).
- :meth:`Workspace.write_session` is the unit of work: GDAL writes each new layer under a temporary table
  name (``foncier_tmp_*``, invisible to foncier's readers), then ONE SQLite transaction swaps every staged
  layer in with its GeoPackage registrations (``gpkg_contents``, ``gpkg_geometry_columns``, R-tree,
  ``gpkg_extensions``, ``gpkg_ogr_contents``), upserts provenance and metadata, runs the session's SQL, and
  commits. A failure or a kill before the commit changes nothing visible: at most orphan temporary tables
  stay, dropped by the next write (with ``.foncier-*.gpkg`` copies left by the old copy-and-replace model).
- A read-compute-write cycle (``foncier score``, the pipeline) runs inside one ``write_session``: the lock is
  held from the first read to the commit, so concurrent foncier writers cannot interleave.
- A file that is not a sound GeoPackage (truncated, failing ``PRAGMA quick_check``) is refused, never
  overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import filelock
import geopandas as gpd
import numpy as np
import pandas as pd

from foncier._version import __version__
from foncier.errors import LayerNotFoundError, WorkspaceError
from foncier.geo.crs import LAMBERT93
from foncier.layers import gpkg as _gpkg
from foncier.layers.gpkg import gpkg_envelope as _gpkg_envelope
from foncier.layers.gpkg import register_gpkg_functions
from foncier.layers.privacy import drop_personal
from foncier.layers.schemas import SCHEMAS

__all__ = [
    "DEM_NAME", "GPKG_NAME", "LOCK_NAME", "PROVENANCE_COLUMNS", "Provenance", "Workspace", "WriteSession",
    "file_checksum", "frame_checksum", "lock_timeout", "register_gpkg_functions", "workspace_lock",
]  # fmt: skip

logger = logging.getLogger(__name__)

GPKG_NAME = "foncier.gpkg"
DEM_NAME = "dem.tif"
LOCK_NAME = ".foncier.lock"
DEM_NODATA = -9999.0
#: Seconds a writer waits for the workspace lock before it says so.
LOCK_NOTICE_S = 2.0
#: Default seconds a writer waits for the workspace lock before giving up (``FONCIER_LOCK_TIMEOUT``).
DEFAULT_LOCK_TIMEOUT_S = 600.0
#: Seconds an SQLite statement waits for another program's write transaction (QGIS) to end.
SQLITE_BUSY_TIMEOUT_S = 60.0

PROVENANCE_COLUMNS = ("layer", "source", "licence", "retrieved", "vintage", "feature_count", "checksum", "state")
_PROVENANCE_TYPES = {"layer": "TEXT", "source": "TEXT", "licence": "TEXT", "retrieved": "TEXT",
                     "vintage": "TEXT", "feature_count": "INTEGER", "checksum": "TEXT", "state": "TEXT"}  # fmt: skip
_RECOVERY_HINT = (
    "foncier will not write to it. Restore it from a backup, or recover what SQLite can still read "
    "('sqlite3 foncier.gpkg .recover | sqlite3 recovered.gpkg'), or move it aside and rebuild the workspace "
    "with 'foncier ingest' / 'foncier fetch'"
)
_unused = (_gpkg_envelope,)  # re-exported for older callers
_GEOMETRY_NAMES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
                   "MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon",
                   "GEOMETRYCOLLECTION": "GeometryCollection", "GEOMETRY": "Unknown"}  # fmt: skip


def lock_timeout() -> float:
    """Seconds a writer waits for the workspace lock: ``FONCIER_LOCK_TIMEOUT`` or 600."""
    raw = os.environ.get("FONCIER_LOCK_TIMEOUT", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_LOCK_TIMEOUT_S
    except ValueError:
        logger.warning("FONCIER_LOCK_TIMEOUT=%r is not a number of seconds; using %g", raw, DEFAULT_LOCK_TIMEOUT_S)
        return DEFAULT_LOCK_TIMEOUT_S
    return max(0.0, value)


_LOCKS: dict[str, filelock.FileLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(directory: Path) -> filelock.FileLock:
    key = str((directory / LOCK_NAME).resolve())
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            # thread_local: re-entrant within a thread, exclusive between threads and processes
            lock = filelock.FileLock(key, thread_local=True, preserve_lock_file=True)
            _LOCKS[key] = lock
        return lock


@contextlib.contextmanager
def workspace_lock(directory: str | Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the workspace writers' lock of ``directory`` (re-entrant in a thread; the CLI and the API share it).

    Parameters
    ----------
    directory : str or Path
        The workspace directory (the lock file is ``DIR/.foncier.lock``).
    timeout : float, optional
        Seconds to wait (default :func:`lock_timeout`). After :data:`LOCK_NOTICE_S` seconds a warning says
        who is waiting for what.

    Raises
    ------
    foncier.errors.WorkspaceError
        When the lock is still held by another writer after ``timeout`` seconds.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create workspace directory {directory}: {exc.strerror}") from None
    lock = _lock_for(directory)
    wait = lock_timeout() if timeout is None else max(0.0, timeout)
    try:
        lock.acquire(timeout=min(LOCK_NOTICE_S, wait))
    except filelock.Timeout:
        if wait <= LOCK_NOTICE_S:
            raise _locked_error(directory, wait) from None
        logger.warning(
            "waiting for the workspace lock of %s: another foncier command is writing to it "
            "(giving up after %g s; set FONCIER_LOCK_TIMEOUT to change)", directory, wait,
        )  # fmt: skip
        try:
            lock.acquire(timeout=wait - LOCK_NOTICE_S)
        except filelock.Timeout:
            raise _locked_error(directory, wait) from None
    except OSError as exc:
        raise WorkspaceError(f"cannot take the workspace lock {directory / LOCK_NAME}: {exc}") from None
    try:
        yield
    finally:
        lock.release()


def _locked_error(directory: Path, wait: float) -> WorkspaceError:
    return WorkspaceError(
        f"workspace {directory} is locked by another foncier command (still writing after {wait:g} s); "
        f"try again when it has finished, or raise FONCIER_LOCK_TIMEOUT (a crashed command never holds the "
        f"lock: it is released by the system when its process ends)"
    )


def _connect(path: Path) -> sqlite3.Connection:
    """A read-write connection for foncier's writers (waits for other programs' write transactions)."""
    con = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None)
    register_gpkg_functions(con)
    return con


@dataclass(frozen=True)
class Provenance:
    """Where a stored layer came from.

    Attributes
    ----------
    layer : str
        Layer or table name in the workspace.
    source : str
        File path, URL or generator ("synthetic sample, seed 2023").
    licence : str
        Licence of the data (e.g. "Licence Ouverte 2.0", "ODbL").
    retrieved : str
        ISO date (or datetime) of retrieval.
    vintage : str
        Edition of the data ("latest", "2025-10-01", "2018"...).
    feature_count : int
        Number of features stored.
    checksum : str
        SHA-256 of the source file or of the stored data.
    state : str
        ``complete``, or ``partial: <missing items>`` when some items of the source could not be had
        (empty when unknown).
    """

    layer: str
    source: str
    licence: str = "unknown"
    retrieved: str = ""
    vintage: str = ""
    feature_count: int = 0
    checksum: str = ""
    state: str = ""


def file_checksum(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def frame_checksum(frame: pd.DataFrame) -> str:
    """SHA-256 of a (Geo)DataFrame's content (attributes and WKB geometries), order-sensitive."""
    digest = hashlib.sha256()
    plain = frame.drop(columns=[frame.geometry.name]) if isinstance(frame, gpd.GeoDataFrame) else frame
    digest.update(pd.util.hash_pandas_object(plain.astype("string"), index=False).to_numpy().tobytes())
    if isinstance(frame, gpd.GeoDataFrame):
        for wkb in frame.geometry.to_wkb():
            digest.update(wkb or b"")
    return digest.hexdigest()


def _default_file_mode() -> int:
    """Mode of a new file under the current umask (mkstemp makes 0600 files; a workspace is shared)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _prepare_for_gpkg(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn pandas extension dtypes into ones GDAL stores faithfully (booleans without nulls stay boolean)."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if name == getattr(frame, "_geometry_column_name", None):
            continue
        if isinstance(col.dtype, pd.BooleanDtype):
            out[name] = col.astype(bool) if not col.isna().any() else col.astype("float64")
        elif isinstance(col.dtype, pd.StringDtype):
            out[name] = col.astype(object).where(col.notna(), None)
        elif isinstance(col.dtype, pd.Int64Dtype | pd.Int32Dtype):
            out[name] = col.astype("int64") if not col.isna().any() else col.astype("float64")
        elif col.dtype == object and len(col) and isinstance(col.dropna().iloc[0] if col.notna().any() else "", list):
            out[name] = col.map(lambda v: ",".join(map(str, v)) if isinstance(v, list) else v)
    return out


def _restore_kinds(layer: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give canonical columns back their kind after a round trip through GDAL."""
    schema = SCHEMAS.get(layer)
    if schema is None:
        return frame
    for col in (*schema.columns, *schema.optional_columns):
        if col.name not in frame.columns:
            continue
        s = frame[col.name]
        if col.kind == "bool":
            frame[col.name] = s.astype(bool) if not s.isna().any() else s.astype("boolean")
        elif col.kind == "str":
            frame[col.name] = s.astype("string")
        elif col.kind == "int":
            frame[col.name] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
    return frame


class Workspace:
    """A foncier workspace directory (GeoPackage + DEM).

    Parameters
    ----------
    path : str or Path
        The workspace directory.
    lock_timeout : float, optional
        Seconds a writer waits for the workspace lock (default ``FONCIER_LOCK_TIMEOUT`` or 600).

    Examples
    --------
    >>> ws = Workspace.create("/tmp/ws", territory="Soissonnais et Valois", synthetic=True)  # doctest: +SKIP
    >>> ws.write_layers({"parcels": parcels}, [Provenance("parcels", "cadastre.json")])  # doctest: +SKIP
    >>> ws.read_layer("parcels", bbox=(700000, 6900000, 701000, 6901000))  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, lock_timeout: float | None = None) -> None:
        self.path = Path(path)
        self.gpkg = self.path / GPKG_NAME
        self.dem_path = self.path / DEM_NAME
        self.lock_timeout = lock_timeout
        self._sessions: dict[int, WriteSession] = {}
        self._checked = False

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(
        cls,
        path: str | Path,
        *,
        territory: str,
        synthetic: bool,
        extra_metadata: Mapping[str, str] | None = None,
        exist_ok: bool = True,
    ) -> Workspace:
        """Create (or reuse) a workspace directory and write its metadata.

        Raises
        ------
        foncier.errors.WorkspaceError
            When the directory cannot be created, or it exists and ``exist_ok`` is False.
        """
        ws = cls(path)
        if ws.gpkg.exists() and not exist_ok:
            raise WorkspaceError(f"workspace {ws.path} already exists")
        try:
            ws.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace directory {ws.path}: {exc.strerror}") from None
        meta = {
            "territory": territory,
            "crs": LAMBERT93,
            "synthetic": "true" if synthetic else "false",
            "created": _now(),
            "foncier_version": __version__,
        }
        meta.update(extra_metadata or {})
        if ws.gpkg.exists():
            meta = {**ws.metadata, **meta, "created": ws.metadata.get("created", meta["created"])}
        ws.write_tables({"metadata": pd.DataFrame({"key": list(meta), "value": list(meta.values())})})
        return ws

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open an existing workspace.

        Raises
        ------
        foncier.errors.WorkspaceError
            When ``path`` holds no workspace (with what to do about it).
        """
        ws = cls(path)
        if not ws.gpkg.is_file():
            raise WorkspaceError(
                f"no workspace at {ws.path} (missing {GPKG_NAME}); create one with 'foncier demo --workspace "
                f"{ws.path}' or 'foncier ingest'"
            )
        ws.check(quick_check=False)
        return ws

    # ------------------------------------------------------------------ reading
    def list_layers(self) -> list[str]:
        """Names of every layer and table in the GeoPackage."""
        if not self.gpkg.exists():
            return []
        with self._reader() as con:
            return [name for name, _ in _gpkg.list_tables(con)]

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        """A connection to read with: this thread's open write session's (it sees its own changes), else a
        new read-only one (WAL: never blocked by a writer, sees the last committed state)."""
        session = self._sessions.get(threading.get_ident())
        if session is not None and session._con is not None:
            yield session._con
            return
        if not self.gpkg.exists():
            raise WorkspaceError(f"no workspace at {self.path} (missing {GPKG_NAME})")
        try:
            con = sqlite3.connect(f"{self.gpkg.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot open {self.gpkg}: {exc}") from None
        try:
            yield con
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.gpkg} is not a readable GeoPackage ({exc}). {_RECOVERY_HINT}") from None
        finally:
            con.close()

    def has_layer(self, name: str) -> bool:
        """Whether ``name`` is stored (``dem`` means the raster)."""
        if name == "dem":
            return self.dem_path.exists()
        return name in self.list_layers()

    def read_layer(
        self,
        name: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: str | None = None,
        columns: list[str] | None = None,
    ) -> gpd.GeoDataFrame:
        """Read a vector layer, optionally filtered by a Lambert-93 ``bbox`` (uses the spatial index; keeps
        the features whose envelope meets it) and an SQLite ``where`` expression.

        Raises
        ------
        foncier.errors.LayerNotFoundError
            When the layer is not in the workspace.
        """
        self._require(name)
        with self._reader() as con:
            frame = _gpkg.read_frame(con, name, bbox=bbox, where=where, columns=columns)
        if not isinstance(frame, gpd.GeoDataFrame):
            raise WorkspaceError(f"'{name}' is an attribute table, not a vector layer: use read_table")
        return _restore_kinds(name, frame)

    def read_table(self, name: str, *, where: str | None = None) -> pd.DataFrame:
        """Read an attribute (non-spatial) table as a DataFrame (``where``: an SQLite expression)."""
        self._require(name)
        with self._reader() as con:
            frame = _gpkg.read_frame(con, name, where=where, read_geometry=False)
        return pd.DataFrame(frame)

    def _require(self, name: str) -> None:
        if name not in self.list_layers():
            raise LayerNotFoundError(
                f"layer '{name}' is not in workspace {self.path}; stored: {', '.join(self.list_layers()) or 'nothing'}"
            )

    @property
    def metadata(self) -> dict[str, str]:
        """The workspace's metadata (territory, crs, synthetic, created, ...)."""
        if "metadata" not in self.list_layers():
            return {}
        table = self.read_table("metadata")
        return dict(zip(table["key"].astype(str), table["value"].astype(str), strict=True))

    @property
    def synthetic(self) -> bool:
        """True for the synthetic sample territory (every output must say so)."""
        return self.metadata.get("synthetic", "false") == "true"

    def provenance(self) -> pd.DataFrame:
        """The provenance table (one row per stored layer)."""
        if "provenance" not in self.list_layers():
            return pd.DataFrame(columns=list(PROVENANCE_COLUMNS))
        return self.read_table("provenance").sort_values("layer").reset_index(drop=True)

    def feature_count(self, name: str) -> int:
        """Number of features in a layer, from ``gpkg_ogr_contents`` (no full read)."""
        self._require(name)
        with self._reader() as con:
            return _gpkg.count_rows(con, name)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def lock(self, *, timeout: float | None = None) -> Iterator[None]:
        """Hold this workspace's writers' lock (see :func:`workspace_lock`)."""
        with workspace_lock(self.path, timeout=timeout if timeout is not None else self.lock_timeout):
            yield

    @contextlib.contextmanager
    def write_session(self) -> Iterator[WriteSession]:
        """The unit of work of every write: lock, stage, then ONE transaction (see :class:`WriteSession`).

        Under the workspace lock for the whole block (a read-compute-write cycle placed inside cannot
        interleave with another foncier writer). On entry, the file is checked (a corrupt workspace is
        refused, never written to) and what a killed writer left behind is removed (orphan ``foncier_tmp_*``
        tables, ``.foncier-*.gpkg``/``.dem-*.tif`` files). Sessions nest: an inner ``write_session`` (or a
        :meth:`write_layers`, :meth:`set_parcel_statuses`... call) inside an outer one of the same thread
        joins it and commits with it.

        Yields
        ------
        WriteSession

        Raises
        ------
        foncier.errors.WorkspaceError
            When the lock cannot be taken in time, the file is corrupt, or the commit fails (then nothing
            was changed).

        Examples
        --------
        >>> with ws.write_session() as s:  # doctest: +SKIP
        ...     scores = ws.read_table("scores")            # read under the lock
        ...     s.stage("scores", recompute(scores))        # GDAL writes a temporary table
        ...     s.add_provenance([Provenance("scores", "foncier score")])
        ...     s.connection.execute("UPDATE parcels SET status = 'sold' WHERE parcel_id = ?", ("02...",))
        ... # committed here, all or nothing
        """
        current = self._sessions.get(threading.get_ident())
        if current is not None:
            yield current
            return
        with self.lock():
            self._prepare_for_write()
            session = WriteSession(self)
            self._sessions[threading.get_ident()] = session
            try:
                yield session
                session._commit()
            except BaseException:
                session._abort()
                raise
            finally:
                self._sessions.pop(threading.get_ident(), None)
                session._close()

    def transaction(self) -> contextlib.AbstractContextManager[WriteSession]:
        """Alias of :meth:`write_session` (kept for older callers; it no longer yields a file copy)."""
        return self.write_session()

    def check(self, *, quick_check: bool = True) -> None:
        """Refuse a GeoPackage that is unreadable, truncated or fails ``PRAGMA quick_check``.

        Raises
        ------
        foncier.errors.WorkspaceError
            With what is wrong and how to recover.
        """
        if not self.gpkg.exists():
            return
        problem = _gpkg.check_file(self.gpkg, quick_check=quick_check)
        if problem is not None:
            raise WorkspaceError(f"workspace file {self.gpkg} {problem}: it looks corrupt. {_RECOVERY_HINT}")

    def _prepare_for_write(self) -> None:
        for leftover in [*self.path.glob(".foncier-*.gpkg"), *self.path.glob(".dem-*.tif")]:
            with contextlib.suppress(OSError):
                leftover.unlink()
                logger.info("removed %s, left by an interrupted write", leftover)
        if not self.gpkg.exists():
            return
        self.check(quick_check=not self._checked)
        self._checked = True
        con = _connect(self.gpkg)
        try:
            if _gpkg.staged_tables(con):
                con.execute("BEGIN IMMEDIATE")
                dropped = _gpkg.drop_orphans(con)
                con.execute("COMMIT")
                logger.info("dropped %d temporary table(s) left by an interrupted write: %s", len(dropped), dropped)
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot clean up {self.gpkg}: {exc}") from None
        finally:
            con.close()

    def write_layers(
        self,
        layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
        provenance: list[Provenance] | None = None,
    ) -> None:
        """Write several layers/tables at once, atomically, replacing those of the same names.

        Parameters
        ----------
        layers : mapping of name to GeoDataFrame or DataFrame
            Vector layers must be in Lambert-93; plain DataFrames become attribute tables.
        provenance : list of Provenance, optional
            Provenance records to upsert (by layer name) in the same transaction.

        Raises
        ------
        foncier.errors.WorkspaceError
            When a layer is not in Lambert-93 or GDAL cannot write; nothing is changed then.
        """
        for name, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame) and (frame.crs is None or frame.crs.to_epsg() != 2154):
                raise WorkspaceError(f"layer '{name}' must be in EPSG:2154 before it is stored (got {frame.crs})")
        with self.write_session() as session:
            for name, frame in layers.items():
                session.stage(name, frame)
            if provenance:
                session.add_provenance(provenance)

    def write_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Write attribute tables atomically (alias of :meth:`write_layers` for plain DataFrames)."""
        self.write_layers(tables)

    def delete_layers(self, names: list[str]) -> None:
        """Remove layers/tables atomically (missing names are ignored)."""
        if not self.gpkg.exists():
            return
        with self.write_session() as session:
            session.delete(names)

    def _merged_provenance(self, path: Path, records: list[Provenance]) -> pd.DataFrame:
        """Current provenance with ``records`` upserted (by layer), as one frame sorted by layer."""
        if path.exists() and "provenance" in self.list_layers():
            current = self.read_table("provenance")
        else:
            current = pd.DataFrame(columns=list(PROVENANCE_COLUMNS))
        new = pd.DataFrame([asdict(r) for r in records], columns=list(PROVENANCE_COLUMNS))
        new["retrieved"] = new["retrieved"].replace("", _now())
        kept = current[~current["layer"].isin(new["layer"])]
        merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
        merged["feature_count"] = pd.to_numeric(merged["feature_count"]).astype("int64")
        return merged.sort_values("layer").reset_index(drop=True)

    # ------------------------------------------------------------------ parcel statuses
    def _has_column(self, con: sqlite3.Connection, table: str, column: str) -> bool:
        return any(row[1] == column for row in con.execute(f'PRAGMA table_info("{table}")'))

    def statuses_digest(self, con: sqlite3.Connection | None = None) -> str:
        """SHA-256 of the parcels' (id, status) pairs: changes whenever a status is edited.

        ``con``: read through this connection (e.g. a session's, to see its uncommitted changes).
        """
        own = con is None
        if con is None:
            con = sqlite3.connect(f"file:{self.gpkg}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            if not self._has_column(con, "parcels", "status"):
                return ""
            digest = hashlib.sha256()
            for pid, status in con.execute(
                "SELECT parcel_id, status FROM parcels WHERE status IS NOT NULL ORDER BY parcel_id"
            ):
                digest.update(f"{pid}={status};".encode())
            return digest.hexdigest()
        finally:
            if own:
                con.close()

    def set_parcel_status(self, parcel_ids: list[str], status: str | None) -> int:
        """Give ``parcel_ids`` the availability ``status`` (atomically); returns how many parcels changed.

        See :meth:`set_parcel_statuses` (same checks: nothing is changed when an id is unknown).
        """
        return self.set_parcel_statuses(dict.fromkeys(parcel_ids, status))

    def set_parcel_statuses(self, mapping: Mapping[str, str | None]) -> int:
        """Set many parcels' availability statuses in one transaction, in place; returns how many changed.

        Parameters
        ----------
        mapping : mapping of str to str or None
            Parcel id -> new status (one of ``AVAILABILITY_STATUSES``, or None to clear it). Parcels whose
            status is already the given one are left alone (their ``status_date`` is kept).

        Returns
        -------
        int
            Number of parcels whose status changed.

        Raises
        ------
        foncier.errors.WorkspaceError
            When the workspace has no parcels.
        foncier.errors.ValidationError
            When a status is not an availability status (then nothing is changed).
        foncier.errors.NotFoundError
            When any id is not a parcel of the workspace (then nothing is changed).
        """
        from foncier.errors import NotFoundError, ValidationError
        from foncier.layers.schemas import AVAILABILITY_STATUSES

        bad = sorted({str(s) for s in mapping.values() if s is not None and s not in AVAILABILITY_STATUSES})
        if bad:
            raise ValidationError(
                [f"unknown status '{s}' (expected one of {', '.join(AVAILABILITY_STATUSES)})" for s in bad],
                title="invalid parcel statuses",
            )
        today = dt.date.today().isoformat()
        if not self.gpkg.exists():
            raise WorkspaceError(f"no workspace at {self.path}")
        with self.write_session() as session:
            con = session.connection
            tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
            if "parcels" not in tables:
                raise WorkspaceError(f"workspace {self.path} has no parcels layer")
            for column in ("status", "status_date"):
                if not self._has_column(con, "parcels", column):
                    con.execute(f'ALTER TABLE parcels ADD COLUMN "{column}" TEXT')
            con.execute("CREATE TEMP TABLE IF NOT EXISTS foncier_new_status (parcel_id TEXT PRIMARY KEY, status TEXT)")
            con.execute("DELETE FROM foncier_new_status")
            con.executemany("INSERT OR REPLACE INTO foncier_new_status VALUES (?, ?)", list(mapping.items()))
            missing = [r[0] for r in con.execute(
                "SELECT n.parcel_id FROM foncier_new_status n WHERE NOT EXISTS (SELECT 1 FROM parcels p "
                "WHERE p.parcel_id = n.parcel_id) ORDER BY n.parcel_id LIMIT 11")]  # fmt: skip
            if missing:
                raise NotFoundError(
                    f"no parcel {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} in workspace {self.path}"
                )
            cur = con.execute(
                "UPDATE parcels SET status = n.status, status_date = ? FROM foncier_new_status n "
                "WHERE parcels.parcel_id = n.parcel_id AND parcels.status IS NOT n.status",
                [today],
            )
            changed = int(cur.rowcount)
            con.execute("DROP TABLE foncier_new_status")
            return changed

    # ------------------------------------------------------------------ raster
    def write_dem(
        self, array: np.ndarray, transform: Any, *, crs: str = LAMBERT93, provenance: Provenance | None = None
    ) -> None:
        """Store the DEM as a tiled, compressed GeoTIFF beside the GeoPackage (atomically: written to a
        temporary file, then renamed; the DEM is a file of its own, the GeoPackage is never copied)."""
        import rasterio

        if array.ndim != 2:
            raise WorkspaceError(f"the DEM must be a 2-D array, got shape {array.shape}")
        data = np.where(np.isfinite(array), array, DEM_NODATA).astype("float32")
        with self.write_session() as session:
            fd, tmp_name = tempfile.mkstemp(prefix=".dem-", suffix=".tif", dir=self.path)
            os.close(fd)
            os.chmod(tmp_name, _default_file_mode())
            try:
                profile = {
                    "driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1,
                    "dtype": "float32", "crs": crs, "transform": transform, "nodata": DEM_NODATA,
                    "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
                }  # fmt: skip
                with rasterio.open(tmp_name, "w", **profile) as dst:
                    dst.write(data, 1)
                with open(tmp_name, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(tmp_name, self.dem_path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
            if provenance is not None:
                session.add_provenance([provenance])

    def read_dem(self) -> tuple[np.ndarray, Any]:
        """Return the DEM as (float32 array with NaN for nodata, affine transform)."""
        import rasterio

        if not self.dem_path.exists():
            raise LayerNotFoundError(f"no DEM in workspace {self.path} (expected {DEM_NAME})")
        with rasterio.open(self.dem_path) as src:
            data = src.read(1, masked=True).astype("float32").filled(np.nan)
            return data, src.transform

    def summary(self) -> pd.DataFrame:
        """One row per stored layer/table with its feature count and geometry type."""
        rows = []
        if self.gpkg.exists():
            with self._reader() as con:
                for name, geom_type in _gpkg.list_tables(con):
                    kind = _GEOMETRY_NAMES.get(str(geom_type).upper(), str(geom_type)) if geom_type else "table"
                    rows.append({"layer": name, "features": _gpkg.count_rows(con, name), "geometry": kind})
        if self.dem_path.exists():
            import rasterio

            with rasterio.open(self.dem_path) as src:
                raster = f"raster {src.res[0]:g} m"
                rows.append({"layer": "dem", "features": src.width * src.height, "geometry": raster})
        return pd.DataFrame(rows, columns=["layer", "features", "geometry"])


class WriteSession:
    """One unit of work on a workspace, under its lock, committed in ONE SQLite transaction.

    Obtain it from :meth:`Workspace.write_session` (never build it directly). Inside the block:

    - :meth:`stage` writes a layer or table under a temporary name (``foncier_tmp_*``) and swaps it in
      with its registrations, inside the session's transaction (other readers see it at the commit);
    - :meth:`delete` drops layers; :meth:`add_provenance` and :meth:`set_metadata` upsert rows;
    - :attr:`connection` is the session's read-write :class:`sqlite3.Connection`, inside its transaction
      (``BEGIN IMMEDIATE``; GeoPackage SQL functions registered): run any SQL there (UPDATE statuses,
      INSERT rows...). The workspace's own readers (``read_table``...) called in the same thread read
      through it, so they see the session's changes.

    When the block ends without an exception the transaction commits: all or nothing. On an exception (or a
    kill) nothing visible changes.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._staged: dict[str, str] = {}
        self._con: sqlite3.Connection | None = None

    # ---------------------------------------------------------------- building the unit of work
    def stage(self, name: str, frame: gpd.GeoDataFrame | pd.DataFrame) -> None:
        """Write ``frame`` now under a temporary name; it replaces layer ``name`` at commit.

        Raises
        ------
        foncier.errors.WorkspaceError
            When the frame is not in Lambert-93, the name is reserved or SQLite cannot write.
        """
        if _gpkg.is_temporary(name) or not name or name.lower().startswith(("gpkg_", "rtree_", "sqlite_")):
            raise WorkspaceError(f"'{name}' is not a valid layer name")
        if isinstance(frame, gpd.GeoDataFrame) and (frame.crs is None or frame.crs.to_epsg() != 2154):
            raise WorkspaceError(f"layer '{name}' must be in EPSG:2154 before it is stored (got {frame.crs})")
        frame, personal = drop_personal(frame)
        if personal:
            logger.warning("layer '%s': personal columns not stored: %s", name, ", ".join(personal))
        con = self.connection
        tmp = f"{_gpkg.TEMP_PREFIX}{secrets.token_hex(4)}_{name}"
        try:
            con.execute("SAVEPOINT foncier_stage")
            _gpkg.write_table(con, tmp, _prepare_for_gpkg(frame))
            _gpkg.swap_in(con, tmp, name)  # inside the session's transaction: others see it at commit
            con.execute("RELEASE foncier_stage")
        except (sqlite3.Error, ValueError, TypeError) as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK TO foncier_stage")
                con.execute("RELEASE foncier_stage")
            raise WorkspaceError(f"cannot write layer '{name}': {exc}") from None
        self._staged[name] = tmp

    def delete(self, names: Sequence[str]) -> None:
        """Drop these layers/tables (visible to others at commit; missing names are ignored)."""
        try:
            for name in names:
                _gpkg.drop_table(self.connection, name)
                self._staged.pop(name, None)
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot delete {', '.join(names)}: {exc}") from None

    def add_provenance(self, records: Sequence[Provenance]) -> None:
        """Upsert these provenance records (by layer name; visible to others at commit)."""
        if "provenance" in self._staged:
            raise WorkspaceError("provenance is both staged as a table and upserted: use one or the other")
        try:
            _upsert_provenance(self.connection, list(records))
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot record provenance: {exc}") from None

    def set_metadata(self, values: Mapping[str, str]) -> None:
        """Upsert these metadata keys (other keys are kept; visible to others at commit)."""
        try:
            _upsert_keys(self.connection, "metadata", {str(k): str(v) for k, v in values.items()})
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot write metadata: {exc}") from None

    @property
    def connection(self) -> sqlite3.Connection:
        """The session's read-write connection, inside its transaction (opened on first use; creates the
        GeoPackage of a new workspace)."""
        if self._con is None:
            new = not self.ws.gpkg.exists()
            try:
                con = _connect(self.ws.gpkg)
            except sqlite3.Error as exc:
                raise WorkspaceError(f"cannot open {self.ws.gpkg} for writing: {exc}") from None
            try:
                if new:
                    os.chmod(self.ws.gpkg, _default_file_mode())
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
                _gpkg.ensure_geopackage(con)
            except (sqlite3.Error, OSError) as exc:
                con.close()
                raise WorkspaceError(f"cannot start a write transaction on {self.ws.gpkg}: {exc}") from None
            self._con = con
        return self._con

    # ---------------------------------------------------------------- commit / abort
    def _commit(self) -> None:
        if self._con is None:
            return
        con = self._con
        try:
            con.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise WorkspaceError(f"cannot commit the write to {self.ws.gpkg}: {exc}; nothing was changed") from None
        self._staged.clear()
        with contextlib.suppress(sqlite3.Error):  # keep foncier.gpkg self-contained (people copy the file alone)
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        logger.debug("committed a write session on %s", self.ws.gpkg)

    def _abort(self) -> None:
        if self._con is not None:
            with contextlib.suppress(sqlite3.Error):
                self._con.execute("ROLLBACK")
        self._staged.clear()
        self._close()

    def _close(self) -> None:
        if self._con is not None:
            with contextlib.suppress(sqlite3.Error):
                self._con.close()
            self._con = None


def _upsert_provenance(con: sqlite3.Connection, records: list[Provenance]) -> None:
    rows = []
    for r in records:
        row = asdict(r)
        row["retrieved"] = row["retrieved"] or _now()
        row["feature_count"] = int(row["feature_count"])
        rows.append(row)
    _ensure_attributes_table(con, "provenance", _PROVENANCE_TYPES)
    con.executemany("DELETE FROM provenance WHERE layer = ?", [(r["layer"],) for r in rows])
    cols = ", ".join(f'"{c}"' for c in PROVENANCE_COLUMNS)
    con.executemany(f"INSERT INTO provenance ({cols}) VALUES ({', '.join('?' * len(PROVENANCE_COLUMNS))})",
                    [tuple(r[c] for c in PROVENANCE_COLUMNS) for r in rows])  # fmt: skip


def _upsert_keys(con: sqlite3.Connection, table: str, values: Mapping[str, str]) -> None:
    _ensure_attributes_table(con, table, {"key": "TEXT", "value": "TEXT"})
    con.executemany(f'DELETE FROM "{table}" WHERE "key" = ?', [(k,) for k in values])
    con.executemany(f'INSERT INTO "{table}" ("key", "value") VALUES (?, ?)', list(values.items()))


def _ensure_attributes_table(con: sqlite3.Connection, name: str, columns: Mapping[str, str]) -> None:
    """Create attribute table ``name`` (GeoPackage-registered, GDAL-style feature count) when missing; add
    missing columns when present."""
    exists = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    q = _gpkg.quote(name)
    if exists:
        present = {r[1] for r in con.execute(f"PRAGMA table_info({q})")}
        for col, kind in columns.items():
            if col not in present:
                con.execute(f"ALTER TABLE {q} ADD COLUMN {_gpkg.quote(col)} {kind}")
        return
    cols = ", ".join(f"{_gpkg.quote(c)} {k}" for c, k in columns.items())
    con.execute(f"CREATE TABLE {q} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {cols})")
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
        "VALUES (?, 'attributes', ?, '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        (name, name),
    )
    has_counts = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_ogr_contents'").fetchone()
    if has_counts:
        con.execute("INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?, 0)", (name,))
        lit = name.replace("'", "''")
        for event, sign in (("insert", "+"), ("delete", "-")):
            con.execute(
                f'CREATE TRIGGER "trigger_{event}_feature_count_{name}" AFTER {event.upper()} ON {q} BEGIN '
                f"UPDATE gpkg_ogr_contents SET feature_count = feature_count {sign} 1 "
                f"WHERE lower(table_name) = lower('{lit}'); END"
            )

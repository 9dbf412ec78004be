"""The API's read layer: the workspace GeoPackage read directly with sqlite3, O(page) per request.

Why not GDAL per request: opening a datasource, listing its layers and building OGR features costs
milliseconds before the first row; here a thread keeps one read-only SQLite connection and each query is a
few index probes.

- Spatial filters go through the GeoPackage R-tree (``rtree_<table>_<geom>``), joined on the rowid, then an
  exact shapely test on the page's candidates; no ``ORDER BY`` on bbox queries, so SQLite stops after
  ``offset + limit`` hits (the R-tree's traversal order is stable for a given file).
- Unfiltered paging walks the rowid: when the fids are dense (1..N, the usual case after a GDAL write)
  ``offset`` becomes ``fid > offset``, one B-tree probe.
- Feature counts come from ``gpkg_ogr_contents`` (GDAL keeps it up to date), never from ``COUNT(*)``.
- Lookups by id use indexes on the id columns (``parcels.parcel_id``, ``sites.site_id``, ...), created once
  when the store is opened (:meth:`GeoPackageStore.prepare`, under the workspace's writer lock); a read-only
  workspace gets an in-memory id -> fid map instead, built once.
- Geometry blobs are GeoPackage binary (a small header, then WKB) decoded with :func:`shapely.from_wkb`.
- Concurrency design (one rule: no lock is ever held while calling back into the store). The workspace is
  written in place in SQLite WAL mode, so readers never wait for a writer and always see a committed state.
  The store's metadata (:class:`Snapshot`: layers, metadata, id/value maps) is an immutable-by-convention
  object keyed on the file's version (inode, size and mtime of ``foncier.gpkg`` and of its ``-wal``); a
  request that sees a new version builds a new snapshot and swaps it in with one assignment (lock-free;
  two threads may build the same snapshot, never block each other). Id and value maps are filled with
  ``dict.setdefault`` on the snapshot they belong to.
- Connections: a bounded pool of read-only connections, one per live worker thread at most
  (:data:`MAX_CONNECTIONS`); connections of threads that ended are closed as soon as a new one is needed,
  never left to the garbage collector. Each connection is small (8 MB page cache, the file memory-mapped
  and shared by all).
- GDAL is never used on the workspace file in the API process (it links its own SQLite, whose locks would
  clobber these connections'): everything goes through :mod:`sqlite3`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from foncier.errors import LayerNotFoundError, WorkspaceError
from foncier.layers.gpkg import SERVING_INDEXES, create_serving_indexes, decode_geometries, gpkg_blob_to_wkb, quote
from foncier.layers.gpkg import is_temporary as _is_temporary
from foncier.layers.privacy import public_columns
from foncier.layers.workspace import GPKG_NAME, workspace_lock

logger = logging.getLogger(__name__)

#: Id column of the feature layers served by id.
ID_COLUMNS = {"parcels": "parcel_id", "sites": "site_id", "zones": "zone_id", "friches": "site_id"}

_LOCK_WAIT_S = 10.0
#: Most read-only connections open at once (one per live worker thread; the API's thread pool is bounded).
MAX_CONNECTIONS = 64
__all__ = ["SERVING_INDEXES", "GeoPackageStore", "LayerInfo", "decode_geometries", "gpkg_blob_to_wkb", "quote"]


@dataclass(frozen=True)
class LayerInfo:
    """What the store knows of one table of the GeoPackage.

    Attributes
    ----------
    name : str
        Table name.
    data_type : str
        ``features`` or ``attributes``.
    fid_column : str
        The integer primary key.
    geometry_column : str or None
        Geometry column of a feature table.
    geometry_type : str or None
        Declared geometry type (``POLYGON``, ``MULTIPOLYGON``...).
    srs_id : int or None
        EPSG code of the geometries.
    columns : tuple of str
        Attribute columns (without fid and geometry).
    column_types : dict
        Declared SQLite type of each attribute column.
    feature_count : int or None
        From ``gpkg_ogr_contents`` (None when unknown).
    bounds : tuple or None
        Extent in the layer's CRS, from ``gpkg_contents``.
    rtree : str or None
        Name of the R-tree table.
    dense_fids : bool
        Whether the fids are exactly 1..feature_count (offset paging is then a key probe).
    indexed : frozenset of tuple
        Column groups starting an index of the table.
    title, description : str
        From ``gpkg_contents``.
    """

    name: str
    data_type: str
    fid_column: str
    geometry_column: str | None
    geometry_type: str | None
    srs_id: int | None
    columns: tuple[str, ...]
    column_types: dict[str, str]
    feature_count: int | None
    bounds: tuple[float, float, float, float] | None
    rtree: str | None
    dense_fids: bool
    indexed: frozenset[tuple[str, ...]] = field(default_factory=frozenset)
    title: str = ""
    description: str = ""

    def has_index(self, *columns: str) -> bool:
        """Whether an index starts with ``columns``."""
        return any(idx[: len(columns)] == columns for idx in self.indexed)


@dataclass
class Feature:
    """One row of a layer: fid, geometry (layer CRS, may be None) and attributes."""

    fid: int
    geometry: BaseGeometry | None
    properties: dict[str, Any]


@dataclass
class Page:
    """A page of features and whether more follow."""

    features: list[Feature]
    has_more: bool


@dataclass
class Snapshot:
    """Metadata of one version of the GeoPackage file."""

    key: tuple[int, ...]
    layers: dict[str, LayerInfo]
    metadata: dict[str, str]
    id_maps: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def synthetic(self) -> bool:
        """True for the synthetic sample territory."""
        return self.metadata.get("synthetic", "false") == "true"


class _ConnectionPool:
    """Read-only connections, at most one per live thread, closed when their thread ends (bounded)."""

    def __init__(self, opener: Callable[[], sqlite3.Connection], limit: int) -> None:
        self._opener = opener
        self._limit = limit
        self._cons: dict[int, tuple[threading.Thread, sqlite3.Connection, int]] = {}
        self._guard = threading.Lock()  # only around dict updates: never held while opening or querying

    def get(self, inode: int) -> sqlite3.Connection:
        me = threading.current_thread()
        entry = self._cons.get(me.ident or 0)
        if entry is not None and entry[0] is me and entry[2] == inode:
            return entry[1]
        con = self._opener()
        with self._guard:
            old = self._cons.pop(me.ident or 0, None)
            stale = [k for k, (t, _, _) in self._cons.items() if not t.is_alive()]
            closing = [self._cons.pop(k)[1] for k in stale]
            if len(self._cons) >= self._limit:
                raise WorkspaceError(f"too many concurrent readers ({len(self._cons)}); try again")
            self._cons[me.ident or 0] = (me, con, inode)
        for c in [*closing, *([old[1]] if old else [])]:
            with contextlib.suppress(sqlite3.Error):
                c.close()
        return con

    def size(self) -> int:
        """Open connections."""
        return len(self._cons)

    def close_all(self) -> None:
        """Close every connection (the store is being shut down)."""
        with self._guard:
            entries, self._cons = list(self._cons.values()), {}
        for _, con, _ in entries:
            with contextlib.suppress(sqlite3.Error):
                con.close()


class GeoPackageStore:
    """Fast read access to a workspace GeoPackage for the API.

    Parameters
    ----------
    workspace : str or Path
        Workspace directory (holding ``foncier.gpkg``).
    prepare : bool
        Create the serving indexes when missing (see :meth:`prepare`).

    Raises
    ------
    foncier.errors.WorkspaceError
        When there is no readable GeoPackage in ``workspace``.
    """

    def __init__(self, workspace: str | Path, *, prepare: bool = True) -> None:
        self.workspace = Path(workspace)
        self.path = self.workspace / GPKG_NAME
        if not self.path.is_file():
            raise WorkspaceError(
                f"no workspace at {self.workspace} (missing {GPKG_NAME}); create one with "
                f"'foncier demo --workspace {self.workspace}'"
            )
        self._pool = _ConnectionPool(self._open, MAX_CONNECTIONS)
        self._transformers: dict[tuple[str, str, int], Transformer] = {}
        self._snapshot: Snapshot | None = None
        self.index_status = "not prepared"
        if prepare:
            self.prepare()
        self.snapshot()

    # ------------------------------------------------------------------ file and connections
    def _file_key(self) -> tuple[int, ...]:
        """The file's version: inode, size, mtime of ``foncier.gpkg`` and of its ``-wal`` (every commit in WAL
        mode changes the latter; a checkpoint the former)."""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise WorkspaceError(f"workspace GeoPackage {self.path} is not readable: {exc.strerror}") from None
        try:
            wal = os.stat(f"{self.path}-wal")
            wal_key = (wal.st_size, wal.st_mtime_ns)
        except OSError:
            wal_key = (0, 0)
        return (st.st_ino, st.st_size, st.st_mtime_ns, *wal_key)

    def _open(self) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            con = sqlite3.connect(uri, uri=True, check_same_thread=False, cached_statements=128, timeout=5)
            con.execute("PRAGMA query_only = 1")
            con.execute("PRAGMA cache_size = -8192")
            con.execute("PRAGMA mmap_size = 268435456")
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot open {self.path} read-only: {exc}") from None
        return con

    def connection(self) -> sqlite3.Connection:
        """This thread's read-only connection (from the bounded pool; reopened when the file was replaced)."""
        return self._pool.get(self.snapshot().key[0])

    def open_connections(self) -> int:
        """How many read-only connections are open (bounded by the live worker threads)."""
        return self._pool.size()

    def close(self) -> None:
        """Close every connection (server shutdown)."""
        self._pool.close_all()

    def file_version(self) -> tuple[int, ...] | None:
        """The file's version key (None when the file cannot be stat'ed)."""
        try:
            return self._file_key()
        except WorkspaceError:
            return None

    @property
    def current(self) -> Snapshot | None:
        """The last snapshot built, without touching the file (for ``/health``: never blocks)."""
        return self._snapshot

    def snapshot(self) -> Snapshot:
        """Metadata of the current file version (rebuilt, lock-free, when the file changed since the last call)."""
        key = self._file_key()
        snap = self._snapshot
        if snap is not None and snap.key == key:
            return snap
        if snap is not None:
            logger.info("workspace %s changed on disk; reloading its metadata", self.path)
        con = self._open()
        try:
            con.execute("BEGIN")  # one read transaction: layers and metadata of the same committed state
            fresh = Snapshot(key=key, layers=_read_layers(con), metadata=_read_metadata(con))
        except sqlite3.DatabaseError as exc:
            raise WorkspaceError(f"{self.path} is not a readable GeoPackage: {exc}") from None
        finally:
            con.close()
        current = self._snapshot
        if current is None or current.key != key:
            self._snapshot = fresh  # one assignment: readers see the old or the new snapshot, whole
        return fresh

    def prepare(self) -> str:
        """Create the serving indexes that are missing, once, under the workspace's writer lock.

        The index creation is one SQLite transaction on the file in place (readers keep a consistent view;
        a writer of the workspace waits for the lock). A read-only workspace is served without them: id
        lookups then use an in-memory map built once per file version.

        Returns
        -------
        str
            What was done ("created N index(es)", "indexes present", or why nothing could be done).
        """
        con = self._open()
        try:
            layers = _read_layers(con)
        finally:
            con.close()
        wanted: list[tuple[str, tuple[str, ...]]] = []
        for table, groups in SERVING_INDEXES.items():
            info = layers.get(table)
            if info is None:
                continue
            for cols in groups:
                if all(c in info.columns for c in cols) and not info.has_index(*cols):
                    wanted.append((table, cols))
        if not wanted:
            self.index_status = "indexes present"
            return self.index_status
        try:
            with workspace_lock(self.workspace, timeout=_LOCK_WAIT_S):
                rw = sqlite3.connect(self.path, timeout=_LOCK_WAIT_S, isolation_level=None)
                try:
                    rw.execute("BEGIN IMMEDIATE")
                    columns_of = {t: layers[t].columns for t, _ in wanted}
                    create_serving_indexes(rw, columns_of)
                    rw.execute("COMMIT")
                finally:
                    rw.close()
        except (OSError, sqlite3.Error) as exc:
            self.index_status = f"read-only workspace, indexes not created ({exc})"
            logger.warning("cannot create serving indexes in %s: %s; id lookups use in-memory maps", self.path, exc)
            return self.index_status
        self.index_status = f"created {len(wanted)} index(es)"
        logger.info("%s in %s: %s", self.index_status, self.path, ", ".join(f"{t}({', '.join(c)})" for t, c in wanted))
        return self.index_status

    # ------------------------------------------------------------------ metadata
    @property
    def metadata(self) -> dict[str, str]:
        """The workspace's metadata table."""
        return self.snapshot().metadata

    @property
    def synthetic(self) -> bool:
        """True for the synthetic sample territory."""
        return self.snapshot().synthetic

    def layers(self) -> dict[str, LayerInfo]:
        """Every table of the GeoPackage, by name."""
        return self.snapshot().layers

    def has(self, name: str) -> bool:
        """Whether the table ``name`` is stored."""
        return name in self.snapshot().layers

    def layer(self, name: str) -> LayerInfo:
        """The table ``name``.

        Raises
        ------
        foncier.errors.LayerNotFoundError
            When it is not in the workspace.
        """
        info = self.snapshot().layers.get(name)
        if info is None:
            raise LayerNotFoundError(
                f"layer '{name}' is not in the workspace"
                + (" (run the scoring pipeline: 'foncier demo' or 'foncier score')" if name in _DERIVED else "")
            )
        return info

    # ------------------------------------------------------------------ CRS helpers
    def transformer(self, src: str, dst: str) -> Transformer:
        """A cached pyproj transformer with x/y = lon/lat order (per thread: pyproj objects are not shared)."""
        key = (src, dst, threading.get_ident())
        tr = self._transformers.get(key)
        if tr is None:
            tr = Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)
            if len(self._transformers) > 4 * MAX_CONNECTIONS:
                self._transformers.clear()
            self._transformers[key] = tr
        return tr

    def to_crs(self, geoms: np.ndarray, src: str, dst: str, *, decimals: int | None = None) -> np.ndarray:
        """Transform an array of geometries (vectorised over all their coordinates)."""
        if src == dst or len(geoms) == 0:
            return geoms
        tr = self.transformer(src, dst)

        def _apply(coords: np.ndarray) -> np.ndarray:
            x, y = tr.transform(coords[:, 0], coords[:, 1])
            out = np.column_stack([x, y])
            return np.round(out, decimals) if decimals is not None else out

        return np.asarray(shapely.transform(geoms, _apply), dtype=object)

    # ------------------------------------------------------------------ queries
    def _select(self, info: LayerInfo, columns: Sequence[str] | None, alias: str = "t") -> tuple[str, list[str]]:
        cols = list(info.columns if columns is None else [c for c in columns if c in info.columns])
        parts = [f"{alias}.{quote(info.fid_column)}"]
        if info.geometry_column:
            parts.append(f"{alias}.{quote(info.geometry_column)}")
        parts += [f"{alias}.{quote(c)}" for c in cols]
        return ", ".join(parts), cols

    def _rows_to_features(self, info: LayerInfo, cols: list[str], rows: Sequence[tuple[Any, ...]]) -> list[Feature]:
        if info.geometry_column:
            geoms = decode_geometries([r[1] for r in rows])
            return [Feature(int(r[0]), g, dict(zip(cols, r[2:], strict=True)))
                    for r, g in zip(rows, geoms, strict=True)]  # fmt: skip
        return [Feature(int(r[0]), None, dict(zip(cols, r[1:], strict=True))) for r in rows]

    def query(
        self,
        name: str,
        *,
        envelope: tuple[float, float, float, float] | None = None,
        geometry: BaseGeometry | None = None,
        equals: dict[str, Any] | None = None,
        limit: int,
        offset: int = 0,
        columns: Sequence[str] | None = None,
        exact: bool = True,
    ) -> Page:
        """A page of features of layer ``name``.

        Parameters
        ----------
        name : str
            Layer name.
        envelope : tuple, optional
            (minx, miny, maxx, maxy) in the layer's CRS: R-tree filter.
        geometry : shapely geometry, optional
            In the layer's CRS: only features intersecting it are kept (``envelope`` defaults to its bounds).
        equals : dict, optional
            Column -> value equality filters (use indexed columns).
        limit, offset : int
            Page size and number of matching features skipped.
        columns : sequence of str, optional
            Attribute columns to read (all by default).
        exact : bool
            Test the geometries against the filter; False keeps every R-tree (envelope) candidate.

        Returns
        -------
        Page
        """
        info = self.layer(name)
        con = self.connection()
        sel, cols = self._select(info, columns)
        where: list[str] = []
        params: list[Any] = []
        for col, value in (equals or {}).items():
            if col not in info.columns:
                raise LayerNotFoundError(f"layer '{name}' has no column '{col}'")
            where.append(f"t.{quote(col)} = ?")
            params.append(value)
        if geometry is not None and envelope is None:
            x0, y0, x1, y1 = (float(v) for v in shapely.bounds(geometry))
            envelope = (x0, y0, x1, y1)
        if envelope is not None and info.geometry_column:
            return self._spatial_page(info, con, sel, cols, where, params, envelope, geometry, limit, offset, exact)
        # attribute / unfiltered paging in fid order
        fid = f"t.{quote(info.fid_column)}"
        if not where and info.dense_fids:
            where.append(f"{fid} > ?")
            params.append(offset)
            offset_sql = ""
        else:
            offset_sql = f" OFFSET {int(offset)}"
        sql = f"SELECT {sel} FROM {quote(name)} t"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {fid} LIMIT {int(limit) + 1}{offset_sql}"
        rows = con.execute(sql, params).fetchall()
        feats = self._rows_to_features(info, cols, rows[:limit])
        return Page(feats, len(rows) > limit)

    def _spatial_page(
        self,
        info: LayerInfo,
        con: sqlite3.Connection,
        sel: str,
        cols: list[str],
        where: list[str],
        params: list[Any],
        envelope: tuple[float, float, float, float],
        geometry: BaseGeometry | None,
        limit: int,
        offset: int,
        exact: bool = True,
    ) -> Page:
        minx, miny, maxx, maxy = envelope
        if info.rtree is not None:
            sql = (f"SELECT {sel} FROM {quote(info.rtree)} r CROSS JOIN {quote(info.name)} t "
                   f"ON t.{quote(info.fid_column)} = r.id "
                   "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ?")  # fmt: skip
            all_params = [maxx, minx, maxy, miny, *params]
        else:  # no spatial index (should not happen with GDAL-written files): exact test on every row
            sql = f"SELECT {sel} FROM {quote(info.name)} t WHERE 1"
            all_params = list(params)
            if geometry is None:
                geometry = shapely.box(minx, miny, maxx, maxy)
        if where:
            sql += " AND " + " AND ".join(where)
        test = geometry if geometry is not None else shapely.box(minx, miny, maxx, maxy)
        shapely.prepare(test)
        cur = con.execute(sql, all_params)
        if not exact and info.rtree is not None:
            rows = cur.fetchmany(offset + limit + 1)[offset:]
            return Page(self._rows_to_features(info, cols, rows[:limit]), len(rows) > limit)
        kept: list[Feature] = []
        skipped = 0
        batch = max(64, min(2 * (limit + 1), 2048))
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                break
            feats = self._rows_to_features(info, cols, rows)
            geoms = np.asarray([f.geometry for f in feats], dtype=object)
            hit = shapely.intersects(test, geoms)
            for f, ok in zip(feats, hit, strict=True):
                if not ok:
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                kept.append(f)
                if len(kept) > limit:
                    cur.close()
                    return Page(kept[:limit], True)
        return Page(kept, False)

    def envelope_columns(
        self, name: str, envelope: tuple[float, float, float, float], *, columns: Sequence[str], limit: int
    ) -> tuple[np.ndarray, np.ndarray, dict[str, list[Any]], bool]:
        """R-tree candidates of ``envelope`` as columns, for bulk consumers (vector tiles).

        Returns
        -------
        fids : numpy.ndarray of int64
        geometries : numpy.ndarray of shapely geometries (layer CRS)
        columns : dict of column name to list of values
        truncated : bool
            Whether more than ``limit`` candidates exist.
        """
        info = self.layer(name)
        if info.rtree is None or info.geometry_column is None:
            page = self.query(name, envelope=envelope, limit=limit, columns=columns, exact=False)
            cols = [c for c in columns if c in info.columns]
            return (np.asarray([f.fid for f in page.features], dtype=np.int64),
                    np.asarray([f.geometry for f in page.features], dtype=object),
                    {c: [f.properties.get(c) for f in page.features] for c in cols}, page.has_more)  # fmt: skip
        sel, cols = self._select(info, columns)
        sql = (f"SELECT {sel} FROM {quote(info.rtree)} r CROSS JOIN {quote(name)} t "
               f"ON t.{quote(info.fid_column)} = r.id "
               f"WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ? LIMIT {int(limit) + 1}")  # fmt: skip
        minx, miny, maxx, maxy = envelope
        rows = self.connection().execute(sql, (maxx, minx, maxy, miny)).fetchall()
        truncated = len(rows) > limit
        rows = rows[:limit]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), {c: [] for c in cols}, False
        fids, blobs, *values = zip(*rows, strict=True)
        return (np.asarray(fids, dtype=np.int64), decode_geometries(blobs),
                {c: list(v) for c, v in zip(cols, values, strict=True)}, truncated)  # fmt: skip

    def get(self, name: str, value: Any, *, column: str | None = None) -> Feature | None:
        """The feature whose ``column`` (the layer's id column by default) equals ``value``, or None."""
        info = self.layer(name)
        column = column or ID_COLUMNS.get(name)
        if column is None or column not in info.columns:
            raise LayerNotFoundError(f"layer '{name}' has no id column")
        con = self.connection()
        sel, cols = self._select(info, None)
        if info.has_index(column):
            row = con.execute(f"SELECT {sel} FROM {quote(name)} t WHERE t.{quote(column)} = ? LIMIT 1",
                              (value,)).fetchone()  # fmt: skip
        else:
            fid = self._id_map(info, column).get(str(value))
            if fid is None:
                return None
            row = con.execute(f"SELECT {sel} FROM {quote(name)} t WHERE t.{quote(info.fid_column)} = ?",
                              (fid,)).fetchone()  # fmt: skip
        if row is None:
            return None
        return self._rows_to_features(info, cols, [row])[0]

    def _id_map(self, info: LayerInfo, column: str) -> dict[str, int]:
        snap = self.snapshot()
        key = f"{info.name}.{column}"
        mapping = snap.id_maps.get(key)
        if mapping is None:  # no lock: two threads may both build it; setdefault keeps one
            t0 = time.perf_counter()
            rows = (
                self.connection()
                .execute(f"SELECT {quote(column)}, {quote(info.fid_column)} FROM {quote(info.name)}")
                .fetchall()
            )
            mapping = snap.id_maps.setdefault(key, {str(v): int(f) for v, f in rows if v is not None})
            logger.info("built id map of %s (%d ids, %.0f ms): no index on %s",
                        info.name, len(mapping), 1000 * (time.perf_counter() - t0), column)  # fmt: skip
        return mapping

    def value_map(self, name: str, key_column: str, value_column: str) -> dict[str, Any]:
        """``{key: value}`` of two columns of a table, read once per file version (e.g. parcel -> zoning)."""
        snap = self.snapshot()
        cache_key = f"{name}.{key_column}->{value_column}"
        mapping = snap.id_maps.get(cache_key)
        if mapping is None:  # no lock (see _id_map)
            self.layer(name)
            rows = (
                self.connection()
                .execute(f"SELECT {quote(key_column)}, {quote(value_column)} FROM {quote(name)}")
                .fetchall()
            )
            mapping = snap.id_maps.setdefault(cache_key, {str(k): v for k, v in rows if k is not None})
        return mapping

    def rows(self, name: str, *, equals: dict[str, Any], limit: int = 10_000,
             order_by: Sequence[str] = ()) -> list[dict[str, Any]]:  # fmt: skip
        """Rows of an attribute table matching ``equals`` (use indexed columns), as dicts."""
        info = self.layer(name)
        for col in (*equals, *order_by):
            if col not in info.columns:
                raise LayerNotFoundError(f"table '{name}' has no column '{col}'")
        sql = f"SELECT {', '.join(quote(c) for c in info.columns)} FROM {quote(name)}"
        if equals:
            sql += " WHERE " + " AND ".join(f"{quote(c)} = ?" for c in equals)
        if order_by:
            sql += " ORDER BY " + ", ".join(quote(c) for c in order_by)
        sql += f" LIMIT {int(limit)}"
        cur = self.connection().execute(sql, list(equals.values()))
        return [dict(zip(info.columns, r, strict=True)) for r in cur.fetchall()]

    def distinct_values(self, name: str, column: str, *, limit: int = 1000) -> list[Any]:
        """Distinct values of ``column`` (uses its index when there is one)."""
        info = self.layer(name)
        if column not in info.columns:
            raise LayerNotFoundError(f"table '{name}' has no column '{column}'")
        cur = self.connection().execute(
            f"SELECT DISTINCT {quote(column)} FROM {quote(name)} ORDER BY 1 LIMIT {int(limit)}"
        )
        return [r[0] for r in cur.fetchall()]

    def iter_intersecting(
        self, name: str, geometry: BaseGeometry, *, columns: Sequence[str] | None = None, limit: int = 10_000
    ) -> Iterator[Feature]:
        """Features of ``name`` intersecting ``geometry`` (layer CRS), at most ``limit``."""
        page = self.query(name, geometry=geometry, limit=limit, columns=columns)
        yield from page.features


_DERIVED = {"sites", "site_parcels", "criteria", "scores", "score_breakdown", "isochrones"}


def _read_metadata(con: sqlite3.Connection) -> dict[str, str]:
    try:
        rows = con.execute('SELECT "key", "value" FROM "metadata"').fetchall()
    except sqlite3.OperationalError:
        return {}
    return {str(k): str(v) for k, v in rows if k is not None}


def _read_layers(con: sqlite3.Connection) -> dict[str, LayerInfo]:
    contents = con.execute(
        "SELECT table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents"
    ).fetchall()
    geom_cols = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
        "SELECT table_name, column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns")}  # fmt: skip
    try:
        counts = {r[0]: r[1] for r in con.execute("SELECT table_name, feature_count FROM gpkg_ogr_contents")}
    except sqlite3.OperationalError:
        counts = {}
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    out: dict[str, LayerInfo] = {}
    for name, data_type, identifier, description, x0, y0, x1, y1, srs in contents:
        if name not in tables or data_type not in ("features", "attributes") or _is_temporary(str(name)):
            continue
        pragma = con.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        fid = next((r[1] for r in pragma if r[5] == 1), "rowid")
        gcol, gtype, gsrs = geom_cols.get(name, (None, None, None))
        columns = tuple(public_columns(name, [r[1] for r in pragma if r[1] not in (fid, gcol)]))
        types = {r[1]: str(r[2]).upper() for r in pragma}
        rtree = f"rtree_{name}_{gcol}" if gcol and f"rtree_{name}_{gcol}" in tables else None
        indexed: set[tuple[str, ...]] = set()
        for idx in con.execute(f"PRAGMA index_list({quote(name)})").fetchall():
            cols = tuple(r[2] for r in con.execute(f"PRAGMA index_info({quote(idx[1])})").fetchall())
            if cols:
                indexed.add(cols)
        count = counts.get(name)
        dense = False
        if count is not None and fid != "rowid":
            lo, hi = con.execute(f"SELECT min({quote(fid)}), max({quote(fid)}) FROM {quote(name)}").fetchone()
            dense = (count == 0) or (lo == 1 and hi == count)
        bounds = (float(x0), float(y0), float(x1), float(y1)) if None not in (x0, y0, x1, y1) else None
        out[name] = LayerInfo(
            name=name, data_type=data_type, fid_column=fid, geometry_column=gcol, geometry_type=gtype,
            srs_id=int(gsrs if gsrs is not None else (srs or 0)) or None if gcol else None, columns=columns,
            column_types={c: types.get(c, "") for c in columns}, feature_count=count, bounds=bounds, rtree=rtree,
            dense_fids=dense, indexed=frozenset(indexed), title=str(identifier or name),
            description=str(description or ""),
        )  # fmt: skip
    return out

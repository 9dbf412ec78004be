"""GeoPackage internals shared by the workspace (writes) and the API store (reads), on plain :mod:`sqlite3`.

- Geometry blobs: the GeoPackage binary header (``GP``, version, flags, srs id, optional envelope) followed by
  WKB; :func:`gpkg_blob_to_wkb`, :func:`decode_geometries`, :func:`gpkg_envelope`.
- The SQL functions the R-tree triggers call (``ST_IsEmpty``, ``ST_MinX``...), for connections other than
  GDAL's: :func:`register_gpkg_functions`.
- Table registration: a layer is its table, its rows in ``gpkg_contents``, ``gpkg_geometry_columns``,
  ``gpkg_extensions``, ``gpkg_ogr_contents`` (GDAL's feature counts), ``gpkg_data_columns``, its R-tree
  (``rtree_<table>_<geom>``) and the triggers keeping the R-tree and the counts in step.
  :func:`drop_table` removes all of it; :func:`swap_in` renames a staged table (written by GDAL under a
  temporary name, see :data:`TEMP_PREFIX`) to its final name with every registration, inside the caller's
  transaction; :func:`drop_orphans` removes staged tables a killed writer left behind.
- Serving indexes (:data:`SERVING_INDEXES`, :func:`create_serving_indexes`) and file checks
  (:func:`check_file`: header sanity, truncation, ``PRAGMA quick_check``).

Every function taking a connection runs inside the caller's transaction and never commits.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely

logger = logging.getLogger(__name__)

#: Prefix of the tables a writer stages before swapping them in (never shown as layers).
TEMP_PREFIX = "foncier_tmp_"

#: Indexes the API needs: table -> column groups (created when missing and the columns exist).
SERVING_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "parcels": (("parcel_id",), ("commune",)),
    "sites": (("site_id",),),
    "zones": (("zone_id",),),
    "site_parcels": (("parcel_id",), ("site_id",)),
    "criteria": (("site_id",),),
    "scores": (("profile", "site_id"), ("profile", "rank")),
    "score_breakdown": (("profile", "site_id"),),
    "site_constraints": (("profile", "site_id"), ("site_id",)),
    "parcel_availability": (("parcel_id",),),
    "parcel_zoning": (("parcel_id",),),
    "site_lineage": (("old_site_id",), ("new_site_id",)),
    "effective_weights": (("profile",),),
    "rank_groups": (("profile", "site_id"),),
    "parcel_status_history": (("parcel_id",),),
    "terrains": (("terr_id",), ("site_id",)),
    "labour_communes": (("insee",),),
}

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGISTRY_TABLES = ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents",
                    "gpkg_data_columns", "gpkg_metadata_reference")  # fmt: skip
_SQLITE_MAGIC = b"SQLite format 3\x00"


def quote(name: str) -> str:
    """Quote an SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a staged (not yet swapped in) table."""
    return name.startswith(TEMP_PREFIX)


# ---------------------------------------------------------------------- geometry blobs
def gpkg_blob_to_wkb(blob: bytes | None) -> bytes | None:
    """Strip the GeoPackage binary header of ``blob``, returning its WKB (None for None).

    Raises
    ------
    ValueError
        When ``blob`` is not a GeoPackage geometry (no ``GP`` magic).
    """
    if blob is None:
        return None
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    envelope = (blob[3] >> 1) & 0x07
    return bytes(blob[8 + _ENVELOPE_BYTES.get(envelope, 0) :])


def decode_geometries(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Decode GeoPackage geometry blobs into an array of shapely geometries (None for null)."""
    wkb = [gpkg_blob_to_wkb(b) for b in blobs]
    return np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)


def gpkg_envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GeoPackage geometry blob, None when empty, null or not a geometry."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if (flags >> 4) & 1:
        return None
    order = "<" if flags & 1 else ">"
    indicator = (flags >> 1) & 7
    if indicator and len(blob) >= 40:
        minx, maxx, miny, maxy = struct.unpack(f"{order}4d", blob[8:40])
        return (minx, maxx, miny, maxy)
    size = _ENVELOPE_BYTES.get(indicator, 0)
    try:
        geom = shapely.from_wkb(bytes(blob[8 + size :]))
    except shapely.errors.GEOSException:
        return None
    if geom is None or geom.is_empty:
        return None
    xmin, ymin, xmax, ymax = geom.bounds
    return (xmin, xmax, ymin, ymax)


def register_gpkg_functions(con: sqlite3.Connection) -> None:
    """Register the SQL functions the GeoPackage R-tree triggers call (ST_IsEmpty, ST_MinX...), so that plain
    sqlite3 can insert, update and rename rows and tables of a spatial layer (GDAL registers them in its own
    connections)."""

    def envelope_part(i: int) -> Any:
        def fn(blob: bytes | None) -> float | None:
            env = gpkg_envelope(blob)
            return None if env is None else env[i]

        return fn

    con.create_function("ST_IsEmpty", 1, lambda b: 1 if gpkg_envelope(b) is None else 0, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, envelope_part(i), deterministic=True)


# ---------------------------------------------------------------------- registrations
def _existing(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def rtree_tables(con: sqlite3.Connection, name: str) -> list[str]:
    """R-tree tables of layer ``name`` (registered in ``gpkg_extensions`` or named by the convention)."""
    tables = _existing(con)
    found: list[str] = []
    if "gpkg_extensions" in tables:
        for (col,) in con.execute(
            "SELECT column_name FROM gpkg_extensions WHERE table_name = ? AND extension_name = 'gpkg_rtree_index'",
            (name,),
        ):
            found.append(f"rtree_{name}_{col}")
    if "gpkg_geometry_columns" in tables:
        for (col,) in con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)):
            if f"rtree_{name}_{col}" in tables and f"rtree_{name}_{col}" not in found:
                found.append(f"rtree_{name}_{col}")
    return [t for t in found if t in tables]


def drop_table(con: sqlite3.Connection, name: str) -> list[str]:
    """Drop table ``name`` with its R-tree, triggers and GeoPackage registrations (inside the caller's
    transaction).

    Returns
    -------
    list of str
        The SQL of the user indexes the table had (to recreate them on a replacement).
    """
    tables = _existing(con)
    sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
    indexes = [r[0] for r in con.execute(sql, (name,))]
    for idx in rtree_tables(con, name):
        con.execute(f"DROP TABLE IF EXISTS {quote(idx)}")
    for (trig,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (name,)
    ).fetchall():
        con.execute(f"DROP TRIGGER IF EXISTS {quote(trig)}")
    if name in tables:
        con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    for table in _REGISTRY_TABLES:
        if table in tables:
            con.execute(f"DELETE FROM {table} WHERE lower(table_name) = lower(?)", (name,))
    return indexes


def swap_in(con: sqlite3.Connection, staged: str, name: str) -> None:
    """Replace layer ``name`` by the staged table ``staged`` (inside the caller's transaction).

    The previous ``name`` (if any) is dropped with its registrations; ``staged`` is renamed with its R-tree,
    its triggers (re-created with the new names) and its rows of the GeoPackage registry tables; the user
    indexes and triggers the previous table had (serving indexes, status vocabulary triggers...) are
    re-created when their columns still exist. Readers see either the
    old layer or the new one, never a mix, once the caller commits.

    Raises
    ------
    ValueError
        When ``staged`` is not a staged table name or ``name`` is one.
    sqlite3.Error
        On SQLite failures (the caller rolls back: nothing changes). The connection needs
        :func:`register_gpkg_functions` (renaming re-parses the schema's R-tree triggers).
    """
    if not is_temporary(staged) or is_temporary(name):
        raise ValueError(f"cannot swap '{staged}' in as '{name}'")
    own_triggers = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql IS NOT NULL "
        "AND name NOT LIKE 'rtree_%' AND name NOT LIKE 'trigger_%_feature_count_%'", (name,))]  # fmt: skip
    old_indexes = drop_table(con, name)
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (staged,)
    ).fetchall()
    for trig, _ in triggers:
        con.execute(f"DROP TRIGGER IF EXISTS {quote(trig)}")
    rtrees = rtree_tables(con, staged)
    con.execute(f"ALTER TABLE {quote(staged)} RENAME TO {quote(name)}")
    for rtree in rtrees:
        con.execute(f"ALTER TABLE {quote(rtree)} RENAME TO {quote(rtree.replace(staged, name, 1))}")
    tables = _existing(con)
    for table in _REGISTRY_TABLES:
        if table in tables:
            con.execute(f"UPDATE {table} SET table_name = ? WHERE table_name = ?", (name, staged))
    con.execute("UPDATE gpkg_contents SET identifier = ? WHERE table_name = ? AND identifier = ?", (name, name, staged))
    for _, sql in triggers:
        if sql:
            con.execute(sql.replace(staged, name))
    columns = {r[1] for r in con.execute(f"PRAGMA table_info({quote(name)})")}
    for sql in [*old_indexes, *own_triggers]:
        try:
            con.execute("SAVEPOINT foncier_index")
            con.execute(sql)
            con.execute("RELEASE foncier_index")
        except sqlite3.OperationalError as exc:  # a column of the index is gone: the index goes too
            con.execute("ROLLBACK TO foncier_index")
            con.execute("RELEASE foncier_index")
            logger.info("index/trigger not re-created on the new '%s' (%s); columns: %s", name, exc, sorted(columns))


def staged_tables(con: sqlite3.Connection) -> list[str]:
    """Staged tables present in the file (left by a writer killed before its swap, when not in use)."""
    tables = _existing(con)
    names = {t for t in tables if is_temporary(t)}
    if "gpkg_contents" in tables:
        names |= {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents") if is_temporary(str(r[0]))}
    return sorted(names)


def drop_orphans(con: sqlite3.Connection) -> list[str]:
    """Drop every staged table (call under the workspace lock, when no writer is staging); returns their names."""
    names = staged_tables(con)
    for name in names:
        drop_table(con, name)
    return names


def create_serving_indexes(con: sqlite3.Connection, columns_of: Mapping[str, Sequence[str]]) -> list[str]:
    """Create the :data:`SERVING_INDEXES` missing on the tables present (``columns_of``: table -> columns).

    Returns the names of the indexes created (inside the caller's transaction).
    """
    created = []
    for table, groups in SERVING_INDEXES.items():
        cols_present = columns_of.get(table)
        if cols_present is None:
            continue
        for cols in groups:
            if not all(c in cols_present for c in cols) or not all(_IDENT_RE.match(c) for c in (table, *cols)):
                continue
            name = f"foncier_idx_{table}_{'_'.join(cols)}"
            con.execute(f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} "
                        f"({', '.join(quote(c) for c in cols)})")  # fmt: skip
            created.append(name)
    return created


# ---------------------------------------------------------------------- file checks
def check_file(path: str | Path, *, quick_check: bool = True) -> str | None:
    """What is wrong with the GeoPackage at ``path``, or None when it looks sound.

    Checks the SQLite header, that the file is not shorter than the database it declares (a truncated
    copy), that it opens, holds ``gpkg_contents``, and (``quick_check``) ``PRAGMA quick_check``.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if size == 0:  # created by a writer killed before its first commit: an empty database, not a corrupt one
        return None
    if len(header) < 100 or header[:16] != _SQLITE_MAGIC:
        return "is not an SQLite/GeoPackage file (bad header)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    n_pages = int.from_bytes(header[28:32], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    change = int.from_bytes(header[24:28], "big")
    if n_pages and valid_for == change and page_size * n_pages > size:
        wal = path.with_name(path.name + "-wal")
        if not (wal.exists() and wal.stat().st_size > 0):
            return f"is truncated ({size} bytes for {n_pages} pages of {page_size} bytes)"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        return f"cannot be opened ({exc})"
    try:
        if con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            return None  # an empty database (a first write was interrupted): nothing to protect
        if "gpkg_contents" not in _existing(con):
            return "is an SQLite file but not a GeoPackage (no gpkg_contents)"
        if quick_check:
            rows = [str(r[0]) for r in con.execute("PRAGMA quick_check(5)")]
            if rows != ["ok"]:
                return "fails the SQLite integrity check: " + "; ".join(rows)
    except sqlite3.Error as exc:
        return f"cannot be read by SQLite ({exc})"
    finally:
        with contextlib.suppress(sqlite3.Error):
            con.close()
    return None


# ---------------------------------------------------------------------- writing tables (plain sqlite3)
# GDAL (pyogrio) links its own copy of SQLite: two SQLite libraries on one file in one process clobber each
# other's POSIX locks (https://www.sqlite.org/howtocorrupt.html, 2.2.1) and did corrupt workspaces. foncier
# therefore reads and writes its workspace with Python's sqlite3 only; GDAL only reads publishers' files.
GPKG_APPLICATION_ID = 0x47504B47
GPKG_USER_VERSION = 10200

_BASE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, "
    "organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, "
    "description TEXT)",
    "CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, "
    "identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT "
    "(strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, "
    "srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
    "geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, "
    "CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE "
    "(table_name), CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), "
    "CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))",
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, "
    "definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, "
    "extension_name))",
    "CREATE TABLE IF NOT EXISTS gpkg_ogr_contents (table_name TEXT NOT NULL PRIMARY KEY, feature_count INTEGER "
    "DEFAULT NULL)",
)

# The R-tree triggers GDAL 3.12 writes (GeoPackage 1.4 form), {t} = table, {g} = geometry column, {i} = fid.
_RTREE_TRIGGERS = {
    "insert": 'AFTER INSERT ON "{t}" WHEN (new."{g}" NOT NULL AND NOT ST_IsEmpty(NEW."{g}")) BEGIN INSERT OR '
    'REPLACE INTO "rtree_{t}_{g}" VALUES (NEW."{i}",ST_MinX(NEW."{g}"), ST_MaxX(NEW."{g}"),ST_MinY(NEW."{g}"), '
    'ST_MaxY(NEW."{g}")); END',
    "update6": 'AFTER UPDATE OF "{g}" ON "{t}" WHEN OLD."{i}" = NEW."{i}" AND (NEW."{g}" NOTNULL AND NOT '
    'ST_IsEmpty(NEW."{g}")) AND (OLD."{g}" NOTNULL AND NOT ST_IsEmpty(OLD."{g}")) BEGIN UPDATE "rtree_{t}_{g}" '
    'SET minx = ST_MinX(NEW."{g}"), maxx = ST_MaxX(NEW."{g}"),miny = ST_MinY(NEW."{g}"), maxy = '
    'ST_MaxY(NEW."{g}") WHERE id = NEW."{i}";END',
    "update7": 'AFTER UPDATE OF "{g}" ON "{t}" WHEN OLD."{i}" = NEW."{i}" AND (NEW."{g}" NOTNULL AND NOT '
    'ST_IsEmpty(NEW."{g}")) AND (OLD."{g}" ISNULL OR ST_IsEmpty(OLD."{g}")) BEGIN INSERT INTO "rtree_{t}_{g}" '
    'VALUES (NEW."{i}",ST_MinX(NEW."{g}"), ST_MaxX(NEW."{g}"),ST_MinY(NEW."{g}"), ST_MaxY(NEW."{g}")); END',
    "update2": 'AFTER UPDATE OF "{g}" ON "{t}" WHEN OLD."{i}" = NEW."{i}" AND (NEW."{g}" ISNULL OR '
    'ST_IsEmpty(NEW."{g}")) BEGIN DELETE FROM "rtree_{t}_{g}" WHERE id = OLD."{i}"; END',
    "update5": 'AFTER UPDATE ON "{t}" WHEN OLD."{i}" != NEW."{i}" AND (NEW."{g}" NOTNULL AND NOT '
    'ST_IsEmpty(NEW."{g}")) BEGIN DELETE FROM "rtree_{t}_{g}" WHERE id = OLD."{i}"; INSERT OR REPLACE INTO '
    '"rtree_{t}_{g}" VALUES (NEW."{i}",ST_MinX(NEW."{g}"), ST_MaxX(NEW."{g}"),ST_MinY(NEW."{g}"), '
    'ST_MaxY(NEW."{g}")); END',
    "update4": 'AFTER UPDATE ON "{t}" WHEN OLD."{i}" != NEW."{i}" AND (NEW."{g}" ISNULL OR ST_IsEmpty(NEW."{g}")) '
    'BEGIN DELETE FROM "rtree_{t}_{g}" WHERE id IN (OLD."{i}", NEW."{i}"); END',
    "delete": 'AFTER DELETE ON "{t}" WHEN old."{g}" NOT NULL BEGIN DELETE FROM "rtree_{t}_{g}" WHERE id = '
    'OLD."{i}"; END',
}


def ensure_geopackage(con: sqlite3.Connection) -> None:
    """Create the GeoPackage base tables in an empty database (no-op when present)."""
    if "gpkg_contents" in _existing(con):
        return
    con.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
    for sql in _BASE_SCHEMA:
        con.execute(sql)
    con.executemany(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
         ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system")],
    )  # fmt: skip
    ensure_srs(con, 4326)


def ensure_srs(con: sqlite3.Connection, epsg: int) -> int:
    """Register EPSG:``epsg`` in ``gpkg_spatial_ref_sys`` (WKT from PROJ) and return its srs_id."""
    row = con.execute(
        "SELECT srs_id FROM gpkg_spatial_ref_sys WHERE upper(organization) = 'EPSG' AND organization_coordsys_id = ?",
        (epsg,),
    ).fetchone()
    if row is not None:
        return int(row[0])
    from pyproj import CRS

    crs = CRS.from_epsg(epsg)
    con.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, 'EPSG', ?, ?, NULL)",
        (crs.name, epsg, epsg, crs.to_wkt("WKT1_GDAL")),
    )
    return epsg


def to_gpkg_blobs(geoms: np.ndarray, srs_id: int) -> list[bytes | None]:
    """GeoPackage binary geometries (little-endian header with an XY envelope, then 2-D ISO WKB)."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms)
    empty = np.zeros(len(geoms), dtype=bool)
    empty[~missing] = shapely.is_empty(geoms[~missing])
    wkb = shapely.to_wkb(geoms, output_dimension=2, flavor="iso", byte_order=1)
    bounds = shapely.bounds(geoms)
    out: list[bytes | None] = []
    head_env = struct.Struct("<2sBBi4d")
    head_empty = struct.Struct("<2sBBi")
    for i in range(len(geoms)):
        if missing[i]:
            out.append(None)
        elif empty[i]:
            out.append(head_empty.pack(b"GP", 0, 0b00010001, srs_id) + wkb[i])
        else:
            x0, y0, x1, y1 = bounds[i]
            out.append(head_env.pack(b"GP", 0, 0b00000011, srs_id, x0, x1, y0, y1) + wkb[i])
    return out


def _sql_type(series: Any) -> str:
    kind = series.dtype.kind
    if kind == "b":
        return "BOOLEAN"
    if kind in "iu":
        return "INTEGER"
    if kind == "f":
        return "REAL"
    if kind == "M":
        return "DATETIME"
    return "TEXT"


def _sql_values(series: Any) -> list[Any]:
    """The Python values sqlite3 stores for a column: int for booleans and integers, float (None for NaN),
    ISO-8601 UTC text with milliseconds for datetimes, the value itself for text and bytes, None for nulls.

    Converted column-wise (numpy ``tolist`` then the nulls set to None); object columns holding anything
    but text or bytes take the per-value path (:func:`_sql_value`).
    """
    import pandas as pd

    kind = series.dtype.kind
    n = len(series)
    if kind in "biu":
        if series.hasnans:  # nullable Boolean / Int64 with missing values
            mask = series.isna().to_numpy()
            values = series.astype(object).to_numpy()
            out: list[Any] = [None if m else int(v) for v, m in zip(values, mask, strict=True)]
            return out
        return list(np.asarray(series.to_numpy(), dtype=np.int64 if kind == "b" else None).tolist())
    if kind == "f":
        arr = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        out = arr.tolist()
        for i in np.flatnonzero(np.isnan(arr)).tolist():
            out[i] = None
        return out
    if kind == "M":
        stamps = pd.to_datetime(series, utc=True)
        text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return [None if isinstance(v, float) else v for v in text.astype(object).tolist()]
    values = np.asarray(series.astype(object).to_numpy(), dtype=object)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "empty":
        return [None] * n
    if inferred in ("string", "bytes"):
        out = values.tolist()
        for i in np.flatnonzero(pd.isna(values)).tolist():
            out[i] = None
        return out
    return [_sql_value(v) for v in values]


def _sql_value(v: Any) -> Any:
    import pandas as pd

    if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool | np.bool_):
        return int(v)
    if isinstance(v, int | float | str | bytes):
        return v
    if isinstance(v, np.integer | np.floating):
        return v.item()
    return str(v)


def write_table(con: sqlite3.Connection, table: str, frame: Any, *, identifier: str | None = None) -> int:
    """Create ``table`` from a (Geo)DataFrame with every GeoPackage registration (inside the caller's
    transaction); returns the number of rows.

    A GeoDataFrame becomes a ``features`` table (fid, ``geom`` with an R-tree and its triggers, extent and
    CRS in ``gpkg_contents``); a DataFrame an ``attributes`` table. Polygons mixed with multipolygons are
    stored as MULTIPOLYGON (likewise lines), other mixes as GEOMETRY.
    """
    import geopandas as gpd

    ensure_geopackage(con)
    tables = _existing(con)
    if table in tables:
        drop_table(con, table)
    q = quote(table)
    is_features = isinstance(frame, gpd.GeoDataFrame)
    gname = frame.geometry.name if is_features else None
    attrs = [c for c in frame.columns if c != gname]
    for c in attrs:
        if str(c).lower() in ("fid", "geom"):
            raise ValueError(f"column name '{c}' is reserved in a GeoPackage layer")
    cols_sql = ['"fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL']
    geom_type = "GEOMETRY"
    srs_id = 0
    blobs: list[bytes | None] = []
    if is_features:
        epsg = frame.crs.to_epsg() if frame.crs is not None else None
        srs_id = ensure_srs(con, int(epsg)) if epsg else -1
        geoms = np.asarray(frame.geometry.array, dtype=object)
        types = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
        names = {0: "POINT", 1: "LINESTRING", 3: "POLYGON", 4: "MULTIPOINT", 5: "MULTILINESTRING",
                 6: "MULTIPOLYGON", 7: "GEOMETRYCOLLECTION"}  # fmt: skip
        if len(types) == 1 and next(iter(types)) in names:
            geom_type = names[next(iter(types))]
        elif types and types <= {3, 6}:
            geom_type = "MULTIPOLYGON"
            geoms = np.asarray([shapely.multipolygons([g]) if g is not None and g.geom_type == "Polygon" else g
                                for g in geoms], dtype=object)  # fmt: skip
        elif types and types <= {1, 5}:
            geom_type = "MULTILINESTRING"
            geoms = np.asarray([shapely.multilinestrings([g]) if g is not None and g.geom_type == "LineString"
                                else g for g in geoms], dtype=object)  # fmt: skip
        cols_sql.append(f'"geom" {geom_type}')
        blobs = to_gpkg_blobs(geoms, srs_id)
    cols_sql += [f"{quote(str(c))} {_sql_type(frame[c])}" for c in attrs]
    con.execute(f"CREATE TABLE {q} ({', '.join(cols_sql)})")
    n = len(frame)
    values = [_sql_values(frame[c]) for c in attrs]
    names_sql = ([quote("geom")] if is_features else []) + [quote(str(c)) for c in attrs]
    if names_sql:
        rows = zip(*([blobs] if is_features else []), *values, strict=True)
        con.executemany(f"INSERT INTO {q} ({', '.join(names_sql)}) VALUES ({', '.join('?' * len(names_sql))})", rows)
    else:
        con.executemany(f"INSERT INTO {q} DEFAULT VALUES", [() for _ in range(n)])
    ident = identifier or table
    if is_features:
        x0, y0, x1, y1 = (float(v) for v in frame.total_bounds) if n else (None, None, None, None)
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, min_x, min_y, "
            "max_x, max_y, srs_id) VALUES (?, 'features', ?, '', strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?, ?, ?, ?, ?)",
            (table, ident, x0 if x0 == x0 else None, y0 if y0 == y0 else None, x1 if x1 == x1 else None,
             y1 if y1 == y1 else None, srs_id),
        )  # fmt: skip
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)", (table, geom_type, srs_id))
        rtree = f"rtree_{table}_geom"
        con.execute(f"CREATE VIRTUAL TABLE {quote(rtree)} USING rtree(id, minx, maxx, miny, maxy)")
        con.execute(
            f"INSERT INTO {quote(rtree)} SELECT fid, ST_MinX(geom), ST_MaxX(geom), ST_MinY(geom), ST_MaxY(geom) "
            f"FROM {q} WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom)"
        )
        con.execute(
            "INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', "
            "'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
            (table,),
        )
        for suffix, body in _RTREE_TRIGGERS.items():
            con.execute(f'CREATE TRIGGER "{rtree}_{suffix}" ' + body.format(t=table, g="geom", i="fid"))
    else:
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
            "VALUES (?, 'attributes', ?, '', strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            (table, ident),
        )
    con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents VALUES (?, ?)", (table, n))
    lit = table.replace("'", "''")
    for event, sign in (("insert", "+"), ("delete", "-")):
        con.execute(
            f'CREATE TRIGGER "trigger_{event}_feature_count_{table}" AFTER {event.upper()} ON {q} BEGIN '
            f"UPDATE gpkg_ogr_contents SET feature_count = feature_count {sign} 1 "
            f"WHERE lower(table_name) = lower('{lit}'); END"
        )
    return n


# ---------------------------------------------------------------------- reading tables (plain sqlite3)
def list_tables(con: sqlite3.Connection) -> list[tuple[str, str | None]]:
    """(name, geometry type name or None) of every features/attributes table, staged ones excluded."""
    if "gpkg_contents" not in _existing(con):
        return []
    rows = con.execute(
        "SELECT c.table_name, g.geometry_type_name FROM gpkg_contents c LEFT JOIN gpkg_geometry_columns g "
        "ON g.table_name = c.table_name WHERE c.data_type IN ('features', 'attributes') ORDER BY c.rowid"
    ).fetchall()
    present = _existing(con)
    return [(str(n), g) for n, g in rows if n in present and not is_temporary(str(n))]


def count_rows(con: sqlite3.Connection, table: str) -> int:
    """Feature count from ``gpkg_ogr_contents`` (kept by triggers), else ``COUNT(*)``."""
    with contextlib.suppress(sqlite3.OperationalError):
        row = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?", (table,)).fetchone()
        if row is not None and row[0] is not None:
            return int(row[0])
    return int(con.execute(f"SELECT COUNT(*) FROM {quote(table)}").fetchone()[0])


def read_frame(
    con: sqlite3.Connection,
    table: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    where: str | None = None,
    columns: Sequence[str] | None = None,
    read_geometry: bool = True,
) -> Any:
    """Read a table as a GeoDataFrame (features, ``geometry`` column, CRS set) or a DataFrame.

    ``bbox`` (minx, miny, maxx, maxy) keeps the rows whose envelope intersects it (R-tree); ``where`` is an
    SQLite expression on the table's columns. Column kinds follow the declared types (BOOLEAN -> bool,
    INTEGER -> int64 or float64 with nulls, REAL -> float64, DATETIME -> UTC datetimes, others -> str).
    """
    import geopandas as gpd
    import pandas as pd

    pragma = con.execute(f"PRAGMA table_info({quote(table)})").fetchall()
    fid = next((r[1] for r in pragma if r[5] == 1), None)
    geo = con.execute(
        "SELECT g.column_name, s.organization, s.organization_coordsys_id FROM gpkg_geometry_columns g "
        "LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id WHERE g.table_name = ?",
        (table,),
    ).fetchone()
    gcol = geo[0] if geo else None
    types = {r[1]: str(r[2] or "").upper() for r in pragma}
    attrs = [r[1] for r in pragma if r[1] not in (fid, gcol)]
    if columns is not None:
        attrs = [c for c in attrs if c in set(columns)]
    want_geom = read_geometry and gcol is not None
    sel = [f"t.{quote(c)}" for c in attrs] + ([f"t.{quote(gcol)}"] if want_geom and gcol else [])
    sql = f"SELECT {', '.join(sel) or 'NULL'} FROM {quote(table)} t"
    params: list[Any] = []
    conds: list[str] = []
    if bbox is not None and gcol is not None:
        rtree = f"rtree_{table}_{gcol}"
        if rtree in _existing(con):
            conds.append(f"t.{quote(fid or 'rowid')} IN (SELECT id FROM {quote(rtree)} WHERE minx <= ? AND maxx >= ? "
                         "AND miny <= ? AND maxy >= ?)")  # fmt: skip
            params += [bbox[2], bbox[0], bbox[3], bbox[1]]
    if where:
        conds.append(f"({where})")
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    if fid:
        sql += f" ORDER BY t.{quote(fid)}"
    rows = con.execute(sql, params).fetchall()
    data: dict[str, Any] = {}
    for j, c in enumerate(attrs):
        data[c] = _typed([r[j] for r in rows], types.get(c, ""))
    frame = pd.DataFrame(data, columns=attrs)
    if not want_geom:
        return frame
    geoms = decode_geometries([r[len(attrs)] for r in rows]) if rows else np.zeros(0, dtype=object)
    crs = None
    if geo and geo[1] and str(geo[1]).upper() == "EPSG" and geo[2]:
        crs = f"EPSG:{int(geo[2])}"
    if bbox is not None and gcol is not None and len(geoms) and f"rtree_{table}_{gcol}" not in _existing(con):
        keep = shapely.intersects(np.asarray(geoms), shapely.box(*bbox))
        frame, geoms = frame[keep].reset_index(drop=True), geoms[keep]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs).values, crs=crs)


def _typed(values: list[Any], decl: str) -> Any:
    import pandas as pd

    has_null = any(v is None for v in values)
    if decl == "BOOLEAN":
        if not has_null:
            return np.asarray([bool(v) for v in values], dtype=bool)
        return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
    if decl in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT"):
        if not has_null and all(isinstance(v, int) for v in values):
            return np.asarray(values, dtype="int64")
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64").to_numpy()
    if decl in ("REAL", "FLOAT", "DOUBLE") or decl.startswith(("REAL", "FLOAT", "DOUBLE")):
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64").to_numpy()
    if decl == "DATETIME":
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce", format="ISO8601").array
    return np.asarray(values, dtype=object)

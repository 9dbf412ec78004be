"""Publish a workspace to PostGIS, where several land officers edit parcel statuses together, and pull back.

The workspace GeoPackage has one writer at a time. The land officers of the four EPCIs edit availability
statuses at the same time from QGIS, so :func:`publish` copies the workspace's layers and tables into a
PostgreSQL/PostGIS schema, and :func:`pull_statuses` brings the officers' statuses back into the workspace.

Layout of the schema (``foncier`` by default; see docs/POSTGIS.md):

- one table per workspace layer or table, same name, same columns (geometry column ``geom`` typed
  ``geometry(<Type>, 2154)``, promoted to Multi* when a layer mixes single and multi parts), a primary key
  (``parcel_id``, ``site_id``, ``(profile, site_id)``... or a ``fid`` for layers without a natural key), a GIST
  index on ``geom``. The published ``parcels`` table carries no ``status``: statuses live in ``parcel_status``;
- ``parcel_status`` (``parcel_id`` PK references ``parcels``, ``status`` checked against the availability
  statuses, ``updated_at``, ``updated_by``): the officers' live data. Seeded from the workspace on the first
  publish, never overwritten by later ones (statuses of parcels that left the cadastre are deleted, logged);
- ``parcel_status_history``: one row per insert, update or delete of ``parcel_status`` (trigger): who, when,
  old and new status;
- ``parcels_status``: a view of the parcels with their status, for QGIS styling; it is editable (an INSTEAD OF
  trigger writes a change of its ``status`` column into ``parcel_status``);
- ``workspace_status_history``: the workspace's own ``parcel_status_history`` (:data:`PUBLISHED_NAMES`);
- ``foncier_notice``: the ODbL notice per OpenStreetMap-derived table, also the COMMENT of the schema and of
  those tables (:func:`_write_notice`), when the schema holds some.

The workspace is read with sqlite3 only (:func:`_read_raw`), and only the columns
:func:`foncier.layers.privacy.public_columns` allows: no owner or contact column is ever published.

Replacement strategy: DROP and CREATE in ONE transaction. Published tables are dropped (after the view and the
foreign key of ``parcel_status`` that depend on them), recreated, loaded with ``COPY ... FROM STDIN`` (text
format, geometries as hex EWKB), indexed, and the privileges the old tables had are granted again. A failure
anywhere rolls the whole transaction back: the previous tables stay as they were. Readers (QGIS) keep seeing the
previous tables until the commit; the publish waits for their running statements (DROP takes an exclusive lock).
"""

from __future__ import annotations

import io
import logging
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import shapely
from psycopg import sql

from foncier.errors import DatabaseError, LayerNotFoundError, WorkspaceError
from foncier.layers import gpkg as _gpkg
from foncier.layers.attribution import LAYER_SOURCES, ODBL, odbl_notice, osm_derived
from foncier.layers.privacy import public_columns
from foncier.layers.schemas import AVAILABILITY_STATUSES, SCHEMAS
from foncier.layers.statuses import apply_statuses, stored_statuses
from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)

SRID = 2154
GEOMETRY_COLUMN = "geom"
STATUS_TABLE = "parcel_status"
HISTORY_TABLE = "parcel_status_history"
STATUS_VIEW = "parcels_status"
STATUS_FK = "parcel_status_parcel_id_fkey"
NOTICE_TABLE = "foncier_notice"
CONNECT_TIMEOUT_S = 10

#: Primary keys of foncier's derived tables (canonical layers use their schema's ``id_column``).
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "sites": ("site_id",),
    "site_parcels": ("site_id", "parcel_id"),
    "criteria": ("site_id",),
    "scores": ("profile", "site_id"),
    "score_breakdown": ("profile", "site_id", "criterion"),
    "score_profiles": ("profile",),
    "provenance": ("layer",),
    "metadata": ("key",),
    "site_constraints": ("profile", "site_id", "constraint"),
    "parcel_availability": ("parcel_id",),
    "parcel_zoning": ("parcel_id",),
    "effective_weights": ("profile", "criterion"),
    "rank_groups": ("profile", "site_id"),
    "isochrones": ("hub_id", "minutes"),
}
"""Tables absent here and without a schema ``id_column`` (``site_lineage``: several records per site over the
runs; ``parcel_status_history``; ``buildings``, ``prescriptions``...) get a ``fid`` key. A declared key that the
data does not hold (duplicates or nulls) also falls back to ``fid``, with a warning: the publish never fails on it."""
#: Secondary indexes of the published tables (table -> column groups), for QGIS joins and filters.
SECONDARY_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "site_parcels": (("parcel_id",),),
    "site_constraints": (("site_id",),),
    "site_lineage": (("old_site_id",), ("new_site_id",)),
    "workspace_status_history": (("parcel_id",),),
    "terrains": (("site_id",),),
}
#: Workspace tables published under another name (the workspace's own status history would collide with the
#: officers' ``parcel_status_history``, which a publish must never replace).
PUBLISHED_NAMES: dict[str, str] = {"parcel_status_history": "workspace_status_history"}
#: Columns of the workspace parcels that are not published (statuses live in ``parcel_status``).
PARCEL_STATUS_COLUMNS = ("status", "status_date")
_PRIVILEGES = {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
_MULTI = {"Polygon": "MultiPolygon", "LineString": "MultiLineString", "Point": "MultiPoint"}


# ---------------------------------------------------------------------------------------------- connection
def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (URL ``postgresql://u:pw@h/db`` or ``password=pw`` form).

    Examples
    --------
    >>> redact_dsn("postgresql://officer:s3cret@db.example/foncier")
    'postgresql://officer:***@db.example/foncier'
    >>> redact_dsn("host=db user=officer password='s 3' dbname=foncier")
    'host=db user=officer password=*** dbname=foncier'
    """
    url = re.match(r"^(\s*[A-Za-z][A-Za-z0-9+.-]*://)(.*)$", dsn, flags=re.DOTALL)
    if url is not None:  # the user info ends at the LAST '@' (a password may hold '@', '/', ':'...)
        scheme, rest = url.groups()
        at = rest.rfind("@")
        if at >= 0 and ":" in rest[:at]:
            rest = rest[:at].split(":", 1)[0] + ":***" + rest[at:]
        return scheme + re.sub(r"([?&]password=)[^&#]*", r"\1***", rest, flags=re.IGNORECASE)
    # key=value form: the value runs to the next "key=" (an unquoted or unterminated value is hidden whole)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|.*?)(?=\s+[A-Za-z_]+\s*=|\s*$)", r"\1***", dsn,
                  flags=re.IGNORECASE | re.DOTALL)  # fmt: skip


def _scrub(message: str, dsn: str) -> str:
    """Remove the DSN's password from an error message (libpq rarely echoes it, but never risk it)."""
    try:
        password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    except psycopg.Error:  # malformed: libpq's message may quote any piece of it, the password included
        return f"the connection string is malformed ({redact_dsn(dsn)}); expected postgresql://user:password@host/db"
    message = message.replace(dsn, redact_dsn(dsn))
    secrets = [password] if password and isinstance(password, str) else []
    url = re.match(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://(.*)$", dsn, flags=re.DOTALL)
    if url is not None and "@" in url.group(1):  # libpq may split a password holding '@' into user/host parts
        userinfo = url.group(1)[: url.group(1).rfind("@")]
        if ":" in userinfo:
            raw = userinfo.split(":", 1)[1]
            secrets += [raw, *(p for p in re.split(r"[@:/]", raw) if len(p) >= 3)]
    for secret in sorted(set(secrets), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message.strip()


@contextmanager
def connect(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    """Open a connection to a PostGIS database; closed on exit (not committed: use ``conn.transaction()``).

    Raises
    ------
    foncier.errors.DatabaseError
        When the server cannot be reached, refuses the login, or the database lacks the postgis extension;
        the message shows the DSN without its password.
    """
    shown = redact_dsn(dsn)
    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, application_name="foncier")
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL at '{shown}': {_scrub(str(exc), dsn)}") from None
    try:
        row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
        if row is None:
            raise DatabaseError(
                f"the database at '{shown}' lacks the postgis extension; a superuser must run "
                "'CREATE EXTENSION postgis;' in it (Debian package postgresql-15-postgis-3)"
            )
        conn.rollback()
        logger.debug("connected to %s (PostGIS %s)", shown, row[0])
        yield conn
    finally:
        conn.close()


def _relation_exists(cur: psycopg.Cursor[Any], schema: str, name: str) -> bool:
    qualified = sql.Identifier(schema, name).as_string(cur)
    row = cur.execute("SELECT to_regclass(%s) IS NOT NULL", [qualified]).fetchone()
    return bool(row and row[0])


def _saved_grants(cur: psycopg.Cursor[Any], schema: str, name: str) -> list[sql.Composed]:
    """GRANT statements restoring the privileges others have on a relation (lost when it is dropped)."""
    rows = cur.execute(
        "SELECT r.rolname, a.privilege_type FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE n.nspname = %s AND c.relname = %s AND a.grantee <> c.relowner",
        [schema, name],
    ).fetchall()
    grants = []
    for role, privilege in rows:
        if privilege not in _PRIVILEGES:
            continue
        grantee = sql.SQL("PUBLIC") if role is None else sql.Identifier(role)
        grants.append(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privilege), sql.Identifier(schema, name), grantee))
    return grants


# ---------------------------------------------------------------------------------------------- frames
def _geometry_type(geoms: gpd.GeoSeries) -> tuple[str, bool]:
    """(PostGIS geometry type, whether single parts must be promoted to multi)."""
    kinds = set(geoms.geom_type.dropna().unique())
    if len(kinds) == 1:
        return str(next(iter(kinds))), False
    for single, multi in _MULTI.items():
        if kinds == {single, multi}:
            return multi, True
    return "Geometry", False


def _ewkb_hex(geoms: gpd.GeoSeries, promote: bool) -> list[str | None]:
    arr = np.asarray(geoms.to_numpy(), dtype=object)
    if promote:
        single = shapely.get_type_id(arr) in (0, 1, 3)  # Point, LineString, Polygon
        idx = np.flatnonzero(single)
        if len(idx):
            maker = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}
            type_id = int(shapely.get_type_id(arr[idx[0]]))
            arr = arr.copy()
            arr[idx] = maker[type_id](arr[idx], indices=np.arange(len(idx)))
    hexes = shapely.to_wkb(shapely.set_srid(arr, SRID), hex=True, include_srid=True, output_dimension=2)
    return [None if h is None else str(h) for h in hexes]


def _primary_key(name: str, frame: pd.DataFrame) -> tuple[str, ...] | None:
    schema = SCHEMAS.get(name)
    key = PRIMARY_KEYS.get(name) or ((schema.id_column,) if schema and schema.id_column else None)
    if key and all(col in frame.columns for col in key):
        return key
    return None


_WKB_TYPES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon",
              7: "GeometryCollection"}  # fmt: skip
_EWKB_SRID_FLAG = 0x20000000


@dataclass
class _Raw:
    """A layer read without decoding its geometries: attributes (Arrow) and its GeoPackage geometry blobs in
    hexadecimal (SQLite's ``hex()``; None for a table)."""

    table: pa.Table
    geoms: list[str | None] | None
    ewkb: bool = False  # geoms are hex EWKB already (one type, converted by SQLite)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    def __len__(self) -> int:
        return int(self.table.num_rows)


def _connect_ro(ws: Workspace) -> sqlite3.Connection:
    """A read-only sqlite3 connection to the workspace GeoPackage (never GDAL: its bundled SQLite and Python's
    in one process undo each other's POSIX locks, sqlite.org/howtocorrupt.html 2.2.1)."""
    if not ws.gpkg.exists():
        raise LayerNotFoundError(f"no workspace GeoPackage at {ws.gpkg}")
    return sqlite3.connect(f"{ws.gpkg.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow table of the attributes read by :func:`foncier.layers.gpkg.read_frame` (mixed object columns and
    anything Arrow cannot infer go as text; timestamps in microseconds, PostgreSQL's precision)."""
    arrays: list[pa.Array] = []
    for c in frame.columns:
        series = frame[c]
        try:
            arr = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array([None if v is None or v != v else str(v) for v in series.astype(object)], type=pa.string())
        if pa.types.is_timestamp(arr.type):
            arr = arr.cast(pa.timestamp("us", tz=arr.type.tz))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def _read_raw(ws: Workspace, name: str, spatial: bool) -> _Raw:
    """Read a layer with sqlite3: its public attributes (:func:`foncier.layers.privacy.public_columns`, the
    parcels without their statuses; the other columns are not even read) as an Arrow table, its geometries
    as hexadecimal GeoPackage blobs (never parsed).

    One query; columns go to Arrow by their declared type (INTEGER, REAL, BOOLEAN, DATETIME as
    :func:`foncier.layers.gpkg.read_frame` reads them, the rest as text). A layer whose values do not fit
    their declared type is read again with :func:`~foncier.layers.gpkg.read_frame`, which coerces them.
    """
    con = _connect_ro(ws)
    try:
        pragma = con.execute(f"PRAGMA table_info({_gpkg.quote(name)})").fetchall()
        fid = next((str(r[1]) for r in pragma if r[5] == 1), None)
        row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)).fetchone()
        gcol = str(row[0]) if spatial and row else None
        declared = {str(r[1]): str(r[2] or "").upper() for r in pragma if r[1] not in (fid, gcol)}
        attrs = public_columns(name, list(declared))
        if name == "parcels":
            attrs = [c for c in attrs if c not in PARCEL_STATUS_COLUMNS]
        order = f" ORDER BY {_gpkg.quote(fid)}" if fid else ""
        ewkb = _sql_ewkb(con, name, gcol) if gcol else None  # geometries turned to EWKB by SQLite itself
        select = [_gpkg.quote(c) for c in attrs] + ([ewkb or f"hex({_gpkg.quote(gcol)})"] if gcol else [])
        rows = con.execute(f"SELECT {', '.join(select) or 'NULL'} FROM {_gpkg.quote(name)}{order}").fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in select]
        try:
            table = pa.Table.from_arrays(
                [_arrow_column(list(columns[k]), declared[c]) for k, c in enumerate(attrs)], names=attrs
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            logger.debug("%s: values not of their declared type (%s): read with coercion", name, exc)
            frame = _gpkg.read_frame(con, name, columns=attrs, read_geometry=False)
            table = _to_arrow(frame[[c for c in attrs if c in frame.columns]])
    except sqlite3.Error as exc:
        raise WorkspaceError(f"cannot read '{name}' from {ws.gpkg}: {exc}") from None
    finally:
        con.close()
    geoms: list[str | None] | None = None
    if spatial:
        geoms = [h or None for h in columns[-1]] if gcol and rows else [None] * len(rows)
    return _Raw(table, geoms, ewkb is not None)


def _sql_ewkb(con: sqlite3.Connection, name: str, gcol: str) -> str | None:
    """An SQL expression turning the layer's GeoPackage blobs into hex EWKB (SRID 2154), or None when the
    layer holds anything but little-endian 2-D geometries of one type (then Python does it: promotion to
    multi, big-endian, Z/M)."""
    g = _gpkg.quote(gcol)
    wkb = f"hex(substr({g}, 9 + {_ENVELOPE_SQL.format(g=g, cases=_ENVELOPE_CASES)}))"
    heads = {
        str(r[0])
        for r in con.execute(f"SELECT DISTINCT substr({wkb}, 1, 10) FROM {_gpkg.quote(name)} WHERE {g} IS NOT NULL")
    }
    if not heads:
        return None
    types = {int(h[2:4], 16) for h in heads if len(h) == 10 and h[:2] == "01" and h[4:] == "000000"}
    if len(heads) != 1 or len(types) != 1 or not types <= set(_WKB_TYPES):
        return None
    ewkb = f"'01' || substr({wkb}, 3, 2) || '000020{_SRID_HEX_LE}' || substr({wkb}, 11)"
    return f"CASE WHEN {g} IS NULL OR length({g}) = 0 THEN NULL ELSE {ewkb} END"


def _arrow_column(values: list[Any], decl: str) -> pa.Array:
    """Arrow array of a column's SQLite values by declared type (raises when a value does not fit)."""
    if decl == "BOOLEAN":
        return pc.not_equal(pa.array(values, type=pa.int64()), 0)
    if decl in ("INTEGER", "INT", "MEDIUMINT", "SMALLINT", "TINYINT", "BIGINT"):
        return pa.array(values, type=pa.int64())
    if decl.startswith(("REAL", "FLOAT", "DOUBLE")):
        return pa.array(values, type=pa.float64())
    if decl == "DATETIME":
        stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce", format="ISO8601")
        return pa.array(stamps, from_pandas=True).cast(pa.timestamp("us", tz="UTC"))
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        return pa.array([None if v is None else bytes(v).hex() for v in values], type=pa.string())
    return arr


def _arrow_pg_type(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "bigint"
    if pa.types.is_floating(kind):
        return "double precision"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    return "text"


def _wkb_type(blob: bytes | None) -> int:
    if blob is None or len(blob) < 5:
        return 0
    return int.from_bytes(blob[1:5], "little" if blob[0] == 1 else "big")


_GPKG_ENVELOPE_HEX = {0: 0, 1: 64, 2: 96, 3: 96, 4: 128}  # hex digits of the envelope, by its code
_SRID_HEX_LE = SRID.to_bytes(4, "little").hex().upper()
#: Bytes of a GeoPackage blob's envelope by the low hex digit of its flags byte (envelope code = bits 1-3).
_ENVELOPE_SQL = "CASE substr(hex(substr({g}, 4, 1)), 2, 1) {cases} END"
_ENVELOPE_CASES = " ".join(f"WHEN '{d:X}' THEN {_GPKG_ENVELOPE_HEX.get(d >> 1, 0) // 2}" for d in range(10))


def _ewkb_hex_gpkg(hexes: list[str | None]) -> tuple[list[str | None], str]:
    """Hex EWKB (SRID 2154) of GeoPackage geometry blobs given in hex, and the column's PostGIS type.

    The common case (little-endian 2-D WKB, one geometry type or only single+multi parts of one kind) is
    rewritten as text: GeoPackage header ``GP``, version, flags, srs_id, envelope (size from the flags) are
    cut, the WKB type gets the EWKB SRID flag and the SRID follows. Anything else (big-endian, Z/M, curves)
    goes through :func:`_ewkb_hex_raw`.
    """
    starts: list[int] = []
    types: list[int] = []
    for h in hexes:
        if h is None:
            starts.append(-1)
            types.append(0)
            continue
        w = 16 + _GPKG_ENVELOPE_HEX.get((int(h[6:8], 16) >> 1) & 0x07, 0)
        if h[w : w + 2] != "01" or h[w + 4 : w + 10] != "000000":
            return _ewkb_hex_raw(_hex_to_wkb(hexes))
        starts.append(w)
        types.append(int(h[w + 2 : w + 4], 16))
    gtype, promote, ok = _column_type({t for t in types if t > 0})
    if not ok:
        return _ewkb_hex_raw(_hex_to_wkb(hexes))
    out: list[str | None] = []
    for h, w, t in zip(hexes, starts, types, strict=True):
        if h is None:
            out.append(None)
        elif promote and t in (1, 2, 3):
            multi = {1: shapely.multipoints, 2: shapely.multilinestrings, 3: shapely.multipolygons}[t]
            geom = multi([shapely.from_wkb(h[w:])])
            out.append(str(shapely.to_wkb(shapely.set_srid(geom, SRID), hex=True, include_srid=True)))
        else:
            out.append("01" + h[w + 2 : w + 4] + "000020" + _SRID_HEX_LE + h[w + 10 :])
    return out, gtype


def _hex_to_wkb(hexes: list[str | None]) -> np.ndarray:
    blobs = [None if h is None else bytes.fromhex(h) for h in hexes]
    return np.asarray([_gpkg.gpkg_blob_to_wkb(b) for b in blobs], dtype=object)


def _column_type(kinds: set[int]) -> tuple[str, bool, bool]:
    """(PostGIS type, promote single parts to multi, whether every kind is a plain 2-D WKB type)."""
    if not kinds <= set(_WKB_TYPES):
        return "Geometry", False, False
    names = {_WKB_TYPES[k] for k in kinds}
    if len(names) == 1:
        return next(iter(names)), False, True
    if not names:
        return "Geometry", False, True
    pair = next(((single, multi) for single, multi in _MULTI.items() if names == {single, multi}), None)
    return (pair[1], True, True) if pair else ("Geometry", False, True)


def _ewkb_hex_raw(wkb: np.ndarray) -> tuple[list[str | None], str]:
    """Hex EWKB (SRID 2154) of ISO WKB blobs, and the column's PostGIS type; single parts are promoted to
    multi when a layer mixes both (the only rows decoded with shapely)."""
    types = np.array([_wkb_type(b) for b in wkb], dtype=np.int64)
    kinds = {int(t) for t in np.unique(types[types > 0])}
    if not kinds <= set(_WKB_TYPES):  # Z/M or curved geometries: the generic path
        geoms = gpd.GeoSeries(shapely.from_wkb(wkb))
        gtype, promote = _geometry_type(geoms)
        return _ewkb_hex(geoms, promote), gtype
    names = {_WKB_TYPES[k] for k in kinds}
    promote = False
    if len(names) == 1:
        gtype = next(iter(names))
    elif not names:
        gtype = "Geometry"
    else:
        pair = next(((single, multi) for single, multi in _MULTI.items() if names == {single, multi}), None)
        gtype, promote = (pair[1], True) if pair else ("Geometry", False)
    out: list[str | None] = []
    single_ids = {1, 2, 3}
    for blob, t in zip(wkb, types, strict=True):
        if blob is None or t == 0:
            out.append(None)
        elif promote and t in single_ids:
            multi = {1: shapely.multipoints, 2: shapely.multilinestrings, 3: shapely.multipolygons}[int(t)]
            geom = multi([shapely.from_wkb(blob)])
            out.append(str(shapely.to_wkb(shapely.set_srid(geom, SRID), hex=True, include_srid=True)))
        else:
            order: Literal["little", "big"] = "little" if blob[0] == 1 else "big"
            head = blob[:1] + (int(t) | _EWKB_SRID_FLAG).to_bytes(4, order) + SRID.to_bytes(4, order)
            out.append((head + blob[5:]).hex())
    return out, gtype


@dataclass
class _Prepared:
    """A layer ready to load: column definitions, key, and the CSV payload for COPY."""

    names: list[str]
    defs: list[sql.Composable]
    key: tuple[str, ...]
    payload: bytes
    rows: int
    spatial: bool


def _feature_count(con: sqlite3.Connection, name: str) -> int:
    try:
        return _gpkg.count_rows(con, name)
    except sqlite3.Error:
        return 0


def _holds_key(data: pa.Table, key: tuple[str, ...]) -> bool:
    """Whether the columns ``key`` of ``data`` are non-null and unique together (a primary key holds)."""
    if not len(data):
        return True
    if any(data.column(c).null_count for c in key):
        return False
    if len(key) == 1:
        return bool(pc.count_distinct(data.column(key[0])).as_py() == len(data))
    return bool(len(data.group_by(list(key)).aggregate([])) == len(data))


def _prepare(ws: Workspace, name: str, spatial: bool) -> _Prepared:
    """Read a layer (:func:`_read_raw`) and write its COPY payload (CSV written by Arrow in one buffer).

    Arrow's CSV quotes every string and writes a null as an empty unquoted field: exactly PostgreSQL's CSV
    COPY (an empty string stays an empty string, a null stays null).
    """
    raw = _read_raw(ws, name, spatial)
    data = raw.table
    attrs = list(data.column_names)
    key = _primary_key(name, pd.DataFrame(columns=attrs))
    if key is not None and not _holds_key(data, key):
        logger.warning("%s: (%s) is not unique and non-null in the workspace; published with a fid key instead",
                       name, ", ".join(key))  # fmt: skip
        key = None
    types = {c: _arrow_pg_type(data.schema.field(c).type) for c in attrs}
    for c in attrs:  # anything Arrow cannot write as CSV (lists, dates...) goes as text
        if types[c] == "text" and not pa.types.is_string(data.schema.field(c).type):
            data = data.set_column(data.column_names.index(c), c, data.column(c).cast(pa.string()))
    defs: list[sql.Composable] = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in attrs]
    names = list(attrs)
    if key is None:
        defs.insert(0, sql.SQL("fid bigint"))
        names.insert(0, "fid")
        data = data.add_column(0, "fid", pa.array(np.arange(1, len(raw) + 1, dtype=np.int64)))
        key = ("fid",)
    if raw.geoms is not None:
        if raw.ewkb:
            hexes = raw.geoms
            gtype = _WKB_TYPES[next(int(h[2:4], 16) for h in hexes if h)]
        else:
            hexes, gtype = _ewkb_hex_gpkg(raw.geoms)
        defs.append(
            sql.SQL("{} geometry({}, {})").format(sql.Identifier(GEOMETRY_COLUMN), sql.SQL(gtype), sql.Literal(SRID))
        )
        names.append(GEOMETRY_COLUMN)
        data = data.append_column(GEOMETRY_COLUMN, pa.array(hexes, type=pa.string()))
    payload = b""
    if len(raw) and names:
        buffer = io.BytesIO()
        pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
        payload = buffer.getvalue()
    return _Prepared(names, defs, key, payload, len(raw), raw.geoms is not None)


def _load(cur: psycopg.Cursor[Any], schema: str, name: str, prep: _Prepared) -> int:
    """DROP, CREATE, COPY, index one prepared table (inside the caller's transaction); returns the rows."""
    table = sql.Identifier(schema, name)
    grants = _saved_grants(cur, schema, name)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(prep.defs)))
    if prep.payload:
        copy_stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, prep.names))
        )
        view = memoryview(prep.payload)
        with cur.copy(copy_stmt) as copy:
            for start in range(0, len(view), 1 << 24):
                copy.write(view[start : start + (1 << 24)])
    cur.execute(
        sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(table, sql.SQL(", ").join(map(sql.Identifier, prep.key)))
    )
    if prep.spatial:
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} USING GIST ({})").format(
                sql.Identifier(f"{name}_{GEOMETRY_COLUMN}_gist"), table, sql.Identifier(GEOMETRY_COLUMN)
            )
        )
    for cols in SECONDARY_INDEXES.get(name, ()):
        if all(c in prep.names for c in cols) and cols != prep.key:
            cur.execute(
                sql.SQL("CREATE INDEX {} ON {} ({})").format(
                    sql.Identifier(f"{name}_{'_'.join(cols)}_idx"), table, sql.SQL(", ").join(map(sql.Identifier, cols))
                )
            )
    for grant in grants:
        cur.execute(grant)
    return prep.rows


def published_name(name: str) -> str:
    """The PostGIS table a workspace layer or table is published as (:data:`PUBLISHED_NAMES`, else the same)."""
    return PUBLISHED_NAMES.get(name, name)


def _workspace_name(table: str) -> str:
    return next((k for k, v in PUBLISHED_NAMES.items() if v == table), table)


def _write_notice(cur: psycopg.Cursor[Any], schema: str) -> None:
    """Publish the ODbL notice when the schema holds OpenStreetMap-derived tables (after this publish's loads).

    ``foncier_notice`` (one row per OSM-derived table: table, credit, licence, its URL, the notice) is
    replaced, the schema and each OSM-derived table carry the notice as their COMMENT; without OSM-derived
    tables the notice table is dropped and the schema's comment cleared.
    """
    rows = cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema]).fetchall()
    present = {_workspace_name(str(r[0])) for r in rows}
    notice = odbl_notice(present)
    table = sql.Identifier(schema, NOTICE_TABLE)
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    if notice is None:
        cur.execute(sql.SQL("COMMENT ON SCHEMA {} IS NULL").format(sql.Identifier(schema)))
        return
    derived = osm_derived(present)
    cur.execute(
        sql.SQL(
            "CREATE TABLE {} (table_name text PRIMARY KEY, credit text NOT NULL, licence text NOT NULL, "
            "licence_url text NOT NULL, notice text NOT NULL)"
        ).format(table)
    )
    osm_credit = LAYER_SOURCES["roads"][0]
    for layer in derived:
        credit = LAYER_SOURCES[layer][0] if layer in LAYER_SOURCES else f"computed with {osm_credit}"
        cur.execute(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(table),
            [published_name(layer), credit, ODBL.name, ODBL.url, notice],
        )
        cur.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(schema, published_name(layer)), sql.Literal(notice)
            )
        )
    cur.execute(sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(notice)))
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(notice)))


def published_notice(dsn: str, *, schema: str = "foncier") -> str | None:
    """The ODbL notice a published schema carries (``foncier_notice``), None when it holds no OSM data."""
    with connect(dsn) as conn, conn.cursor() as cur:
        try:
            if not _relation_exists(cur, schema, NOTICE_TABLE):
                return None
            row = cur.execute(
                sql.SQL("SELECT notice FROM {} LIMIT 1").format(sql.Identifier(schema, NOTICE_TABLE))
            ).fetchone()
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot read the notice from '{redact_dsn(dsn)}': {_scrub(str(exc), dsn)}") from None
    return str(row[0]) if row else None


_STATUS_DDL = """
CREATE TABLE {status} (
    parcel_id text PRIMARY KEY,
    status text NOT NULL CHECK (status IN ({choices})),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT current_user
);
CREATE TABLE {history} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id text NOT NULL,
    operation text NOT NULL,
    old_status text,
    new_status text,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by text NOT NULL DEFAULT current_user
);
CREATE INDEX {history_idx} ON {history} (parcel_id, changed_at);
CREATE FUNCTION {stamp}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    NEW.updated_at := now();
    NEW.updated_by := current_user;
    RETURN NEW;
END
$body$;
CREATE FUNCTION {log}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
AS $body$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status AND OLD.parcel_id = NEW.parcel_id THEN
        RETURN NULL;
    END IF;
    -- SECURITY DEFINER: officers cannot write the history themselves; who is the stamped updated_by
    -- (set by the invoker's BEFORE trigger) or, for a delete, the session user.
    EXECUTE format('INSERT INTO %I.parcel_status_history (parcel_id, operation, old_status, new_status, '
                   'changed_by) VALUES ($1, $2, $3, $4, $5)', TG_TABLE_SCHEMA)
    USING CASE WHEN TG_OP = 'DELETE' THEN OLD.parcel_id ELSE NEW.parcel_id END, TG_OP,
          CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END,
          CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.status END,
          CASE WHEN TG_OP = 'DELETE' THEN session_user::text ELSE NEW.updated_by END;
    RETURN NULL;
END
$body$;
CREATE TRIGGER parcel_status_stamp BEFORE INSERT OR UPDATE ON {status}
    FOR EACH ROW EXECUTE FUNCTION {stamp}();
CREATE TRIGGER parcel_status_log AFTER INSERT OR UPDATE OR DELETE ON {status}
    FOR EACH ROW EXECUTE FUNCTION {log}();
CREATE FUNCTION {view_edit}() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status IS NULL THEN
            EXECUTE format('DELETE FROM %I.parcel_status WHERE parcel_id = $1', TG_TABLE_SCHEMA) USING OLD.parcel_id;
        ELSE
            EXECUTE format('INSERT INTO %I.parcel_status (parcel_id, status) VALUES ($1, $2) '
                           'ON CONFLICT (parcel_id) DO UPDATE SET status = EXCLUDED.status', TG_TABLE_SCHEMA)
            USING OLD.parcel_id, NEW.status;
        END IF;
    END IF;
    RETURN NEW;
END
$body$;
"""


def _create_status_tables(cur: psycopg.Cursor[Any], schema: str, seed: Sequence[tuple[str, str]]) -> None:
    """Create parcel_status, its history and triggers, and seed it (first publish only)."""
    cur.execute(
        sql.SQL(_STATUS_DDL).format(
            status=sql.Identifier(schema, STATUS_TABLE),
            history=sql.Identifier(schema, HISTORY_TABLE),
            history_idx=sql.Identifier(f"{HISTORY_TABLE}_parcel_idx"),
            choices=sql.SQL(", ").join(map(sql.Literal, AVAILABILITY_STATUSES)),
            stamp=sql.Identifier(schema, "parcel_status_stamp"),
            log=sql.Identifier(schema, "parcel_status_log"),
            view_edit=sql.Identifier(schema, "parcels_status_edit"),
        )
    )
    copy_stmt = sql.SQL("COPY {} (parcel_id, status) FROM STDIN").format(sql.Identifier(schema, STATUS_TABLE))
    with cur.copy(copy_stmt) as copy:
        for row in seed:
            copy.write_row(row)
    logger.info("seeded %s.%s with %d workspace statuses", schema, STATUS_TABLE, len(seed))


def _workspace_statuses(ws: Workspace) -> list[tuple[str, str]]:
    frame = stored_statuses(ws)
    rows = [(str(p), str(s)) for p, s in zip(frame["parcel_id"], frame["status"], strict=True)]
    unknown = [r for r in rows if r[1] not in AVAILABILITY_STATUSES]
    if unknown:
        logger.warning(
            "%d parcel(s) have a status that is not an availability status (e.g. %s=%s); not seeded",
            len(unknown),
            *unknown[0],
        )
    return [r for r in rows if r[1] in AVAILABILITY_STATUSES]


def publish(ws: Workspace, dsn: str, *, schema: str = "foncier", layers: list[str] | None = None) -> dict[str, int]:
    """Copy the workspace's layers and tables into a PostGIS schema, in one transaction.

    Parameters
    ----------
    ws : Workspace
        The workspace to publish.
    dsn : str
        libpq connection string or URL (``postgresql://user:password@host:5432/dbname``).
    schema : str, default "foncier"
        Target schema (created when missing).
    layers : list of str, optional
        Names of the layers/tables to publish; default every one the workspace holds.

    Returns
    -------
    dict of str to int
        Rows published per table (by published name: :func:`published_name`), plus ``parcel_status``: the
        number of statuses now in the database. Every layer goes through :func:`foncier.layers.privacy.
        public_frame` (no owner or contact column ever reaches the database); when the schema holds
        OpenStreetMap-derived tables, the ODbL notice is written (``foncier_notice``, COMMENTs).

    Raises
    ------
    foncier.errors.LayerNotFoundError
        When a requested layer is not in the workspace.
    foncier.errors.DatabaseError
        When the database cannot be reached or refuses the publish (then its previous content is kept).
    """
    if not schema:
        raise DatabaseError("the target schema name is empty")
    stored: dict[str, str | None] = {}
    sizes: dict[str, int] = {}
    if ws.gpkg.exists():
        con = _connect_ro(ws)
        try:
            stored = dict(_gpkg.list_tables(con))
            sizes = {name: _feature_count(con, name) for name in stored}
        finally:
            con.close()
    names = list(stored) if layers is None else list(dict.fromkeys(layers))
    missing = [n for n in names if n not in stored]
    if missing:
        raise LayerNotFoundError(
            f"layer(s) {', '.join(missing)} not in workspace {ws.path}; stored: {', '.join(stored) or 'nothing'}"
        )
    start = time.perf_counter()
    shown = redact_dsn(dsn)
    counts: dict[str, int] = {}
    # each layer is read and prepared by a helper thread while the server loads the previous one (GDAL, Arrow
    # and the wait on the socket release the GIL); small layers first, so that the first big one is ready
    frames = dict.fromkeys(sorted(names, key=lambda n: sizes[n]))
    with connect(dsn) as conn, ThreadPoolExecutor(max_workers=1, thread_name_prefix="foncier-publish") as pool:
        futures = {name: pool.submit(_prepare, ws, name, stored[name] is not None) for name in frames}
        cancel = [f.cancel for f in futures.values()]  # on any failure, layers not read yet are not read
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET LOCAL maintenance_work_mem = '256MB'")  # faster key and GIST index builds
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                has_status = _relation_exists(cur, schema, STATUS_TABLE)
                view_grants: list[sql.Composed] = []
                if "parcels" in frames:
                    view_grants = _saved_grants(cur, schema, STATUS_VIEW)
                    cur.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(schema, STATUS_VIEW)))
                    if has_status:
                        cur.execute(
                            sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
                                sql.Identifier(schema, STATUS_TABLE), sql.Identifier(STATUS_FK)
                            )
                        )
                for name in frames:
                    t0 = time.perf_counter()
                    target = published_name(name)
                    counts[target] = _load(cur, schema, target, futures[name].result())
                    logger.info(
                        "published %s.%s: %d rows in %.2f s", schema, target, counts[target], time.perf_counter() - t0
                    )
                _write_notice(cur, schema)
                if "parcels" in frames:
                    _link_statuses(cur, ws, schema, has_status)
                    for grant in view_grants:
                        cur.execute(grant)
                if has_status or "parcels" in frames:
                    row = cur.execute(
                        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, STATUS_TABLE))
                    ).fetchone()
                    counts[STATUS_TABLE] = int(row[0]) if row else 0
            with conn.cursor() as cur:  # fresh planner statistics (outside the data transaction, cheap)
                conn.autocommit = True
                for name in frames:
                    if counts.get(published_name(name), 0) >= 1000:  # small tables: autovacuum's analyze is enough
                        cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, published_name(name))))
        except psycopg.Error as exc:
            for stop in cancel:
                stop()
            raise DatabaseError(
                f"publish to '{shown}' (schema {schema}) failed, its previous content is kept: {_scrub(str(exc), dsn)}"
            ) from None
        except BaseException:
            for stop in cancel:
                stop()
            raise
    logger.info("published %d table(s) of %s to %s in %.1f s", len(frames), ws.path, shown, time.perf_counter() - start)
    return counts


def _link_statuses(cur: psycopg.Cursor[Any], ws: Workspace, schema: str, has_status: bool) -> None:
    """After ``parcels`` was replaced: create/seed parcel_status (first time) or drop orphans, FK and view."""
    status = sql.Identifier(schema, STATUS_TABLE)
    parcels = sql.Identifier(schema, "parcels")
    if not has_status:
        _create_status_tables(cur, schema, _workspace_statuses(ws))
    else:
        cur.execute(
            sql.SQL("DELETE FROM {} s WHERE NOT EXISTS (SELECT 1 FROM {} p WHERE p.parcel_id = s.parcel_id)").format(
                status, parcels
            )
        )
        if cur.rowcount:
            logger.warning(
                "%d status(es) of parcels no longer in the cadastre were deleted (kept in %s)",
                cur.rowcount,
                HISTORY_TABLE,
            )
    cur.execute(
        sql.SQL(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY (parcel_id) REFERENCES {} (parcel_id) "
            "ON UPDATE CASCADE ON DELETE CASCADE"
        ).format(status, sql.Identifier(STATUS_FK), parcels)
    )
    view = sql.Identifier(schema, STATUS_VIEW)
    cur.execute(
        sql.SQL(
            "CREATE VIEW {} AS SELECT p.*, s.status, s.updated_at AS status_updated_at, "
            "s.updated_by AS status_updated_by FROM {} p LEFT JOIN {} s ON s.parcel_id = p.parcel_id"
        ).format(view, parcels, status)
    )
    cur.execute(
        sql.SQL("CREATE TRIGGER parcels_status_edit INSTEAD OF UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
            view, sql.Identifier(schema, "parcels_status_edit")
        )
    )
    cur.execute(
        sql.SQL("COMMENT ON VIEW {} IS {}").format(
            view,
            sql.Literal(
                "Parcels with their availability status (editable: a change of 'status' goes to parcel_status)"
            ),
        )
    )


# ---------------------------------------------------------------------------------------------- pull
def pull_statuses(ws: Workspace, dsn: str, *, schema: str = "foncier") -> int:
    """Write the officers' statuses (``parcel_status``) into the workspace parcels, atomically.

    Every parcel published to the database gets the status it has there (no row: no status); parcels of the
    workspace that were never published are left alone.

    Parameters
    ----------
    ws : Workspace
        The workspace the schema was published from.
    dsn : str
        libpq connection string or URL.
    schema : str, default "foncier"
        Schema holding ``parcels`` and ``parcel_status``.

    Returns
    -------
    int
        Number of workspace parcels whose status changed.

    Raises
    ------
    foncier.errors.DatabaseError
        When the database cannot be reached or holds no published parcels/statuses.
    foncier.errors.NotFoundError
        When a published parcel is not in the workspace (nothing is changed then).
    """
    shown = redact_dsn(dsn)
    with connect(dsn) as conn, conn.cursor() as cur:
        try:
            if not (_relation_exists(cur, schema, "parcels") and _relation_exists(cur, schema, STATUS_TABLE)):
                raise DatabaseError(
                    f"no published parcels and statuses in schema '{schema}' at '{shown}'; run 'foncier publish' first"
                )
            rows = cur.execute(
                sql.SQL(
                    "SELECT p.parcel_id, s.status, to_char(s.updated_at AT TIME ZONE 'UTC', "
                    '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'), s.updated_by '
                    "FROM {} p LEFT JOIN {} s ON s.parcel_id = p.parcel_id"
                ).format(sql.Identifier(schema, "parcels"), sql.Identifier(schema, STATUS_TABLE))
            ).fetchall()
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot read statuses from '{shown}': {_scrub(str(exc), dsn)}") from None
    mapping: dict[str, str | None] = {str(pid): status for pid, status, _, _ in rows}
    details = {str(pid): (str(when), str(who)) for pid, status, when, who in rows if status is not None}
    changed = apply_statuses(ws, mapping, source="foncier pull-status", details=details)
    logger.info(
        "pulled %d status(es) from %s: %d parcel(s) changed",
        sum(v is not None for v in mapping.values()),
        shown,
        changed,
    )
    return changed

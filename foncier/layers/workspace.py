"""The workspace: one GeoPackage per territory, plus the DEM beside it.

A workspace is a directory holding ``foncier.gpkg`` (every vector layer, the derived layers and tables:
sites, criteria, scores, breakdowns, isochrones; a ``provenance`` table and a ``metadata`` table) and
``dem.tif``. The GeoPackage opens in QGIS as it is; see docs/CONTRACTS.md for its tables.

Writes are atomic: the GeoPackage is copied to a temporary file in the same directory, changed there and
moved over the original with :func:`os.replace` only when every write succeeded. An interrupted or failed
write leaves the previous content intact, and readers (the API) keep a consistent file. A lock file
serialises concurrent writers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import shutil
import sqlite3
import struct
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from foncier._version import __version__
from foncier.errors import LayerNotFoundError, WorkspaceError
from foncier.geo.crs import LAMBERT93
from foncier.layers.schemas import SCHEMAS

logger = logging.getLogger(__name__)

GPKG_NAME = "foncier.gpkg"
DEM_NAME = "dem.tif"
LOCK_NAME = ".foncier.lock"
DEM_NODATA = -9999.0

PROVENANCE_COLUMNS = ("layer", "source", "licence", "retrieved", "vintage", "feature_count", "checksum", "state")


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

    Examples
    --------
    >>> ws = Workspace.create("/tmp/ws", territory="Soissonnais et Valois", synthetic=True)  # doctest: +SKIP
    >>> ws.write_layers({"parcels": parcels}, [Provenance("parcels", "cadastre.json")])  # doctest: +SKIP
    >>> ws.read_layer("parcels", bbox=(700000, 6900000, 701000, 6901000))  # doctest: +SKIP
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.gpkg = self.path / GPKG_NAME
        self.dem_path = self.path / DEM_NAME

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
        return ws

    # ------------------------------------------------------------------ reading
    def list_layers(self) -> list[str]:
        """Names of every layer and table in the GeoPackage."""
        if not self.gpkg.exists():
            return []
        try:
            return [str(name) for name, _ in pyogrio.list_layers(self.gpkg)]
        except pyogrio.errors.DataSourceError as exc:
            raise WorkspaceError(f"{self.gpkg} is not a readable GeoPackage: {exc}") from None

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
        """Read a vector layer, optionally filtered by a Lambert-93 ``bbox`` (uses the spatial index).

        Raises
        ------
        foncier.errors.LayerNotFoundError
            When the layer is not in the workspace.
        """
        self._require(name)
        frame = pyogrio.read_dataframe(self.gpkg, layer=name, bbox=bbox, where=where, columns=columns, use_arrow=True)
        return _restore_kinds(name, frame)

    def read_table(self, name: str, *, where: str | None = None) -> pd.DataFrame:
        """Read an attribute (non-spatial) table as a DataFrame."""
        self._require(name)
        frame = pyogrio.read_dataframe(self.gpkg, layer=name, where=where, read_geometry=False, use_arrow=True)
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
        return self.read_table("provenance")

    def feature_count(self, name: str) -> int:
        """Number of features in a layer, from GDAL's metadata (no full read)."""
        self._require(name)
        info = pyogrio.read_info(self.gpkg, layer=name)
        return int(info["features"])

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / LOCK_NAME).open("w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Path]:
        """Yield a temporary copy of the GeoPackage; it replaces the original only if the block succeeds."""
        with self._lock():
            fd, tmp_name = tempfile.mkstemp(prefix=".foncier-", suffix=".gpkg", dir=self.path)
            os.close(fd)
            os.chmod(tmp_name, _default_file_mode())
            tmp = Path(tmp_name)
            try:
                if self.gpkg.exists():
                    shutil.copyfile(self.gpkg, tmp)
                else:
                    tmp.unlink()
                yield tmp
                if tmp.exists():
                    with open(tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
                    os.replace(tmp, self.gpkg)
            except BaseException:
                logger.debug("write to %s failed; previous content kept", self.gpkg)
                raise
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

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
        with self.transaction() as tmp:
            for name, frame in layers.items():
                self._write_one(tmp, name, frame)
            if provenance:
                self._write_one(tmp, "provenance", self._merged_provenance(tmp, provenance))

    def write_tables(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Write attribute tables atomically (alias of :meth:`write_layers` for plain DataFrames)."""
        self.write_layers(tables)

    def delete_layers(self, names: list[str]) -> None:
        """Remove layers/tables atomically (missing names are ignored)."""
        with self.transaction() as tmp:
            if not tmp.exists():
                return
            con = sqlite3.connect(tmp)
            try:
                present = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
            finally:
                con.close()
            for name in names:
                if name in present:
                    _drop_gpkg_table(tmp, name)

    @staticmethod
    def _write_one(path: Path, name: str, frame: pd.DataFrame) -> None:
        prepared = _prepare_for_gpkg(frame)
        kwargs: dict[str, Any] = {}
        if isinstance(prepared, gpd.GeoDataFrame):
            kwargs["promote_to_multi"] = False
            geom_types = set(prepared.geom_type.dropna().unique())
            if geom_types and geom_types <= {"Polygon", "MultiPolygon"} and len(geom_types) > 1:
                kwargs["geometry_type"] = "MultiPolygon"
                kwargs["promote_to_multi"] = True
            elif geom_types and geom_types <= {"LineString", "MultiLineString"} and len(geom_types) > 1:
                kwargs["geometry_type"] = "MultiLineString"
                kwargs["promote_to_multi"] = True
        try:
            pyogrio.write_dataframe(prepared, path, layer=name, driver="GPKG", **kwargs)
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise WorkspaceError(f"cannot write layer '{name}': {exc}") from None

    def _merged_provenance(self, path: Path, records: list[Provenance]) -> pd.DataFrame:
        if path.exists() and "provenance" in {str(n) for n, _ in pyogrio.list_layers(path)}:
            current = pd.DataFrame(pyogrio.read_dataframe(path, layer="provenance", read_geometry=False))
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

    def statuses_digest(self) -> str:
        """SHA-256 of the parcels' (id, status) pairs: changes whenever a status is edited."""
        con = sqlite3.connect(f"file:{self.gpkg}?mode=ro", uri=True)
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
            con.close()

    def set_parcel_status(self, parcel_ids: list[str], status: str | None) -> int:
        """Give ``parcel_ids`` the availability ``status`` (atomically); returns how many parcels changed.

        See :meth:`set_parcel_statuses` (same checks: nothing is changed when an id is unknown).
        """
        return self.set_parcel_statuses(dict.fromkeys(parcel_ids, status))

    def set_parcel_statuses(self, mapping: Mapping[str, str | None]) -> int:
        """Set many parcels' availability statuses in one transaction; returns how many parcels changed.

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
        with self.transaction() as tmp:
            if not tmp.exists():
                raise WorkspaceError(f"no workspace at {self.path}")
            con = sqlite3.connect(tmp)
            register_gpkg_functions(con)
            try:
                tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
                if "parcels" not in tables:
                    raise WorkspaceError(f"workspace {self.path} has no parcels layer")
                for column in ("status", "status_date"):
                    if not self._has_column(con, "parcels", column):
                        con.execute(f'ALTER TABLE parcels ADD COLUMN "{column}" TEXT')
                con.execute("CREATE TEMP TABLE foncier_new_status (parcel_id TEXT PRIMARY KEY, status TEXT)")
                con.executemany("INSERT OR REPLACE INTO foncier_new_status VALUES (?, ?)", list(mapping.items()))
                missing = [r[0] for r in con.execute(
                    "SELECT n.parcel_id FROM foncier_new_status n WHERE NOT EXISTS (SELECT 1 FROM parcels p "
                    "WHERE p.parcel_id = n.parcel_id) ORDER BY n.parcel_id LIMIT 11")]  # fmt: skip
                if missing:
                    raise NotFoundError(
                        f"no parcel {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} "
                        f"in workspace {self.path}"
                    )
                cur = con.execute(
                    "UPDATE parcels SET status = n.status, status_date = ? FROM foncier_new_status n "
                    "WHERE parcels.parcel_id = n.parcel_id AND parcels.status IS NOT n.status",
                    [today],
                )
                changed = int(cur.rowcount)
                con.execute("DROP TABLE foncier_new_status")
                con.commit()
                return changed
            finally:
                con.close()

    # ------------------------------------------------------------------ raster
    def write_dem(
        self, array: np.ndarray, transform: Any, *, crs: str = LAMBERT93, provenance: Provenance | None = None
    ) -> None:
        """Store the DEM as a tiled, compressed GeoTIFF beside the GeoPackage (atomically)."""
        import rasterio

        if array.ndim != 2:
            raise WorkspaceError(f"the DEM must be a 2-D array, got shape {array.shape}")
        self.path.mkdir(parents=True, exist_ok=True)
        data = np.where(np.isfinite(array), array, DEM_NODATA).astype("float32")
        with self._lock():
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
                os.replace(tmp_name, self.dem_path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
        if provenance is not None:
            with self.transaction() as tmp:
                self._write_one(tmp, "provenance", self._merged_provenance(tmp, [provenance]))

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
            for name, geom_type in pyogrio.list_layers(self.gpkg):
                info = pyogrio.read_info(self.gpkg, layer=name)
                rows.append({"layer": str(name), "features": int(info["features"]), "geometry": geom_type or "table"})
        if self.dem_path.exists():
            import rasterio

            with rasterio.open(self.dem_path) as src:
                raster = f"raster {src.res[0]:g} m"
                rows.append({"layer": "dem", "features": src.width * src.height, "geometry": raster})
        return pd.DataFrame(rows, columns=["layer", "features", "geometry"])


def _gpkg_envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GeoPackage geometry blob, None when empty or null."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if (flags >> 4) & 1:
        return None
    order = "<" if flags & 1 else ">"
    indicator = (flags >> 1) & 7
    if indicator:
        return struct.unpack(f"{order}4d", blob[8:40])
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(indicator, 0)
    import shapely

    geom = shapely.from_wkb(bytes(blob[8 + size :]))
    if geom is None or geom.is_empty:
        return None
    xmin, ymin, xmax, ymax = geom.bounds
    return (xmin, xmax, ymin, ymax)


def register_gpkg_functions(con: sqlite3.Connection) -> None:
    """Register the SQL functions the GeoPackage R-tree triggers call (ST_IsEmpty, ST_MinX...), so that plain
    sqlite3 can update rows of a spatial table (GDAL registers them in its own connections)."""

    def envelope_part(i: int) -> Any:
        def fn(blob: bytes | None) -> float | None:
            env = _gpkg_envelope(blob)
            return None if env is None else env[i]

        return fn

    con.create_function("ST_IsEmpty", 1, lambda b: 1 if _gpkg_envelope(b) is None else 0, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, envelope_part(i), deterministic=True)


def _drop_gpkg_table(path: Path, name: str) -> None:
    """Drop a table and its GeoPackage registrations (contents, geometry columns, spatial index, triggers)."""
    con = sqlite3.connect(path)
    try:
        try:
            rtree = [r[0] for r in con.execute(
                "SELECT 'rtree_' || table_name || '_' || column_name FROM gpkg_extensions "
                "WHERE table_name = ? AND extension_name = 'gpkg_rtree_index'", (name,))]  # fmt: skip
        except sqlite3.OperationalError:  # no gpkg_extensions table: no spatial index to drop
            rtree = []
        for idx in rtree:
            con.execute(f'DROP TABLE IF EXISTS "{idx}"')
        triggers = con.execute("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name=?", (name,))
        for trig in [r[0] for r in triggers]:
            con.execute(f'DROP TRIGGER IF EXISTS "{trig}"')
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
        for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents"):
            with contextlib.suppress(sqlite3.OperationalError):
                con.execute(f"DELETE FROM {table} WHERE table_name = ?", (name,))
        con.commit()
    finally:
        con.close()

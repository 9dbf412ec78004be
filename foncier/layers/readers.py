"""Readers for local files in any format GDAL reads, reprojected to Lambert-93 and validated.

:func:`read_layer` is the one entry point: it reads GeoJSON (also gzipped), GeoPackage, Shapefile (with its
``.cpg`` encoding or a given one), FlatGeobuf, GeoParquet, and CSV with lon/lat or WKT columns; maps the
publisher's columns to the canonical layer (:mod:`foncier.layers.formats`); checks the declared CRS against
the coordinates; reprojects to EPSG:2154; and validates (:mod:`foncier.layers.validate`).
"""

from __future__ import annotations

import gzip
import logging
import os
import tempfile
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from foncier.errors import CRSError, DataFormatError, LayerValidationError, Problem
from foncier.geo.crs import FRANCE_BOUNDS_L93, FRANCE_BOUNDS_LONLAT, LAMBERT93, bounds_within, guess_crs_from_bounds
from foncier.layers.cnig import read_cnig_csv
from foncier.layers.formats import to_canonical
from foncier.layers.privacy import drop_personal
from foncier.layers.validate import ValidationReport, validate_layer

logger = logging.getLogger(__name__)

_LON_NAMES = ("lon", "lng", "longitude", "x_wgs84", "long")
_LAT_NAMES = ("lat", "latitude", "y_wgs84")
_X_NAMES = ("x", "x_l93", "easting")
_Y_NAMES = ("y", "y_l93", "northing")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom")


def _read_csv(path: Path, *, encoding: str | None, crs: str | None) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(path, dtype=str, encoding=encoding or "utf-8", sep=None, engine="python")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"{path}: cannot read CSV ({exc})") from None
    lower = {c.lower(): c for c in df.columns}
    wkt = next((lower[n] for n in _WKT_NAMES if n in lower), None)
    if wkt is not None:
        try:
            geoms = shapely.from_wkt(df[wkt].fillna("").replace("", None).to_numpy(), on_invalid="raise")
        except shapely.errors.GEOSException as exc:
            raise DataFormatError(f"{path}: column '{wkt}' holds malformed WKT ({exc})") from None
        return gpd.GeoDataFrame(df.drop(columns=[wkt]), geometry=geoms, crs=crs)
    lon = next((lower[n] for n in _LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in _LAT_NAMES if n in lower), None)
    default_crs = "EPSG:4326"
    if lon is None or lat is None:
        lon = next((lower[n] for n in _X_NAMES if n in lower), None)
        lat = next((lower[n] for n in _Y_NAMES if n in lower), None)
        default_crs = crs or ""
    if lon is None or lat is None:
        raise DataFormatError(
            f"{path}: CSV has no geometry: expected lon/lat (or x/y with --crs) or a WKT column; "
            f"columns are {', '.join(df.columns)}"
        )
    x = pd.to_numeric(df[lon].str.replace(",", ".", regex=False), errors="coerce")
    y = pd.to_numeric(df[lat].str.replace(",", ".", regex=False), errors="coerce")
    geoms = shapely.points(x.to_numpy(), y.to_numpy())
    geoms[x.isna().to_numpy() | y.isna().to_numpy()] = None
    return gpd.GeoDataFrame(df, geometry=geoms, crs=crs or (default_crs or None))


def _is_cnig_csv(path: Path) -> bool:
    """A CNIG Sites économiques exchange CSV: its header names a GeoJSON geometry field."""
    with path.open("rb") as fh:
        head = fh.readline(65536).decode("utf-8", errors="replace").lower()
    return "terr_geomsurf" in head or "site_geomsurf" in head


#: Default cap on the decompressed size of a ``.gz`` input (``FONCIER_MAX_GUNZIP_BYTES``): a bomb stops there.
DEFAULT_MAX_GUNZIP_BYTES = 2 * 1024**3


def max_gunzip_bytes() -> int:
    """Largest decompressed size of a ``.gz`` input: ``FONCIER_MAX_GUNZIP_BYTES`` or 2 GiB."""
    raw = os.environ.get("FONCIER_MAX_GUNZIP_BYTES", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_GUNZIP_BYTES


def _gunzip_to_temp(path: Path, directory: Path) -> Path:
    """Decompress ``path`` into ``directory`` by streaming, refusing more than :func:`max_gunzip_bytes`."""
    suffix = "".join(path.suffixes[:-1]) or ".json"
    tmp = directory / f"{path.stem}{'' if path.stem.endswith(suffix) else suffix}"
    limit = max_gunzip_bytes()
    written = 0
    try:
        with gzip.open(path, "rb") as src, tmp.open("wb") as dst:
            while block := src.read(1 << 20):
                written += len(block)
                if written > limit:
                    raise DataFormatError(
                        f"{path}: decompresses to more than {limit} bytes (from {path.stat().st_size} compressed): "
                        "refused as a likely decompression bomb; decompress it yourself if it is genuine, or "
                        "raise FONCIER_MAX_GUNZIP_BYTES"
                    )
                dst.write(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: corrupt or truncated gzip file ({exc})") from None
    return tmp


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector file as it is (no mapping, no reprojection, no validation).

    Parameters
    ----------
    path : str or Path
        Any file GDAL reads, a ``.gz`` of one, or a CSV.
    layer : str, optional
        Layer inside a multi-layer file (GeoPackage).
    encoding : str, optional
        Text encoding of a Shapefile's DBF or a CSV (default: the ``.cpg`` or UTF-8).
    crs : str, optional
        CRS of the coordinates when the file declares none (e.g. "EPSG:2154"). Overrides nothing declared.

    Raises
    ------
    foncier.errors.DataFormatError
        Missing, empty, truncated or corrupt file, unknown format.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise DataFormatError(f"{path}: the file is empty")
    if path.suffix.lower() == ".gz":
        with tempfile.TemporaryDirectory(prefix="foncier-") as tmp:  # removed whatever happens
            return read_vector(_gunzip_to_temp(path, Path(tmp)), layer=layer, encoding=encoding, crs=crs)
    if path.suffix.lower() in (".csv", ".tsv", ".txt"):
        if _is_cnig_csv(path):
            return read_cnig_csv(path)
        return _read_csv(path, encoding=encoding, crs=crs)
    kwargs: dict[str, object] = {}
    if encoding:
        kwargs["encoding"] = encoding
    if layer:
        kwargs["layer"] = layer
    elif path.suffix.lower() in (".gpkg", ".sqlite", ".gdb", ".kml", ".gml", ".zip"):
        _require_single_layer(path)
    try:
        if path.suffix.lower() == ".parquet":
            gdf = gpd.read_parquet(path)
        else:
            gdf = pyogrio.read_dataframe(path, use_arrow=False, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        message = str(exc).splitlines()[0]
        hint = ""
        if path.suffix.lower() in (".json", ".geojson"):
            hint = " (truncated or malformed GeoJSON?)"
        raise DataFormatError(f"{path}: cannot read the file{hint}: {message}") from None
    except shapely.errors.GEOSException:
        raise _geometry_error(path, kwargs) from None
    except (ValueError, OSError) as exc:
        raise DataFormatError(f"{path}: cannot read the file: {exc}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise DataFormatError(f"{path}: the file has no geometry")
    if gdf.crs is None and crs:
        gdf = gdf.set_crs(crs)
    return gdf


def _require_single_layer(path: Path) -> None:
    """Refuse a multi-layer file read without ``--sublayer`` (it used to store its first layer silently)."""
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError):
        return  # the read itself will say what is wrong
    if len(names) > 1:
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise DataFormatError(f"{path}: the file holds {len(names)} layers ({shown}): choose one with --sublayer NAME")


def _geometry_error(path: Path, kwargs: dict[str, object]) -> LayerValidationError:
    """The rows whose geometry GEOS cannot build (unclosed ring, too few points...), as a clear error."""
    problems: list[Problem] = []
    try:
        _, _, wkbs, _ = pyogrio.raw.read(path, **kwargs)[:4]
        for row, wkb in enumerate(wkbs):
            if wkb is None:
                continue
            try:
                shapely.from_wkb(wkb)
            except shapely.errors.GEOSException as exc:
                reason = str(exc).split(":", 1)[-1].strip()
                if "closed" in reason:
                    reason = "a polygon ring is not closed (its first and last points differ)"
                elif "must have" in reason or "Invalid number of points" in reason:
                    reason = f"a ring or line has too few points ({reason})"
                problems.append(Problem(f"invalid geometry: {reason}", str(path), row, "geometry"))
                if len(problems) >= 20:
                    break
    except Exception:
        pass
    if not problems:
        problems = [Problem("a geometry cannot be built (unclosed ring or too few points)", str(path))]
    return LayerValidationError(problems, title="invalid geometries")


def _non_finite_rows(gdf: gpd.GeoDataFrame, source: str) -> None:
    """Refuse coordinates that are NaN or infinite, naming the rows."""
    geoms = gdf.geometry.array
    coords, index = shapely.get_coordinates(np.asarray(geoms), return_index=True)
    bad = sorted({int(i) for i in index[~np.isfinite(coords).all(axis=1)]})
    if bad:
        raise LayerValidationError(
            [Problem("coordinate is NaN or infinite", source, row, "geometry") for row in bad[:20]],
            title=f"{len(bad)} feature(s) with NaN or infinite coordinates",
        )


def _check_crs(gdf: gpd.GeoDataFrame, source: str) -> None:
    """Check that the declared CRS fits the coordinates; raise CRSError naming the likely one."""
    geoms = gdf.geometry
    present = geoms[~geoms.isna() & ~geoms.is_empty]
    if present.empty:
        return
    xmin, ymin, xmax, ymax = (float(v) for v in present.total_bounds)
    bounds = (xmin, ymin, xmax, ymax)
    guess = guess_crs_from_bounds(bounds)
    if gdf.crs is None:
        hint = f" The coordinates look like {guess}: pass --crs {guess} if so." if guess else ""
        raise CRSError([Problem(f"no coordinate reference system declared.{hint}", source)], title="unknown CRS")
    try:
        crs = CRS.from_user_input(gdf.crs)
    except Exception as exc:
        raise CRSError([Problem(f"unreadable CRS ({exc})", source)], title="unknown CRS") from None
    if crs.is_geographic:
        ok = bounds_within(bounds, FRANCE_BOUNDS_LONLAT)
        expected = "longitude/latitude over France"
    else:
        try:
            l93 = gpd.GeoSeries(present.envelope, crs=crs).to_crs(LAMBERT93).total_bounds
            l93_bounds = (float(l93[0]), float(l93[1]), float(l93[2]), float(l93[3]))
            ok = bool(np.isfinite(l93).all()) and bounds_within(l93_bounds, FRANCE_BOUNDS_L93)
        except Exception:
            ok = False
        expected = f"coordinates of {crs.to_string()} over France"
    if not ok:
        hint = f"; they look like {guess}" if guess and guess != crs.to_string() else ""
        raise CRSError(
            [
                Problem(
                    f"declared CRS is {crs.to_string()} but the coordinates (extent {bounds[0]:.6g}, {bounds[1]:.6g}, "
                    f"{bounds[2]:.6g}, {bounds[3]:.6g}) are not {expected}{hint}. A GeoJSON without a 'crs' member "
                    "is read as EPSG:4326: reproject the file or pass --crs with its real CRS.",
                    source,
                )
            ],
            title="wrong CRS",
        )


def read_layer(
    path: str | Path,
    layer: str,
    *,
    sublayer: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    repair: bool = True,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Read, map, reproject and validate one canonical layer from a local file.

    Parameters
    ----------
    path : str or Path
        The file (any GDAL vector format, ``.gz``, CSV with lon/lat or WKT, GeoParquet).
    layer : str
        Canonical layer name (parcels, communes, zones, ...).
    sublayer : str, optional
        Layer inside a multi-layer file.
    encoding : str, optional
        Shapefile/CSV encoding.
    crs : str, optional
        CRS to assume when the file declares none. A declared CRS is never overridden: when it contradicts
        the coordinates the file is refused.
    repair : bool, default True
        Repair invalid geometries where safe (reported).

    Returns
    -------
    (geopandas.GeoDataFrame, ValidationReport)

    Raises
    ------
    foncier.errors.DataFormatError, foncier.errors.CRSError, foncier.errors.LayerValidationError
    """
    source = str(path)
    if crs is not None:
        try:
            CRS.from_user_input(crs)
        except Exception:
            raise CRSError([Problem(f"unknown CRS '{crs}' given", source)], title="unknown CRS") from None
    raw = read_vector(path, layer=sublayer, encoding=encoding, crs=crs)
    if len(raw) == 0:
        raise DataFormatError(f"{source}: the file has no features")
    _non_finite_rows(raw, source)
    _check_crs(raw, source)
    mapped = to_canonical(raw, layer)
    mapped, personal = drop_personal(mapped)
    if not mapped.crs.equals(CRS.from_user_input(LAMBERT93)):
        mapped = mapped.to_crs(LAMBERT93)
    gdf, report = validate_layer(mapped, layer, source=source, repair=repair)
    if personal:
        report.warnings.append(Problem(
            f"personal data not stored: {', '.join(personal)} (owner or owner-derived columns are dropped)",
            source, None, ", ".join(personal)))  # fmt: skip
        logger.warning("%s: personal columns dropped, not stored: %s", source, ", ".join(personal))
    return gdf, report

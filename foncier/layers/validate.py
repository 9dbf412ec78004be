"""Validation of layers against their canonical schema.

:func:`validate_layer` checks everything at once (CRS, required columns and kinds, value constraints, unique
ids, null, empty, invalid and mistyped geometries, coordinates outside France) and raises one
:class:`~foncier.errors.LayerValidationError` listing every problem with its row and column. Invalid
polygons are repaired only where the repair is safe (``shapely.make_valid`` keeps the same kind of geometry
and changes the area by less than a tolerance); every repair is reported.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.errors import LayerValidationError, Problem
from foncier.geo.crs import FRANCE_BOUNDS_L93, is_lambert93
from foncier.layers.schemas import Column, LayerSchema, get_schema

logger = logging.getLogger(__name__)

#: Largest relative area change accepted for an automatic repair of an invalid polygon.
SAFE_REPAIR_AREA_TOLERANCE = 0.01
#: How many problems of one kind are listed before they are summarised.
MAX_PROBLEMS_PER_KIND = 20


@dataclass
class ValidationReport:
    """What validation changed or noticed without refusing the layer.

    Attributes
    ----------
    layer : str
        Canonical layer name.
    source : str or None
        File the layer came from.
    repairs : list of Problem
        Geometries repaired, with their rows.
    warnings : list of Problem
        Things worth knowing that did not block the layer.
    """

    layer: str
    source: str | None = None
    repairs: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


class _Collector:
    """Collects problems, summarising when one kind repeats many times."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self._counts: dict[str, int] = {}

    def add(self, kind: str, message: str, row: int | None = None, column: str | None = None) -> None:
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        if n <= MAX_PROBLEMS_PER_KIND:
            self.problems.append(Problem(message, self.source, row, column))

    def add_rows(self, kind: str, message: str, rows: np.ndarray | pd.Index, column: str | None = None) -> None:
        """Add a problem for each of ``rows`` (positions), summarised past the limit."""
        rows = list(rows)
        for r in rows[:MAX_PROBLEMS_PER_KIND]:
            self.add(kind, message, int(r), column)
        if len(rows) > MAX_PROBLEMS_PER_KIND:
            self.problems.append(
                Problem(
                    f"{message} ({len(rows) - MAX_PROBLEMS_PER_KIND} more rows, {len(rows)} in all)",
                    self.source,
                    None,
                    column,
                )
            )


def _coerce_column(series: pd.Series, col: Column, collect: _Collector) -> pd.Series:
    """Coerce ``series`` to the kind of ``col``, recording values that cannot be converted."""
    positions = np.arange(len(series))
    original_null = series.isna().to_numpy()
    if col.kind == "str":
        out = series.astype("string")
        # numbers read from CSV/Shapefile as floats: "2.0" -> "2" is not safe in general; keep as is
    elif col.kind in ("int", "float"):
        out = pd.to_numeric(series, errors="coerce")
        bad = ~original_null & out.isna().to_numpy()
        if bad.any():
            collect.add_rows("type", f"value is not a number ({col.kind} expected)", positions[bad], col.name)
        if col.kind == "int":
            fractional = out.notna().to_numpy() & (out.fillna(0) % 1 != 0).to_numpy()
            if fractional.any():
                collect.add_rows("type", "value is not a whole number", positions[fractional], col.name)
            out = out.round().astype("Int64")
        else:
            out = out.astype("float64")
            inf = np.isinf(out.to_numpy(dtype="float64", na_value=np.nan))
            if inf.any():
                collect.add_rows("range", "value is infinite", positions[inf], col.name)
    elif col.kind == "bool":
        mapping = {
            "true": True, "t": True, "1": True, "o": True, "oui": True, "y": True, "yes": True,
            "false": False, "f": False, "0": False, "n": False, "non": False, "no": False,
        }  # fmt: skip

        def _to_bool(v: object) -> object:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return pd.NA
            if isinstance(v, bool | np.bool_):
                return bool(v)
            if isinstance(v, int | np.integer | float | np.floating):
                return bool(v) if v in (0, 1) else None
            return mapping.get(str(v).strip().lower())

        converted = series.map(_to_bool)
        bad = ~original_null & converted.isna().to_numpy() | converted.map(lambda v: v is None).to_numpy()
        if bad.any():
            collect.add_rows("type", "value is not a boolean (true/false, O/N, 1/0)", positions[bad], col.name)
        out = converted.where(~converted.map(lambda v: v is None), pd.NA).astype("boolean")
        if not out.isna().any():
            out = out.astype(bool)
    else:  # date
        out = pd.to_datetime(series, errors="coerce")
        bad = ~original_null & out.isna().to_numpy()
        if bad.any():
            collect.add_rows("type", "value is not a date", positions[bad], col.name)
        out = out.dt.strftime("%Y-%m-%d").astype("string")
    return out


def _check_values(series: pd.Series, col: Column, collect: _Collector) -> None:
    positions = np.arange(len(series))
    null = series.isna().to_numpy()
    if not col.nullable and null.any():
        collect.add_rows("null", "missing value", positions[null], col.name)
    present = ~null
    if col.kind == "str" and present.any():
        values = series.astype("string")
        if col.pattern is not None:
            ok = values.str.fullmatch(col.pattern.pattern).fillna(True).to_numpy(dtype=bool)
            bad = present & ~ok
            if bad.any():
                sample = values[bad].iloc[0]
                collect.add_rows(
                    "pattern",
                    f"malformed value (e.g. '{sample}', expected {col.description or col.pattern.pattern})",
                    positions[bad],
                    col.name,
                )
        if col.choices is not None:
            bad = present & ~values.isin(col.choices).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                sample = values[bad].iloc[0]
                collect.add_rows(
                    "choice", f"unknown value '{sample}' (allowed: {', '.join(col.choices)})", positions[bad], col.name
                )
    if col.kind in ("int", "float") and present.any():
        values_f = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        if col.minimum is not None:
            bad = present & (values_f < col.minimum)
            if bad.any():
                collect.add_rows("range", f"value below {col.minimum:g}", positions[bad], col.name)
        if col.maximum is not None:
            bad = present & (values_f > col.maximum)
            if bad.any():
                collect.add_rows("range", f"value above {col.maximum:g} (absurd)", positions[bad], col.name)


def _check_geometries(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, collect: _Collector, report: ValidationReport
) -> gpd.GeoSeries:
    geoms = gdf.geometry.to_numpy().copy()
    positions = np.arange(len(geoms))
    missing = shapely.is_missing(geoms)
    if missing.any():
        collect.add_rows("geom_null", "geometry is missing", positions[missing], "geometry")
    empty = ~missing & shapely.is_empty(geoms)
    if empty.any():
        collect.add_rows("geom_empty", "geometry is empty", positions[empty], "geometry")
    present = ~missing & ~empty
    types = np.array([g.geom_type if g is not None else "" for g in geoms], dtype=object)
    wrong = present & ~np.isin(types, schema.geometry_types)
    if wrong.any():
        collect.add_rows(
            "geom_type",
            f"geometry type {types[wrong][0]} not allowed (expected {' or '.join(schema.geometry_types)})",
            positions[wrong],
            "geometry",
        )
    present &= ~wrong
    invalid = present & ~shapely.is_valid(geoms)
    for pos in positions[invalid]:
        geom = geoms[pos]
        reason = shapely.is_valid_reason(geom)
        repaired = _safe_repair(geom, schema)
        if repaired is None:
            message = f"invalid geometry ({reason}); not repaired automatically"
            collect.add("geom_invalid", message, int(pos), "geometry")
        else:
            geoms[pos] = repaired
            report.repairs.append(Problem(f"invalid geometry repaired ({reason})", report.source, int(pos), "geometry"))
    # coordinates outside France (after reprojection to Lambert-93)
    if present.any() and is_lambert93(gdf.crs):
        b = shapely.bounds(geoms[present])
        xmin, ymin, xmax, ymax = FRANCE_BOUNDS_L93
        out = (b[:, 0] < xmin) | (b[:, 1] < ymin) | (b[:, 2] > xmax) | (b[:, 3] > ymax)
        if out.any():
            collect.add_rows(
                "outside",
                "coordinates outside metropolitan France (wrong CRS or swapped axes?)",
                positions[present][out],
                "geometry",
            )
    return gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)


def _safe_repair(geom: shapely.Geometry, schema: LayerSchema) -> shapely.Geometry | None:
    """Repair ``geom`` when the result is the same kind and nearly the same area; else None."""
    fixed = shapely.make_valid(geom)
    if fixed.geom_type == "GeometryCollection":
        parts = [g for g in fixed.geoms if g.geom_type in schema.geometry_types]
        fixed = shapely.union_all(parts) if parts else fixed
    if fixed.is_empty or fixed.geom_type not in schema.geometry_types or not fixed.is_valid:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        before = abs(shapely.area(shapely.buffer(geom, 0))) if geom.area == 0 else geom.area
        after = fixed.area
        if before <= 0 or abs(after - before) / before > SAFE_REPAIR_AREA_TOLERANCE:
            return None
        # a self-intersecting ring turned into several parts ("bow-tie") changes the shape: refuse
        if geom.geom_type == "Polygon" and fixed.geom_type == "MultiPolygon":
            return None
    return fixed


def validate_layer(
    gdf: gpd.GeoDataFrame,
    layer: str,
    *,
    source: str | None = None,
    repair: bool = True,
) -> tuple[gpd.GeoDataFrame, ValidationReport]:
    """Validate ``gdf`` against the canonical schema of ``layer``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer, already in Lambert-93 (readers reproject before validating).
    layer : str
        Canonical layer name (see :data:`foncier.layers.schemas.SCHEMAS`).
    source : str, optional
        File or URL the layer came from, named in every problem.
    repair : bool, default True
        Repair invalid geometries where it is safe (see module docstring).

    Returns
    -------
    (geopandas.GeoDataFrame, ValidationReport)
        The layer with canonical columns first, coerced to their kinds, geometries repaired, a fresh
        RangeIndex; and the report of repairs and warnings.

    Raises
    ------
    foncier.errors.LayerValidationError
        With every problem found, when any is blocking.
    """
    schema = get_schema(layer)
    collect = _Collector(source)
    report = ValidationReport(layer=layer, source=source)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name is None:
        raise LayerValidationError([Problem("no geometry column", source)], title=f"layer '{layer}' is invalid")
    if len(gdf) == 0:
        raise LayerValidationError([Problem("the layer has no features", source)], title=f"layer '{layer}' is invalid")
    if gdf.crs is None:
        collect.add("crs", "no coordinate reference system declared")
    elif not is_lambert93(gdf.crs):
        collect.add("crs", f"CRS is {gdf.crs.to_string()}, expected EPSG:2154 (reproject before validating)")

    gdf = gdf.reset_index(drop=True)
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    out = {}
    for col in schema.columns:
        if col.name not in gdf.columns:
            collect.add(
                "column",
                f"required column is missing (columns present: {', '.join(map(str, gdf.columns))})",
                None,
                col.name,
            )
            continue
        coerced = _coerce_column(gdf[col.name], col, collect)
        _check_values(coerced, col, collect)
        out[col.name] = coerced
    for col in schema.optional_columns:
        if col.name in gdf.columns:
            coerced = _coerce_column(gdf[col.name], col, collect)
            _check_values(coerced, col, collect)
            out[col.name] = coerced
    if schema.id_column and schema.id_column in out:
        ids = out[schema.id_column]
        dup = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
        if dup.any():
            dup_rows = np.flatnonzero(dup)
            n_ids = ids[dup].nunique()
            for pos in dup_rows[:MAX_PROBLEMS_PER_KIND]:
                collect.add("duplicate", f"duplicate id '{ids.iloc[pos]}'", int(pos), schema.id_column)
            if len(dup_rows) > MAX_PROBLEMS_PER_KIND:
                collect.problems.append(
                    Problem(
                        f"{len(dup_rows)} rows share {n_ids} duplicated id(s) in all", source, None, schema.id_column
                    )
                )
    geometry = _check_geometries(gdf, schema, collect, report) if repair else gdf.geometry
    if not repair:
        bad = ~shapely.is_valid(gdf.geometry.to_numpy())
        if bad.any():
            collect.add_rows("geom_invalid", "invalid geometry", np.flatnonzero(bad), "geometry")
    if collect.problems:
        raise LayerValidationError(collect.problems, title=f"layer '{layer}' is invalid")
    extras = [c for c in gdf.columns if c not in out and c != "geometry"]
    frame = pd.DataFrame(out, index=gdf.index)
    for c in extras:
        frame[c] = gdf[c]
    result = gpd.GeoDataFrame(frame, geometry=geometry, crs=gdf.crs)
    for r in report.repairs:
        logger.warning("%s", r)
    return result, report

"""Shared parts of the sources: context, result, download helpers, provenance, tidy and validate."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape
from tqdm.auto import tqdm

from foncier.errors import FetchError, LayerValidationError
from foncier.geo.crs import LAMBERT93, WGS84
from foncier.layers.fetch import dem as dem_mod
from foncier.layers.fetch.http import (
    CacheEntry,
    Check,
    HttpClient,
    OfflineMissingError,
    ResourceNotFoundError,
)
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.fetch.territory import Territory
from foncier.layers.schemas import SCHEMAS
from foncier.layers.validate import ValidationReport, validate_layer
from foncier.layers.workspace import Provenance

logger = logging.getLogger(__name__)


T = TypeVar("T")

LICENCES: dict[str, str] = {
    "communes": "Licence Ouverte 2.0 (IGN ADMIN EXPRESS / INSEE via geo.api.gouv.fr)",
    "parcels": "Licence Ouverte 2.0 (Etalab cadastre, DGFiP)",
    "plu": "Licence Ouverte 2.0 (Géoportail de l'urbanisme via IGN API Carto)",
    "protected": "Licence Ouverte 2.0 (INPN / MNHN via IGN API Carto)",
    "flood": "Licence Ouverte 2.0 (PPR servitudes PM1, Géoportail de l'urbanisme via IGN API Carto)",
    "flood_georisques": "Licence Ouverte 2.0 (Georisques, PPRN zonage inondation)",
    "friches": "Licence Ouverte 2.0 (Cerema Cartofriches)",
    "rail_lines": "ODbL (SNCF Réseau open data)",
    "rail_stations": "ODbL (SNCF open data)",
    "roads": "ODbL (© OpenStreetMap contributors)",
    "interchanges": "ODbL (© OpenStreetMap contributors)",
    "dem": dem_mod.LICENCE,
    "hubs": "territory definition (coordinates of public facilities)",
}
"""Licence recorded in the provenance of each layer (see ../shared/SOURCES.md)."""

COMMUNE_FIELDS = "nom,code,population,codeEpci"
NATURE_KINDS: dict[str, str] = {
    "natura-habitat": "natura2000_sic",
    "natura-oiseaux": "natura2000_zps",
    "znieff1": "znieff1",
    "znieff2": "znieff2",
    "rnn": "rnn",
    "pn": "pn_coeur",
}
"""API Carto nature resources and the ``kind`` they give in the ``protected`` layer: Natura 2000 and ZNIEFF
(zones à enjeux écologiques), nature reserves (``rnn``: réserves naturelles hors Corse) and national parks
(``pn``: only the zones marked as cores are kept, an aire d'adhésion forbids nothing)."""

SNCF_DATASETS = {"rail_stations": "liste-des-gares", "rail_lines": "regime-dexploitation-des-lignes"}
_CADASTRE_DATE_RE = re.compile(r"/(\d{4}-\d{2}-\d{2})/")
_MAX_PAGES = 10_000
MAX_DROPPED_SHARE = 0.01
"""Largest share of a layer's features that may be left out because validation refuses them."""


# ---------------------------------------------------------------------------------------------- context
@dataclass
class FetchContext:
    """What every source needs.

    Attributes
    ----------
    client : HttpClient
        Downloads (cache, retries, offline mode).
    territory : Territory
        The territory definition.
    progress : bool
        Show progress bars.
    communes : geopandas.GeoDataFrame or None
        The territory's communes (EPSG:2154) once known: their outlines are the footprint every other
        layer is cut to.
    """

    client: HttpClient
    territory: Territory
    progress: bool = False
    communes: gpd.GeoDataFrame | None = None
    _footprint: shapely.Geometry | None = None
    on_progress: Callable[[str], None] | None = None
    """Called with a plain progress line (one per 10 % of a long list of requests) when set."""

    @property
    def settings(self) -> FetchSettings:
        """The client's settings."""
        return self.client.settings

    @property
    def footprint(self) -> shapely.Geometry:
        """Union of the communes' outlines (EPSG:2154).

        Raises
        ------
        foncier.errors.FetchError
            When the communes are not known yet.
        """
        if self._footprint is None:
            if self.communes is None or self.communes.empty:
                raise FetchError("the territory's commune outlines are needed first (layer 'communes')")
            self._footprint = shapely.union_all(shapely.make_valid(self.communes.geometry.to_numpy()))
        return self._footprint

    @property
    def footprint_lonlat(self) -> shapely.Geometry:
        """The footprint in longitude/latitude."""
        return gpd.GeoSeries([self.footprint], crs=LAMBERT93).to_crs(WGS84).iloc[0]

    @property
    def commune_codes(self) -> list[str]:
        """INSEE codes of the territory: the listed ones, else those of the fetched communes."""
        if self.territory.communes:
            return list(self.territory.communes)
        if self.communes is not None:
            return sorted(self.communes["insee"].astype(str))
        raise FetchError("the territory's communes are not known (layer 'communes' failed)")


@dataclass
class SourceResult:
    """Layers produced by one source, with what went wrong."""

    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: list[CacheEntry] = field(default_factory=list)
    dem: dem_mod.DemResult | None = None
    communes_done: dict[str, list[str]] = field(default_factory=dict)
    """For sources fetched commune by commune: layer -> INSEE codes whose file was read (even empty)."""
    communes_wanted: dict[str, list[str]] = field(default_factory=dict)
    """For sources fetched commune by commune: layer -> every INSEE code asked for."""

    @property
    def complete(self) -> bool:
        """True when nothing failed and nothing was missing."""
        return not self.failures and not self.missing


# ---------------------------------------------------------------------------------------------- helpers
def _progress(ctx: FetchContext, items: Sequence[T], desc: str) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar (terminal) or plain lines every 10 % (``on_progress``)."""
    n = len(items)
    step = 0
    for i, item in enumerate(
        tqdm(items, desc=desc, unit="req", disable=not ctx.progress or n < 2, leave=False), start=1
    ):
        yield item
        if ctx.on_progress is not None and n >= 10:
            tenth = i * 10 // n
            if tenth > step:
                step = tenth
                ctx.on_progress(f"{desc}: {tenth * 10} % ({i}/{n})")


def _get(
    ctx: FetchContext,
    result: SourceResult,
    url: str,
    params: dict[str, Any] | None = None,
    *,
    label: str,
    check: Check | None = None,
) -> CacheEntry | None:
    """Fetch one item; record a failure (with ``label``) or a missing URL instead of raising."""
    try:
        entry = ctx.client.fetch(url, params, check=check)
    except OfflineMissingError as exc:
        result.missing.append(exc.url)
        return None
    except ResourceNotFoundError as exc:
        result.failures.append(f"{label}: not found (HTTP {exc.status}) at {exc.url}")
        return None
    except FetchError as exc:
        result.failures.append(f"{label}: {exc}")
        return None
    result.entries.append(entry)
    return entry


def _get_json(
    ctx: FetchContext, result: SourceResult, url: str, params: dict[str, Any] | None = None, *, label: str
) -> Any:
    from foncier.layers.fetch.http import check_json

    entry = _get(ctx, result, url, params, label=label, check=check_json)
    if entry is None:
        return None
    try:
        return entry.read_json()
    except (ValueError, OSError, EOFError) as exc:
        result.failures.append(f"{label}: {entry.url} is not valid JSON ({exc})")
        return None


def _features(data: Any) -> list[dict[str, Any]]:
    """Features of a GeoJSON FeatureCollection, also when wrapped in ``results`` (DRF pagination)."""
    if isinstance(data, dict):
        if isinstance(data.get("features"), list):
            return list(data["features"])
        results = data.get("results")
        if isinstance(results, dict) and isinstance(results.get("features"), list):
            return list(results["features"])
        if isinstance(results, list):
            return [r for r in results if isinstance(r, dict) and "geometry" in r]
        if data.get("type") == "Feature":
            return [data]
    return []


def frame_from_features(features: Iterable[dict[str, Any]], *, crs: str = WGS84) -> gpd.GeoDataFrame:
    """A GeoDataFrame from GeoJSON feature dicts (longitude/latitude order, whatever ``crs`` member).

    The top-level ``id`` of a feature is kept as column ``_feature_id`` (and as ``id`` when the properties
    have none, as the Etalab files expect).
    """
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    for feat in features:
        props = dict(feat.get("properties") or {})
        if "id" in feat:
            props.setdefault("id", feat["id"])
            props["_feature_id"] = feat["id"]
        geom = feat.get("geometry")
        try:
            geoms.append(shape(geom) if geom else None)
        except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
            geoms.append(None)
        rows.append(props)
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs, index=frame.index), crs=crs)


def _combined_checksum(entries: Sequence[CacheEntry]) -> str:
    digest = hashlib.sha256()
    for line in sorted(f"{e.url} {e.sha256}" for e in entries):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def _retrieved(entries: Sequence[CacheEntry]) -> str:
    dates = sorted(e.retrieved[:10] for e in entries if e.retrieved)
    return dates[0] if dates else dt.date.today().isoformat()


def make_provenance(
    layer: str,
    source: str,
    entries: Sequence[CacheEntry],
    count: int,
    *,
    vintage: str = "",
    licence: str | None = None,
) -> Provenance:
    """Provenance of a fetched layer: the combined SHA-256 of its source files and their oldest date."""
    return Provenance(
        layer=layer,
        source=source,
        licence=licence or LICENCES.get(layer, "unknown"),
        retrieved=_retrieved(entries),
        vintage=vintage,
        feature_count=int(count),
        checksum=_combined_checksum(entries),
    )


def _polygonal(geom: Any) -> Any:
    """Keep the polygonal part of a geometry (GeometryCollections from repairs); None when there is none."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _tidy(gdf: gpd.GeoDataFrame, layer: str, result: SourceResult) -> gpd.GeoDataFrame:
    """Drop rows that cannot be stored (no geometry, wrong kind, repeated id), with a warning."""
    schema = SCHEMAS[layer]
    n0 = len(gdf)
    if set(schema.geometry_types) <= {"Polygon", "MultiPolygon"}:
        gdf = gdf.set_geometry(gpd.GeoSeries([_polygonal(g) for g in gdf.geometry], index=gdf.index, crs=gdf.crs))
    geoms = gdf.geometry
    ok = ~(geoms.isna() | geoms.is_empty)
    ok &= geoms.geom_type.isin(schema.geometry_types)
    gdf = gdf[ok]
    if schema.id_column and schema.id_column in gdf.columns:
        gdf = gdf[~gdf[schema.id_column].duplicated(keep="first")]
    dropped = n0 - len(gdf)
    if dropped:
        result.warnings.append(f"{layer}: {dropped} feature(s) without usable geometry or with a repeated id dropped")
    return gdf


def _finish(
    result: SourceResult,
    layer: str,
    gdf: gpd.GeoDataFrame,
    *,
    source: str,
    entries: Sequence[CacheEntry],
    vintage: str = "",
    licence: str | None = None,
) -> None:
    """Reproject, tidy, validate and record ``gdf`` as ``layer`` (an empty layer is recorded as such)."""
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    if not gdf.empty:
        gdf = gdf.to_crs(LAMBERT93)
        gdf = _tidy(gdf, layer, result)
    if gdf.empty:
        result.layers[layer] = empty_layer(layer)
        result.provenance[layer] = make_provenance(layer, source, entries, 0, vintage=vintage, licence=licence)
        result.warnings.append(f"{layer}: no feature in the territory")
        return
    validated = _validate_dropping_bad_rows(gdf, layer, source, result)
    if validated is None:
        return
    valid, report = validated
    result.warnings.extend(f"{layer}: {r}" for r in report.repairs[:5])
    if len(report.repairs) > 5:
        result.warnings.append(f"{layer}: {len(report.repairs)} geometries repaired in all")
    result.layers[layer] = valid
    result.provenance[layer] = make_provenance(layer, source, entries, len(valid), vintage=vintage, licence=licence)


def _validate_dropping_bad_rows(
    gdf: gpd.GeoDataFrame, layer: str, source: str, result: SourceResult
) -> tuple[gpd.GeoDataFrame, ValidationReport] | None:
    """Validate ``gdf``; rows the validator refuses (an invalid geometry it cannot repair safely, a value out
    of range) are dropped and reported, up to :data:`MAX_DROPPED_SHARE` of the layer (at least 20 rows).
    A structural problem (missing column, wrong CRS) or too many bad rows refuse the layer (None)."""
    gdf = gdf.reset_index(drop=True)
    budget = max(20, int(len(gdf) * MAX_DROPPED_SHARE))
    dropped: list[str] = []
    while True:
        try:
            valid, report = validate_layer(gdf, layer, source=source)
            break
        except LayerValidationError as exc:
            rows = sorted({p.row for p in exc.problems if p.row is not None})
            structural = [p for p in exc.problems if p.row is None and "more rows" not in p.message]
            if structural or not rows or len(dropped) + len(rows) > budget:
                result.failures.append(f"{layer}: refused by validation: {exc.render(limit=10)}")
                return None
            dropped += [str(p) for p in exc.problems if p.row is not None]
            gdf = gdf.drop(index=rows).reset_index(drop=True)
    if dropped:
        result.warnings.append(f"{layer}: {len(dropped)} feature(s) refused by validation and left out")
        result.warnings.extend(f"{layer}: left out: {d}" for d in dropped[:5])
    return valid, report


def empty_layer(layer: str) -> gpd.GeoDataFrame:
    """An empty canonical layer (EPSG:2154) with its required columns."""
    schema = SCHEMAS[layer]
    dtypes = {"str": "string", "int": "Int64", "float": "float64", "bool": "bool", "date": "string"}
    data = {c.name: pd.Series(dtype=dtypes[c.kind]) for c in schema.columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=LAMBERT93), crs=LAMBERT93)


def _in_footprint(ctx: FetchContext, gdf: gpd.GeoDataFrame, buffer_m: float = 0.0) -> gpd.GeoDataFrame:
    """Rows of ``gdf`` (any CRS) intersecting the territory (plus ``buffer_m``), in EPSG:2154."""
    if gdf.empty:
        return gdf.to_crs(LAMBERT93) if gdf.crs is not None else gdf.set_crs(LAMBERT93)
    l93 = gdf.to_crs(LAMBERT93)
    area = ctx.footprint.buffer(buffer_m) if buffer_m > 0 else ctx.footprint
    shapely.prepare(area)
    geoms = l93.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    hit = np.zeros(len(l93), dtype=bool)
    hit[present] = shapely.intersects(area, geoms[present])
    return l93[hit]


def query_tiles(footprint_lonlat: shapely.Geometry, size_deg: float) -> list[tuple[float, float, float, float]]:
    """Square tiles (lon/lat, on a fixed grid of ``size_deg``) that intersect the footprint.

    The grid is anchored at multiples of ``size_deg`` so that the query URLs (the cache keys) stay the same
    from one run to the next.
    """
    w, s, e, n = footprint_lonlat.bounds
    shapely.prepare(footprint_lonlat)
    tiles = []
    for j in range(math.floor(s / size_deg), math.ceil(n / size_deg)):
        for i in range(math.floor(w / size_deg), math.ceil(e / size_deg)):
            box = (
                round(i * size_deg, 6),
                round(j * size_deg, 6),
                round((i + 1) * size_deg, 6),
                round((j + 1) * size_deg, 6),
            )
            if shapely.intersects(footprint_lonlat, shapely.box(*box)):
                tiles.append(box)
    return tiles


def geom_param(box: tuple[float, float, float, float]) -> str:
    """The ``geom`` parameter of API Carto for a lon/lat box (a GeoJSON Polygon, compact)."""
    w, s, e, n = (round(v, 6) for v in box)
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":"))


def _split(box: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    w, s, e, n = box
    mx, my = round((w + e) / 2, 6), round((s + n) / 2, 6)
    return [(w, s, mx, my), (mx, s, e, my), (w, my, mx, n), (mx, my, e, n)]


def _dedupe(features: Iterable[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """Features returned by several tiles, once (by feature id, else by ``keys``, else by content)."""
    seen: set[str] = set()
    out = []
    for feat in features:
        props = feat.get("properties") or {}
        if feat.get("id") is not None:
            key = f"id:{feat['id']}"
        elif keys and all(props.get(k) is not None for k in keys):
            key = "k:" + "|".join(str(props[k]) for k in keys)
        else:
            key = "h:" + hashlib.sha256(json.dumps(feat, sort_keys=True).encode()).hexdigest()
        if key not in seen:
            seen.add(key)
            out.append(feat)
    return out

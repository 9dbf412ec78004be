"""The official sources: URL building, paging, parsing into canonical layers.

One function per source, each taking a :class:`FetchContext` and returning a :class:`SourceResult` (the
validated canonical layers in EPSG:2154 with their provenance, and what failed). A failure of one item (a
commune whose cadastre file is missing, a query tile that keeps failing) is recorded and the other items
are kept; an item missing from the cache in offline mode is listed in ``missing``.

======================  =========================================================================  =========
layer                   service (base URL setting) and paging                                        licence
======================  =========================================================================  =========
communes                geo.api.gouv.fr ``/epcis/{siren}/communes`` (+ ``/communes?code=``),          LO 2.0
                        ``format=geojson&geometry=contour``; no paging
parcels                 Etalab cadastre ``{vintage}/geojson/communes/{dep}/{insee}/cadastre-{insee}-   LO 2.0
                        parcelles.json.gz`` (a gzip file; ``latest`` may redirect to a dated edition)
plu                     API Carto ``/gpu/zone-urba?geom=`` per tile; ``_start/_limit`` ignored, the   LO 2.0
                        answer is capped: ``numberMatched > numberReturned`` splits the tile in four
protected               API Carto ``/nature/{natura-habitat,natura-oiseaux,znieff1,znieff2}``:         LO 2.0
                        ``_start += _limit`` until ``numberMatched`` (``links`` are never followed)
flood                   API Carto ``/gpu/assiette-sup-s?categorie=PM1`` (as plu), or the Georisques    LO 2.0
                        WFS ``ms:PPRN_ZONE_INOND`` (``COUNT``/``STARTINDEX``)
friches                 Cartofriches ``/geofriches/?code_insee=`` (10 codes a query), ``next`` links    LO 2.0
rail_lines/stations     SNCF Opendatasoft exports ``/{dataset}/exports/geojson``; no paging          ODbL
roads/interchanges      OpenStreetMap extracts (Geofabrik ``.osm.pbf``, checked against ``.md5``)     ODbL
dem                     Copernicus GLO-30 COG tiles, by window (see :mod:`.dem`)                     Copernicus
hubs                    the territory file                                                            -
======================  =========================================================================  =========
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import logging
import math
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import shape
from tqdm.auto import tqdm

from foncier.errors import DataFormatError, FetchError, LayerValidationError
from foncier.geo.crs import LAMBERT93, WGS84
from foncier.layers.fetch import dem as dem_mod
from foncier.layers.fetch.http import (
    CacheEntry,
    Check,
    HttpClient,
    OfflineMissingError,
    ResourceNotFoundError,
    build_url,
    check_gzip,
)
from foncier.layers.fetch.osm import MAJOR_CLASSES, extract_date, read_osm_roads
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.fetch.territory import Territory, department_of
from foncier.layers.formats import to_canonical
from foncier.layers.schemas import SCHEMAS, ZONING_TYPES
from foncier.layers.validate import ValidationReport, validate_layer
from foncier.layers.workspace import Provenance, file_checksum

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
}
"""API Carto nature resources and the ``kind`` they give in the ``protected`` layer."""

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

    @property
    def complete(self) -> bool:
        """True when nothing failed and nothing was missing."""
        return not self.failures and not self.missing


# ---------------------------------------------------------------------------------------------- helpers
def _progress(ctx: FetchContext, items: Sequence[T], desc: str) -> Iterator[T]:
    yield from tqdm(items, desc=desc, unit="req", disable=not ctx.progress or len(items) < 2, leave=False)


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


# ---------------------------------------------------------------------------------------------- communes
def fetch_communes(ctx: FetchContext) -> SourceResult:
    """Communes with outlines and population from geo.api.gouv.fr (by EPCI, then any listed commune)."""
    result = SourceResult()
    base = ctx.settings.base_url("geo")
    common = {"fields": COMMUNE_FIELDS, "format": "geojson", "geometry": "contour"}
    features: list[dict[str, Any]] = []
    for siren in _progress(ctx, ctx.territory.epci_sirens, "communes (EPCI)"):
        data = _get_json(ctx, result, f"{base}/epcis/{siren}/communes", common, label=f"EPCI {siren}")
        features.extend(_features(data))
    wanted = ctx.territory.communes
    got = {str((f.get("properties") or {}).get("code")) for f in features}
    extra = [c for c in wanted if c not in got]
    if ctx.territory.epcis and extra:
        result.warnings.append(
            f"communes: {len(extra)} listed commune(s) are not in the EPCIs; fetched one by one: "
            + ", ".join(extra[:10])
        )
    for code in _progress(ctx, extra, "communes"):
        data = _get_json(ctx, result, f"{base}/communes", {"code": code, **common}, label=f"commune {code}")
        feats = [f for f in _features(data) if str((f.get("properties") or {}).get("code")) == code]
        if data is not None and not feats:
            result.failures.append(f"commune {code}: unknown to {base}/communes")
        features.extend(feats)
    if wanted:
        keep = set(wanted)
        features = [f for f in features if str((f.get("properties") or {}).get("code")) in keep]
        found = {str((f.get("properties") or {}).get("code")) for f in features}
        if keep <= found:  # an EPCI that failed was made up for commune by commune
            recovered = [f for f in result.failures if f.startswith("EPCI ")]
            result.failures = [f for f in result.failures if not f.startswith("EPCI ")]
            result.warnings += [f"communes: {f} (its communes were fetched one by one)" for f in recovered]
    features = _dedupe(features, "code")
    if not features:
        return result
    gdf = to_canonical(frame_from_features(features), "communes")
    if "population" in gdf.columns:
        gdf["population"] = pd.to_numeric(gdf["population"], errors="coerce")
    source = f"{base}/epcis/{{siren}}/communes?{urllib.parse.urlencode(common)}"
    _finish(result, "communes", gdf, source=source, entries=result.entries, vintage="current (geo.api.gouv.fr)")
    return result


# ---------------------------------------------------------------------------------------------- parcels
def parcels_url(base: str, vintage: str, insee: str) -> str:
    """URL of the Etalab cadastre parcels file of commune ``insee``."""
    dep = department_of(insee)
    return f"{base}/{vintage}/geojson/communes/{dep}/{insee}/cadastre-{insee}-parcelles.json.gz"


def read_geojson_file(path: Path) -> gpd.GeoDataFrame:
    """Read a (gzipped or plain) GeoJSON file with GDAL, in EPSG:4326 when it declares no CRS."""
    with path.open("rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    target = f"/vsigzip/{path}" if gz else str(path)
    try:
        gdf = pyogrio.read_dataframe(target, use_arrow=False)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise DataFormatError(f"{path}: cannot read GeoJSON: {str(exc).splitlines()[0]}") from None
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    return gdf


def fetch_parcels(ctx: FetchContext) -> SourceResult:
    """Parcels from the Etalab cadastre, one gzipped GeoJSON per commune."""
    result = SourceResult()
    s = ctx.settings
    base = s.base_url("cadastre")
    frames = []
    vintages: set[str] = set()
    for insee in _progress(ctx, ctx.commune_codes, "parcels"):
        url = parcels_url(base, s.cadastre_vintage, insee)
        entry = _get(ctx, result, url, label=f"parcels of commune {insee}", check=check_gzip)
        if entry is None:
            continue
        try:
            frame = read_geojson_file(entry.path)
        except DataFormatError as exc:
            result.failures.append(f"parcels of commune {insee}: {exc}")
            continue
        m = _CADASTRE_DATE_RE.search(entry.final_url)
        vintages.add(m.group(1) if m else s.cadastre_vintage)
        if not frame.empty:
            frames.append(frame.to_crs(WGS84))
    if not frames:
        return result
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
    gdf = to_canonical(gdf, "parcels")
    source = f"{base}/{s.cadastre_vintage}/geojson/communes/{{dep}}/{{insee}}/cadastre-{{insee}}-parcelles.json.gz"
    _finish(result, "parcels", gdf, source=source, entries=result.entries, vintage=", ".join(sorted(vintages)))
    return result


# ---------------------------------------------------------------------------------------------- API Carto
def _gpu_features(
    ctx: FetchContext,
    result: SourceResult,
    resource: str,
    box: tuple[float, float, float, float],
    extra: dict[str, str],
    depth: int = 0,
) -> list[dict[str, Any]]:
    """Features of a GPU resource over ``box``, splitting the box while the service caps its answer."""
    base = ctx.settings.base_url("apicarto")
    data = _get_json(ctx, result, f"{base}/{resource}", {**extra, "geom": geom_param(box)}, label=f"{resource} {box}")
    if data is None:
        return []
    feats = _features(data)
    matched = data.get("numberMatched", data.get("totalFeatures")) if isinstance(data, dict) else None
    if isinstance(matched, int | float) and matched > len(feats):
        if depth < ctx.settings.gpu_max_split_depth:
            logger.info("%s: %d of %d features over %s; splitting the tile", resource, len(feats), matched, box)
            out: list[dict[str, Any]] = []
            for sub in _split(box):
                out.extend(_gpu_features(ctx, result, resource, sub, extra, depth + 1))
            return out
        result.failures.append(
            f"{resource}: the service returned {len(feats)} of {int(matched)} features over {box} even after "
            f"{depth} splits (lower query_tile_deg)"
        )
    return feats


def fetch_plu(ctx: FetchContext) -> SourceResult:
    """Zoning of the urban plans (Géoportail de l'urbanisme ``zone-urba``) through API Carto."""
    result = SourceResult()
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), "plu"):
        features.extend(_gpu_features(ctx, result, "gpu/zone-urba", box, {}))
    features = _dedupe(features, "gid")
    source = f"{ctx.settings.base_url('apicarto')}/gpu/zone-urba?geom={{tile}}"
    gdf = _in_footprint(ctx, frame_from_features(features))
    if not gdf.empty:
        gdf = to_canonical(gdf, "plu")
        unknown = ~gdf["typezone"].isin(ZONING_TYPES).fillna(False).to_numpy(dtype=bool)
        if unknown.any():
            values = sorted({str(v) for v in gdf.loc[unknown, "typezone"]})
            result.warnings.append(
                f"plu: {int(unknown.sum())} zone(s) with an unknown typezone dropped ({', '.join(values[:8])})"
            )
            gdf = gdf[~unknown]
    _finish(result, "plu", gdf, source=source, entries=result.entries, vintage="current (GPU)")
    return result


def _nature_features(
    ctx: FetchContext, result: SourceResult, resource: str, box: tuple[float, float, float, float]
) -> list[dict[str, Any]]:
    base = ctx.settings.base_url("apicarto")
    limit = ctx.settings.nature_page_size
    start = 0
    out: list[dict[str, Any]] = []
    for _ in range(_MAX_PAGES):
        params = {"geom": geom_param(box), "_start": start, "_limit": limit}
        data = _get_json(ctx, result, f"{base}/nature/{resource}", params, label=f"nature/{resource} {box}")
        if data is None:
            break
        feats = _features(data)
        out.extend(feats)
        matched = data.get("numberMatched") if isinstance(data, dict) else None
        start += limit
        if (
            not feats
            or (isinstance(matched, int | float) and start >= matched)
            or (matched is None and len(feats) < limit)
        ):
            break
    return out


def fetch_protected(ctx: FetchContext) -> SourceResult:
    """Natura 2000 (habitats, birds) and ZNIEFF 1 and 2 from API Carto nature."""
    result = SourceResult()
    tiles = query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg)
    frames = []
    jobs = [(resource, box) for resource in NATURE_KINDS for box in tiles]
    collected: dict[str, list[dict[str, Any]]] = {r: [] for r in NATURE_KINDS}
    for resource, box in _progress(ctx, jobs, "protected"):
        collected[resource].extend(_nature_features(ctx, result, resource, box))
    for resource, kind in NATURE_KINDS.items():
        feats = _dedupe(collected[resource], "sitecode" if resource.startswith("natura") else "id_mnhn")
        if not feats:
            continue
        gdf = frame_from_features(feats)
        code_col = next((c for c in ("sitecode", "id_mnhn", "code") if c in gdf.columns), None)
        name_col = next((c for c in ("sitename", "nom", "lib_znieff") if c in gdf.columns), None)
        out = gpd.GeoDataFrame(
            {
                "kind": kind,
                "code": gdf[code_col].astype("string")
                if code_col
                else pd.Series(pd.NA, index=gdf.index, dtype="string"),
                "nom": gdf[name_col].astype("string")
                if name_col
                else pd.Series(pd.NA, index=gdf.index, dtype="string"),
                "url": gdf["url"].astype("string")
                if "url" in gdf.columns
                else pd.Series(pd.NA, index=gdf.index, dtype="string"),
            },
            geometry=gdf.geometry,
            crs=WGS84,
        )
        frames.append(out)
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84) if frames else frame_from_features([])
    gdf = _in_footprint(ctx, gdf)
    source = f"{ctx.settings.base_url('apicarto')}/nature/{{{','.join(NATURE_KINDS)}}}?geom={{tile}}"
    _finish(result, "protected", gdf, source=source, entries=result.entries, vintage="current (INPN)")
    return result


# ---------------------------------------------------------------------------------------------- flood
_RED_RE = re.compile(r"rouge|interdi|\bzone r\b|^r\d?\b|\br\d", re.IGNORECASE)
_BLUE_RE = re.compile(r"bleu|prescri|sous conditions|\bzone b\b|^b\d?\b|\bb\d", re.IGNORECASE)


def flood_level(*values: Any) -> str | None:
    """``red`` / ``blue`` from a PPR zone's labels or codes (rouge/interdiction/R... vs bleu/prescription/B...).

    Examples
    --------
    >>> flood_level("Zone rouge"), flood_level("B1"), flood_level("Zone de prescriptions"), flood_level("verte")
    ('red', 'blue', 'blue', None)
    """
    for value in values:
        text = str(value or "").strip()
        if not text or text.lower() in ("nan", "none", "<na>"):
            continue
        if _RED_RE.search(text):
            return "red"
        if _BLUE_RE.search(text):
            return "blue"
    return None


def _classify_flood(gdf: gpd.GeoDataFrame, columns: Sequence[str], result: SourceResult) -> gpd.GeoDataFrame:
    if gdf.empty:
        return gdf
    present = [c for c in columns if c in gdf.columns]
    levels = (
        [flood_level(*(row[c] for c in present)) for _, row in gdf[present].iterrows()]
        if present
        else [None] * len(gdf)
    )
    gdf = gdf.assign(level=pd.array(levels, dtype="string"))
    unknown = gdf["level"].isna().to_numpy()
    if unknown.any():
        result.warnings.append(
            f"flood: {int(unknown.sum())} zone(s) neither red nor blue (e.g. perimeters, white zones) left out"
        )
    return gdf[~unknown]


def fetch_flood_gpu(ctx: FetchContext) -> SourceResult:
    """Flood zones from the PPR easements (SUP PM1) of the Géoportail de l'urbanisme via API Carto."""
    result = SourceResult()
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), "flood"):
        features.extend(_gpu_features(ctx, result, "gpu/assiette-sup-s", box, {"categorie": "PM1"}))
    features = _dedupe(features, "gid")
    gdf = _in_footprint(ctx, frame_from_features(features))
    gdf = _classify_flood(gdf, ("typeass", "nomass", "libelle", "nomsuplitt", "code_zone_reglement"), result)
    source = f"{ctx.settings.base_url('apicarto')}/gpu/assiette-sup-s?categorie=PM1&geom={{tile}}"
    _finish(result, "flood", gdf, source=source, entries=result.entries, vintage="current (GPU SUP PM1)")
    return result


def _swap_if_latlon(gdf: gpd.GeoDataFrame, footprint_lonlat: shapely.Geometry) -> gpd.GeoDataFrame:
    """Swap x/y when a WFS answered in latitude/longitude order (EPSG:4326 axis order)."""
    if gdf.empty:
        return gdf
    b = gdf.total_bounds
    fw, fs, fe, fn = footprint_lonlat.bounds
    looks_latlon = fs - 2 <= b[0] <= fn + 2 and fw - 2 <= b[1] <= fe + 2 and not (fw - 2 <= b[0] <= fe + 2)
    if looks_latlon:
        swapped = shapely.transform(gdf.geometry.to_numpy(), lambda xy: xy[:, ::-1])
        return gdf.set_geometry(gpd.GeoSeries(swapped, index=gdf.index, crs=gdf.crs))
    return gdf


def fetch_flood_georisques(ctx: FetchContext) -> SourceResult:
    """Flood zones of the PPRN from the Georisques WFS (``ms:PPRN_ZONE_INOND``, ``code_zone_reglement``)."""
    result = SourceResult()
    base = ctx.settings.base_url("georisques")
    count = ctx.settings.georisques_page_size
    features: list[dict[str, Any]] = []
    for box in _progress(ctx, query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg), "flood"):
        w, s, e, n = box
        start = 0
        for _ in range(_MAX_PAGES):
            params = {
                "SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "ms:PPRN_ZONE_INOND",
                "OUTPUTFORMAT": "geojson", "BBOX": f"{s},{w},{n},{e},urn:ogc:def:crs:EPSG::4326",
                "COUNT": count, "STARTINDEX": start,
            }  # fmt: skip
            data = _get_json(ctx, result, base, params, label=f"georisques PPRN {box}")
            feats = _features(data)
            features.extend(feats)
            start += count
            matched = data.get("numberMatched") if isinstance(data, dict) else None
            if data is None or len(feats) < count or (isinstance(matched, int | float) and start >= matched):
                break
    features = _dedupe(features, "id_zone")
    gdf = _swap_if_latlon(frame_from_features(features), ctx.footprint_lonlat)
    gdf = _in_footprint(ctx, gdf)
    gdf = _classify_flood(gdf, ("code_zone_reglement", "lib_zone_reglement", "typezone", "libelle"), result)
    source = f"{base}?SERVICE=WFS&REQUEST=GetFeature&TYPENAMES=ms:PPRN_ZONE_INOND&BBOX={{tile}}"
    _finish(result, "flood", gdf, source=source, entries=result.entries, vintage="current (Georisques)",
            licence=LICENCES["flood_georisques"])  # fmt: skip
    return result


def fetch_flood(ctx: FetchContext) -> SourceResult:
    """Flood zones from the service chosen by ``settings.flood_service``."""
    if ctx.settings.flood_service == "georisques":
        return fetch_flood_georisques(ctx)
    return fetch_flood_gpu(ctx)


# ---------------------------------------------------------------------------------------------- friches
def _rebase(next_url: str, base: str, anchor: str) -> str:
    """Point a ``next`` link at the configured base (a mirror answers with the official host's links)."""
    if next_url.startswith(base):
        return next_url
    parts = urllib.parse.urlsplit(next_url)
    if anchor in parts.path:
        rest = parts.path[parts.path.index(anchor) :]
        return f"{base}{rest}" + (f"?{parts.query}" if parts.query else "")
    return next_url


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def fetch_friches(ctx: FetchContext) -> SourceResult:
    """Brownfields from Cerema Cartofriches (``geofriches``), following the ``next`` links."""
    result = SourceResult()
    s = ctx.settings
    base = s.base_url("cartofriches")
    codes = ctx.commune_codes
    features: list[dict[str, Any]] = []
    for batch in _progress(ctx, _chunks(codes, s.cartofriches_batch), "friches"):
        url: str | None = build_url(
            f"{base}/geofriches/", {"code_insee": ",".join(batch), "page_size": s.cartofriches_page_size}
        )
        seen: set[str] = set()
        while url and url not in seen and len(seen) < _MAX_PAGES:
            seen.add(url)
            data = _get_json(ctx, result, url, label=f"friches of {batch[0]}..{batch[-1]}")
            if data is None:
                break
            features.extend(_features(data))
            nxt = data.get("next") if isinstance(data, dict) else None
            url = _rebase(str(nxt), base, "/geofriches/") if nxt else None
    features = _dedupe(features, "site_id")
    gdf = frame_from_features(features)
    if not gdf.empty and "comm_insee" in gdf.columns:
        gdf = gdf[gdf["comm_insee"].astype(str).isin(set(codes))]
    if not gdf.empty:
        gdf = to_canonical(gdf, "friches")
        for col in ("site_statut",):
            if col not in gdf.columns:
                gdf[col] = pd.NA
        if "site_id" in gdf.columns:
            gdf["site_id"] = gdf["site_id"].astype("string")
    source = f"{base}/geofriches/?code_insee={{codes}}"
    _finish(result, "friches", gdf, source=source, entries=result.entries, vintage="current (Cartofriches)")
    return result


# ---------------------------------------------------------------------------------------------- rail
def fetch_rail(ctx: FetchContext, layers: Sequence[str] = ("rail_lines", "rail_stations")) -> SourceResult:
    """Rail lines and stations (SNCF open data exports) near the territory."""
    result = SourceResult()
    base = ctx.settings.base_url("sncf")
    buffer_m = ctx.settings.rail_buffer_km * 1000.0
    for layer in layers:
        dataset = SNCF_DATASETS[layer]
        url = f"{base}/{dataset}/exports/geojson"
        sub = SourceResult()
        data = _get_json(ctx, sub, url, label=f"{layer}: SNCF {dataset}")
        result.failures += sub.failures
        result.missing += sub.missing
        result.entries += sub.entries
        if data is None:
            continue
        gdf = _in_footprint(ctx, frame_from_features(_features(data)), buffer_m=buffer_m)
        if not gdf.empty:
            gdf = to_canonical(gdf, layer)
        _finish(result, layer, gdf, source=url, entries=sub.entries, vintage="current (SNCF open data)")
    return result


# ---------------------------------------------------------------------------------------------- hubs
def territory_hubs(ctx: FetchContext) -> SourceResult:
    """The territory's hubs (e.g. Paris-CDG) as the ``hubs`` layer."""
    result = SourceResult()
    hubs = ctx.territory.hubs
    if not hubs:
        result.failures.append("hubs: the territory file lists no hub (Paris-CDG is hub_id CDG)")
        return result
    gdf = gpd.GeoDataFrame(
        {"hub_id": [h.hub_id for h in hubs], "nom": [h.nom for h in hubs], "kind": [h.kind for h in hubs]},
        geometry=gpd.points_from_xy([h.lon for h in hubs], [h.lat for h in hubs]),
        crs=WGS84,
    )
    source = f"territory file {ctx.territory.source or ctx.territory.name}"
    _finish(result, "hubs", gdf, source=source, entries=[], vintage=ctx.territory.name)
    if "hubs" in result.provenance and ctx.territory.source and Path(ctx.territory.source).is_file():
        result.provenance["hubs"] = replace(result.provenance["hubs"], checksum=file_checksum(ctx.territory.source))
    return result


# ---------------------------------------------------------------------------------------------- roads
def _expected_md5(ctx: FetchContext, url: str) -> str | None:
    try:
        entry = ctx.client.fetch(url + ".md5")
    except FetchError:
        return None
    try:
        text = entry.path.read_text("ascii", errors="replace").split()
    except OSError:
        return None
    return text[0].lower() if text and re.fullmatch(r"[0-9a-fA-F]{32}", text[0]) else None


def _md5_check(ctx: FetchContext, url: str) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        expected = _expected_md5(ctx, url)
        if expected is None:
            return
        digest = hashlib.md5(usedforsecurity=False)
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        if digest.hexdigest() != expected:
            ctx.client.cache.discard(url + ".md5")  # the extract may have been updated since
            fresh = _expected_md5(ctx, url)
            if fresh is not None and digest.hexdigest() != fresh:
                raise ValueError(f"MD5 {digest.hexdigest()} differs from the published {fresh}")

    return check


def _http_date(value: str | None) -> str | None:
    """ISO date of an HTTP date header (``Last-Modified``), or None."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError):
        return None


def _bbox_lonlat(geom: shapely.Geometry, margin_km: float) -> tuple[float, float, float, float]:
    w, s, e, n = geom.bounds
    dlat = margin_km / 111.0
    dlon = margin_km / (111.0 * max(0.2, math.cos(math.radians((s + n) / 2))))
    return (w - dlon, s - dlat, e + dlon, n + dlat)


def osm_urls(ctx: FetchContext) -> list[str]:
    """URLs of the territory's OpenStreetMap extracts (paths are taken under the osm base URL)."""
    base = ctx.settings.base_url("osm")
    return [
        x if x.startswith(("http://", "https://", "file://")) else f"{base}/{x.lstrip('/')}"
        for x in ctx.territory.osm_extracts
    ]


def fetch_roads(ctx: FetchContext, layers: Sequence[str] = ("roads", "interchanges")) -> SourceResult:
    """Roads and interchanges from the OpenStreetMap extracts named by the territory."""
    result = SourceResult()
    urls = osm_urls(ctx)
    if not urls:
        result.failures.append("roads: the territory file lists no osm_extracts")
        return result
    paths, dates = [], []
    for url in urls:
        entry = _get(ctx, result, url, label=f"OSM extract {url.rsplit('/', 1)[-1]}", check=_md5_check(ctx, url))
        if entry is not None:
            paths.append(entry.path)
            dates.append(extract_date(entry.path) or _http_date(entry.last_modified) or entry.retrieved[:10])
    if len(paths) < len(urls):
        return result  # a partial network would give wrong travel times
    margin = ctx.settings.roads_margin_km
    lonlat = ctx.footprint_lonlat
    bbox = _bbox_lonlat(lonlat, margin)
    hubs = [shapely.Point(h.lon, h.lat) for h in ctx.territory.hubs]
    major_area = shapely.union_all([shapely.box(*bbox), *hubs]) if hubs else shapely.box(*bbox)
    major_bbox = _bbox_lonlat(major_area, margin)
    try:
        roads, interchanges = read_osm_roads(paths, bbox=bbox, major_bbox=major_bbox)
    except DataFormatError as exc:
        result.failures.append(f"roads: {exc}")
        return result
    vintage = ", ".join(dates)
    source = " + ".join(urls)
    note = f" (all classes within {margin:g} km, {', '.join(sorted(MAJOR_CLASSES))} to the hubs)"
    if "roads" in layers:
        _finish(
            result, "roads", roads, source=source + note, entries=result.entries, vintage=f"OSM extract of {vintage}"
        )
    if "interchanges" in layers:
        _finish(
            result,
            "interchanges",
            interchanges,
            source=source,
            entries=result.entries,
            vintage=f"OSM extract of {vintage}",
        )
    return result


# ---------------------------------------------------------------------------------------------- dem
def fetch_dem_layer(ctx: FetchContext) -> SourceResult:
    """The DEM (Copernicus GLO-30) over the territory, resampled to Lambert-93."""
    result = SourceResult()
    s = ctx.settings
    bounds = tuple(float(v) for v in ctx.footprint.bounds)
    dem = dem_mod.fetch_dem(ctx.client, bounds, resolution=s.dem_resolution_m, margin=s.dem_margin_m)  # type: ignore[arg-type]
    result.failures += dem.failures
    result.missing += dem.missing
    result.entries += dem.entries
    result.dem = dem
    if dem.array is not None:
        base = s.base_url("dem")
        result.provenance["dem"] = make_provenance(
            "dem",
            f"{base}/{{tile}}/{{tile}}.tif windows ({', '.join(dem.tiles)}), "
            f"bilinear to EPSG:2154 at {s.dem_resolution_m:g} m",
            dem.entries,
            int(np.isfinite(dem.array).sum()),
            vintage="Copernicus DEM GLO-30 (EGM2008 heights)",
        )
    return result

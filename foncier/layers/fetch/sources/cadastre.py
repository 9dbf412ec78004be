"""Parcels from the Etalab cadastre files (one gzip GeoJSON per commune)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from foncier.errors import DataFormatError
from foncier.geo.crs import WGS84
from foncier.layers.fetch.http import (
    check_gzip,
)
from foncier.layers.fetch.sources._common import (
    _CADASTRE_DATE_RE,
    FetchContext,
    SourceResult,
    _finish,
    _get,
    _progress,
)
from foncier.layers.fetch.territory import department_of
from foncier.layers.formats import to_canonical

logger = logging.getLogger(__name__)


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
    return _fetch_commune_files(ctx, "parcels", "parcelles", parcels_url)


def _fetch_commune_files(
    ctx: FetchContext,
    layer: str,
    kind: str,
    url_of: Callable[[str, str, str], str],
    *,
    licence: str | None = None,
) -> SourceResult:
    """One Etalab cadastre file per commune (``cadastre-{insee}-{kind}.json.gz``) into the canonical ``layer``.

    A commune whose file is missing or unreadable is recorded as a failure and the others are kept; the communes
    read are listed so that a partial refresh is merged by commune (see :mod:`foncier.layers.fetch.run`).
    """
    result = SourceResult()
    s = ctx.settings
    base = s.base_url("cadastre")
    frames = []
    vintages: set[str] = set()
    codes = list(ctx.commune_codes)
    done: list[str] = []
    result.communes_wanted[layer] = codes
    result.communes_done[layer] = done
    for insee in _progress(ctx, codes, layer):
        url = url_of(base, s.cadastre_vintage, insee)
        entry = _get(ctx, result, url, label=f"{layer} of commune {insee}", check=check_gzip)
        if entry is None:
            continue
        try:
            frame = read_geojson_file(entry.path)
        except DataFormatError as exc:
            result.failures.append(f"{layer} of commune {insee}: {exc}")
            continue
        m = _CADASTRE_DATE_RE.search(entry.final_url)
        vintages.add(m.group(1) if m else s.cadastre_vintage)
        done.append(insee)
        if not frame.empty:
            frames.append(frame.to_crs(WGS84))
    if not frames:
        return result
    gdf = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
    gdf = to_canonical(gdf, layer)
    source = f"{base}/{s.cadastre_vintage}/geojson/communes/{{dep}}/{{insee}}/cadastre-{{insee}}-{kind}.json.gz"
    vintage = ", ".join(sorted(vintages))
    _finish(result, layer, gdf, source=source, entries=result.entries, vintage=vintage, licence=licence)
    return result


def buildings_url(base: str, vintage: str, insee: str) -> str:
    """URL of the Etalab cadastre buildings file of commune ``insee`` (``cadastre-{insee}-batiments.json.gz``)."""
    dep = department_of(insee)
    return f"{base}/{vintage}/geojson/communes/{dep}/{insee}/cadastre-{insee}-batiments.json.gz"


def fetch_buildings(ctx: FetchContext) -> SourceResult:
    """Buildings from the Etalab cadastre, one gzipped GeoJSON per commune (``type`` 01 hard / 02 light,
    ``nom``, ``commune``, ``created``, ``updated``), like :func:`fetch_parcels`. A commune with no buildings
    file is recorded as a failure and the others are kept."""
    return _fetch_commune_files(
        ctx, "buildings", "batiments", buildings_url, licence="Licence Ouverte 2.0 (Etalab cadastre)"
    )

"""GeoJSON output, built as bytes without a round trip through Python objects per coordinate.

Geometries of a page are transformed to lon/lat in one vectorised pyproj call, rounded to 7 decimals (about
1 cm) and written by GEOS (:func:`shapely.to_geojson`); properties go through :mod:`json`. The pieces are
then joined as strings: the slow part of a GeoJSON API is usually building and serialising dicts of
coordinates, which this avoids.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from fastapi.responses import Response

from foncier.api.store import Feature, GeoPackageStore, LayerInfo

logger = logging.getLogger(__name__)

LONLAT = "OGC:CRS84"
LONLAT_DECIMALS = 7
GEOJSON_MEDIA_TYPE = "application/geo+json"


class GeoJSONResponse(Response):
    """A response with media type ``application/geo+json`` (the body is already serialised)."""

    media_type = GEOJSON_MEDIA_TYPE


def clean_value(value: Any) -> Any:
    """A JSON-safe scalar: non-finite floats become None, bytes become None, numpy scalars plain values."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    if isinstance(value, np.generic):
        return clean_value(value.item())
    if isinstance(value, dict):
        return {str(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def dumps(obj: Any) -> str:
    """Compact JSON (UTF-8 characters kept, NaN refused)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return clean_value(value.item())
    if isinstance(value, np.ndarray):
        return [clean_value(v) for v in value.tolist()]
    return str(value)


def geometries_to_geojson(store: GeoPackageStore, geoms: Sequence[Any], srs: str | None) -> list[str]:
    """GeoJSON texts (lon/lat) of ``geoms`` given in ``srs`` ("null" for missing geometries)."""
    arr = np.asarray(list(geoms), dtype=object)
    if len(arr) == 0:
        return []
    present = np.array([g is not None for g in arr])
    out = ["null"] * len(arr)
    if present.any():
        todo = arr[present]
        if srs is not None:
            todo = store.to_crs(todo, srs, LONLAT, decimals=LONLAT_DECIMALS)
        texts = shapely.to_geojson(todo)
        for i, text in zip(np.flatnonzero(present), texts, strict=True):
            out[int(i)] = str(text)
    return out


def layer_srs(info: LayerInfo) -> str | None:
    """The CRS of a layer as a pyproj string, None when it has no geometry."""
    if info.geometry_column is None:
        return None
    return f"EPSG:{info.srs_id}" if info.srs_id else "EPSG:2154"


def features_to_geojson(
    store: GeoPackageStore,
    info: LayerInfo,
    features: Sequence[Feature],
    *,
    id_column: str | None,
    properties: Callable[[Feature], Mapping[str, Any]] | None = None,
    links: Callable[[Feature], list[dict[str, Any]]] | None = None,
) -> list[str]:
    """Serialise features of ``info`` as GeoJSON Feature texts (geometry in lon/lat).

    Parameters
    ----------
    id_column : str or None
        Column giving the feature ``id`` (the fid otherwise).
    properties : callable, optional
        Builds the properties of a feature (its attributes by default).
    links : callable, optional
        Builds the ``links`` of a feature (OGC API).
    """
    geoms = geometries_to_geojson(store, [f.geometry for f in features], layer_srs(info))
    out = []
    for feat, geom in zip(features, geoms, strict=True):
        fid: Any = feat.properties.get(id_column) if id_column else feat.fid
        props = properties(feat) if properties else feat.properties
        body = {k: clean_value(v) for k, v in props.items()}
        text = f'{{"type":"Feature","id":{dumps(fid)},"geometry":{geom},"properties":{dumps(body)}'
        if links is not None:
            text += f',"links":{dumps(links(feat))}'
        out.append(text + "}")
    return out


def feature_collection(features: Iterable[str], members: Mapping[str, Any] | None = None) -> bytes:
    """A FeatureCollection from serialised features and extra top-level members (features last)."""
    head = {"type": "FeatureCollection", **(members or {})}
    return (dumps(head)[:-1] + ',"features":[' + ",".join(features) + "]}").encode()


def feature_document(feature_text: str, members: Mapping[str, Any] | None = None) -> bytes:
    """One serialised Feature with extra top-level members added."""
    if not members:
        return feature_text.encode()
    return (feature_text[:-1] + "," + dumps(dict(members))[1:]).encode()

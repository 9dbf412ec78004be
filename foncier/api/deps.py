"""Dependencies and parameter parsing shared by the routers.

The store and settings live on ``app.state`` (set by :func:`foncier.api.app.create_app`); parameters that
FastAPI cannot check by their type alone (bbox, point, parcel ids) are parsed here, each refusal being a 400
with a message saying what was expected.
"""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import Depends, Request
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from foncier.api.errors import InvalidParameterError, ResourceNotFoundError
from foncier.api.settings import SYNTHETIC_NOTICE, ApiSettings
from foncier.api.store import GeoPackageStore, LayerInfo
from foncier.layers.schemas import INSEE_RE, PARCEL_ID_RE

logger = logging.getLogger(__name__)

LonLatBox = tuple[float, float, float, float]


def get_settings(request: Request) -> ApiSettings:
    """The app's settings."""
    settings: ApiSettings = request.app.state.settings
    return settings


def get_store(request: Request) -> GeoPackageStore:
    """The app's GeoPackage store."""
    store: GeoPackageStore = request.app.state.store
    return store


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[GeoPackageStore, Depends(get_store)]


def synthetic_members(store: GeoPackageStore) -> dict[str, Any]:
    """Members every JSON answer carries: ``synthetic`` and, for the sample, the notice."""
    if store.synthetic:
        return {"synthetic": True, "notice": SYNTHETIC_NOTICE}
    return {"synthetic": False}


def _numbers(text: str, what: str, expected: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidParameterError(f"{what}: expected {expected}, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidParameterError(f"{what}: values must be finite numbers, got {text!r}")
    return values


def parse_bbox(text: str) -> LonLatBox:
    """Parse ``minx,miny,maxx,maxy`` in lon/lat (a 6-number 3D bbox drops its heights).

    Raises
    ------
    InvalidParameterError
        Not 4 (or 6) finite numbers, out of [-180, 180] x [-90, 90], or min not below max.
    """
    expected = "4 numbers 'minlon,minlat,maxlon,maxlat' in degrees (WGS 84)"
    values = _numbers(text, "bbox", expected)
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise InvalidParameterError(f"bbox: expected {expected}, got {len(values)} number(s)")
    minx, miny, maxx, maxy = values
    for name, v, lim in (("minx", minx, 180), ("maxx", maxx, 180), ("miny", miny, 90), ("maxy", maxy, 90)):
        if not -lim <= v <= lim:
            raise InvalidParameterError(f"bbox: {name} ({v:g}) is out of [-{lim}, {lim}]; "
                                        "the bbox is in lon/lat degrees")  # fmt: skip
    if minx >= maxx:
        raise InvalidParameterError(f"bbox: minx ({minx:g}) must be smaller than maxx ({maxx:g})")
    if miny >= maxy:
        raise InvalidParameterError(f"bbox: miny ({miny:g}) must be smaller than maxy ({maxy:g})")
    return (minx, miny, maxx, maxy)


def parse_point(text: str) -> tuple[float, float]:
    """Parse ``lon,lat`` in degrees."""
    values = _numbers(text, "point", "'lon,lat' in degrees (WGS 84)")
    if len(values) != 2:
        raise InvalidParameterError(f"point: expected 'lon,lat' in degrees (WGS 84), got {len(values)} number(s)")
    lon, lat = values
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidParameterError(f"point: ({lon:g}, {lat:g}) is out of [-180, 180] x [-90, 90]")
    return lon, lat


def check_parcel_id(parcel_id: str) -> str:
    """Refuse a malformed parcel id (400) with the expected format."""
    if not PARCEL_ID_RE.match(parcel_id):
        raise InvalidParameterError(
            f"malformed parcel id {parcel_id[:40]!r}: expected 14 characters, INSEE code (5) + prefix (3) + "
            "section (2) + number (4), e.g. '022580000A0099'",
            code="invalid_parcel_id",
        )
    return parcel_id


def check_commune(code: str) -> str:
    """Refuse a malformed INSEE commune code (400)."""
    if not INSEE_RE.match(code):
        raise InvalidParameterError(f"malformed commune code {code[:20]!r}: expected a 5-character INSEE code, "
                                    "e.g. '02722'",
                               code="invalid_commune")  # fmt: skip
    return code


def check_site_id(site_id: str) -> str:
    """Refuse a site id that cannot exist (404 rather than a query)."""
    if not (1 <= len(site_id) <= 64) or not site_id.isprintable():
        raise ResourceNotFoundError(f"no site {site_id[:64]!r}", code="site_not_found")
    return site_id


def layer_srs_text(info: LayerInfo) -> str:
    """The layer's CRS as a pyproj string."""
    return f"EPSG:{info.srs_id}" if info.srs_id else "EPSG:2154"


def _area_of_use(srs: str) -> LonLatBox:
    aou = CRS.from_user_input(srs).area_of_use
    if aou is None:
        return (-180.0, -90.0, 180.0, 90.0)
    return (aou.west, aou.south, aou.east, aou.north)


def lonlat_filter(store: GeoPackageStore, info: LayerInfo, bbox: LonLatBox) -> BaseGeometry | None:
    """The lon/lat ``bbox`` as a polygon in the layer's CRS (densified), or None when it misses the CRS's area.

    The bbox is first clipped to the area of use of the layer's CRS (a world-wide bbox over Lambert-93 data
    would not transform), then its edges are densified so that the polygon follows the curved outline.
    """
    srs = layer_srs_text(info)
    ax0, ay0, ax1, ay1 = _area_of_use(srs)
    x0, y0, x1, y1 = max(bbox[0], ax0), max(bbox[1], ay0), min(bbox[2], ax1), min(bbox[3], ay1)
    if x0 >= x1 or y0 >= y1:
        return None
    step = max((x1 - x0), (y1 - y0)) / 32
    ring = shapely.segmentize(shapely.box(x0, y0, x1, y1), step)
    poly = store.to_crs(np.asarray([ring], dtype=object), "OGC:CRS84", srs)[0]
    if poly is None or poly.is_empty or not shapely.is_valid(poly):
        return None
    return poly


def point_filter(store: GeoPackageStore, info: LayerInfo, lon: float, lat: float) -> BaseGeometry | None:
    """The lon/lat point in the layer's CRS (None when outside the CRS's area of use)."""
    srs = layer_srs_text(info)
    ax0, ay0, ax1, ay1 = _area_of_use(srs)
    if not (ax0 <= lon <= ax1 and ay0 <= lat <= ay1):
        return None
    pt = store.to_crs(np.asarray([shapely.Point(lon, lat)], dtype=object), "OGC:CRS84", srs)[0]
    return pt if pt is not None and np.isfinite(shapely.get_coordinates(pt)).all() else None


def extent_lonlat(store: GeoPackageStore, info: LayerInfo) -> list[float] | None:
    """The layer's extent (gpkg_contents) in lon/lat, rounded outwards to 1e-6 degree."""
    if info.bounds is None or info.geometry_column is None:
        return None
    tr = store.transformer(layer_srs_text(info), "OGC:CRS84")
    try:
        x0, y0, x1, y1 = tr.transform_bounds(*info.bounds, densify_pts=21)
    except Exception:  # pyproj raises ProjError on impossible bounds
        return None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        return None
    scale = 1e6
    return [
        math.floor(x0 * scale) / scale,
        math.floor(y0 * scale) / scale,
        math.ceil(x1 * scale) / scale,
        math.ceil(y1 * scale) / scale,
    ]

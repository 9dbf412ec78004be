"""Copernicus DEM GLO-30 tiles, read by window for the territory only, to the workspace DEM.

The Copernicus DEM is published as 1 x 1 degree Cloud-Optimised GeoTIFF tiles (EPSG:4326, float32,
EGM2008 heights) named after their lower-left corner::

    {dem_url}/Copernicus_DSM_COG_10_N49_00_E003_00_DEM/Copernicus_DSM_COG_10_N49_00_E003_00_DEM.tif

For each tile covering the territory, only the window over the territory (plus a margin) is read, over
HTTP Range requests through GDAL's ``/vsicurl/`` (the server must honour Range, as S3 and most mirrors do;
otherwise the whole tile is downloaded through the cache and read locally). Each window is kept in the
download cache as a small GeoTIFF keyed by the tile URL and the window, so a second run and ``--offline``
read nothing from the network. The windows are then reprojected (bilinear) to EPSG:2154 on a grid of
``dem_resolution_m`` (25 m by default) covering the territory, ready for :meth:`Workspace.write_dem`.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.warp import Resampling, reproject, transform_bounds
from rasterio.windows import Window

from foncier.errors import FetchError
from foncier.geo.crs import LAMBERT93, WGS84
from foncier.layers.fetch.http import CacheEntry, HttpClient, ResourceNotFoundError

logger = logging.getLogger(__name__)

LICENCE = "Copernicus DEM licence (free use, attribution: © DLR e.V. 2010-2014 and © Airbus 2014-2018 under Copernicus)"


def tile_name(lon: int, lat: int) -> str:
    """Copernicus GLO-30 tile name of the 1-degree cell whose lower-left corner is (lon, lat).

    Examples
    --------
    >>> tile_name(3, 49)
    'Copernicus_DSM_COG_10_N49_00_E003_00_DEM'
    """
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"Copernicus_DSM_COG_10_{ns}{abs(lat):02d}_00_{ew}{abs(lon):03d}_00_DEM"


def tile_url(base: str, name: str) -> str:
    """URL of tile ``name`` under the base URL of the DEM source."""
    return f"{base.rstrip('/')}/{name}/{name}.tif"


def tiles_for(bounds: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    """Lower-left corners (lon, lat) of the tiles covering ``bounds`` (lon_min, lat_min, lon_max, lat_max)."""
    w, s, e, n = bounds
    lons = range(math.floor(w), math.floor(e - 1e-12) + 1)
    lats = range(math.floor(s), math.floor(n - 1e-12) + 1)
    return [(lon, lat) for lat in lats for lon in lons]


@dataclass
class DemResult:
    """The DEM of a territory and how it was obtained."""

    array: np.ndarray | None = None
    transform: Affine | None = None
    crs: str = LAMBERT93
    tiles: list[str] = field(default_factory=list)
    entries: list[CacheEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    windows_read: int = 0


def target_grid(
    bounds_l93: tuple[float, float, float, float], resolution: float, margin: float
) -> tuple[Affine, int, int]:
    """Transform, width and height of the Lambert-93 grid covering ``bounds_l93`` plus ``margin``."""
    xmin, ymin, xmax, ymax = bounds_l93
    xmin = math.floor((xmin - margin) / resolution) * resolution
    ymin = math.floor((ymin - margin) / resolution) * resolution
    xmax = math.ceil((xmax + margin) / resolution) * resolution
    ymax = math.ceil((ymax + margin) / resolution) * resolution
    width = round((xmax - xmin) / resolution)
    height = round((ymax - ymin) / resolution)
    return Affine(resolution, 0.0, xmin, 0.0, -resolution, ymax), width, height


@contextlib.contextmanager
def _gdal_env(client: HttpClient) -> Iterator[None]:
    s = client.settings
    with rasterio.Env(
        GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR",
        CPL_VSIL_CURL_ALLOWED_EXTENSIONS=".tif,.TIF,.tiff",
        GDAL_HTTP_TIMEOUT=str(max(1, math.ceil(s.read_timeout))),
        GDAL_HTTP_CONNECTTIMEOUT=str(max(1, math.ceil(s.connect_timeout))),
        GDAL_HTTP_MAX_RETRY=str(s.retries),
        GDAL_HTTP_RETRY_DELAY=str(max(s.backoff_base, 0.1)),
        GDAL_HTTP_USERAGENT=s.user_agent,
        GDAL_HTTP_MULTIRANGE="SERIAL",
        VSI_CACHE="TRUE",
    ):
        yield


def _window_of(src: Any, box: tuple[float, float, float, float]) -> Window | None:
    """Pixel window of ``src`` (north-up) covering the lon/lat ``box``, clipped to the raster."""
    inverse = ~src.transform
    c_a, r_a = inverse @ (box[0], box[3])
    c_b, r_b = inverse @ (box[2], box[1])
    col0 = max(0, math.floor(min(c_a, c_b)))
    row0 = max(0, math.floor(min(r_a, r_b)))
    col1 = min(src.width, math.ceil(max(c_a, c_b)))
    row1 = min(src.height, math.ceil(max(r_a, r_b)))
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def _save_window(src: Any, box: tuple[float, float, float, float], out: Path) -> bool:
    """Write the window of ``src`` over ``box`` to ``out`` (GeoTIFF). False when they do not overlap."""
    win = _window_of(src, box)
    if win is None:
        return False
    data = src.read(1, window=win)
    profile = {
        "driver": "GTiff", "width": int(win.width), "height": int(win.height), "count": 1,
        "dtype": data.dtype.name, "crs": src.crs,
        "transform": src.transform @ Affine.translation(win.col_off, win.row_off),
        "nodata": src.nodata, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data, 1)
    return True


def _check_geotiff(path: Path) -> None:
    with rasterio.open(path) as src:
        if src.count < 1:
            raise ValueError("GeoTIFF without band")


def _read_tile_window(
    client: HttpClient, url: str, box: tuple[float, float, float, float], key: str
) -> CacheEntry | None:
    """Read the window ``box`` of the tile at ``url`` and store it in the cache under ``key``."""
    tmp = client.cache.temp_file(key)
    tmp.unlink()
    tmp = tmp.with_suffix(".tif")
    try:
        if url.startswith("file://"):
            entry = client.fetch(url, check=_check_geotiff)
            with rasterio.open(entry.path) as src:
                ok = _save_window(src, box, tmp)
        else:
            try:
                with _gdal_env(client), rasterio.open(f"/vsicurl/{url}") as src:
                    client.stats.requests += 1
                    ok = _save_window(src, box, tmp)
            except RasterioIOError as exc:
                text = str(exc)
                if "404" in text or "410" in text:
                    raise ResourceNotFoundError(url, 404, "tile not published") from None
                logger.info("%s: windowed read failed (%s); downloading the whole tile", url, text.splitlines()[0])
                entry = client.fetch(url, check=_check_geotiff)
                with rasterio.open(entry.path) as src:
                    ok = _save_window(src, box, tmp)
        if not ok:
            return None
        return client.cache.store(key, tmp, final_url=url)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def fetch_dem(
    client: HttpClient,
    bounds_l93: tuple[float, float, float, float],
    *,
    resolution: float = 25.0,
    margin: float = 1000.0,
) -> DemResult:
    """Fetch the Copernicus tiles over ``bounds_l93`` by window and resample them to Lambert-93.

    Parameters
    ----------
    client : HttpClient
        Its settings give the DEM base URL; its cache keeps the windows; offline, only the cache is read.
    bounds_l93 : (xmin, ymin, xmax, ymax)
        Territory extent in EPSG:2154.
    resolution, margin : float
        Cell size and margin (metres) of the output grid.

    Returns
    -------
    DemResult
        ``array`` (float32, NaN where no tile covers) and ``transform`` on success; ``failures`` (tiles not
        found or not readable) and ``missing`` (offline, not in the cache) otherwise or in addition.
    """
    base = client.settings.base_url("dem")
    transform, width, height = target_grid(bounds_l93, resolution, margin)
    grid_bounds = (transform.c, transform.f - height * resolution, transform.c + width * resolution, transform.f)
    w, s, e, n = transform_bounds(LAMBERT93, WGS84, *grid_bounds, densify_pts=21)
    pad = 3.0 / 3600.0  # three source pixels, for bilinear resampling at the edges
    w, s, e, n = w - pad, s - pad, e + pad, n + pad
    result = DemResult()
    windows: list[Path] = []
    for lon, lat in tiles_for((w, s, e, n)):
        name = tile_name(lon, lat)
        url = tile_url(base, name)
        box = (max(w, lon - 0.01), max(s, lat - 0.01), min(e, lon + 1.01), min(n, lat + 1.01))
        key = f"{url}#window={box[0]:.6f},{box[1]:.6f},{box[2]:.6f},{box[3]:.6f}"
        result.tiles.append(name)
        entry = client.cache.lookup(key)
        if entry is not None:
            client.stats.cache_hits += 1
        elif client.offline:
            result.missing.append(key)
            continue
        else:
            try:
                entry = _read_tile_window(client, url, box, key)
            except ResourceNotFoundError as exc:
                result.failures.append(f"tile {name}: {exc}")
                continue
            except (FetchError, RasterioIOError, OSError, ValueError) as exc:
                result.failures.append(f"tile {name}: {exc}")
                continue
            result.windows_read += 1
            if entry is None:
                continue
        result.entries.append(entry)
        windows.append(entry.path)
    if not windows:
        return result
    dst = np.full((height, width), np.nan, dtype="float32")
    for path in windows:
        with rasterio.open(path) as src:
            reproject(
                source=rasterio.band(src, 1),
                destination=dst,
                src_nodata=src.nodata,
                dst_transform=transform,
                dst_crs=LAMBERT93,
                dst_nodata=np.nan,
                resampling=Resampling.bilinear,
                init_dest_nodata=False,
            )
    if not np.isfinite(dst).any():
        result.failures.append("the DEM tiles do not cover the territory")
        return result
    result.array = dst
    result.transform = transform
    return result

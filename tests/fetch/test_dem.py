"""Copernicus-like DEM tiles read by window over HTTP Range, reprojected to Lambert-93."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from foncier.layers.fetch.dem import fetch_dem, target_grid, tile_name, tile_url, tiles_for
from foncier.layers.fetch.http import HttpClient
from foncier.layers.fetch.settings import FetchSettings

from .conftest import Services, dem_value

# around Villers-Cotterets (Lambert-93)
BOUNDS = (700_000.0, 6_905_000.0, 706_000.0, 6_910_000.0)


def test_tile_names() -> None:
    assert tile_name(3, 49) == "Copernicus_DSM_COG_10_N49_00_E003_00_DEM"
    assert tile_name(-2, -1) == "Copernicus_DSM_COG_10_S01_00_W002_00_DEM"
    assert tile_url("https://copernicus-dem-30m.s3.amazonaws.com", tile_name(2, 49)) == (
        "https://copernicus-dem-30m.s3.amazonaws.com/Copernicus_DSM_COG_10_N49_00_E002_00_DEM/"
        "Copernicus_DSM_COG_10_N49_00_E002_00_DEM.tif"
    )
    assert tiles_for((2.9, 49.1, 3.4, 49.5)) == [(2, 49), (3, 49)]
    assert tiles_for((3.0, 49.0, 3.5, 50.0)) == [(3, 49)]


def test_target_grid_is_snapped() -> None:
    transform, width, height = target_grid((700_010.0, 6_905_020.0, 700_990.0, 6_905_980.0), 25.0, 0.0)
    assert (transform.c, transform.f, width, height) == (700_000.0, 6_906_000.0, 40, 40)


def test_windowed_read_with_range(services: Services, fetch_settings: FetchSettings) -> None:
    client = HttpClient(fetch_settings)
    result = fetch_dem(client, BOUNDS, resolution=25.0, margin=500.0)
    assert result.failures == [] and result.array is not None and result.transform is not None
    tif = services.root / "dem" / tile_name(3, 49) / f"{tile_name(3, 49)}.tif"
    gets = [r for r in services.requests if r.method == "GET" and r.path.endswith(".tif")]
    assert {r.path.rsplit("/", 1)[-1] for r in gets} == {f"{tile_name(2, 49)}.tif", f"{tile_name(3, 49)}.tif"}
    assert gets and all(r.headers.get("Range", "").startswith("bytes=") for r in gets)  # never the whole tile
    # the values are the tile's, resampled: check the cell at the centre
    arr, t = result.array, result.transform
    row, col = arr.shape[0] // 2, arr.shape[1] // 2
    x, y = t @ (col + 0.5, row + 0.5)
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)
    assert arr[row, col] == pytest.approx(float(dem_value(lon, lat)), abs=0.5)
    assert np.isfinite(arr).all()
    assert tif.stat().st_size > 0

    # second time: from the cache (the window), no request
    services.reset_log()
    again = fetch_dem(HttpClient(fetch_settings), BOUNDS, resolution=25.0, margin=500.0)
    assert services.count(".tif") == 0 and again.windows_read == 0
    assert np.array_equal(again.array, arr, equal_nan=True)


def test_offline_without_cache_lists_the_window(fetch_settings: FetchSettings, services: Services) -> None:
    result = fetch_dem(HttpClient(fetch_settings, offline=True), BOUNDS)
    assert result.array is None and len(result.missing) == len(result.tiles) == 2  # the bounds straddle 3 deg E
    assert all("#window=" in url for url in result.missing)
    assert services.count() == 0


def test_missing_tile_is_reported(services: Services, fetch_settings: FetchSettings) -> None:
    far = (300_000.0, 6_500_000.0, 301_000.0, 6_501_000.0)  # no tile served there
    result = fetch_dem(HttpClient(fetch_settings), far)
    assert result.array is None and result.failures and "not found" in result.failures[0]

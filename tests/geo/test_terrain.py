"""Slope (Horn) and zonal slope statistics (foncier.geo.terrain)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from foncier.errors import CRSError
from foncier.geo.terrain import slope_percent, zonal_slope

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0
CELL = 25.0


def planar_dem(rows: int, cols: int, gx: float, gy: float) -> tuple[np.ndarray, Affine]:
    """z = 100 + gx * x + gy * y (x east, y north, metres), sampled at cell centres of a north-up grid."""
    transform = Affine(CELL, 0, X0, 0, -CELL, Y0 + rows * CELL)
    c, r = np.meshgrid(np.arange(cols), np.arange(rows))
    x = X0 + (c + 0.5) * CELL
    y = Y0 + rows * CELL - (r + 0.5) * CELL
    return 100.0 + gx * (x - X0) + gy * (y - Y0), transform


def test_planar_dem_gives_its_slope() -> None:
    dem, transform = planar_dem(20, 30, 0.05, -0.02)
    slope = slope_percent(dem, transform)
    expected = 100 * np.hypot(0.05, 0.02)  # 5.385 %
    assert slope.shape == dem.shape
    assert slope[1:-1, 1:-1] == pytest.approx(np.full((18, 28), expected))
    # borders: missing neighbours take the centre value, so the slope is damped, never NaN nor steeper
    assert np.isfinite(slope).all()
    assert (slope <= expected + 1e-9).all()
    assert slope[0, 5] < expected
    as_float32 = slope_percent(dem.astype(np.float32), transform)
    assert as_float32.dtype == np.float32
    assert as_float32[1:-1, 1:-1] == pytest.approx(np.full((18, 28), expected), rel=1e-4)


def test_flat_and_steps() -> None:
    flat = np.full((5, 5), 42.0)
    assert np.allclose(slope_percent(flat, Affine(10, 0, 0, 0, -10, 50)), 0)
    # a 10 m step between two columns, cells of 10 m: Horn gives (4 * 10) / (8 * 10) = 50 % next to it
    step = np.zeros((5, 6))
    step[:, 3:] = 10.0
    s = slope_percent(step, Affine(10, 0, 0, 0, -10, 50))
    assert s[2, 2] == pytest.approx(50.0)
    assert s[2, 3] == pytest.approx(50.0)
    assert s[2, 0] == 0


def test_nodata_cells_are_nan_and_do_not_spread() -> None:
    dem, transform = planar_dem(10, 10, 0.1, 0.0)
    dem[4, 4] = -9999.0
    slope = slope_percent(dem, transform, nodata=-9999.0)
    assert np.isnan(slope[4, 4])
    assert np.isnan(slope).sum() == 1
    assert slope[4, 5] == pytest.approx(10.0, rel=0.3)  # neighbour still finite and plausible


def test_rotated_transform_is_refused() -> None:
    with pytest.raises(ValueError, match="rotated"):
        slope_percent(np.zeros((3, 3)), Affine(10, 1, 0, 0, -10, 0))


def test_zonal_slope_on_planar_dem() -> None:
    dem, transform = planar_dem(40, 40, 0.03, 0.04)
    slope = slope_percent(dem, transform)
    sites = gpd.GeoDataFrame(
        geometry=[
            shapely.box(X0 + 200, Y0 + 200, X0 + 600, Y0 + 500),
            shapely.Point(X0 + 500, Y0 + 500).buffer(120),
            shapely.box(X0 + 5000, Y0 + 5000, X0 + 5100, Y0 + 5100),  # outside the raster
        ],
        crs=L93,
        index=["a", "b", "c"],
    )
    stats = zonal_slope(sites, slope, transform, L93)
    assert list(stats.columns) == ["slope_mean_pct", "slope_max_pct"]
    assert list(stats.index) == ["a", "b", "c"]
    assert stats.loc[["a", "b"], "slope_mean_pct"].tolist() == pytest.approx([5.0, 5.0])
    assert stats.loc[["a", "b"], "slope_max_pct"].tolist() == pytest.approx([5.0, 5.0])
    assert stats.loc["c"].isna().all()


def test_zonal_slope_weights_by_covered_area() -> None:
    # slope raster given directly: columns 0-1 at 10 %, column 2 at 40 %, column 3 at 90 %
    slope = np.tile(np.array([10.0, 10.0, 40.0, 90.0]), (4, 1))
    transform = Affine(CELL, 0, X0, 0, -CELL, Y0 + 4 * CELL)
    # covers columns 0-1 fully and half of column 2, rows 1-2
    site = shapely.box(X0, Y0 + CELL, X0 + 2.5 * CELL, Y0 + 3 * CELL)
    sites = gpd.GeoDataFrame(geometry=[site], crs=L93)
    stats = zonal_slope(sites, slope, transform)
    assert stats.iloc[0, 0] == pytest.approx((2 * 10 + 0.5 * 40) / 2.5)  # 16, not the cell mean 20
    assert stats.iloc[0, 1] == pytest.approx(40.0)  # column 3 is not touched
    slope[1, 0] = np.nan  # a missing cell is left out of the mean
    stats = zonal_slope(sites, slope, transform)
    assert stats.iloc[0, 0] == pytest.approx((3 * 10 + 2 * 0.5 * 40) / (3 + 2 * 0.5))  # 17.5


def test_zonal_slope_checks_crs() -> None:
    sites = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")
    with pytest.raises(CRSError):
        zonal_slope(sites, np.zeros((2, 2)), Affine(1, 0, 0, 0, -1, 2))
    sites = sites.set_crs(L93, allow_override=True)
    with pytest.raises(CRSError):
        zonal_slope(sites, np.zeros((2, 2)), Affine(1, 0, 0, 0, -1, 2), "EPSG:3857")

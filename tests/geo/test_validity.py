"""Valid polygonal geometries after repair (exports)."""

from __future__ import annotations

import geopandas as gpd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from foncier.geo.validity import to_crs_valid, valid_polygons


def test_bowtie_is_repaired_into_its_two_triangles() -> None:
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    out = valid_polygons(gpd.GeoSeries([bowtie, None], index=[7, 9], crs=2154))
    assert list(out.index) == [7, 9] and out.iloc[1] is None
    assert out.iloc[0].is_valid and out.iloc[0].geom_type == "MultiPolygon"
    assert abs(out.iloc[0].area - 2.0) < 1e-9


def test_repair_drops_the_lines_it_leaves() -> None:
    # a polygon with a dangling spike: make_valid gives a polygon and a line; only the area is kept
    spiky = shapely.Polygon([(0, 0), (1, 0), (1, 1), (1, 2), (1, 1), (0, 1)])
    out = valid_polygons(gpd.GeoSeries([spiky], crs=2154)).iloc[0]
    assert out.is_valid and out.geom_type in ("Polygon", "MultiPolygon") and abs(out.area - 1) < 1e-9


coords = st.tuples(st.floats(700_000, 700_050), st.floats(6_900_000, 6_900_050))


@settings(max_examples=60, deadline=None)
@given(st.lists(coords, min_size=4, max_size=9))
def test_any_ring_reprojected_is_valid_and_polygonal(points: list[tuple[float, float]]) -> None:
    poly = shapely.Polygon(points)
    frame = gpd.GeoDataFrame(geometry=[poly], crs=2154)
    out = to_crs_valid(frame, "EPSG:4326").geometry.iloc[0]
    assert out.is_valid
    assert out.is_empty or out.geom_type in ("Polygon", "MultiPolygon")

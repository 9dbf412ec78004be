"""Coverage of partial constraint layers from the provenance state."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from foncier.geo.crs import LAMBERT93
from foncier.layers.coverage import constraint_coverage

COMMUNES = gpd.GeoDataFrame(
    {"insee": ["02001", "02002", "02003"]},
    geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)],
    crs=LAMBERT93,
)


def test_complete_layers_are_not_limited() -> None:
    prov = pd.DataFrame({"layer": ["flood", "plu", "roads"], "state": ["complete", "", "partial: 02001"]})
    assert constraint_coverage(prov, COMMUNES) == {}


def test_partial_layer_covers_the_communes_not_missing() -> None:
    prov = pd.DataFrame({"layer": ["plu"], "state": ["partial: 1 item(s) missing (02002)"]})
    cov = constraint_coverage(prov, COMMUNES)
    assert cov["plu"].area == 200 and not cov["plu"].intersects(box(12, 2, 18, 8))


def test_partial_layer_that_does_not_say_what_is_missing_covers_nothing() -> None:
    prov = pd.DataFrame({"layer": ["flood"], "state": ["partial: 3 tile(s) missing"]})
    assert constraint_coverage(prov, COMMUNES)["flood"].is_empty
    assert constraint_coverage(None, COMMUNES) == {}

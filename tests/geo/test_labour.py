"""Labour pool beyond the territory's border, with distance decay (foncier.geo.labour, criteria)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from foncier.geo.criteria import compute_criteria, labour_communes, labour_population_column
from foncier.geo.labour import decay_weight, labour_pool
from foncier.geo.network import build_road_graph
from foncier.geo.speeds import SpeedModel

L93 = "EPSG:2154"
X0, Y0 = 700_000.0, 6_900_000.0


def _communes(codes: list[str], xs: list[float], pops: list[int], **extra: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"insee": codes, "nom": codes, "epci_siren": [None] * len(codes), "population": pops, **extra},
        geometry=[shapely.box(X0 + x - 500, Y0 - 500, X0 + x + 500, Y0 + 500) for x in xs],
        crs=L93,
    )


@pytest.fixture
def border() -> dict[str, gpd.GeoDataFrame]:
    """A straight road (60 km/h = 1 km/min) from x=0 to x=80 km; the territory's border at x=10 km.

    Territory (Aisne): 02001 at x=0, 02002 at x=8 km. Neighbouring department (Oise, generated):
    60001 at x=20 km (10 min from a site at the border), 60002 at x=40 km (30 min: half-way in the decay),
    60003 at x=70 km (60 min: too far).
    """
    n = 80  # 1 km pieces: every kilometre is a node
    roads = gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(n)], "class": ["primary"] * n, "speed_kmh": [60.0] * n,
         "oneway": [False] * n},
        geometry=[shapely.LineString([(X0 + 1000 * i, Y0), (X0 + 1000 * (i + 1), Y0)]) for i in range(n)],
        crs=L93,
    )  # fmt: skip
    return {
        "roads": roads,
        "communes": _communes(["02001", "02002"], [0, 8000], [1000, 2000]),
        "labour_communes": _communes(
            ["60001", "60002", "60003", "02002"], [20_000, 40_000, 70_000, 8000], [300, 5000, 90_000, 2000]
        ),
    }


def test_site_near_the_border_counts_communes_outside_the_territory(border: dict) -> None:
    site = gpd.GeoDataFrame(
        {"site_id": ["S1"], "area_m2": [1e4]}, geometry=[shapely.box(X0 + 9950, Y0 - 50, X0 + 10050, Y0 + 50)], crs=L93
    )
    legal = SpeedModel.legal()
    inside_only = compute_criteria(site, {k: border[k] for k in ("roads", "communes")}, None, speed_model=legal)
    with_neighbours = compute_criteria(site, border, None, speed_model=legal)
    # commute times from the site (x=10 km, on the road): 02001 10 min, 02002 2 min, 60001 10 min,
    # 60002 30 min, 60003 60 min; weights 1 up to 20 min, cosine to 0 at 45 min; 02002 counted once
    w30 = 0.5 * (1 + np.cos(np.pi * (30 - 20) / 25))
    assert inside_only["labour_pool"].iloc[0] == pytest.approx(1000 + 2000, abs=1)
    assert with_neighbours["labour_pool"].iloc[0] == pytest.approx(1000 + 2000 + 300 + 5000 * w30, abs=1)
    # other commuting times a profile may choose: 30 min (full weight to 15) and 60 min (full weight to 30)
    assert with_neighbours["labour_pool_30min"].iloc[0] == pytest.approx(1000 + 2000 + 300, abs=1)
    assert with_neighbours["labour_pool_60min"].iloc[0] == pytest.approx(1000 + 2000 + 300 + 5000, abs=1)


def test_labour_communes_deduplicate_and_prefer_working_age(border: dict) -> None:
    both = labour_communes(border)
    assert both is not None and sorted(both["insee"]) == ["02001", "02002", "60001", "60002", "60003"]
    assert labour_population_column(both) == "population"
    working = _communes(["02001"], [0], [1000], pop_15_64=[610])
    assert labour_population_column(working) == "pop_15_64"
    partial = _communes(["02001", "02002"], [0, 1], [1000, 5], pop_15_64=[610, None])
    assert labour_population_column(partial) == "population"  # not every commune has it: total, said so
    assert labour_communes({"communes": None}) is None


def test_hard_cut_and_decay_agree_inside_the_full_weight_zone(border: dict) -> None:
    g = build_road_graph(border["roads"])
    site = gpd.GeoDataFrame(geometry=[shapely.Point(X0 + 10_000, Y0)], crs=L93)
    everyone = labour_communes(border)
    cut = labour_pool(site, g, everyone, minutes=15)
    decay = labour_pool(site, g, everyone, minutes=45, full_minutes=15)
    assert cut.iloc[0] == pytest.approx(1000 + 2000 + 300)
    assert decay.iloc[0] > cut.iloc[0]  # 60002 (30 min) counts partly
    with pytest.raises(ValueError, match="full_minutes"):
        labour_pool(site, g, everyone, minutes=30, full_minutes=40)


@given(
    st.lists(st.floats(0, 200, allow_nan=False), min_size=2, max_size=30),
    st.floats(1, 60),
    st.floats(0, 1),
)
def test_decay_weight_is_a_decreasing_share(times: list[float], budget: float, ratio: float) -> None:
    full = budget * ratio
    t = np.sort(np.asarray(times))
    w = decay_weight(t, minutes=budget, full_minutes=full)
    assert ((w >= 0) & (w <= 1)).all()
    assert (np.diff(w) <= 1e-12).all()
    assert (w[t <= full] == 1).all() and (w[t > budget] == 0).all()

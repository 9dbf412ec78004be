"""Candidate sites on REAL Etalab cadastre parcels (../shared/data/real, 18 parcels near Dammard).

How the expected groups were worked out (by hand, independently of foncier.geo.sites):
every one of the 153 pairs of parcels was measured in Lambert-93 with shapely's ``distance``,
``touches`` and ``intersection`` (the same check runs again below in
``test_pairwise_contacts_match_the_hand_count``). It gives:

- 15 pairs that *touch* (shared boundary, no overlap), as the README says:
  A0099-A0100, A0100-A0101, A0174-A0105, A0174-A0106, A0174-A0102, A0105-A0106 (Dammard 02258);
  A0050-A0043, A0050-A0048, A0043-A0008, A0043-A0048, A0008-A0048 (Passy-en-Valois 02594);
  C0128-C0127, C0128-C0129, C0127-C0126, C0127-C0124 (Marizy-Sainte-Genevieve 02466);
- 3 pairs that *overlap* slightly across the commune boundary (the two communes' cadastral sheets do not
  match exactly): 02258 A0099 / 02594 A0008 (2.3 m2), 02258 A0174 / 02594 A0050 (319 m2),
  02258 A0106 / 02594 A0048 (282 m2);
- pairs apart by less than 7 m: A0174-A0048 0.91 m, A0106-A0050 1.00 m, A0099-A0106 3.48 m,
  A0101-A0102 3.65 m, A0099-A0048 4.01 m, A0105-A0100 4.70 m, A0099-A0105 4.74 m (all joined anyway),
  02594 A0002-A0009 5.43 m, A0009-A0008 6.16 m, A0002-A0043 6.80 m, A0002-A0008 6.85 m.

So with a 5 m gap (and with no gap at all, because the overlaps already link Dammard to Passy) the blocks
are: the 7 Dammard + 4 Passy parcels (11), A0002 alone, A0009 alone, and the 5 Marizy parcels. With a 7 m
gap, A0002 and A0009 join the big block (13 parcels).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from foncier.geo.sites import candidate_sites, site_id

pytestmark = pytest.mark.real_data

BIG_BLOCK = [
    "022580000A0099",
    "022580000A0100",
    "022580000A0101",
    "022580000A0102",
    "022580000A0105",
    "022580000A0106",
    "022580000A0174",
    "025940000A0008",
    "025940000A0043",
    "025940000A0048",
    "025940000A0050",
]
MARIZY = ["024660000C0124", "024660000C0126", "024660000C0127", "024660000C0128", "024660000C0129"]
EXPECTED = {
    0.0: [BIG_BLOCK, ["025940000A0002"], ["025940000A0009"], MARIZY],
    5.0: [BIG_BLOCK, ["025940000A0002"], ["025940000A0009"], MARIZY],
    7.0: [sorted([*BIG_BLOCK, "025940000A0002", "025940000A0009"]), MARIZY],
}
TOUCHING = {
    ("022580000A0099", "022580000A0100"),
    ("022580000A0100", "022580000A0101"),
    ("022580000A0105", "022580000A0174"),
    ("022580000A0106", "022580000A0174"),
    ("022580000A0102", "022580000A0174"),
    ("022580000A0105", "022580000A0106"),
    ("025940000A0043", "025940000A0050"),
    ("025940000A0048", "025940000A0050"),
    ("025940000A0008", "025940000A0043"),
    ("025940000A0043", "025940000A0048"),
    ("025940000A0008", "025940000A0048"),
    ("024660000C0127", "024660000C0128"),
    ("024660000C0128", "024660000C0129"),
    ("024660000C0126", "024660000C0127"),
    ("024660000C0124", "024660000C0127"),
}
OVERLAPPING = {
    ("022580000A0099", "025940000A0008"),
    ("022580000A0174", "025940000A0050"),
    ("022580000A0106", "025940000A0048"),
}


@pytest.fixture(scope="module")
def parcels(real_data: Path) -> gpd.GeoDataFrame:
    path = real_data / "cadastre-02-parcelles-excerpt-retz.geojson"
    if not path.exists():
        pytest.fail(f"{path} is missing from the real data folder")
    raw = gpd.read_file(path)
    assert raw.crs.to_epsg() == 4326
    assert len(raw) == 18
    return raw.rename(columns={"id": "parcel_id"}).to_crs("EPSG:2154")


def test_pairwise_contacts_match_the_hand_count(parcels: gpd.GeoDataFrame) -> None:
    ids, geoms = parcels["parcel_id"].tolist(), list(parcels.geometry)
    touching, overlapping = set(), set()
    for i, j in itertools.combinations(range(len(ids)), 2):
        pair = tuple(sorted((ids[i], ids[j])))
        if geoms[i].touches(geoms[j]):
            touching.add(pair)
        elif geoms[i].intersection(geoms[j]).area > 0:
            overlapping.add(pair)
    assert len(touching) == 15
    assert touching == {tuple(sorted(p)) for p in TOUCHING}
    assert overlapping == {tuple(sorted(p)) for p in OVERLAPPING}


def groups_by_brute_force(parcels: gpd.GeoDataFrame, gap: float) -> list[list[str]]:
    """Second method: every pair's exact distance, then connected components with networkx."""
    g = nx.Graph()
    ids, geoms = parcels["parcel_id"].tolist(), list(parcels.geometry)
    g.add_nodes_from(ids)
    for i, j in itertools.combinations(range(len(ids)), 2):
        if geoms[i].distance(geoms[j]) <= gap:
            g.add_edge(ids[i], ids[j])
    return sorted(sorted(c) for c in nx.connected_components(g))


@pytest.mark.parametrize("gap", [0.0, 5.0, 7.0])
def test_candidate_sites_reproduce_the_blocks(parcels: gpd.GeoDataFrame, gap: float) -> None:
    expected = sorted(EXPECTED[gap])
    assert groups_by_brute_force(parcels, gap) == expected
    sites, site_parcels = candidate_sites(parcels, gap_m=gap, min_area_m2=0)
    got = sorted(ids.split(",") for ids in sites["parcel_ids"])
    assert got == expected
    assert sites["site_id"].tolist() == sorted(site_id(g) for g in expected)
    assert sorted(site_parcels.groupby("site_id")["parcel_id"].apply(list).tolist()) == expected
    assert (sites["n_parcels"] == sites["parcel_ids"].str.count(",") + 1).all()


def test_site_attributes_on_real_parcels(parcels: gpd.GeoDataFrame) -> None:
    sites, _ = candidate_sites(parcels, gap_m=5.0, min_area_m2=0)
    big = sites.set_index("site_id").loc[site_id(BIG_BLOCK)]
    members = parcels[parcels["parcel_id"].isin(BIG_BLOCK)]
    areas = members.area
    # the three cross-commune overlaps are counted once
    overlap = sum(
        members.set_index("parcel_id").geometry[a].intersection(members.set_index("parcel_id").geometry[b]).area
        for a, b in OVERLAPPING
    )
    assert overlap > 500
    assert big["area_m2"] == pytest.approx(areas.sum() - overlap, rel=1e-9)
    assert big["min_lot_m2"] == pytest.approx(areas.min())
    assert big["max_lot_m2"] == pytest.approx(areas.max())
    assert big["communes"] == "02258,02594"
    assert big["geometry"].covers(shapely.union_all(members.geometry.to_numpy()).buffer(-1e-6))
    # the outline is one piece (gaps under 5 m are bridged) and holds at least the parcels' land
    assert big["geometry"].geom_type == "Polygon"
    assert big["geometry"].area >= big["area_m2"]
    marizy = sites.set_index("site_id").loc[site_id(MARIZY)]
    assert marizy["communes"] == "02466"
    assert marizy["n_parcels"] == 5


def test_ids_are_stable_when_rows_are_shuffled(parcels: gpd.GeoDataFrame) -> None:
    first, first_parcels = candidate_sites(parcels, gap_m=5.0, min_area_m2=0)
    for seed in range(3):
        shuffled = parcels.sample(frac=1.0, random_state=seed)
        shuffled.index = np.arange(len(shuffled))[::-1]
        again, again_parcels = candidate_sites(shuffled, gap_m=5.0, min_area_m2=0)
        assert again["site_id"].tolist() == first["site_id"].tolist()
        assert again["parcel_ids"].tolist() == first["parcel_ids"].tolist()
        assert again_parcels.equals(first_parcels)
        for a, b in zip(again.geometry, first.geometry, strict=True):
            assert a.symmetric_difference(b).area < 1e-3

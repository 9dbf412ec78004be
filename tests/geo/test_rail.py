"""Rail freight criteria (foncier.geo.rail) on the real SNCF lines and on hand-made layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from foncier.geo.rail import distance_to_freight_line, open_to_freight, siding_flag
from foncier.layers.formats import map_rail_lines

L93 = "EPSG:2154"


@pytest.fixture(scope="module")
def sncf_lines(real_data: Path) -> gpd.GeoDataFrame:
    """SNCF Réseau "régime d'exploitation des lignes" around the territory, as published (exploitati...)."""
    return gpd.read_file(real_data / "sncf_lignes_zone.geojson").to_crs(L93)


def test_operating_regimes_of_the_real_lines(sncf_lines: gpd.GeoDataFrame) -> None:
    canonical = map_rail_lines(sncf_lines)
    for frame in (sncf_lines, canonical):  # the publisher's names and the canonical ones
        ok = open_to_freight(frame)
        name = frame["lib_ligne"] if "lib_ligne" in frame else frame["libelle"]
        regime = frame["exploitati"] if "exploitati" in frame else frame["exploitation"]
        # La Plaine - Hirson through Villers-Cotterêts and Soissons: every section, whatever its regime
        assert ok[name.str.startswith("Ligne de La Plaine à Hirson")].all()
        # the VUTR capillary lines (Soissons - Givet east part, Rochy-Condé - Soissons) carry freight
        assert ok[regime.str.startswith("Voie unique à trafic restreint")].all()
        # no freight on the high-speed lines (LGV Nord, LGV Est) nor on the RER line to Roissy
        assert not ok[name.str.contains("LGV")].any()
        assert not ok[name.str.contains("Roissy 2-RER")].any()
        # the "_Autre" regime counts only for the Garonor voie-mère (a freight siding)
        other = regime == "_Autre"
        assert ok[other].tolist() == name[other].str.contains("Voie-mère").tolist() == [True]


def test_distance_to_freight_line_ignores_closed_sections(sncf_lines: gpd.GeoDataFrame) -> None:
    lines = map_rail_lines(sncf_lines)
    lgv = lines[lines["libelle"].str.contains("Gonesse à Lille")].geometry.iloc[0]
    # a site right on the LGV Nord: its distance is to the nearest line open to freight, not 0
    on_lgv = shapely.line_interpolate_point(lgv, 0.5, normalized=True)
    sites = gpd.GeoDataFrame(geometry=[on_lgv.buffer(50)], crs=L93)
    d = distance_to_freight_line(sites, lines)
    freight = lines[open_to_freight(lines).to_numpy()]
    expected = float(freight.distance(sites.geometry.iloc[0]).min())
    assert d.iloc[0] == pytest.approx(expected) and d.iloc[0] > 0
    assert float(lines.distance(sites.geometry.iloc[0]).min()) == 0


def test_unknown_or_missing_regime_is_not_freight(caplog: pytest.LogCaptureFixture) -> None:
    lines = gpd.GeoDataFrame(
        {"code_ligne": ["1", "2", "3"], "libelle": ["a", "b", "c"], "exploitation": ["Double voie", "Fermée", None]},
        geometry=[shapely.LineString([(0, 0), (1, 1)])] * 3,
        crs=L93,
    )
    assert open_to_freight(lines).tolist() == [True, False, False]
    assert "fermée" in caplog.text
    no_regime = lines.drop(columns="exploitation")
    assert not open_to_freight(no_regime).any()
    sites = gpd.GeoDataFrame(geometry=[shapely.Point(5, 5).buffer(1)], crs=L93)
    assert np.isnan(distance_to_freight_line(sites, no_regime).iloc[0])


def test_siding_flag_is_what_the_inventory_says() -> None:
    zones = gpd.GeoDataFrame(
        {"zone_id": ["z1", "z2", "z3"], "reseau_fret_ferroviaire": ["oui", "non", None]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(200, 0, 300, 100), shapely.box(400, 0, 500, 100)],
        crs=L93,
    )
    sites = gpd.GeoDataFrame(
        geometry=[
            shapely.box(10, 10, 20, 20),  # in the zone with a siding
            shapely.box(210, 10, 220, 20),  # in the zone without
            shapely.box(410, 10, 420, 20),  # the inventory says nothing
            shapely.box(600, 0, 610, 10),  # in no zone
            shapely.box(90, 10, 210, 20),  # touches both: it has one
        ],
        crs=L93,
    )
    flag = siding_flag(sites, zones)
    assert flag.iloc[:2].tolist() == [1.0, 0.0] and flag.iloc[2:4].isna().all() and flag.iloc[4] == 1.0
    assert siding_flag(sites, zones.drop(columns="reseau_fret_ferroviaire")).isna().all()
    assert siding_flag(sites, None).isna().all()

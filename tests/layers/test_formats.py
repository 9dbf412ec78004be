"""Publishers' formats mapped to canonical layers: CNIG Sites économiques, IGN ADMIN EXPRESS, GPU, PPRI."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from foncier.errors import LayerValidationError
from foncier.layers.readers import read_layer

BOX = shapely.box(729_000, 6_918_000, 730_000, 6_919_000)


def _write(tmp_path: Path, name: str, data: dict[str, list[object]], n: int = 1) -> Path:
    geoms = [shapely.affinity.translate(BOX, i * 1500, 0) for i in range(n)]
    path = tmp_path / f"{name}.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame(data, geometry=geoms, crs=2154), path)
    return path


def test_cnig_site_eco(tmp_path: Path) -> None:
    path = _write(tmp_path, "site_eco", {
        "site_id": ["24020047700001", "24020047700002"], "site_nom": ["ZA de Villeneuve", "Parc Gouraud"],
        "site_type": ["ZAE", "ZAE"], "site_vocadomi": ["industrielle", "logistique"],
        "site_surf_brute": [100.0, 42.5], "site_taux_vacance": [12, 40],
    }, n=2)  # fmt: skip
    zones, _ = read_layer(path, "zones")
    assert zones["zone_id"].tolist() == ["24020047700001", "24020047700002"]
    assert zones["surface_m2"].tolist() == [1_000_000.0, 425_000.0]
    # site_taux_vacance is a share of unités foncières (by count), not of land: stored as such, never as `vacancy`
    assert zones["vacancy_uf_share"].tolist() == pytest.approx([0.12, 0.40])
    assert zones["vacancy"].isna().all()  # no surface fields: the share of land is unknown
    assert zones["type"].tolist() == ["industrielle", "logistique"]


def test_cnig_terrain_eco(tmp_path: Path) -> None:
    path = _write(tmp_path, "terrain_eco", {
        "terrain_id": ["T1", "T2"], "site_id": ["S1", "S1"], "terrain_occupation": ["inoccupé", "occupé"],
    }, n=2)  # fmt: skip
    zones, _ = read_layer(path, "zones")
    assert zones["vacancy"].tolist() == [1.0, 0.0]
    assert zones["surface_m2"].iloc[0] == pytest.approx(1e6)


def test_ign_admin_express_upper_case(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "COMMUNE",
        {"INSEE_COM": ["02722"], "NOM": ["Soissons"], "POPULATION": [27000], "SIREN_EPCI": ["240200477"]},
    )
    communes, _ = read_layer(path, "communes")
    assert communes.loc[0, ["insee", "nom", "epci_siren"]].tolist() == ["02722", "Soissons", "240200477"]
    assert communes.loc[0, "population"] == 27000


def test_gpu_zone_urba_and_ppri(tmp_path: Path) -> None:
    plu_path = _write(
        tmp_path,
        "zone_urba",
        {"typezone": ["AUc", "Nh", "U"], "libelle": ["1AUx", "Nh", "UX"], "destdomi": ["02", "00", "02"]},
        n=3,
    )
    plu, _ = read_layer(plu_path, "plu")
    assert plu["typezone"].tolist() == ["AUc", "N", "U"]
    flood_path = _write(tmp_path, "ppri", {"code_zone_reglement": ["R1", "B2"]}, n=2)
    flood, _ = read_layer(flood_path, "flood")
    assert flood["level"].tolist() == ["red", "blue"]


def test_unknown_values_and_missing_columns_are_all_listed(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "roads", {"road_id": ["r1", "r2"], "class": ["motorway", "highway"], "speed_kmh": [130, 900]}, n=2
    )
    with pytest.raises(LayerValidationError) as info:
        read_layer(path, "roads")
    text = str(info.value)
    assert "unknown value 'highway'" in text
    assert "above 150" in text
    assert "'oneway': required column is missing" in text
    assert "geometry type Polygon not allowed" in text

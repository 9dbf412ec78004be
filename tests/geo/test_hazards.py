"""The one PPR classifier (CNIG typereglement / typealea, labels as fallback) and PLU prescription kinds."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from foncier.geo.crs import LAMBERT93
from foncier.geo.hazards import (
    HAZARDS,
    PPR_LEVELS,
    TYPEREGLEMENT_LEVELS,
    classify_ppr,
    classify_ppr_zone,
    prescription_kind,
)


@pytest.mark.parametrize(
    ("code", "level"),
    [("01", "to_read"), ("02", "blue"), ("03", "red"), ("04", "red"), ("3", "red"), (4.0, "red"),
     ("05", "to_read"), ("99", "to_read")],
)  # fmt: skip
def test_every_cnig_typereglement_code(code: object, level: str) -> None:
    # the code decides even against a contradicting label
    assert classify_ppr_zone(code, "11", ["Zone bleue"] if level == "red" else ["Zone rouge"])[0] == level


def test_the_table_covers_the_cnig_codes() -> None:
    assert set(TYPEREGLEMENT_LEVELS) == {"01", "02", "03", "04"}


@pytest.mark.parametrize(
    ("labels", "level"),
    [
        (["Rc"], "red"),
        (["R1"], "red"),
        (["Zone rouge"], "red"),
        (["Zone d'interdiction"], "red"),
        (["Bc"], "blue"),
        (["Bu"], "blue"),
        (["B2"], "blue"),
        (["Zone bleue"], "blue"),
        (["Zone réglementée", "Zone de prescriptions"], "blue"),
        (["Prescriptions hors zone d'aléa"], "to_read"),  # not a blue zone: outside the hazard
        (["Périmètre"], "to_read"),
        (["Zone verte"], "to_read"),
        ([None, "nan"], "to_read"),
    ],
)
def test_label_fallbacks(labels: list[object], level: str) -> None:
    assert classify_ppr_zone(None, None, labels)[0] == level


@pytest.mark.parametrize(
    ("typealea", "labels", "category", "hazard"),
    [
        ("11", [], "", "flood"),
        ("112", [], "", "flood"),
        ("12", [], "", "ground_movement"),
        ("124", [], "", "ground_movement"),
        ("21", [], "", "technological"),
        ("13", [], "", "other"),
        (None, ["PPR mouvement de terrain"], "", "ground_movement"),
        (None, ["PPRi de l'Aisne"], "", "flood"),
        (None, ["Zone R"], "PM3", "technological"),
        (None, ["Zone R"], "", "flood"),  # the flood layer's default when nothing says otherwise
    ],
)
def test_hazard_kind_is_kept(typealea: object, labels: list[str], category: str, hazard: str) -> None:
    assert classify_ppr_zone("03", typealea, labels, category)[1] == hazard


def test_classify_frame_aliases_and_no_zone_dropped() -> None:
    zones = gpd.GeoDataFrame(
        {
            "TYPEREG": ["03", None, None, "02"],
            "TYPEALEA": ["11", None, "12", None],
            "libelle": ["R", "Bc", "Zone verte", "B"],
        },
        geometry=[box(i, 0, i + 1, 1) for i in range(4)],
        crs=LAMBERT93,
    )
    out = classify_ppr(zones, ["libelle"])
    assert out["level"].tolist() == ["red", "blue", "to_read", "blue"]
    assert out["hazard"].tolist() == ["flood", "flood", "ground_movement", "flood"]
    assert [v if isinstance(v, str) else None for v in out["typereglement"]] == ["03", None, None, "02"]
    assert len(out) == len(zones) and set(out["level"]) <= set(PPR_LEVELS) and set(out["hazard"]) <= set(HAZARDS)


def test_ingest_mapping_uses_the_same_classifier() -> None:
    from foncier.layers.formats import map_flood

    georisques = gpd.GeoDataFrame(
        {"code_zone_reglement": ["R1", "B2", "Rc", "Bu", "V"], "lib_zone_reglement": ["", "", "", "", "verte"]},
        geometry=[box(i, 0, i + 1, 1) for i in range(5)],
        crs=LAMBERT93,
    )
    mapped = map_flood(georisques.copy())
    assert mapped["level"].tolist() == ["red", "blue", "red", "blue", "to_read"]
    cnig = gpd.GeoDataFrame(
        {"typereglement": ["04", "01"], "typealea": ["12", "11"], "libelle": ["B", "R"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=LAMBERT93,
    )
    mapped = map_flood(cnig.copy())
    assert mapped["level"].tolist() == ["red", "to_read"]  # codes beat labels
    assert mapped["hazard"].tolist() == ["ground_movement", "flood"]
    expected = classify_ppr(georisques, ["code_zone_reglement", "lib_zone_reglement"])["level"]
    assert map_flood(georisques.copy())["level"].tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("typepsc", "label", "kind"),
    [
        ("01", None, "ebc"),
        (1, "Espace boisé classé", "ebc"),
        ("02", None, "no_build"),
        ("05", "ER n°3", "reserved_location"),
        ("07", "Elément de paysage", "other"),
        (None, "EBC", "ebc"),
        (None, "Emplacement réservé n°12", "reserved_location"),
        (None, "Secteur inconstructible", "no_build"),
        (None, "Linéaire commercial", "other"),
    ],
)
def test_prescription_kinds(typepsc: object, label: object, kind: str) -> None:
    assert prescription_kind(typepsc, label) == kind


def test_flood_level_wrapper_of_the_fetch() -> None:
    from foncier.layers.fetch.sources.flood import flood_level

    assert flood_level("Bc") == "blue" and flood_level("Prescriptions hors zone d'aléa") is None
    assert pd.isna(flood_level(None)) or flood_level(None) is None

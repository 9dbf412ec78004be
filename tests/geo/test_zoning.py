"""Zoning classes on the CNIG standards: tables of real codes -> classes."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from foncier.geo.crs import LAMBERT93
from foncier.geo.overlay import dominant_zoning_detail
from foncier.geo.zoning import (
    DESTDOMI_CODES,
    ECONOMIC_CLASSES,
    TYPESECT_CODES,
    ZONING_CLASS_LABELS,
    ZONING_CLASSES,
    classify_zones,
    destdomi_code,
)


def one(typezone: object = None, destdomi: object = None, libelle: object = None, typesect: object = None) -> tuple:
    frame = gpd.GeoDataFrame(
        {"typezone": [typezone], "destdomi": [destdomi], "libelle": [libelle], "typesect": [typesect]},
        geometry=[box(0, 0, 1, 1)],
        crs=LAMBERT93,
    )
    row = classify_zones(frame).iloc[0]
    return row["zoning_class"], bool(row["presumed"])


# every CNIG destdomi code, on a U zone whose label says "activity" (UX): the code decides, the label never
DESTDOMI_ON_UX = {
    "01": ("U", False),  # habitat
    "02": ("economic_U", False),  # activité
    "03": ("U", False),  # mixte habitat/activité: NOT an industrial zone
    "04": ("U", False),  # loisirs et tourisme
    "05": ("U", False),  # équipement
    "07": ("U", False),  # activité agricole (on a U zone: not economic)
    "08": ("U", False),  # espace naturel
    "09": ("U", False),  # espace remarquable
    "10": ("U", False),  # carrière
    "99": ("economic_U", True),  # autre: the label decides, presumed
    "00": ("economic_U", True),  # sans objet: the label decides, presumed
}


@pytest.mark.parametrize(("code", "expected"), sorted(DESTDOMI_ON_UX.items()))
def test_every_destdomi_code_is_authoritative_over_the_label(code: str, expected: tuple[str, bool]) -> None:
    assert one("U", code, "UX") == expected


def test_the_table_covers_every_cnig_destdomi_code() -> None:
    assert set(DESTDOMI_ON_UX) == set(DESTDOMI_CODES)


@pytest.mark.parametrize(
    ("typezone", "destdomi", "libelle", "expected"),
    [
        # label fallbacks (destdomi missing, 00 or 99): presumed
        ("U", None, "UX", ("economic_U", True)),
        ("U", "", "UZ1", ("economic_U", True)),
        ("U", "00", "UI", ("economic_U", True)),
        ("U", None, "UA", ("U", True)),
        ("U", "99", "UB", ("U", True)),
        ("AUc", None, "1AUx", ("economic_AUc", True)),
        ("AUs", None, "2AUe", ("economic_AUs", True)),
        ("AUc", None, "1AUh", ("AUc", True)),
        # codes beat labels
        ("U", "05", "UE", ("U", False)),  # UE + 05 équipement: public facilities, not a business zone
        ("AUc", "01", "1AUe", ("AUc", False)),  # 1AUe + 01 habitat
        ("AUc", "02", "1AU", ("economic_AUc", False)),
        ("AUs", "02", "2AU", ("economic_AUs", False)),
        ("AUs", "03", "2AUm", ("AUs", False)),
        ("U", "3", "UM", ("U", False)),  # a code read as a number
        ("U", 2, None, ("economic_U", False)),
        ("U", "Activités économiques", "UB", ("economic_U", False)),  # a code's label
        ("U", "activite agricole", "UX", ("U", False)),
        # AUc and AUs are different classes; a bare AU type goes by 1AU / 2AU, else closed
        ("AU", None, "1AU", ("AUc", True)),
        ("AU", None, "2AU", ("AUs", True)),
        ("AU", None, "AU", ("AUs", True)),
        # A and N whatever the destination or label
        ("A", "07", "A", ("A", False)),
        ("A", "02", "Ax", ("A", False)),
        ("N", None, "Nx", ("N", False)),
        ("N", "10", "Nc", ("N", False)),
        # nothing known
        (None, None, None, ("none", False)),
        ("XX", "02", "UX", ("none", False)),
    ],
)
def test_plu_codes_and_label_fallbacks(
    typezone: object, destdomi: object, libelle: object, expected: tuple[str, bool]
) -> None:
    assert one(typezone, destdomi, libelle) == expected


@pytest.mark.parametrize(
    ("typesect", "expected"),
    [("01", "cc_open"), ("02", "cc_activity"), ("03", "cc_closed"), ("99", "rnu"), (3, "cc_closed")],
)
def test_every_carte_communale_typesect(typesect: object, expected: str) -> None:
    assert one(None, None, "ZC", typesect) == (expected, False)


def test_the_table_covers_every_cnig_typesect_code() -> None:
    assert {"01", "02", "03", "99"} == set(TYPESECT_CODES)


@pytest.mark.parametrize(
    ("typezone", "libelle", "expected"),
    [
        ("ZCa", "ZCa", ("cc_activity", False)),  # activities sector, not agriculture
        (None, "ZCa", ("cc_activity", True)),
        (None, "ZC", ("cc_open", True)),
        (None, "ZnC", ("cc_closed", True)),
        ("ZnC", "ZnC", ("cc_closed", False)),
        ("RNU", "RNU", ("rnu", False)),
    ],
)
def test_carte_communale_and_rnu_types_and_labels(typezone: object, libelle: str, expected: tuple) -> None:
    assert one(typezone, None, libelle) == expected


def test_vocabulary() -> None:
    assert set(ECONOMIC_CLASSES) <= set(ZONING_CLASSES)
    assert "economic_AU" not in ZONING_CLASSES and {"AUc", "AUs", "economic_AUc", "economic_AUs"} <= set(ZONING_CLASSES)
    assert set(ZONING_CLASS_LABELS) == set(ZONING_CLASSES)
    assert destdomi_code("Habitat") == "01" and destdomi_code("n'importe") == ""


def test_dominant_zoning_detail_marks_presumed_classes() -> None:
    plu = gpd.GeoDataFrame(
        {"typezone": ["U", "U", "A"], "destdomi": ["00", "02", "07"], "libelle": ["UX", "UB", "A"]},
        geometry=[box(0, 0, 60, 100), box(60, 0, 100, 100), box(100, 0, 200, 100)],
        crs=LAMBERT93,
    )
    sites = gpd.GeoDataFrame(
        geometry=[box(0, 0, 50, 100), box(55, 0, 100, 100), box(150, 0, 190, 50), box(500, 0, 600, 100)],
        crs=LAMBERT93,
    )
    detail = dominant_zoning_detail(sites, plu)
    assert detail["zoning_class"].tolist() == ["economic_U", "economic_U", "A", "none"]
    # the first site lies in the UX zone classified from its label; the second mostly in the coded UB zone
    assert detail["zoning_presumed"].tolist() == [1.0, 0.0, 0.0, 0.0]

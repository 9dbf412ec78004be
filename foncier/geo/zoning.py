"""Zoning classes on the CNIG standards: PLU/PLUi zones, carte communale sectors, communes under the RNU.

The CNIG "PLU" standard (v2017 and later) codes each zone with ``typezone`` (U, AUc, AUs, A, N) and its
dominant destination ``destdomi``:

====  ==================================  ==============================================
code  destdomi (CNIG)                     meaning for an industrial firm
====  ==================================  ==============================================
00    sans objet / non encore définie     unknown: the zone label decides, *presumed*
01    habitat                             not an activity zone
02    activité                            activity zone (economic_U / economic_AUc / ...)
03    destination mixte habitat/activité  **not** an industrial zone (mixed urban fabric)
04    loisirs et tourisme                 not an activity zone
05    équipement                          public facilities, not an activity zone
07    activité agricole                   agricultural
08    espace naturel                      natural
09    espace remarquable                  natural, remarkable (coastal law)
10    secteur de carrière                 quarry
99    autre                               unknown: the zone label decides, *presumed*
====  ==================================  ==============================================

``destdomi`` is authoritative whenever it carries a code; the label (``UX``, ``1AUx``, ...) is read only
when ``destdomi`` is 00, 99, missing or unreadable, and a class found that way is marked *presumed*.
``AUc`` (open to building, "1AU") and ``AUs`` (closed: needs a plan change, "2AU") are different classes.

The CNIG "CC" standard codes carte communale sectors with ``typesect``: 01 open to building (``ZC``), 02
reserved for activities (``ZCa``), 03 not open to building (``ZnC``), 99 not covered (RNU). A commune
without any planning document is under the Règlement national d'urbanisme (``is_rnu`` of the GPU
``municipality`` resource): class ``rnu``. A site under no zone at all is ``none``: *nothing is known*
(no document found, or the zoning fetch failed), which the constraint evaluation treats as unverified.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "CC_SECTOR_TYPEZONE",
    "DESTDOMI_CODES",
    "ECONOMIC_CLASSES",
    "LEGACY_CLASS_EQUIVALENTS",
    "TYPESECT_CODES",
    "ZONING_CLASSES",
    "ZONING_CLASS_LABELS",
    "classify_zones",
    "destdomi_code",
    "zoning_class",
]

ZONING_CLASSES: tuple[str, ...] = (
    "economic_U",
    "economic_AUc",
    "economic_AUs",
    "cc_activity",
    "U",
    "AUc",
    "AUs",
    "cc_open",
    "cc_closed",
    "rnu",
    "A",
    "N",
    "none",
)
"""Classes of the ``zoning_class`` criterion (docs/CONTRACTS.md), economic classes first."""

ECONOMIC_CLASSES: tuple[str, ...] = ("economic_U", "economic_AUc", "economic_AUs", "cc_activity")
"""Classes where the plan reserves the land for economic activity."""

ZONING_CLASS_LABELS: dict[str, tuple[str, str]] = {
    "economic_U": ("zone urbaine d'activités", "urban business zone"),
    "economic_AUc": ("zone à urbaniser d'activités, ouverte (1AU)", "business zone to be urbanised, open (1AU)"),
    "economic_AUs": (
        "zone à urbaniser d'activités, fermée (2AU, évolution du PLU nécessaire)",
        "business zone to be urbanised, closed (2AU, plan change needed)",
    ),
    "cc_activity": ("carte communale : secteur réservé aux activités (ZCa)", "carte communale: activities sector"),
    "U": ("zone urbaine (habitat, mixte, équipements)", "urban zone (housing, mixed, facilities)"),
    "AUc": ("zone à urbaniser ouverte (1AU)", "zone to be urbanised, open (1AU)"),
    "AUs": ("zone à urbaniser fermée (2AU)", "zone to be urbanised, closed (2AU)"),
    "cc_open": ("carte communale : secteur constructible (ZC)", "carte communale: building sector"),
    "cc_closed": ("carte communale : secteur non constructible (ZnC)", "carte communale: no-building sector"),
    "rnu": ("commune au RNU (pas de document d'urbanisme)", "commune under the RNU (no local plan)"),
    "A": ("zone agricole", "agricultural zone"),
    "N": ("zone naturelle", "natural zone"),
    "none": ("zonage inconnu (non vérifié)", "zoning unknown (not checked)"),
}
"""French and English label of each class (maps, sheets, API)."""

LEGACY_CLASS_EQUIVALENTS: dict[str, str] = {
    "economic_AUc": "economic_AU",
    "economic_AUs": "economic_AU",
    "AUc": "AU",
    "AUs": "AU",
    "cc_activity": "economic_U",
    "cc_open": "U",
    "cc_closed": "N",
    "rnu": "none",
}
"""Class of the former 7-class vocabulary whose value a profile written for it gives to each new class."""

DESTDOMI_CODES: dict[str, str] = {
    "00": "sans objet ou non encore définie dans le règlement",
    "01": "habitat",
    "02": "activité",
    "03": "destination mixte habitat/activité",
    "04": "loisirs et tourisme",
    "05": "équipement",
    "07": "activité agricole",
    "08": "espace naturel",
    "09": "espace remarquable",
    "10": "secteur de carrière",
    "99": "autre",
}
"""CNIG PLU ``destdomi`` codes."""

TYPESECT_CODES: dict[str, str] = {
    "01": "secteur ouvert à la construction",
    "02": "secteur réservé aux activités",
    "03": "secteur non ouvert à la construction",
    "99": "secteur non couvert / RNU",
}
"""CNIG carte communale ``typesect`` codes."""

CC_SECTOR_TYPEZONE: dict[str, str] = {"01": "ZC", "02": "ZCa", "03": "ZnC", "99": "RNU"}
"""``typezone`` given to a carte communale sector in the ``plu`` layer, by ``typesect``."""

_UNDECIDED = {"", "00", "99"}
_DESTDOMI_WORDS: tuple[tuple[str, str], ...] = (
    ("AGRIC", "07"),
    ("CARRIER", "10"),
    ("REMARQUABLE", "09"),
    ("NATUREL", "08"),
    ("MIXTE", "03"),
    ("LOISIR", "04"),
    ("TOURIS", "04"),
    ("EQUIPEMENT", "05"),
    ("ACTIVIT", "02"),
    ("ECONOMI", "02"),
    ("INDUSTRI", "02"),
    ("HABITAT", "01"),
    ("RESIDENTI", "01"),
    ("SANSOBJET", "00"),
    ("AUTRE", "99"),
)
_ECONOMIC_LETTERS = "XEIYZ"
_U_ECONOMIC_RE = re.compile(rf"^\d*U[{_ECONOMIC_LETTERS}]")
_AU_ECONOMIC_RE = re.compile(rf"^\d*AU[{_ECONOMIC_LETTERS}]")
_AU_OPEN_RE = re.compile(r"^1AU")
_AU_CLOSED_RE = re.compile(r"^2AU")


def _normalise(text: Any) -> str:
    """Upper-case ASCII without spaces, hyphens or apostrophes (None/NaN give '')."""
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return ""
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-'’_]+", "", s).upper()


def destdomi_code(destdomi: Any) -> str:
    """The CNIG ``destdomi`` code of a value: the code itself ("02", 2, "2"), or the code of a label
    ("Activité", "activités économiques" -> "02"; "activité agricole" -> "07"); "" when unreadable.

    Examples
    --------
    >>> destdomi_code("02"), destdomi_code(3), destdomi_code("Habitat"), destdomi_code("activite agricole")
    ('02', '03', '01', '07')
    """
    d = _normalise(destdomi)
    if not d:
        return ""
    if d.isdigit():
        code = d.zfill(2)
        return code if code in DESTDOMI_CODES else ""
    if d.endswith(".0") and d[:-2].isdigit():  # read as a float by a spreadsheet
        return destdomi_code(d[:-2])
    for word, code in _DESTDOMI_WORDS:
        if word in d:
            return code
    return ""


def _typezone(tz: Any, label: str) -> str:
    """Normalised zone type: U, AUc, AUs, A, N, ZC, ZCa, ZnC, RNU or ''."""
    t = _normalise(tz)
    if t in ("AUC", "1AU"):
        return "AUc"
    if t in ("AUS", "2AU"):
        return "AUs"
    if t == "AU":  # not coded open/closed: the label's 1AU / 2AU decides, else closed (the safe side)
        return "AUc" if _AU_OPEN_RE.match(label) else "AUs"
    if t in ("ZC", "ZCA", "ZNC", "RNU"):
        return {"ZC": "ZC", "ZCA": "ZCa", "ZNC": "ZnC", "RNU": "RNU"}[t]
    if t.startswith("U"):
        return "U"
    if t.startswith("A"):
        return "A"
    if t.startswith("N"):
        return "N"
    return ""


def _classify_one(tz: Any, dd: Any, lib: Any, typesect: Any) -> tuple[str, bool, str]:
    """(class, presumed, basis) of one zone or sector."""
    label = _normalise(lib)
    sect = _normalise(typesect)
    if sect.isdigit():
        sect = sect.zfill(2)
        if sect == "01":
            return "cc_open", False, "typesect 01"
        if sect == "02":
            return "cc_activity", False, "typesect 02"
        if sect == "03":
            return "cc_closed", False, "typesect 03"
        if sect == "99":
            return "rnu", False, "typesect 99"
    t = _typezone(tz, label)
    if t == "ZCa" or (not t and label.startswith("ZCA")):
        return "cc_activity", not t, "typezone ZCa" if t else f"label {lib}"
    if t == "ZC" or (not t and label == "ZC"):
        return "cc_open", not t, "typezone ZC" if t else f"label {lib}"
    if t == "ZnC" or (not t and label.startswith("ZNC")):
        return "cc_closed", not t, "typezone ZnC" if t else f"label {lib}"
    if t == "RNU":
        return "rnu", False, "RNU"
    if t in ("A", "N"):
        return t, False, f"typezone {t}"
    if t not in ("U", "AUc", "AUs"):
        return "none", False, "no zone type"
    code = destdomi_code(dd)
    if code not in _UNDECIDED:
        cls = f"economic_{t}" if code == "02" else t
        return cls, False, f"destdomi {code}"
    economic = bool(_AU_ECONOMIC_RE.match(label) if t.startswith("AU") else _U_ECONOMIC_RE.match(label))
    return (f"economic_{t}" if economic else t), True, f"label {lib}" if label else "typezone only"


def classify_zones(plu: gpd.GeoDataFrame | pd.DataFrame) -> pd.DataFrame:
    """Classify PLU zones, carte communale sectors and RNU communes into :data:`ZONING_CLASSES`.

    Rules, in order (case- and accent-insensitive):

    1. ``typesect`` (CNIG CC) when coded: 01 ``cc_open``, 02 ``cc_activity``, 03 ``cc_closed``, 99 ``rnu``;
       ``typezone`` ZC / ZCa / ZnC / RNU likewise (labels ZC, ZCa, ZnC without a type: presumed);
    2. ``typezone`` A -> ``A``, N -> ``N`` (whatever the destination: an "Ax" sector stays agricultural);
    3. ``typezone`` U, AUc, AUs with a ``destdomi`` code other than 00/99: code 02 gives ``economic_<type>``,
       every other code (01 habitat, 03 mixte, 04, 05 équipement, ...) gives the plain ``<type>``;
    4. ``destdomi`` 00, 99 or missing: the label decides (U followed by X, E, I, Y or Z: ``UX``, ``1UE``;
       AU followed by one of them: ``1AUx``, ``2AUe``), and the class is **presumed**;
    5. anything else: ``none``.

    A bare ``AU`` type is ``AUc`` when the label starts with "1AU", else ``AUs`` (closed: the safe side).

    Returns
    -------
    pandas.DataFrame
        Aligned on ``plu.index``: ``zoning_class`` (str), ``presumed`` (bool), ``basis`` (text: which field
        decided, e.g. "destdomi 02", "label UX").
    """
    n = len(plu)

    def col(name: str) -> np.ndarray:
        return plu[name].astype("object").to_numpy() if name in plu else np.full(n, None, dtype=object)

    rows = [
        _classify_one(tz, dd, lib, ts)
        for tz, dd, lib, ts in zip(col("typezone"), col("destdomi"), col("libelle"), col("typesect"), strict=True)
    ]
    classes, presumed, basis = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame(
        {
            "zoning_class": pd.Series(list(classes), index=plu.index, dtype=object),
            "presumed": pd.Series(list(presumed), index=plu.index, dtype=bool),
            "basis": pd.Series(list(basis), index=plu.index, dtype=object),
        },
        index=plu.index,
    )


def zoning_class(plu: gpd.GeoDataFrame | pd.DataFrame) -> pd.Series:
    """The ``zoning_class`` of each zone (see :func:`classify_zones`), aligned on ``plu.index``."""
    return classify_zones(plu)["zoning_class"].rename("zoning_class")

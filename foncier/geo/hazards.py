"""PPR regulation zones and PLU prescriptions on the CNIG standards: one classifier for ingest and fetch.

PPR (plans de prévention des risques, CNIG "PPR" standard)
----------------------------------------------------------
The regulation type ``typereglement`` (also published as ``typereg`` or ``typereglementstandardise``) is
authoritative when coded:

====  ===============================  ================
code  CNIG label                       level
====  ===============================  ================
01    Prescriptions hors zone d'aléa   ``to_read``
02    Prescriptions                    ``blue``
03    Interdiction                     ``red``
04    Interdiction stricte             ``red``
====  ===============================  ================

Any other code is "other, to read" (``to_read``). Without a code, the zone's labels decide (rouge /
interdiction / R, Rc, R1... -> red; bleu / prescriptions / B, Bc, Bu... -> blue), and a zone the labels
cannot place either is kept as ``to_read`` ("PPR zone, rule to read"): it is never dropped, and the sites it
touches are flagged (``share_ppr_to_read``).

The hazard (``typealea``, GASPAR risk codes: 11x flood, 12x ground movement, 2x technological; or the words
of the labels; GPU easement category PM3 = technological) is kept apart: ``flood``, ``ground_movement``,
``technological`` or ``other``. A red zone of a ground-movement PPR forbids building as much as a flood one,
but it is not a flood zone.

PLU prescriptions (CNIG "PLU" standard, ``typepsc``)
----------------------------------------------------
``01`` espace boisé classé -> ``ebc``; ``02`` limitation of building for environmental, risk or general
interest reasons (inconstructible sectors) -> ``no_build``; ``05`` emplacement réservé ->
``reserved_location``; other codes -> ``other`` (not a constraint). Labels are the fallback.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "HAZARDS",
    "PPR_LEVELS",
    "PRESCRIPTION_KINDS",
    "TYPEPSC_KINDS",
    "TYPEREGLEMENT_LEVELS",
    "classify_ppr",
    "classify_ppr_zone",
    "prescription_kind",
]

PPR_LEVELS: tuple[str, ...] = ("red", "blue", "to_read")
"""Levels of a PPR regulation zone: red = building prohibited, blue = under prescriptions, to_read = rule to read."""

HAZARDS: tuple[str, ...] = ("flood", "ground_movement", "technological", "other")
"""Hazard kinds kept apart."""

TYPEREGLEMENT_LEVELS: dict[str, str] = {"01": "to_read", "02": "blue", "03": "red", "04": "red"}
"""CNIG PPR ``typereglement`` codes -> level (01 prescriptions hors zone d'aléa, 02 prescriptions, 03 interdiction,
04 interdiction stricte)."""

TYPEREGLEMENT_COLUMNS: tuple[str, ...] = (
    "typereglement",
    "typereg",
    "typereglementstandardise",
    "typereglementstandarise",
)
TYPEALEA_COLUMNS: tuple[str, ...] = ("typealea", "codealea", "code_alea", "alea")

PRESCRIPTION_KINDS: tuple[str, ...] = ("ebc", "no_build", "reserved_location", "other")
TYPEPSC_KINDS: dict[str, str] = {"01": "ebc", "02": "no_build", "05": "reserved_location"}
"""CNIG PLU ``typepsc`` codes that forbid or burden building -> kind."""

_RED_RE = re.compile(r"rouge|interdi|\bzone r\b|^r[a-z0-9]{0,3}\b|\br\d", re.IGNORECASE)
_BLUE_RE = re.compile(r"bleu|prescription|sous conditions|\bzone b\b|^b[a-z0-9]{0,3}\b|\bb\d", re.IGNORECASE)
_OUTSIDE_HAZARD_RE = re.compile(r"hors\s+zone", re.IGNORECASE)
_FLOOD_WORDS = ("INOND", "CRUE", "SUBMERSION", "RUISSEL", "PPRI")
_GROUND_WORDS = ("MOUVEMENT", "GLISSEMENT", "EFFONDREMENT", "CAVIT", "ARGILE", "EBOUL", "RETRAIT", "PPRMT")
_TECH_WORDS = ("TECHNOLOG", "INDUSTRI", "PPRT", "PM3")


def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


def _code(value: Any) -> str:
    """A two-digit code from "3", 3, 3.0, "03"; '' when not a number."""
    text = _text(value)
    if text.endswith(".0"):
        text = text[:-2]
    return text.zfill(2) if text.isdigit() else ""


def _ascii_upper(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def _hazard(typealea: Any, texts: Sequence[str], category: str) -> str:
    code = _text(typealea)
    if code.isdigit():
        if code.startswith("11"):
            return "flood"
        if code.startswith("12"):
            return "ground_movement"
        if code.startswith("2"):
            return "technological"
        return "other"
    words = _ascii_upper(" ".join([code, *texts, category]))
    for hazard, markers in (("technological", _TECH_WORDS), ("ground_movement", _GROUND_WORDS),
                            ("flood", _FLOOD_WORDS)):  # fmt: skip
        if any(m in words for m in markers):
            return hazard
    return "flood" if not code else "other"


def classify_ppr_zone(
    typereglement: Any = None, typealea: Any = None, labels: Sequence[Any] = (), category: str = ""
) -> tuple[str, str, str]:
    """(level, hazard, basis) of one PPR regulation zone.

    Examples
    --------
    >>> classify_ppr_zone("03", "11")
    ('red', 'flood', 'typereglement 03')
    >>> classify_ppr_zone(None, None, ["Bc"])
    ('blue', 'flood', 'label Bc')
    >>> classify_ppr_zone(None, None, ["Prescriptions hors zone d'aléa"])[0]
    'to_read'
    """
    texts = [_text(v) for v in labels if _text(v)]
    hazard = _hazard(typealea, texts, category)
    code = _code(typereglement)
    if code:
        return TYPEREGLEMENT_LEVELS.get(code, "to_read"), hazard, f"typereglement {code}"
    for text in texts:
        if _OUTSIDE_HAZARD_RE.search(text):
            return "to_read", hazard, f"label {text}"
        if _RED_RE.search(text):
            return "red", hazard, f"label {text}"
        if _BLUE_RE.search(text):
            return "blue", hazard, f"label {text}"
    return "to_read", hazard, "unclassified: rule to read"


def classify_ppr(zones: pd.DataFrame, label_columns: Sequence[str] = (), *, category: str = "") -> pd.DataFrame:
    """Classify PPR regulation zones (any publisher's columns, lower-cased names).

    Parameters
    ----------
    zones : DataFrame
        The zones; coded columns are looked for under their CNIG names and usual aliases
        (:data:`TYPEREGLEMENT_COLUMNS`, :data:`TYPEALEA_COLUMNS`).
    label_columns : sequence of str
        Columns holding labels, read in order when there is no code (e.g. ``code_zone_reglement``,
        ``libelle``, ``nomsuplitt``).
    category : str
        Extra hazard hint for the whole frame (e.g. "PM3" for GPU technological easements).

    Returns
    -------
    DataFrame
        Aligned on ``zones.index``: ``level`` (:data:`PPR_LEVELS`), ``hazard`` (:data:`HAZARDS`),
        ``typereglement`` (the code, or None), ``ppr_basis`` (what decided).
    """
    cols = {c.lower(): c for c in zones.columns}
    reg_col = next((cols[c] for c in TYPEREGLEMENT_COLUMNS if c in cols), None)
    alea_col = next((cols[c] for c in TYPEALEA_COLUMNS if c in cols), None)
    labels = [cols[c.lower()] for c in label_columns if c.lower() in cols]
    n = len(zones)
    reg = zones[reg_col].to_numpy(dtype=object) if reg_col else np.full(n, None, dtype=object)
    alea = zones[alea_col].to_numpy(dtype=object) if alea_col else np.full(n, None, dtype=object)
    label_values = [zones[c].to_numpy(dtype=object) for c in labels]
    rows = [classify_ppr_zone(reg[i], alea[i], [lv[i] for lv in label_values], category) for i in range(n)]
    out = pd.DataFrame(
        {
            "level": [r[0] for r in rows],
            "hazard": [r[1] for r in rows],
            "typereglement": [_code(v) or None for v in reg],
            "ppr_basis": [r[2] for r in rows],
        },
        index=zones.index,
    )
    to_read = int((out["level"] == "to_read").sum()) if n else 0
    if to_read:
        logger.info("PPR: %d zone(s) whose rule could not be classified kept as 'to_read'", to_read)
    return out


def prescription_kind(typepsc: Any, label: Any = None) -> str:
    """Kind of a PLU surface prescription from its CNIG ``typepsc`` code, else its label.

    Examples
    --------
    >>> prescription_kind("01"), prescription_kind(5), prescription_kind(None, "Secteur inconstructible")
    ('ebc', 'reserved_location', 'no_build')
    """
    code = _code(typepsc)
    if code:
        return TYPEPSC_KINDS.get(code, "other")
    words = _ascii_upper(_text(label))
    if "BOISE" in words or re.search(r"\bEBC\b", words):
        return "ebc"
    if "EMPLACEMENT" in words or re.match(r"^ER\s*\d", words):
        return "reserved_location"
    if "INCONSTRUCTIBLE" in words or "NON CONSTRUCTIBLE" in words or "INTERDI" in words:
        return "no_build"
    return "other"

"""Scoring profiles: weights, standardisation and exclusions for one kind of activity.

A profile says, for each criterion it uses, how much it weighs and how its raw value becomes a preference
value in [0, 1]; which sites are excluded outright; and the smallest acceptable site. Profiles are small YAML
files (``foncier.layers.profile_store``); this module holds their model and validation, with no I/O.

Build a profile with :meth:`Profile.from_dict` (or ``load_profile``): validation collects **every**
problem (unknown criteria, weights, thresholds, methods, exclusions, AHP matrix) and raises one
:class:`~foncier.errors.ProfileError`. Constructing ``Profile(...)`` directly runs the same checks but
reports them wrapped in a pydantic ``ValidationError``.

Example (YAML)::

    name: logistics
    min_site_area_m2: 50000
    criteria:
      time_to_roissy_min: {weight: 0.4, method: linear, low: 35, high: 90}   # direction from catalogue: cost
      area_m2:            {weight: 0.6, method: sigmoid, midpoint: 80000, spread: 20000}
    exclusions:
      - {criterion: zoning_class, operator: in, value: [A, N], reason_en: agricultural or natural zone}
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic import ValidationError as PydanticValidationError

from foncier.errors import AHPConsistencyError, Problem, ProfileError, ValidationError
from foncier.geo import standardise
from foncier.geo.ahp import AHPResult, ahp_weights, matrix_problems
from foncier.geo.constraints import CONSTRAINT_POLICIES, ConstraintPolicy
from foncier.geo.criteria_catalogue import CATALOGUE, Criterion, Direction, known_criteria_text
from foncier.geo.zoning import LEGACY_CLASS_EQUIVALENTS

logger = logging.getLogger(__name__)

__all__ = [
    "EXCLUSION_OPERATORS",
    "METHODS",
    "MISSING_POLICIES",
    "WEIGHT_TOLERANCE",
    "AHPBlock",
    "CriterionRule",
    "Exclusion",
    "MissingPolicy",
    "Profile",
]

METHODS = ("linear", "sigmoid", "classes")
"""Standardisation methods (:mod:`foncier.geo.standardise`)."""

EXCLUSION_OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "in")
"""Operators of exclusion rules: a site is excluded when ``raw <operator> value`` holds."""

MISSING_POLICIES = ("zero", "exclude", "error")
"""What a missing raw value of a weighted (or exclusion) criterion does; see :mod:`foncier.geo.scoring`."""

MissingPolicy = Literal["zero", "exclude", "error"]

WEIGHT_TOLERANCE = 1e-6
"""Allowed distance of the sum of the weights from 1."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_METHOD_PARAMS: dict[str, tuple[str, ...]] = {
    "linear": ("low", "high"),
    "sigmoid": ("midpoint", "spread"),
    "classes": ("mapping", "breaks", "values"),
}
_ALL_PARAMS = ("low", "high", "midpoint", "spread", "mapping", "breaks", "values")
_OP_WORDS_EN = {
    "<": "below",
    "<=": "at most",
    ">": "above",
    ">=": "at least",
    "==": "equal to",
    "!=": "not equal to",
    "in": "one of",
}
_OP_WORDS_FR = {
    "<": "en dessous de",
    "<=": "au plus",
    ">": "au-dessus de",
    ">=": "au moins",
    "==": ":",
    "!=": "autre que",
    "in": "parmi",
}


def _unknown_criterion(name: str) -> str:
    close = difflib.get_close_matches(name, list(CATALOGUE), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown criterion '{name}'{hint}; known criteria: {known_criteria_text()}"


class CriterionRule(BaseModel):
    """Weight and standardisation of one criterion.

    Attributes
    ----------
    weight : float or None
        Non-negative weight; the weights of a profile sum to 1. Omitted when the profile's ``ahp`` block
        derives the weights.
    method : {"linear", "sigmoid", "classes"}
        Standardisation method, with its parameters: ``low``/``high`` (linear), ``midpoint``/``spread``
        (sigmoid), ``mapping`` (categories) or ``breaks``/``values`` (numbers) for classes.
    direction : {"benefit", "cost"} or None
        Overrides the catalogue's default direction (linear and sigmoid only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float | None = None
    method: str
    direction: str | None = None
    low: float | None = None
    high: float | None = None
    midpoint: float | None = None
    spread: float | None = None
    mapping: dict[str, float] | None = None
    breaks: list[float] | None = None
    values: list[float] | None = None

    def effective_direction(self, criterion: Criterion) -> Direction:
        """The rule's direction, or the catalogue default of ``criterion``."""
        if self.direction in ("benefit", "cost"):
            return self.direction  # type: ignore[return-value]
        return criterion.direction

    def apply(self, raw: pd.Series, criterion: Criterion) -> pd.Series:
        """Standardise ``raw`` values of ``criterion`` to [0, 1] (NaN stays NaN), aligned on ``raw``."""
        if self.method == "linear":
            assert self.low is not None and self.high is not None
            return standardise.linear(raw, self.low, self.high, self.effective_direction(criterion))
        if self.method == "sigmoid":
            assert self.midpoint is not None and self.spread is not None
            return standardise.sigmoid(raw, self.midpoint, self.spread, self.effective_direction(criterion))
        return standardise.classes(raw, self.mapping, breaks=self.breaks, values=self.values)

    def problems(self, name: str, criterion: Criterion | None) -> list[str]:
        """Every problem of this rule for criterion ``name`` (its catalogue entry, when known)."""
        where = f"criteria.{name}"
        out: list[str] = []
        if self.method not in METHODS:
            out.append(f"{where}: unknown method '{self.method}'; use one of {', '.join(METHODS)}")
            return out
        if self.direction is not None and self.direction not in ("benefit", "cost"):
            out.append(f"{where}: direction must be 'benefit' or 'cost', got '{self.direction}'")
        used = _METHOD_PARAMS[self.method]
        unused = [p for p in _ALL_PARAMS if p not in used and getattr(self, p) is not None]
        if unused:
            out.append(
                f"{where}: parameter(s) {', '.join(unused)} not used by method {self.method} "
                f"(it takes {', '.join(used)})"
            )
        if self.method == "linear":
            if self.low is None or self.high is None:
                out.append(f"{where}: method linear needs 'low' and 'high'")
            elif not (math.isfinite(self.low) and math.isfinite(self.high)):
                out.append(f"{where}: linear thresholds must be finite numbers")
            elif self.low >= self.high:
                out.append(
                    f"{where}: thresholds reversed or equal (low={self.low:g} must be below "
                    f"high={self.high:g}); to reverse the scale set direction: cost/benefit instead"
                )
        elif self.method == "sigmoid":
            if self.midpoint is None or self.spread is None:
                out.append(f"{where}: method sigmoid needs 'midpoint' and 'spread'")
            elif not (math.isfinite(self.midpoint) and math.isfinite(self.spread)):
                out.append(f"{where}: sigmoid midpoint and spread must be finite numbers")
            elif self.spread <= 0:
                out.append(f"{where}: sigmoid spread must be positive, got {self.spread:g}")
        else:
            if self.direction is not None:
                out.append(
                    f"{where}: direction does not apply to method classes (the class values are the preferences)"
                )
            out += [f"{where}: {p}" for p in standardise.classes_problems(self.mapping, self.breaks, self.values)]
        if criterion is not None:
            if criterion.kind == "categorical":
                if self.method != "classes" or self.mapping is None:
                    out.append(
                        f"{where}: categorical criterion needs method classes with a 'mapping' "
                        f"of its categories ({', '.join(criterion.categories or ())})"
                    )
                elif criterion.categories is not None:
                    extra = [k for k in self.mapping if k not in criterion.categories]
                    lacking = [c for c in criterion.categories if c not in self.mapping]
                    if extra:
                        out.append(
                            f"{where}: unknown categories {', '.join(extra)}; known: {', '.join(criterion.categories)}"
                        )
                    if lacking:
                        out.append(f"{where}: mapping lacks categories {', '.join(lacking)}")
            elif self.method == "classes" and self.mapping is not None:
                out.append(f"{where}: numeric criterion: use classes with 'breaks' and 'values', not 'mapping'")
        return out


class Exclusion(BaseModel):
    """A hard exclusion: sites where ``raw <operator> value`` holds are excluded (score 0).

    Attributes
    ----------
    criterion : str
        Criterion (column of the criteria table) tested; it need not be weighted.
    operator : {"<", "<=", ">", ">=", "==", "!=", "in"}
    value : number, str, or list of them (for ``in``)
    reason_fr, reason_en : str
        Why such sites are excluded (shown to users); default generated from the rule.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    criterion: str
    operator: str
    value: float | str | list[float | str]
    reason_fr: str | None = None
    reason_en: str | None = None

    def rule_text(self) -> str:
        """The rule as code-like text, e.g. ``share_flood_red > 0.05``."""
        v = self.value
        shown = "[" + ", ".join(map(_fmt, v)) + "]" if isinstance(v, list) else _fmt(v)
        return f"{self.criterion} {self.operator} {shown}"

    def reason(self, lang: Literal["en", "fr"] = "en") -> str:
        """Human reason with the rule, e.g. ``red flood zone (share_flood_red > 0.05)``."""
        text = self.reason_fr if lang == "fr" else self.reason_en
        if not text:
            crit = CATALOGUE.get(self.criterion)
            label = (crit.label_fr if lang == "fr" else crit.label_en) if crit else self.criterion
            words = (_OP_WORDS_FR if lang == "fr" else _OP_WORDS_EN)[self.operator]
            v = self.value
            shown = ", ".join(map(_fmt, v)) if isinstance(v, list) else _fmt(v)
            unit = f" {crit.unit}" if crit is not None and crit.unit in ("min", "m", "m2", "%", "persons") else ""
            text = f"{label} {words} {shown}{unit}"
        return f"{text} ({self.rule_text()})"

    def mask(self, raw: pd.Series) -> np.ndarray:
        """Boolean array, True where the site is excluded by this rule; missing values give False."""
        present = raw.notna().to_numpy()
        v = self.value
        if self.operator == "in":
            hit = raw.isin(v if isinstance(v, list) else [v]).to_numpy()
        elif pd.api.types.is_numeric_dtype(raw) and not isinstance(v, str | list):
            arr = raw.to_numpy(dtype="float64")
            with np.errstate(invalid="ignore"):
                hit = _compare(arr, self.operator, float(v))
        else:
            hit = _compare(raw.to_numpy(dtype=object), self.operator, v)
        out: np.ndarray = np.asarray(hit, dtype=bool) & present
        return out

    def problems(self, i: int) -> list[str]:
        """Every problem of this rule (``i`` is its position in the list, for messages)."""
        where = f"exclusions[{i}] ({self.criterion} {self.operator} ...)"
        out: list[str] = []
        crit = CATALOGUE.get(self.criterion)
        if crit is None:
            out.append(f"{where}: {_unknown_criterion(self.criterion)}")
        if self.operator not in EXCLUSION_OPERATORS:
            out.append(f"{where}: unknown operator '{self.operator}'; use one of {' '.join(EXCLUSION_OPERATORS)}")
            return out
        items = self.value if isinstance(self.value, list) else [self.value]
        if self.operator == "in" and not isinstance(self.value, list):
            out.append(f"{where}: operator 'in' needs a list of values")
        if self.operator != "in" and isinstance(self.value, list):
            out.append(f"{where}: operator '{self.operator}' needs a single value, not a list")
        if crit is None:
            return out
        if crit.kind == "categorical":
            if self.operator not in ("==", "!=", "in"):
                out.append(f"{where}: categorical criterion: use ==, != or in")
            bad = [
                x for x in items if not isinstance(x, str) or (crit.categories is not None and x not in crit.categories)
            ]
            if bad:
                out.append(
                    f"{where}: unknown categories {', '.join(map(str, bad))}; known: {', '.join(crit.categories or ())}"
                )
        else:
            bad = [x for x in items if isinstance(x, str) or not math.isfinite(x)]
            if bad:
                out.append(f"{where}: numeric criterion needs finite numbers, got {', '.join(map(repr, bad))}")
        return out


class AHPBlock(BaseModel):
    """Weights derived from a pairwise comparison matrix (Saaty's AHP).

    Attributes
    ----------
    criteria : list of str
        The profile's criteria, in matrix order.
    matrix : list of list
        Pairwise judgements, numbers or fractions (``"1/3"``).
    max_cr : float
        Largest accepted consistency ratio (0.10).
    force : bool
        Accept a matrix above ``max_cr`` (logged).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: list[str]
    matrix: list[list[float | str]]
    max_cr: float = 0.10
    force: bool = False

    def result(self) -> AHPResult:
        """Run :func:`~foncier.geo.ahp.ahp_weights` on the block."""
        return ahp_weights(self.matrix, names=self.criteria, force=self.force, max_cr=self.max_cr)


class Profile(BaseModel):
    """A scoring profile. Build it with :meth:`from_dict` to get a :class:`ProfileError` on problems.

    Attributes
    ----------
    name : str
        Identifier (letters, digits, ``-``, ``_``, ``.``), e.g. ``logistics``.
    title_fr, title_en, description : str
        Human titles and the rationale of the weights.
    criteria : dict of str to CriterionRule
        The criteria used, with weight and standardisation.
    exclusions : list of Exclusion
        Hard exclusions c_j of S = sum(w_i v_i) * prod(c_j).
    min_site_area_m2 : float
        Sites smaller than this are excluded (0 = no minimum); needs ``area_m2`` in the criteria table.
    missing_values : {"zero", "exclude", "error"}
        Missing-value policy for scoring (see :mod:`foncier.geo.scoring`).
    unverified_constraints : {"unverified", "exclude", "error"} or None
        What a constraint (exclusion rule) that cannot be checked for a site does: ``unverified`` keeps the
        site flagged as unverified (never passed), ``exclude`` excludes it, ``error`` refuses to score.
        Default (None): ``unverified`` when ``missing_values`` is ``zero``, else the same as
        ``missing_values``. See :attr:`constraint_policy`.
    ahp : AHPBlock or None
        When given, the weights come from this pairwise matrix and the rules carry no weight.
    vehicle : {"car", "hgv"}
        The vehicle whose travel times the profile scores (issue 12): ``car`` ("voiture, hors pointe") or
        ``hgv`` ("poids lourd"). A road time of the other vehicle is refused unless the profile's own
        vehicle's twin is there too (``time_to_roissy_hgv_min``... for ``hgv``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title_fr: str = ""
    title_en: str = ""
    description: str = ""
    criteria: dict[str, CriterionRule]
    exclusions: list[Exclusion] = Field(default_factory=list)
    min_site_area_m2: float = 0.0
    missing_values: str = "zero"
    unverified_constraints: str | None = None
    ahp: AHPBlock | None = None
    vehicle: Literal["car", "hgv"] = "car"

    _weights: pd.Series = PrivateAttr()
    _ahp_result: AHPResult | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _legacy_zoning_classes(cls, data: Any) -> Any:
        """Profiles written for the former 7-class zoning vocabulary (economic_AU, AU) keep working: each new
        class missing from the mapping takes the value of its legacy equivalent
        (:data:`foncier.geo.zoning.LEGACY_CLASS_EQUIVALENTS`), and the legacy keys are dropped."""
        if not isinstance(data, Mapping):
            return data
        criteria = data.get("criteria")
        rule = criteria.get("zoning_class") if isinstance(criteria, Mapping) else None
        mapping = rule.get("mapping") if isinstance(rule, Mapping) else None
        legacy = {"economic_AU", "AU"}
        if not isinstance(mapping, Mapping) or not legacy & set(mapping):
            return data
        new = {k: v for k, v in mapping.items() if k not in legacy}
        for cls_name, old in LEGACY_CLASS_EQUIVALENTS.items():
            if cls_name not in new and old in mapping:
                new[cls_name] = mapping[old]
        logger.info("profile %s: zoning_class mapping of the former vocabulary expanded", data.get("name", "?"))
        assert isinstance(criteria, Mapping) and isinstance(rule, Mapping)
        return {**data, "criteria": {**criteria, "zoning_class": {**rule, "mapping": new}}}

    @model_validator(mode="after")
    def _validate_all(self) -> Self:
        problems, weights, ahp_result = _profile_problems(self)
        if problems:
            raise ProfileError(problems, title=f"invalid profile '{self.name}'")
        assert weights is not None
        self._weights = weights
        self._ahp_result = ahp_result
        return self

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, source: str | None = None) -> Profile:
        """Validate ``data`` (a mapping, e.g. parsed YAML) into a Profile.

        Raises
        ------
        ProfileError
            With every problem found, each tagged with ``source`` (a file path) when given.
        """
        if not isinstance(data, Mapping):
            raise ProfileError(
                [Problem(f"a profile must be a mapping of fields, got {type(data).__name__}", source=source)],
                title="invalid profile",
            )
        try:
            return cls.model_validate(dict(data))
        except PydanticValidationError as e:
            title = f"invalid profile '{data.get('name', '?')}'"
            raise ProfileError(_convert_errors(e, source), title=title) from None

    def with_weights(self, new_weights: Mapping[str, float] | pd.Series, *, normalise: bool = False) -> Profile:
        """Return a validated copy with other weights (the ``ahp`` block, if any, is dropped).

        Parameters
        ----------
        new_weights : mapping or Series
            A weight for **every** criterion of the profile (use 0 to switch one off).
        normalise : bool
            Divide the weights by their sum first (e.g. to accept ``{a: 2, b: 1}``).

        Raises
        ------
        ProfileError
            Unknown or missing criteria, negative/NaN weights, or a sum away from 1 (without normalise).
        """
        given = {str(k): v for k, v in dict(new_weights).items()}
        problems: list[str] = []
        extra = [k for k in given if k not in self.criteria]
        lacking = [k for k in self.criteria if k not in given]
        for k in extra:
            if k in CATALOGUE:
                problems.append(
                    f"criterion '{k}' is not in profile '{self.name}' (it has no standardisation); "
                    f"profile criteria: {', '.join(self.criteria)}"
                )
            else:
                problems.append(_unknown_criterion(k))
        if lacking:
            problems.append(f"no weight given for {', '.join(lacking)} (give every criterion a weight, 0 to drop it)")
        values: dict[str, float] = {}
        for k, v in given.items():
            try:
                values[k] = float(v)
            except (TypeError, ValueError):
                problems.append(f"weight of '{k}' must be a number, got {v!r}")
        if problems:
            raise ProfileError(problems, title=f"invalid weights for profile '{self.name}'")
        if normalise:
            total = sum(values.values())
            if math.isfinite(total) and total > 0:
                values = {k: v / total for k, v in values.items()}
        data = self.model_dump(mode="python")
        data["ahp"] = None
        for k, rule in data["criteria"].items():
            rule["weight"] = values[k]
        return Profile.from_dict(data)

    def __eq__(self, other: object) -> bool:
        """Profiles are equal when their fields are (derived weights follow from them)."""
        if not isinstance(other, Profile):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]  # mutable containers inside: not hashable

    def fingerprint(self) -> str:
        """Stable short hash of the profile's content (e.g. a cache key for prepared criteria)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=True)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    def structure_key(self) -> str:
        """Hash of everything but the weights (standardisation, exclusions, minimum area, policy).

        Two profiles with the same key standardise and exclude alike: criteria prepared for one can be
        rescored with the weights of the other.
        """
        data = self.model_dump(mode="json", include={"criteria", "exclusions", "min_site_area_m2", "missing_values"})
        if self.unverified_constraints is not None:
            data["unverified_constraints"] = self.unverified_constraints
        for rule in data["criteria"].values():
            rule.pop("weight", None)
        text = json.dumps(data, sort_keys=True, ensure_ascii=True)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]

    # -- accessors --------------------------------------------------------------------------------
    @property
    def weights(self) -> pd.Series:
        """Final weights (direct or AHP-derived), indexed by criterion, normalised to sum exactly 1."""
        return self._weights.copy()

    @property
    def ahp_result(self) -> AHPResult | None:
        """The AHP weights and consistency when the profile has an ``ahp`` block."""
        return self._ahp_result

    @property
    def constraint_policy(self) -> ConstraintPolicy:
        """What an unverified constraint does (see ``unverified_constraints``): never "passed"."""
        if self.unverified_constraints is not None:
            return self.unverified_constraints  # type: ignore[return-value]
        return "unverified" if self.missing_values == "zero" else self.missing_values  # type: ignore[return-value]

    @property
    def missing_policy(self) -> MissingPolicy:
        """The missing-value policy as a checked literal."""
        return self.missing_values  # type: ignore[return-value]

    def required_columns(self) -> list[str]:
        """Columns the criteria table must have to be scored with this profile."""
        cols = list(self.criteria)
        cols += [e.criterion for e in self.exclusions if e.criterion not in cols]
        if self.min_site_area_m2 > 0 and "area_m2" not in cols:
            cols.append("area_m2")
        return cols

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for YAML/JSON), without unset optional fields. Round-trips via from_dict."""
        data = self.model_dump(mode="json", exclude_none=True)
        if not self.exclusions:
            data.pop("exclusions", None)
        if data.get("vehicle") == "car":  # the default: car profiles keep their fingerprints
            data.pop("vehicle")
        return data


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _compare(arr: np.ndarray, op: str, v: Any) -> np.ndarray:
    if op == "<":
        return np.asarray(arr < v)
    if op == "<=":
        return np.asarray(arr <= v)
    if op == ">":
        return np.asarray(arr > v)
    if op == ">=":
        return np.asarray(arr >= v)
    if op == "==":
        return np.asarray(arr == v)
    return np.asarray(arr != v)


_VEHICLE_TIMES = {
    "time_to_roissy_min": "time_to_roissy_hgv_min",
    "time_to_interchange_min": "time_to_interchange_hgv_min",
    "time_to_freight_station_min": "time_to_freight_station_hgv_min",
}


def _vehicle_problems(p: Profile) -> list[str]:
    """A road time of the other vehicle needs its own vehicle's twin beside it (a lorry profile scoring the
    car time alone would say one thing and measure another)."""
    problems = []
    for car, hgv in _VEHICLE_TIMES.items():
        wrong, right = (car, hgv) if p.vehicle == "hgv" else (hgv, car)
        if wrong in p.criteria and right not in p.criteria:
            problems.append(f"criteria.{wrong}: the profile's vehicle is '{p.vehicle}': use {right}")
    return problems


def _profile_problems(p: Profile) -> tuple[list[str], pd.Series | None, AHPResult | None]:
    """Every semantic problem of ``p``, and its weights when there are none."""
    problems: list[str] = []
    if not _NAME_RE.match(p.name):
        problems.append(f"name '{p.name}' must be letters, digits, '-', '_' or '.' (no spaces)")
    if not p.criteria:
        problems.append("a profile needs at least one criterion under 'criteria'")
    for name, rule in p.criteria.items():
        crit = CATALOGUE.get(name)
        if crit is None:
            problems.append(f"criteria.{name}: {_unknown_criterion(name)}")
        problems += rule.problems(name, crit)
    problems += _vehicle_problems(p)
    for i, excl in enumerate(p.exclusions):
        problems += excl.problems(i)
    if not (math.isfinite(p.min_site_area_m2) and p.min_site_area_m2 >= 0):
        problems.append(f"min_site_area_m2 must be a non-negative number, got {p.min_site_area_m2}")
    if p.missing_values not in MISSING_POLICIES:
        problems.append(f"missing_values must be one of {', '.join(MISSING_POLICIES)}, got '{p.missing_values}'")
    if p.unverified_constraints is not None and p.unverified_constraints not in CONSTRAINT_POLICIES:
        problems.append(
            f"unverified_constraints must be one of {', '.join(CONSTRAINT_POLICIES)}, got '{p.unverified_constraints}'"
        )

    weights: pd.Series | None = None
    ahp_result: AHPResult | None = None
    if p.ahp is not None:
        given = [n for n, r in p.criteria.items() if r.weight is not None]
        if given:
            problems.append(
                f"weight(s) given for {', '.join(given)} while the 'ahp' block derives the weights; "
                "remove one or the other"
            )
        extra = [n for n in p.ahp.criteria if n not in p.criteria]
        lacking = [n for n in p.criteria if n not in p.ahp.criteria]
        if extra:
            problems.append(f"ahp.criteria lists {', '.join(extra)} which are not under 'criteria'")
        if lacking:
            problems.append(f"ahp.criteria lacks {', '.join(lacking)}")
        mp = matrix_problems(p.ahp.matrix, p.ahp.criteria)
        problems += [f"ahp.matrix: {m}" for m in mp]
        if not (math.isfinite(p.ahp.max_cr) and p.ahp.max_cr > 0):
            problems.append(f"ahp.max_cr must be positive, got {p.ahp.max_cr}")
        elif not mp:
            try:
                ahp_result = p.ahp.result()
            except (AHPConsistencyError, ValidationError) as e:
                problems += [f"ahp: {q.message}" for q in e.problems]
        if ahp_result is not None and not extra and not lacking:
            weights = ahp_result.weights.reindex(list(p.criteria)).astype("float64")
    else:
        raw: dict[str, float] = {}
        lacking = []
        for name, rule in p.criteria.items():
            if rule.weight is None:
                lacking.append(name)
            elif not math.isfinite(rule.weight):
                problems.append(f"criteria.{name}: weight must be a finite number, got {rule.weight}")
            elif rule.weight < 0:
                problems.append(f"criteria.{name}: weight must not be negative, got {rule.weight:g}")
            else:
                raw[name] = rule.weight
        if lacking:
            problems.append(f"no weight for {', '.join(lacking)} (give a weight to every criterion, or an 'ahp' block)")
        if raw and not lacking and len(raw) == len(p.criteria):
            total = math.fsum(raw.values())
            if abs(total - 1.0) > WEIGHT_TOLERANCE:
                problems.append(
                    f"weights sum to {total:.6g}, not 1 (tolerance {WEIGHT_TOLERANCE:g}): "
                    + ", ".join(f"{k}={v:g}" for k, v in raw.items())
                )
            else:
                weights = pd.Series(raw, dtype="float64")
    if weights is not None:
        weights = weights / weights.sum()
        weights.name = "weight"
        weights.index.name = "criterion"
    return problems, weights, ahp_result


def _convert_errors(e: PydanticValidationError, source: str | None) -> list[Problem]:
    """Turn pydantic errors into Problems, unwrapping the ProfileError raised by our own validator."""
    out: list[Problem] = []
    for err in e.errors():
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, ProfileError):
            out += [Problem(p.message, source=source, column=p.column) for p in inner.problems]
            continue
        loc = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            msg = f"{loc}: unknown field (check its spelling)"
        elif err["type"] == "missing":
            msg = f"{loc}: required field missing"
        else:
            msg = f"{loc}: {err['msg']} (got {err.get('input')!r})"
        out.append(Problem(msg, source=source))
    return out

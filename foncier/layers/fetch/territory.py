"""Territory definitions: which EPCIs or communes to fetch, the hubs, the OpenStreetMap extracts.

A territory is a small YAML file (see ``layers/territories/*.yaml`` and docs/FETCH.md)::

    name: my-territory                  # short id (file name without .yaml)
    title: Mon territoire               # shown in the workspace metadata, maps and exports
    epcis:                              # EPCI SIRENs: their communes are fetched from geo.api.gouv.fr
      - {siren: "200071991", nom: CC Retz-en-Valois}
    communes: ["02258", "02594"]        # and/or INSEE codes; with epcis, restricts their communes
    hubs:                               # points reached by road (Paris-CDG is hub_id CDG)
      - {hub_id: CDG, nom: Paris-Charles de Gaulle, kind: airport, lon: 2.55, lat: 49.0128}
    osm_extracts:                       # paths under the osm base URL (Geofabrik) or full URLs
      - europe/france/picardie-latest.osm.pbf

Built-in territories are looked up by name in the package folder ``layers/territories``; any other value is
read as a file path.
"""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from foncier.errors import NotFoundError, Problem, ValidationError
from foncier.layers.schemas import HUB_KINDS, INSEE_RE, SIREN_RE

logger = logging.getLogger(__name__)


class Epci(BaseModel):
    """An EPCI (groupement de communes) by SIREN."""

    model_config = ConfigDict(extra="forbid")

    siren: str
    nom: str = ""

    @field_validator("siren", mode="before")
    @classmethod
    def _siren(cls, v: Any) -> str:
        s = str(v).strip()
        if not SIREN_RE.fullmatch(s):
            raise ValueError(f"'{s}' is not a 9-digit SIREN")
        return s


class Hub(BaseModel):
    """A hub reached by road (airport, interchange, freight station...), in longitude/latitude."""

    model_config = ConfigDict(extra="forbid")

    hub_id: str
    nom: str
    kind: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in HUB_KINDS:
            raise ValueError(f"unknown hub kind '{v}' (allowed: {', '.join(HUB_KINDS)})")
        return v


class Territory(BaseModel):
    """A territory to fetch.

    Attributes
    ----------
    name : str
        Short identifier.
    title : str
        Human-readable name.
    departments : list of str
        Department codes (informative; derived from the communes when empty).
    labour_departments : list of str
        Departments whose communes ``foncier fetch`` loads into ``labour_communes`` for the labour pool
        (the territory's and its neighbours': workers cross department borders); empty = none.
    epcis : list of Epci
        EPCIs whose communes make the territory.
    communes : list of str
        INSEE codes; alone they define the territory, with ``epcis`` they restrict it.
    hubs : list of Hub
        Hubs stored in the ``hubs`` layer.
    osm_extracts : list of str
        OpenStreetMap extracts covering the territory and the roads to its hubs.
    source : str or None
        File the definition was read from.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    title: str = ""
    departments: list[str] = Field(default_factory=list)
    labour_departments: list[str] = Field(default_factory=list)
    epcis: list[Epci] = Field(default_factory=list)
    communes: list[str] = Field(default_factory=list)
    hubs: list[Hub] = Field(default_factory=list)
    osm_extracts: list[str] = Field(default_factory=list)
    source: str | None = None

    @field_validator("communes", "departments", "labour_departments", mode="before")
    @classmethod
    def _codes_as_str(cls, v: Any) -> Any:
        if isinstance(v, list):
            return [str(x).strip() for x in v]
        return v

    @field_validator("communes")
    @classmethod
    def _communes(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not INSEE_RE.fullmatch(c)]
        if bad:
            raise ValueError(f"malformed INSEE code(s): {', '.join(bad[:10])}")
        dup = sorted({c for c in v if v.count(c) > 1})
        if dup:
            raise ValueError(f"duplicated INSEE code(s): {', '.join(dup[:10])}")
        return v

    @model_validator(mode="after")
    def _something_to_fetch(self) -> Territory:
        if not self.epcis and not self.communes:
            raise ValueError("a territory needs 'epcis' (SIRENs) or 'communes' (INSEE codes)")
        ids = [h.hub_id for h in self.hubs]
        if len(set(ids)) != len(ids):
            raise ValueError("hub_id values must be unique")
        if not self.title:
            self.title = self.name
        if not self.departments and self.communes:
            self.departments = sorted({department_of(c) for c in self.communes})
        return self

    @property
    def epci_sirens(self) -> list[str]:
        """SIRENs of the EPCIs."""
        return [e.siren for e in self.epcis]


def department_of(insee: str) -> str:
    """Department code of a commune: 2 characters, 3 for the overseas departments (97x)."""
    return insee[:3] if insee.startswith("97") else insee[:2]


def territories_dir() -> Path:
    """The folder of the built-in territory files."""
    return Path(str(importlib.resources.files("foncier.layers") / "territories"))


def list_territories() -> list[str]:
    """Names of the built-in territories."""
    folder = territories_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _pydantic_problems(exc: PydanticValidationError, source: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(Problem(f"{loc}: {msg}" if loc else msg, source))
    return problems


def load_territory(name_or_path: str | Path) -> Territory:
    """Load a territory by built-in name (``soissonnais-valois``) or from a YAML file.

    Raises
    ------
    foncier.errors.NotFoundError
        Neither a built-in name nor an existing file.
    foncier.errors.ValidationError
        The file is not valid YAML or not a valid territory (every problem listed).
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        path = candidate
    else:
        builtin = territories_dir() / f"{name_or_path}.yaml"
        if not builtin.is_file():
            raise NotFoundError(
                f"unknown territory '{name_or_path}': not a file, and the built-in territories are "
                f"{', '.join(list_territories()) or 'none'}"
            )
        path = builtin
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(
            [Problem(f"cannot read the territory file: {exc}", source)], title="invalid territory"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError([Problem("a territory file is a YAML mapping", source)], title="invalid territory")
    data.setdefault("name", path.stem)
    data["source"] = source
    try:
        territory = Territory.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(_pydantic_problems(exc, source), title="invalid territory") from None
    logger.debug("territory %s: %d EPCI, %d communes", territory.name, len(territory.epcis), len(territory.communes))
    return territory

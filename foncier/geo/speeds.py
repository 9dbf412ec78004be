r"""Calibrated road speeds: the one place where travel-time assumptions live, with their sources.

Legal speed limits are not travel speeds. An investor quoting "Soissons - Roissy-CDG in 1 h" compares it with
a route planner, which drives below the limit on every road class, slows down through towns and loses time
at every junction. :class:`SpeedModel` turns a road's legal limit into an off-peak travel speed for one
vehicle:

.. math::

    v_e = \min\bigl(L_e,\; C_{k}(c_e)\bigr) \cdot f_k(c_e), \qquad
    v_e^{\mathrm{urban}} = \min\bigl(v_e,\; U_k(c_e)\bigr)

with :math:`L_e` the legal limit of road :math:`e` (its ``speed_kmh`` when valid, else the class default
:attr:`SpeedModel.legal_limit_kmh`), :math:`C_k` the vehicle's own limit (heavy goods vehicles: Code de la
route R413-8), :math:`f_k` the free-flow factor of the class (observed mean speed / limit) and :math:`U_k` the
mean speed in built-up areas. Limited-access roads (motorways, expressways) are never "urban": they bypass the
towns. On top of the edge times, every junction crossed (a node where three road pieces or more meet, entered
from an ordinary road) costs :attr:`SpeedModel.junction_penalty_s` seconds (urban or rural), times the vehicle's
multiplier.

Sources of the default calibration (all public):

- Legal limits: Code de la route R413-2 (130 motorways, 110 dual carriageways with a central reservation,
  80 other rural roads since 1 July 2018, 50 in built-up areas) and R413-8 (vehicles over 3.5 t: 90 km/h on
  motorways, 80 on other roads, 50 in built-up areas).
- Free-flow factors: ONISR, "La sécurité routière en France, bilan de l'accidentalité" (observatory of speeds):
  mean speeds of light vehicles in free flow around 118 km/h on 130-km/h motorways (0.91), about 101 km/h on
  110-km/h dual carriageways (0.92) and 77-80 km/h on two-lane 80-km/h roads (0.96), *measured on straight,
  open sections*; a whole trip over a secondary network with bends, villages, hills and overtaking bans
  averages far less, which is what route planners (and the check in docs/ACCESS.md) show: 0.85 on primary,
  0.80 on secondary, 0.72 on tertiary and 0.62 on unclassified rural lanes.
- Heavy goods vehicles keep close to their own limit on motorways and trunks (speed limiters at 90 km/h,
  Directive 92/6/EEC) and lose more on hills and bends: factor 0.94 on motorways/trunks, 0.88 on primary and
  secondary roads, the car factor below that.
- Built-up areas: mean speeds of 25-35 km/h across small towns with a 50 km/h limit (CEREMA, "Vitesses
  pratiquées en agglomération"; ENTD/EMP 2019 door-to-door car speeds in urban areas under 30 km/h).
- Junction delays: 4-6 s at a rural junction with priority, 10-20 s at urban signals and roundabouts (Highway
  Capacity Manual level-of-service A-B control delays; CEREMA "Carrefours urbains"); 1.5 times that for a lorry
  (acceleration of a loaded 44 t truck).

The check of the calibration against public trip times (Soissons, Villers-Cotterêts and Oulchy-le-Château to
Roissy-CDG, car and lorry) is in docs/ACCESS.md and ``benchmarks/bench_access.py``.

Everything here is pure: no file or network I/O.
"""

from __future__ import annotations

import logging
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foncier.geo.overlay import require_lambert93

logger = logging.getLogger(__name__)

Vehicle = Literal["car", "hgv"]
"""Vehicles: ``car`` (light vehicle, off-peak) and ``hgv`` (heavy goods vehicle over 3.5 t)."""

VEHICLES: tuple[Vehicle, ...] = ("car", "hgv")

VEHICLE_LABELS_FR: dict[str, str] = {"car": "voiture, hors pointe", "hgv": "poids lourd"}
"""Labels for maps and sheets."""

LIMITED_ACCESS_CLASSES = frozenset({"motorway", "trunk"})

_LEGAL: dict[str, float] = {
    "motorway": 130.0,
    "trunk": 110.0,
    "primary": 80.0,
    "secondary": 80.0,
    "tertiary": 80.0,
    "unclassified": 80.0,
    "residential": 50.0,
    "living_street": 20.0,
    "service": 30.0,
    "track": 30.0,
    "motorway_link": 90.0,
    "trunk_link": 70.0,
    "primary_link": 50.0,
    "secondary_link": 50.0,
    "tertiary_link": 50.0,
}
_CAR_FACTOR: dict[str, float] = {
    "motorway": 0.91,
    "trunk": 0.88,
    "primary": 0.85,
    "secondary": 0.80,
    "tertiary": 0.72,
    "unclassified": 0.62,
    "residential": 0.60,
    "living_street": 0.60,
    "service": 0.50,
    "track": 0.50,
    "motorway_link": 0.75,
    "trunk_link": 0.75,
    "primary_link": 0.75,
    "secondary_link": 0.75,
    "tertiary_link": 0.75,
}
_HGV_FACTOR: dict[str, float] = {
    "motorway": 0.94,
    "trunk": 0.94,
    "primary": 0.88,
    "secondary": 0.88,
    "motorway_link": 0.75,
    "trunk_link": 0.75,
}
_URBAN: dict[str, float] = {
    "primary": 38.0,
    "secondary": 34.0,
    "tertiary": 30.0,
    "unclassified": 28.0,
    "residential": 25.0,
    "primary_link": 30.0,
    "secondary_link": 30.0,
    "tertiary_link": 30.0,
}


class SpeedModel(BaseModel):
    """Off-peak travel speeds by road class and vehicle (see the module docstring for formula and sources).

    Attributes
    ----------
    legal_limit_kmh : dict of str to float
        Legal limit by class, used when a road has no valid ``speed_kmh`` (its own limit, OSM ``maxspeed``).
    free_flow_factor : dict of str to float
        Car travel speed / legal limit by class (0 < f <= 1); unknown classes use ``default_factor``.
    hgv_limit_motorway_kmh, hgv_limit_other_kmh : float
        Heavy goods vehicle limits (R413-8: 90 on motorways and their links, 80 elsewhere).
    hgv_factor : dict of str to float
        Lorry travel speed / lorry limit by class; classes not listed use the car factor.
    urban_speed_kmh : dict of str to float
        Mean speed in built-up areas by class (limit 50 km/h); classes not listed use ``urban_default_kmh``.
    junction_penalty_s : dict
        Seconds lost per junction crossed, ``{"rural": s, "urban": s}``.
    hgv_junction_multiplier : float
        Lorries lose this many times the car's junction delay.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    legal_limit_kmh: dict[str, float] = Field(default_factory=lambda: dict(_LEGAL))
    free_flow_factor: dict[str, float] = Field(default_factory=lambda: dict(_CAR_FACTOR))
    default_factor: float = 0.7
    default_limit_kmh: float = 50.0
    hgv_limit_motorway_kmh: float = 90.0
    hgv_limit_other_kmh: float = 80.0
    hgv_factor: dict[str, float] = Field(default_factory=lambda: dict(_HGV_FACTOR))
    urban_speed_kmh: dict[str, float] = Field(default_factory=lambda: dict(_URBAN))
    urban_default_kmh: float = 25.0
    junction_penalty_s: dict[str, float] = Field(default_factory=lambda: {"rural": 5.0, "urban": 12.0})
    hgv_junction_multiplier: float = 1.5

    @model_validator(mode="after")
    def _check(self) -> SpeedModel:
        problems: list[str] = []
        for name, table in (("legal_limit_kmh", self.legal_limit_kmh), ("urban_speed_kmh", self.urban_speed_kmh)):
            problems += [f"{name}[{k}] must be in (0, 150], got {v}" for k, v in table.items() if not 0 < v <= 150]
        for name, table in (("free_flow_factor", self.free_flow_factor), ("hgv_factor", self.hgv_factor)):
            problems += [f"{name}[{k}] must be in (0, 1], got {v}" for k, v in table.items() if not 0 < v <= 1]
        if not 0 < self.default_factor <= 1:
            problems.append("default_factor must be in (0, 1]")
        for name in ("default_limit_kmh", "hgv_limit_motorway_kmh", "hgv_limit_other_kmh", "urban_default_kmh"):
            if not 0 < getattr(self, name) <= 150:
                problems.append(f"{name} must be in (0, 150]")
        if set(self.junction_penalty_s) != {"rural", "urban"}:
            problems.append("junction_penalty_s needs exactly the keys 'rural' and 'urban'")
        if any(v < 0 for v in self.junction_penalty_s.values()) or self.hgv_junction_multiplier < 0:
            problems.append("junction penalties must be >= 0")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def legal(cls) -> SpeedModel:
        """Free flow at the legal limits: factors 1, no town slow-down, no junction penalty (the old model)."""
        return cls(
            free_flow_factor={k: 1.0 for k in _LEGAL},
            default_factor=1.0,
            hgv_factor={k: 1.0 for k in _LEGAL},
            urban_speed_kmh={k: 150.0 for k in _LEGAL},
            urban_default_kmh=150.0,
            junction_penalty_s={"rural": 0.0, "urban": 0.0},
        )

    def edge_speeds(self, classes: np.ndarray, limits: np.ndarray, urban: np.ndarray, vehicle: Vehicle) -> np.ndarray:
        """Travel speed (km/h) of road pieces.

        Parameters
        ----------
        classes : array of str
            Road class of each piece.
        limits : array of float
            Legal limit of each piece (NaN or <= 0: the class default).
        urban : array of bool
            Whether each piece lies in a built-up area (ignored for limited-access classes).
        vehicle : {"car", "hgv"}

        Returns
        -------
        numpy.ndarray
            :math:`v = \\min(L, C_k) f_k`, then :math:`\\min(v, U)` in built-up areas.
        """
        if vehicle not in VEHICLES:
            raise ValueError(f"unknown vehicle '{vehicle}'; known: {', '.join(VEHICLES)}")
        cls = np.asarray(classes, dtype=object).astype(str)
        lim = np.asarray(limits, dtype=float)
        default = np.array([self.legal_limit_kmh.get(c, self.default_limit_kmh) for c in cls], dtype=float)
        lim = np.where(np.isfinite(lim) & (lim > 0), lim, default)
        car_f = np.array([self.free_flow_factor.get(c, self.default_factor) for c in cls], dtype=float)
        speed = lim * car_f
        if vehicle == "hgv":
            motorway = np.isin(cls, ["motorway", "motorway_link"])
            cap = np.where(motorway, self.hgv_limit_motorway_kmh, self.hgv_limit_other_kmh)
            hgv_f = np.array([self.hgv_factor.get(c, np.nan) for c in cls], dtype=float)
            hgv_f = np.where(np.isfinite(hgv_f), hgv_f, car_f)
            speed = np.minimum(speed, np.minimum(lim, cap) * hgv_f)
        in_town = np.asarray(urban, dtype=bool) & ~np.isin(cls, list(LIMITED_ACCESS_CLASSES))
        if in_town.any():
            town = np.array([self.urban_speed_kmh.get(c, self.urban_default_kmh) for c in cls], dtype=float)
            if vehicle == "hgv":
                town = np.minimum(town, self.hgv_limit_other_kmh)
            speed = np.where(in_town, np.minimum(speed, town), speed)
        return np.asarray(speed, dtype=float)

    def junction_minutes(self, urban: np.ndarray, vehicle: Vehicle) -> np.ndarray:
        """Minutes lost crossing a junction, rural or urban (``urban`` boolean array), for ``vehicle``."""
        sec = np.where(
            np.asarray(urban, dtype=bool), self.junction_penalty_s["urban"], self.junction_penalty_s["rural"]
        )
        if vehicle == "hgv":
            sec = sec * self.hgv_junction_multiplier
        return np.asarray(sec, dtype=float) / 60.0


DEFAULT_SPEED_MODEL = SpeedModel()
"""The calibration used by the pipeline (checked in docs/ACCESS.md)."""

BUILT_UP_BASE_M = 250.0
BUILT_UP_PER_SQRT_INHABITANT_M = 12.0


def built_up_areas(
    communes: gpd.GeoDataFrame,
    *,
    population_column: str = "population",
    base_m: float = BUILT_UP_BASE_M,
    per_sqrt_inhabitant_m: float = BUILT_UP_PER_SQRT_INHABITANT_M,
) -> gpd.GeoSeries:
    r"""Approximate built-up areas (agglomérations) around commune centres, when no better outline exists.

    A disc of radius :math:`r = r_0 + k \sqrt{P}` around each commune centre (its centroid, or a point on
    its surface), with :math:`P` its population: Soissons (28,000 inh.) gets 2.3 km, Villers-Cotterêts
    (10,000) 1.45 km, a village of 300 about 460 m. Calibrated on the IGN BD TOPO urban areas of the
    territory's towns (order of magnitude); a ``urban`` column on the roads (OSM-derived) takes precedence.

    Returns
    -------
    geopandas.GeoSeries
        One polygon per commune with a population (EPSG:2154), same index.
    """
    require_lambert93(communes, "communes")
    if population_column not in communes:
        raise ValueError(f"communes have no '{population_column}' column")
    geoms = np.asarray(communes.geometry.values, dtype=object)
    centre = geoms.copy()
    poly = shapely.get_type_id(geoms) != 0
    if poly.any():
        c = shapely.centroid(geoms[poly])
        centre[poly] = np.where(shapely.contains(geoms[poly], c), c, shapely.point_on_surface(geoms[poly]))
    pop = pd.to_numeric(communes[population_column], errors="coerce").fillna(0).to_numpy(dtype=float)
    radius = base_m + per_sqrt_inhabitant_m * np.sqrt(np.maximum(pop, 0.0))
    return gpd.GeoSeries(shapely.buffer(centre, radius, quad_segs=8), index=communes.index, crs=communes.crs)


REFERENCE_TRIPS: dict[str, dict[str, tuple[float, float]]] = {
    # INSEE code: {vehicle: (min, max) minutes to Roissy-CDG, off-peak}
    "02722": {"car": (55.0, 65.0), "hgv": (63.0, 80.0)},  # Soissons, ~80 km by the N2
    "02810": {"car": (40.0, 46.0), "hgv": (45.0, 56.0)},  # Villers-Cotterêts, ~60 km by the N2
    "02580": {"car": (62.0, 75.0), "hgv": (70.0, 92.0)},  # Oulchy-le-Château, ~75-80 km
}
"""Windows the calibrated network must land in, from commune centre to Paris-CDG (sources in docs/ACCESS.md):
car times from public route-planner orders of magnitude (Soissons 55-65 min / ~80 km, Villers-Cotterêts
40-45 min / ~60 km; Oulchy = ~25 min of departmental roads to the N2 at Villers-Cotterêts + that trip);
lorry = car x 1.10-1.30 (90/80 km/h limits against 110 for cars on the N2's dual carriageways, slower
junctions), rounded."""

"""Rivers of the sample territory: the Aisne and its tributaries, with the shape of their valleys.

The centrelines follow the real rivers through the real commune centres (coarse waypoints, smoothed); each
river carries the size of its valley, used consistently by the DEM (:mod:`.dem`: valley floor and sides), the
flood zones (:mod:`.hazards`) and the natural zoning of valley floors and wooded slopes (:mod:`.zoning`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely

from foncier.layers.sample._geom import FloatArray, chaikin, lonlat_to_l93

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class River:
    """A river and the valley it has cut into the plateau.

    Attributes
    ----------
    name : str
        River name.
    waypoints : tuple of (lon, lat)
        Centreline from upstream to downstream, degrees.
    floor_half_width : float
        Half-width of the flat valley floor (m).
    side_width : float
        Horizontal width of each valley side, from the floor to the plateau edge (m).
    z_upstream, z_downstream : float
        Elevation of the valley floor at both ends (m).
    red_half_width, blue_half_width : float
        Mean half-widths of the red and blue flood zones (m); 0 when the river has no flood plan.
    bed_half_width : float
        Half-width of the river bed (m), public domain left out of the parcels.
    """

    name: str
    waypoints: tuple[tuple[float, float], ...]
    floor_half_width: float
    side_width: float
    z_upstream: float
    z_downstream: float
    red_half_width: float = 0.0
    blue_half_width: float = 0.0
    bed_half_width: float = 3.0

    def line(self) -> shapely.LineString:
        """Return the smoothed centreline in Lambert-93."""
        arr = np.asarray(self.waypoints, dtype=float)
        x, y = lonlat_to_l93(arr[:, 0], arr[:, 1])
        return shapely.LineString(chaikin(np.column_stack([x, y]), iterations=3))

    def floor_elevation(self, fraction: FloatArray) -> FloatArray:
        """Elevation of the valley floor at ``fraction`` (0 upstream .. 1 downstream) of the river length."""
        f = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
        return np.asarray(self.z_upstream + (self.z_downstream - self.z_upstream) * f, dtype=np.float64)


RIVERS: tuple[River, ...] = (
    River(
        name="Aisne",
        waypoints=(
            (3.76, 49.386),
            (3.70, 49.390),
            (3.655, 49.391),
            (3.622, 49.386),
            (3.585, 49.396),
            (3.548, 49.401),
            (3.512, 49.398),
            (3.478, 49.401),
            (3.452, 49.394),
            (3.42, 49.384),
            (3.39, 49.379),
            (3.36, 49.387),
            (3.332, 49.388),
            (3.30, 49.383),
            (3.265, 49.384),
            (3.235, 49.391),
            (3.20, 49.397),
            (3.16, 49.399),
            (3.12, 49.401),
            (3.08, 49.404),
            (3.04, 49.409),
            (2.98, 49.412),
            (2.90, 49.415),
        ),
        floor_half_width=750.0,
        side_width=820.0,
        z_upstream=50.0,
        z_downstream=34.0,
        red_half_width=380.0,
        blue_half_width=820.0,
        bed_half_width=25.0,
    ),
    River(
        name="Vesle",
        waypoints=(
            (3.78, 49.302),
            (3.72, 49.308),
            (3.68, 49.313),
            (3.645, 49.318),
            (3.612, 49.334),
            (3.578, 49.347),
            (3.54, 49.353),
            (3.505, 49.36),
            (3.478, 49.374),
            (3.466, 49.386),
            (3.454, 49.394),
        ),
        floor_half_width=380.0,
        side_width=680.0,
        z_upstream=68.0,
        z_downstream=44.0,
        red_half_width=170.0,
        blue_half_width=380.0,
        bed_half_width=8.0,
    ),
    River(
        name="Crise",
        waypoints=(
            (3.415, 49.245),
            (3.405, 49.27),
            (3.398, 49.29),
            (3.383, 49.307),
            (3.369, 49.322),
            (3.358, 49.336),
            (3.345, 49.352),
            (3.336, 49.367),
            (3.332, 49.385),
        ),
        floor_half_width=160.0,
        side_width=700.0,
        z_upstream=105.0,
        z_downstream=41.0,
        red_half_width=60.0,
        blue_half_width=170.0,
        bed_half_width=4.0,
    ),
    River(
        name="Ourcq",
        waypoints=(
            (3.56, 49.205),
            (3.50, 49.203),
            (3.45, 49.198),
            (3.40, 49.196),
            (3.355, 49.190),
            (3.31, 49.183),
            (3.265, 49.180),
            (3.215, 49.178),
            (3.17, 49.176),
            (3.125, 49.171),
            (3.09, 49.15),
            (3.06, 49.125),
        ),
        floor_half_width=230.0,
        side_width=680.0,
        z_upstream=100.0,
        z_downstream=60.0,
        red_half_width=90.0,
        blue_half_width=220.0,
        bed_half_width=6.0,
    ),
    River(
        name="Ru de Retz",
        waypoints=((3.145, 49.305), (3.152, 49.33), (3.168, 49.352), (3.182, 49.372), (3.192, 49.394)),
        floor_half_width=90.0,
        side_width=650.0,
        z_upstream=120.0,
        z_downstream=40.0,
    ),
)
"""The rivers, from the largest."""


def river_lines() -> list[tuple[River, shapely.LineString]]:
    """Return every river with its Lambert-93 centreline."""
    return [(river, river.line()) for river in RIVERS]


def valley_floors(rivers: list[tuple[River, shapely.LineString]] | None = None) -> shapely.Geometry:
    """Return the union of the valley floors (flat bottoms) of all rivers, Lambert-93."""
    rivers = river_lines() if rivers is None else rivers
    return shapely.union_all([shapely.buffer(line, r.floor_half_width) for r, line in rivers])


def valley_sides(rivers: list[tuple[River, shapely.LineString]] | None = None) -> shapely.Geometry:
    """Return the union of the valley sides (the steep slopes between floor and plateau), Lambert-93."""
    rivers = river_lines() if rivers is None else rivers
    outer = shapely.union_all([shapely.buffer(line, r.floor_half_width + r.side_width) for r, line in rivers])
    return shapely.difference(outer, valley_floors(rivers))


def river_beds(rivers: list[tuple[River, shapely.LineString]] | None = None) -> shapely.Geometry:
    """Return the union of the river beds (public domain, outside the cadastre), Lambert-93."""
    rivers = river_lines() if rivers is None else rivers
    return shapely.union_all([shapely.buffer(line, r.bed_half_width, quad_segs=2) for r, line in rivers])

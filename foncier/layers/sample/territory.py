"""Build the synthetic sample territory (orchestrator).

:func:`build_sample_territory` assembles every canonical layer of :mod:`foncier.layers.schemas` and the DEM,
deterministically from a seed. Each part of the build draws from its own random stream
(``numpy.random.default_rng([seed, stream])``), so the layers shared by both sizes (everything but the parcels
and the DEM resolution) are identical for the ``small`` and ``full`` sizes of one seed, and changing one part of
the generator does not reshuffle the others.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

import affine
import geopandas as gpd
import numpy as np
import shapely

from foncier.layers.sample._geom import lonlat_line
from foncier.layers.sample.buildings import build_buildings, build_terrains
from foncier.layers.sample.communes import commune_centres, commune_polygons, neighbour_communes, territory_outline
from foncier.layers.sample.dem import build_dem
from foncier.layers.sample.hazards import flood_zones, plu_prescriptions, protected_areas, runoff_zone
from foncier.layers.sample.network import build_networks
from foncier.layers.sample.parcels import build_parcels
from foncier.layers.sample.rivers import river_beds, river_lines
from foncier.layers.sample.zoning import build_land_use, build_plu, cnig_documents

logger = logging.getLogger(__name__)

Size = Literal["small", "full"]

TERRITORY_NAME = "Soissonnais et Valois"

_STREAMS = {"zoning": 1, "network": 2, "hazards": 3, "parcels": 4, "dem": 5, "protected": 6, "buildings": 7}
"""Independent random stream of each part of the build."""

_DEM_CELL_M: dict[str, float] = {"small": 50.0, "full": 25.0}

SMALL_WINDOW_LONLAT: tuple[tuple[float, float], ...] = (
    (3.312, 49.357),
    (3.292, 49.338),
    (3.268, 49.347),
    (3.23, 49.298),
    (3.18, 49.272),
    (3.125, 49.248),
    (3.098, 49.258),
    (3.084, 49.262),
)
"""Centreline of the window the small sample cuts into parcels: from the southern edge of Soissons (Parc
Gouraud) by the Courmelles and Mercin-et-Vaux / Vauxbuin business parks, then along the N2 to Villers-Cotterets
and its northern industrial zone."""

_SMALL_WINDOW_HALF_WIDTH_M = 600.0


@dataclass
class SampleTerritory:
    """A synthetic territory: every canonical layer plus the DEM.

    Attributes
    ----------
    size : {"small", "full"}
        ``full``: parcels over the whole territory (about 150,000); ``small``: parcels in a window from
        Soissons along the N2 to Villers-Cotterets (a few thousand), every other layer complete.
    seed : int
        Seed of the random streams.
    layers : dict of str to geopandas.GeoDataFrame
        Every canonical vector layer (``SCHEMAS``), in EPSG:2154.
    dem : ndarray of float32
        Elevation (m), 2-D, north up.
    dem_transform : affine.Affine
        Transform of ``dem`` (EPSG:2154, square cells: 25 m for ``full``, 50 m for ``small``).
    dem_crs : str
        CRS of the DEM.
    territory : str
        Territory name.
    synthetic : bool
        Always True: label maps, API answers and exports as "synthetic sample".
    """

    size: Size
    seed: int
    layers: dict[str, gpd.GeoDataFrame]
    dem: np.ndarray
    dem_transform: affine.Affine
    dem_crs: str = "EPSG:2154"
    territory: str = TERRITORY_NAME
    synthetic: bool = field(default=True)


def small_window() -> shapely.Geometry:
    """The part of the territory the ``small`` sample cuts into parcels (Lambert-93)."""
    return shapely.buffer(lonlat_line(SMALL_WINDOW_LONLAT), _SMALL_WINDOW_HALF_WIDTH_M, quad_segs=4)


def _rng(seed: int, stream: str) -> np.random.Generator:
    """The random generator of one part of the build: ``default_rng([seed, stream number])``."""
    return np.random.default_rng([seed, _STREAMS[stream]])


def build_sample_territory(size: Size = "small", seed: int = 2023) -> SampleTerritory:
    """Build the synthetic sample territory of the Soissonnais et Valois.

    The territory is laid on the real geography: the 163 real communes (centres and populations) and their
    EPCI, the Aisne valley and its tributaries, the N2 towards Paris-CDG (Roissy), the real railway lines and
    stations. Everything else (commune outlines, parcels, zoning, zones d'activite, brownfields, flood zones,
    protected areas, relief) is synthetic but plausible, and the same for the same ``size`` and ``seed``.

    Parameters
    ----------
    size : {"small", "full"}
        ``small`` (a few thousand parcels, for tests; about a second) or ``full`` (about 150,000 parcels over
        the whole territory; well under a minute).
    seed : int
        Seed of the random generators.

    Returns
    -------
    SampleTerritory

    Examples
    --------
    >>> sample = build_sample_territory("small")
    >>> sorted(sample.layers)[:3]
    ['communes', 'flood', 'friches']
    """
    if size not in ("small", "full"):
        raise ValueError(f"size must be 'small' or 'full', got {size!r}")
    t0 = time.perf_counter()
    centres = commune_centres()
    outline = territory_outline(centres)
    communes = commune_polygons(centres, outline)
    rivers = river_lines()
    flood = flood_zones(rivers, outline, _rng(seed, "hazards"))
    red = shapely.union_all(flood.geometry[flood["level"] == "red"].to_numpy())
    land = build_land_use(centres, communes, outline, rivers, red, _rng(seed, "zoning"))
    plu = build_plu(communes, land.features)
    nets = build_networks(centres, land.zones, land.za_streets, land.za_centres, _rng(seed, "network"))
    protected = protected_areas(land.retz, land.side_woods, rivers, outline, _rng(seed, "protected"))
    t1 = time.perf_counter()
    window = small_window() if size == "small" else None
    parcels = build_parcels(
        plu, centres, nets.roads, land.friches, _rng(seed, "parcels"), window=window, public_domain=river_beds(rivers)
    )
    buildings = build_buildings(parcels, plu, land.friches, _rng(seed, "buildings"), land.zones)
    plu = cnig_documents(plu, communes, small_window())  # after the parcels: their layout keeps the PLU shapes
    t2 = time.perf_counter()
    dem, transform = build_dem(outline.bounds, rivers, _rng(seed, "dem"), cell=_DEM_CELL_M[size])
    t3 = time.perf_counter()
    layers: dict[str, gpd.GeoDataFrame] = {
        "parcels": parcels,
        "communes": communes,
        "labour_communes": neighbour_communes(),
        "zones": land.zones,
        "roads": nets.roads,
        "interchanges": nets.interchanges,
        "rail_lines": nets.rail_lines,
        "rail_stations": nets.rail_stations,
        "hubs": nets.hubs,
        "plu": plu,
        "flood": runoff_zone(flood, land.zones, small_window()),
        "protected": protected,
        "prescriptions": plu_prescriptions(land.zones, plu, small_window()),
        "friches": land.friches,
        "buildings": buildings,
        "terrains": build_terrains(parcels, buildings, land.zones),
    }
    logger.info(
        "sample territory %s (seed %d): %d parcels; layers %.1fs, parcels %.1fs, dem %.1fs",
        size,
        seed,
        len(parcels),
        t1 - t0,
        t2 - t1,
        t3 - t2,
    )
    return SampleTerritory(size=size, seed=seed, layers=layers, dem=dem, dem_transform=transform)

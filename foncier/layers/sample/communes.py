"""The real communes of the Soissonnais et Valois and the synthetic commune outlines laid on them.

The commune table (INSEE code, name, EPCI, population and a centre point) is the small derived file
``data/communes_soissonnais.csv`` shipped with the package (see :mod:`foncier.layers.sample._derive_communes`).
The outlines are synthetic: the Voronoi cells of the real centres, clipped to a territory outline drawn around
them (a concave hull of the centres, buffered by 2 km: about 1,400 km2, close to the real 1,350 km2).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from foncier.geo.crs import LAMBERT93
from foncier.layers.sample._geom import lonlat_to_l93

logger = logging.getLogger(__name__)

COMMUNES_CSV = Path(__file__).resolve().parent / "data" / "communes_soissonnais.csv"
"""The derived commune table (163 rows) read by :func:`load_commune_table`."""

SOISSONS = "02722"
VILLERS_COTTERETS = "02810"

_HULL_RATIO = 0.1
_OUTLINE_BUFFER_M = 2000.0


def load_commune_table(path: Path = COMMUNES_CSV) -> pd.DataFrame:
    """Read the commune table of the territory.

    Parameters
    ----------
    path : Path
        CSV with columns ``insee,nom,epci_siren,epci_nom,population,lon,lat``.

    Returns
    -------
    pandas.DataFrame
        One row per commune, sorted by INSEE code; codes kept as strings.
    """
    table = pd.read_csv(path, dtype={"insee": str, "epci_siren": str, "nom": str, "epci_nom": str})
    table["population"] = table["population"].astype("int64")
    return table.sort_values("insee").reset_index(drop=True)


def commune_centres(table: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Return the commune centres as Lambert-93 points.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        The commune table (read with :func:`load_commune_table` when omitted).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``insee, nom, epci_siren, epci_nom, population`` and Point geometries (EPSG:2154).
    """
    if table is None:
        table = load_commune_table()
    x, y = lonlat_to_l93(table["lon"].to_numpy(), table["lat"].to_numpy())
    cols = ["insee", "nom", "epci_siren", "epci_nom", "population"]
    return gpd.GeoDataFrame(table[cols].copy(), geometry=shapely.points(x, y), crs=LAMBERT93)


def territory_outline(centres: gpd.GeoDataFrame) -> shapely.Polygon:
    """Return a plausible outline of the territory around the commune centres.

    A concave hull of the centres buffered by 2 km and lightly simplified.

    Parameters
    ----------
    centres : geopandas.GeoDataFrame
        Commune centres (EPSG:2154).

    Returns
    -------
    shapely.Polygon
    """
    hull = shapely.concave_hull(shapely.multipoints(centres.geometry.to_numpy()), ratio=_HULL_RATIO)
    outline = shapely.simplify(shapely.buffer(hull, _OUTLINE_BUFFER_M, quad_segs=8), 25.0)
    if not isinstance(outline, shapely.Polygon):  # pragma: no cover - the hull of 163 points is one polygon
        outline = max(shapely.get_parts(outline), key=shapely.area)
    logger.debug("territory outline: %.0f km2", outline.area / 1e6)
    return outline


def commune_polygons(centres: gpd.GeoDataFrame, outline: shapely.Polygon) -> gpd.GeoDataFrame:
    """Return synthetic commune outlines: Voronoi cells of the centres clipped to the territory outline.

    Parameters
    ----------
    centres : geopandas.GeoDataFrame
        Commune centres from :func:`commune_centres`.
    outline : shapely.Polygon
        Territory outline from :func:`territory_outline`.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``communes`` layer: ``insee, nom, epci_siren, population`` (plus ``epci_nom``), Polygons in
        EPSG:2154, in the order of ``centres``.
    """
    pts = centres.geometry.to_numpy()
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline, ordered=True))
    if len(cells) != len(pts):  # pragma: no cover - one cell per distinct point
        raise RuntimeError("Voronoi diagram does not have one cell per commune centre")
    # a cell clipped by the concave outline may become a MultiPolygon (allowed by the schema): it keeps every
    # part so that the communes tile the territory exactly
    geoms = shapely.intersection(cells, outline)
    out = gpd.GeoDataFrame(
        {
            "insee": centres["insee"].to_numpy(),
            "nom": centres["nom"].to_numpy(),
            "epci_siren": centres["epci_siren"].to_numpy(),
            "epci_nom": centres["epci_nom"].to_numpy(),
            "population": centres["population"].to_numpy().astype("int64"),
        },
        geometry=geoms,
        crs=LAMBERT93,
    )
    return out


# Towns of the neighbouring departments (Aisne outside the territory, Oise, Marne, Seine-et-Marne, Val-d'Oise):
# real INSEE codes, names and centres; populations rounded from INSEE's populations légales (2021).
_NEIGHBOURS: tuple[tuple[str, str, float, float, int], ...] = (
    ("60159", "Compiègne", 2.8262, 49.4179, 40_000),
    ("60176", "Crépy-en-Valois", 2.8878, 49.2339, 15_000),
    ("60446", "Nanteuil-le-Haudouin", 2.8117, 49.1414, 4_100),
    ("60471", "Noyon", 2.9989, 49.5817, 13_300),
    ("60612", "Senlis", 2.5864, 49.2072, 14_600),
    ("02168", "Château-Thierry", 3.4031, 49.0464, 14_800),
    ("02408", "Laon", 3.6244, 49.5641, 24_600),
    ("51454", "Reims", 4.0317, 49.2583, 180_000),
    ("51250", "Fismes", 3.6856, 49.3086, 5_000),
    ("77284", "Meaux", 2.8787, 48.9601, 55_000),
    ("95527", "Roissy-en-France", 2.5164, 49.0036, 2_900),
)
_NEIGHBOUR_RADIUS_M = 2_500.0


def neighbour_communes() -> gpd.GeoDataFrame:
    """The sample's ``labour_communes``: the main towns around the territory, outside it.

    Real INSEE codes, names, centres and rounded populations (INSEE populations légales 2021); the outlines
    are synthetic discs of 2.5 km around the centre. They stand for the communes ``foncier fetch`` loads from
    the neighbouring departments, used only for the labour pool.
    """
    x, y = lonlat_to_l93([n[2] for n in _NEIGHBOURS], [n[3] for n in _NEIGHBOURS])
    return gpd.GeoDataFrame(
        {
            "insee": [n[0] for n in _NEIGHBOURS],
            "nom": [n[1] for n in _NEIGHBOURS],
            "population": pd.array([n[4] for n in _NEIGHBOURS], dtype="int64"),
        },
        geometry=shapely.buffer(shapely.points(x, y), _NEIGHBOUR_RADIUS_M, quad_segs=8),
        crs=LAMBERT93,
    )

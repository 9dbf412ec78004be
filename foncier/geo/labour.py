"""Labour pool: population living within a drive time of each site.

Workers commute from home to the site, so times run from each commune centre to the site. With ~163
communes and hundreds of sites, the cheap direction is one *bounded* Dijkstra per commune centre
(``limit=minutes``: the search stops at the time budget), done in chunks so that only a
``(chunk, n_nodes)`` block is ever held in memory; each block is immediately reduced to the site nodes.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from foncier.geo.network import ACCESS_SPEED_KMH, RoadGraph, _m_per_min, _points_xy
from foncier.geo.overlay import require_lambert93

logger = logging.getLogger(__name__)


def commune_centres(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points standing for commune centres.

    Points are kept; polygons become their centroid when it lies inside the commune, else a point on the
    surface (a crescent-shaped commune's centroid may fall in its neighbour).
    """
    require_lambert93(communes, "communes")
    geoms = np.asarray(communes.geometry.values, dtype=object)
    type_ids = shapely.get_type_id(geoms)
    out = geoms.copy()
    poly = type_ids != 0
    if poly.any():
        centroid = shapely.centroid(geoms[poly])
        inside = shapely.contains(geoms[poly], centroid)
        out[poly] = np.where(inside, centroid, shapely.point_on_surface(geoms[poly]))
    return gpd.GeoDataFrame(communes.drop(columns=communes.geometry.name), geometry=out, crs=communes.crs)


def labour_pool(
    sites: gpd.GeoDataFrame,
    graph: RoadGraph,
    communes_centres: gpd.GeoDataFrame,
    *,
    minutes: float = 30.0,
    population_column: str = "population",
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    chunk_size: int = 32,
    full_minutes: float | None = None,
) -> pd.Series:
    """Population of the communes whose centre is within ``minutes`` by road of each site.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Candidate sites (EPSG:2154), routed from their representative point.
    graph : RoadGraph
        Road graph (:func:`foncier.geo.network.build_road_graph`).
    communes_centres : geopandas.GeoDataFrame
        Commune centres (points) with a population column; polygons are replaced by
        :func:`commune_centres`.
    minutes : float, default 30
        Drive-time budget.
    population_column : str, default "population"
        Column holding the population (missing values count as 0).
    access_speed_kmh : float, default 30
        Speed of the straight-line legs between a point and its nearest road node.
    chunk_size : int, default 32
        Commune centres routed per Dijkstra call (memory: ``chunk_size * n_nodes`` floats).
    full_minutes : float, optional
        When given, a distance-decay weighting instead of a hard cut: communes within ``full_minutes`` count
        fully, those beyond ``minutes`` not at all, with a cosine taper in between (see :func:`decay_weight`).

    Returns
    -------
    pandas.Series
        Aligned on ``sites.index`` (float persons):

        .. math:: P_i = \\sum_c p_c \\, w(a_c + D(n_c, n_i) + a_i)

        with :math:`D` the network time from the node nearest the commune centre to the node nearest the
        site, :math:`a` the access legs and :math:`w(t) = [t \\le m]` (hard cut) or :func:`decay_weight`.
        The communes may lie anywhere on the graph (beyond the territory's border too).
    """
    require_lambert93(sites, "sites")
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    if full_minutes is not None and not 0 <= full_minutes <= minutes:
        raise ValueError(f"full_minutes must lie in [0, minutes={minutes}], got {full_minutes}")
    if population_column not in communes_centres:
        raise ValueError(f"communes have no '{population_column}' column")
    centres = communes_centres
    if (shapely.get_type_id(np.asarray(centres.geometry.values, dtype=object)) != 0).any():
        centres = commune_centres(centres)
    v = _m_per_min(access_speed_kmh)
    pop = pd.to_numeric(centres[population_column], errors="coerce").fillna(0).to_numpy(dtype=float)
    total = np.zeros(len(sites), dtype=float)
    if len(sites) == 0 or len(centres) == 0:
        return pd.Series(total, index=sites.index, name="labour_pool")

    c_nodes, c_dist = graph.snap(_points_xy(centres))
    c_off = c_dist / v
    s_nodes, s_dist = graph.snap(_points_xy(sites))
    s_off = s_dist / v
    useful = np.flatnonzero((pop > 0) & (c_off <= minutes))
    logger.debug("labour pool: %d commune centres routed for %d sites", len(useful), len(sites))
    for start in range(0, len(useful), max(1, chunk_size)):
        chunk = useful[start : start + chunk_size]
        times = dijkstra(graph.matrix, directed=True, indices=c_nodes[chunk], limit=float(minutes))
        times = np.asarray(times, dtype=float).reshape(len(chunk), -1)
        at_sites = times[:, s_nodes] + c_off[chunk, None] + s_off[None, :]
        if full_minutes is None:
            total += pop[chunk] @ (at_sites <= minutes)
        else:
            total += pop[chunk] @ decay_weight(at_sites, minutes=minutes, full_minutes=full_minutes)
    return pd.Series(total, index=sites.index, name="labour_pool")


def decay_weight(t: np.ndarray, *, minutes: float, full_minutes: float) -> np.ndarray:
    r"""Distance-decay weight of a commute of ``t`` minutes.

    .. math::

        w(t) = \begin{cases} 1 & t \le t_0 \\
        \tfrac12 \left(1 + \cos \pi \frac{t - t_0}{m - t_0}\right) & t_0 < t < m \\
        0 & t \ge m \end{cases}

    with :math:`t_0` = ``full_minutes`` and :math:`m` = ``minutes``: smooth, decreasing, 1 for a short commute
    and 0 beyond the budget (at the middle of the taper, half the workers would accept the trip). INSEE's
    commuting surveys (Insee Première 1605, 2016) put the median home-work trip in rural and small-town
    France at 20-25 minutes and see few commutes beyond 45 minutes: the defaults are 20 and 45.
    """
    t = np.asarray(t, dtype=float)
    if minutes <= full_minutes:
        return (t <= minutes).astype(float)
    x = np.clip((t - full_minutes) / (minutes - full_minutes), 0.0, 1.0)
    w = 0.5 * (1.0 + np.cos(np.pi * x))
    return np.where(np.isfinite(t), w, 0.0)

"""The criteria table: one row per candidate site, one column per criterion (docs/CONTRACTS.md).

This is the heavy spatial work, done once per data refresh; scoring then only reads this table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from foncier.geo.criteria_catalogue import CRITERIA_NAMES
from foncier.geo.crs import LAMBERT93
from foncier.geo.labour import labour_pool
from foncier.geo.network import (
    ACCESS_SPEED_KMH,
    RoadGraph,
    build_road_graph,
    roissy_hub,
    route_to_hub,
)
from foncier.geo.overlay import (
    distance_to,
    dominant_zoning_detail,
    require_lambert93,
    share_brownfield,
    share_in,
)
from foncier.geo.rail import distance_to_freight_line, siding_flag
from foncier.geo.speeds import SpeedModel, built_up_areas
from foncier.geo.terrain import slope_percent, zonal_slope

logger = logging.getLogger(__name__)

CRITERIA_COLUMNS: tuple[str, ...] = CRITERIA_NAMES
"""Columns of the ``criteria`` table, in order (the index is ``site_id``)."""

Progress = Callable[[str, int, int], None]
"""Progress callback: ``progress(step_description, steps_done, steps_total)``."""

_STEPS = 11

LABOUR_VARIANTS: dict[str, tuple[float, float]] = {"labour_pool_30min": (30.0, 15.0), "labour_pool_60min": (60.0, 30.0)}
"""Labour pools for other commuting times (budget, full-weight minutes): a profile picks its commuting time by
naming one of them instead of ``labour_pool`` (45 min, full weight up to 20)."""

WORKING_AGE_COLUMNS: tuple[str, ...] = ("pop_15_64", "population_15_64")
"""Columns of a communes layer holding the working-age population (INSEE 15-64), preferred to ``population``."""


def labour_population_column(communes: gpd.GeoDataFrame) -> str:
    """The population column the labour pool counts: working-age (15-64) when every commune has it, else
    ``population`` (total population)."""
    for col in WORKING_AGE_COLUMNS:
        if col in communes and pd.to_numeric(communes[col], errors="coerce").notna().all():
            return col
    return "population"


def labour_communes(layers: Mapping[str, gpd.GeoDataFrame | None]) -> gpd.GeoDataFrame | None:
    """The communes of the labour pool: ``communes`` plus ``labour_communes`` (neighbouring departments),
    each INSEE code once (the territory's own row wins)."""
    named = [(n, layers.get(n)) for n in ("communes", "labour_communes")]
    frames = [(n, f) for n, f in named if f is not None and len(f)]
    if not frames:
        return layers.get("communes")
    for name, f in frames:
        require_lambert93(f, name)
    if len(frames) == 1:
        return frames[0][1]
    first = frames[0][1]
    both = pd.concat([f for _, f in frames], ignore_index=True)
    if "insee" in both:
        both = both.drop_duplicates(subset="insee", keep="first")
    return gpd.GeoDataFrame(both, geometry=first.geometry.name, crs=first.crs)


def _layer(layers: Mapping[str, gpd.GeoDataFrame | None], name: str) -> gpd.GeoDataFrame | None:
    """The layer called ``name``, checked for Lambert-93, or None (with a warning) when it is missing."""
    layer = layers.get(name)
    if layer is None:
        logger.warning("layer '%s' is missing: the criteria that need it are NaN", name)
        return None
    require_lambert93(layer, name)
    return layer


def _truthy(col: pd.Series) -> np.ndarray:
    """Boolean view of a flag column (bool, 0/1, "O"/"N", "true"/"false")."""
    if col.dtype == bool:
        return np.asarray(col.to_numpy(dtype=bool), dtype=bool)
    values = col.astype("object").to_numpy()
    truthy = {True, "1", "true", "True", "TRUE", "O", "o", "oui", "Oui", "yes", "Y", "y"}
    return np.array([v in truthy if isinstance(v, str | bool | int | np.integer | np.bool_) else False for v in values])


LAYER_CRITERIA: dict[str, tuple[str, ...]] = {
    "flood": (
        "share_flood_red",
        "share_flood_blue",
        "share_ppr_to_read",
        "share_other_hazard_red",
        "share_other_hazard_blue",
    ),
    "protected": (
        "share_protected",
        "share_natura2000_habitats",
        "share_natura2000_birds",
        "share_znieff1",
        "share_znieff2",
        "dist_natura2000_m",
        "share_strict_protection",
    ),
    "prescriptions": ("share_ebc", "share_no_build_prescription", "share_reserved_location"),
    "plu": ("zoning_class", "zoning_presumed"),
}
"""Criteria computed from each constraint layer: NaN (unverified) when the layer is missing or does not
cover the site."""

ECOLOGY_KINDS: tuple[str, ...] = ("natura2000_sic", "natura2000_zps", "znieff1", "znieff2")
"""Kinds of the ``protected`` layer that are zones à enjeux écologiques (inventories, incidence assessment)."""

STRICT_KINDS: tuple[str, ...] = ("rnn", "rnr", "pn_coeur", "apb")
"""Kinds of the ``protected`` layer that forbid building: national/regional nature reserves, national park
cores, biotope protection orders."""


def _kind_mask(layer: gpd.GeoDataFrame, column: str, values: tuple[str, ...]) -> pd.Series:
    if column not in layer:
        return pd.Series(False, index=layer.index)
    return layer[column].astype("string").str.lower().isin([v.lower() for v in values]).fillna(False)


def hazard_shares(sites: gpd.GeoDataFrame, flood: gpd.GeoDataFrame) -> dict[str, pd.Series]:
    """Shares of each site in the PPR zones of the ``flood`` layer, by level and hazard.

    ``level`` is red (interdiction), blue (prescriptions) or to_read (rule not classified, see
    :func:`foncier.geo.hazards.classify_ppr`); ``hazard`` (flood, ground_movement, technological, other;
    "flood" when the column is absent) keeps flood apart from the other risks:

    - ``share_flood_red`` / ``share_flood_blue``: :math:`|S \\cap \\bigcup Z_{level, flood}| / |S|`;
    - ``share_other_hazard_red`` / ``share_other_hazard_blue``: the same for the other hazards;
    - ``share_ppr_to_read``: the same for the zones whose rule is to read, any hazard.
    """
    if "level" not in flood:
        raise ValueError("flood layer has no 'level' column")
    level = flood["level"].astype("string").str.lower()
    if "hazard" in flood:
        is_flood = flood["hazard"].astype("string").str.lower().fillna("flood").eq("flood")
    else:
        is_flood = pd.Series(True, index=flood.index)
    red, blue = level.eq("red").fillna(False), level.eq("blue").fillna(False)
    return {
        "share_flood_red": share_in(sites, flood, where=red & is_flood),
        "share_flood_blue": share_in(sites, flood, where=blue & is_flood),
        "share_other_hazard_red": share_in(sites, flood, where=red & ~is_flood),
        "share_other_hazard_blue": share_in(sites, flood, where=blue & ~is_flood),
        "share_ppr_to_read": share_in(sites, flood, where=level.eq("to_read").fillna(False)),
    }


def ecology_criteria(sites: gpd.GeoDataFrame, protected: gpd.GeoDataFrame) -> dict[str, pd.Series]:
    """Ecology criteria as the law frames them, from the ``protected`` layer (column ``kind``).

    - ``share_natura2000_habitats`` (kind natura2000_sic), ``share_natura2000_birds`` (natura2000_zps),
      ``share_znieff1``, ``share_znieff2``: area shares (:func:`~foncier.geo.overlay.share_in`);
    - ``share_protected``: share in the union of those four (zones à enjeux écologiques);
    - ``dist_natura2000_m``: :math:`\\min_k d(S, N_k)` over Natura 2000 sites (0 inside; NaN when the layer
      holds none);
    - ``share_strict_protection``: share in :data:`STRICT_KINDS` (reserves, park cores, APB).
    """
    kind = "kind"
    natura = _kind_mask(protected, kind, ("natura2000_sic", "natura2000_zps"))
    out = {
        "share_natura2000_habitats": share_in(sites, protected, where=_kind_mask(protected, kind, ("natura2000_sic",))),
        "share_natura2000_birds": share_in(sites, protected, where=_kind_mask(protected, kind, ("natura2000_zps",))),
        "share_znieff1": share_in(sites, protected, where=_kind_mask(protected, kind, ("znieff1",))),
        "share_znieff2": share_in(sites, protected, where=_kind_mask(protected, kind, ("znieff2",))),
        "share_protected": share_in(sites, protected, where=_kind_mask(protected, kind, ECOLOGY_KINDS)),
        "share_strict_protection": share_in(sites, protected, where=_kind_mask(protected, kind, STRICT_KINDS)),
    }
    if natura.any():
        out["dist_natura2000_m"] = distance_to(sites, protected, where=natura)
    else:
        out["dist_natura2000_m"] = pd.Series(np.nan, index=sites.index)
    return out


PRESCRIPTION_KINDS: tuple[str, ...] = ("ebc", "no_build", "reserved_location")
"""Kinds of the ``prescriptions`` layer (see :func:`foncier.geo.hazards.prescription_kind`)."""


def prescription_shares(sites: gpd.GeoDataFrame, prescriptions: gpd.GeoDataFrame) -> dict[str, pd.Series]:
    """Shares of each site in the PLU prescriptions that forbid or burden building (column ``kind``):
    ``share_ebc`` (ebc), ``share_no_build_prescription`` (no_build), ``share_reserved_location``
    (reserved_location); each :math:`|S \\cap \\bigcup P_{kind}| / |S|`."""
    return {
        "share_ebc": share_in(sites, prescriptions, where=_kind_mask(prescriptions, "kind", ("ebc",))),
        "share_no_build_prescription": share_in(
            sites, prescriptions, where=_kind_mask(prescriptions, "kind", ("no_build",))
        ),
        "share_reserved_location": share_in(
            sites, prescriptions, where=_kind_mask(prescriptions, "kind", ("reserved_location",))
        ),
    }


def _blank_uncovered(sites: gpd.GeoDataFrame, out: pd.DataFrame, coverage: Mapping[str, Any]) -> None:
    """Set to NaN the criteria of each layer for the sites not wholly inside that layer's coverage."""
    geoms = np.asarray(sites.geometry.values, dtype=object)
    for layer, area in coverage.items():
        if area is None or layer not in LAYER_CRITERIA:
            continue
        shapely.prepare(area)
        outside = ~np.asarray(shapely.covers(area, geoms), dtype=bool)
        if outside.any():
            logger.warning("%s: %d site(s) outside the layer's coverage: its criteria are unverified", layer,
                           int(outside.sum()))  # fmt: skip
            for col in LAYER_CRITERIA[layer]:
                out.loc[outside, col] = np.nan


def compute_criteria(
    sites: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame | None],
    dem: tuple[np.ndarray, Affine] | None,
    *,
    graph: RoadGraph | None = None,
    progress: Progress | None = None,
    dem_nodata: float | None = -9999.0,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    labour_minutes: float = 45.0,
    roissy_hub_id: str = "CDG",
    coverage: Mapping[str, Any] | None = None,
    hgv_graph: RoadGraph | None = None,
    speed_model: SpeedModel | None = None,
    labour_full_minutes: float = 20.0,
) -> pd.DataFrame:
    """Compute every criterion of every candidate site.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        The ``sites`` layer (:func:`foncier.geo.sites.candidate_sites`), EPSG:2154, with ``site_id``
        (else the index is used) and optionally ``area_m2``.
    layers : mapping of str to GeoDataFrame
        Canonical layers by name (docs/CONTRACTS.md). Used: ``roads`` (unless ``graph``), ``hubs``,
        ``interchanges``, ``rail_stations``, ``zones``, ``friches`` (+ ``parcels`` for point friches),
        ``flood``, ``protected``, ``plu``, ``communes``. A missing (absent or None) layer gives NaN in the
        criteria that need it and a logged warning; a present but empty layer is a real answer (share 0,
        zoning "none", distance NaN).
    dem : (numpy.ndarray, affine.Affine) or None
        Elevations (metres, EPSG:2154) and their transform; None gives NaN slopes.
    graph : RoadGraph, optional
        A compiled car road graph; built from ``layers["roads"]`` when not given, with the calibrated speeds
        of ``speed_model`` (default :data:`foncier.geo.speeds.DEFAULT_SPEED_MODEL`) and the built-up areas
        of the ``communes`` (:func:`foncier.geo.speeds.built_up_areas`).
    progress : callable, optional
        Called as ``progress(step, done, total)`` after each step.
    dem_nodata : float, optional
        Nodata value of the DEM (the workspace stores -9999).
    access_speed_kmh, labour_minutes, labour_full_minutes, roissy_hub_id
        See :func:`foncier.geo.network.time_to_hub` and :func:`foncier.geo.labour.labour_pool` (decay from
        ``labour_full_minutes`` to ``labour_minutes``).
    hgv_graph : RoadGraph, optional
        The heavy goods vehicle graph; built from ``layers["roads"]`` when not given (NaN lorry times when
        there are no roads to build it from).
    speed_model : SpeedModel, optional
        The speed calibration of the graphs built here.
    coverage : mapping of str to shapely geometry, optional
        Area (EPSG:2154) each constraint layer actually covers (``flood``, ``protected``, ``prescriptions``,
        ``plu``), e.g. the communes whose fetch succeeded. The criteria of that layer are NaN -- the
        constraint unverified -- for sites not wholly inside it (:data:`LAYER_CRITERIA`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``site_id``, with exactly :data:`CRITERIA_COLUMNS`:

        - ``time_to_roissy_min``: :func:`~foncier.geo.network.time_to_hub` to hub "CDG";
        - ``time_to_interchange_min``: same to the nearest point of ``interchanges`` (fallback: hubs of kind
          "interchange");
        - ``dist_freight_station_m``: :func:`~foncier.geo.overlay.distance_to` the ``rail_stations`` with
          ``fret`` true (fallback: hubs of kind "freight_station");
        - ``dist_zone_activite_m``: distance to the nearest zone d'activite (0 inside);
        - ``share_brownfield``: area share;
        - PPR shares (:func:`hazard_shares`), ecology criteria (:func:`ecology_criteria`), PLU prescriptions
          (:func:`prescription_shares`);
        - ``zoning_class``, ``zoning_presumed``: :func:`~foncier.geo.overlay.dominant_zoning_detail`;
        - ``slope_mean_pct``, ``slope_max_pct``: :func:`~foncier.geo.terrain.zonal_slope` of the Horn slope;
        - ``area_m2``: the site's ``area_m2`` column, else its geometry area;
        - ``labour_pool``: :func:`~foncier.geo.labour.labour_pool` with distance decay, over ``communes``
          and ``labour_communes`` (neighbouring departments), working-age population when given
          (:func:`labour_population_column`);
        - ``time_to_roissy_hgv_min``, ``time_to_interchange_hgv_min``: same for a heavy goods vehicle;
        - ``time_to_freight_station_min`` / ``_hgv_min``: by road to the nearest freight station;
        - ``aeroport_dist``, ``autoroute_echang_dist``, ``gare_fret_dist``: km along the fastest car route
          (:func:`~foncier.geo.network.route_to_hub`), CNIG SITE-ECO names;
        - ``dist_freight_line_m``: :func:`~foncier.geo.rail.distance_to_freight_line` (``rail_lines``);
        - ``reseau_fret_ferroviaire``: :func:`~foncier.geo.rail.siding_flag` (``zones`` inventory).
    """
    require_lambert93(sites, "sites")
    if "site_id" in sites:
        index = pd.Index(sites["site_id"].astype(str), name="site_id")
    else:
        index = pd.Index(sites.index.astype(str), name="site_id")
    if index.has_duplicates:
        raise ValueError("site ids must be unique")
    sites = sites.reset_index(drop=True)
    out = pd.DataFrame(index=pd.RangeIndex(len(sites)))
    for col in CRITERIA_COLUMNS:
        out[col] = pd.Series(np.nan, index=out.index, dtype=object if col == "zoning_class" else float)
    done = 0
    timings: dict[str, float] = {}

    def step(name: str, t0: float) -> None:
        nonlocal done
        done += 1
        timings[name] = time.perf_counter() - t0
        if progress is not None:
            progress(name, done, _STEPS)

    # --- roads: travel times and labour pool ---------------------------------------------------------
    t0 = time.perf_counter()
    if graph is None or hgv_graph is None:
        roads = _layer(layers, "roads") if graph is None else layers.get("roads")
        built_up = None
        communes_layer = layers.get("communes")
        if communes_layer is not None and len(communes_layer) and "population" in communes_layer:
            built_up = built_up_areas(communes_layer)
        if roads is not None and len(roads):
            if graph is None:
                graph = build_road_graph(roads, vehicle="car", speed_model=speed_model, built_up=built_up)
            if hgv_graph is None:
                hgv_graph = build_road_graph(roads, vehicle="hgv", speed_model=speed_model, built_up=built_up)
        elif roads is not None:
            logger.warning("roads layer is empty: travel times and labour pool are NaN")
    step("road graph", t0)

    t0 = time.perf_counter()
    hubs = _layer(layers, "hubs")
    if graph is not None and hubs is not None:
        cdg = roissy_hub(hubs, hub_id=roissy_hub_id)
        if cdg is None:
            logger.warning("hub '%s' (Paris-CDG) not in the hubs layer: time_to_roissy_min is NaN", roissy_hub_id)
        else:
            route = route_to_hub(sites, graph, cdg, access_speed_kmh=access_speed_kmh)
            out["time_to_roissy_min"] = route["minutes"].to_numpy()
            out["aeroport_dist"] = route["km"].to_numpy()
            if hgv_graph is not None:
                hgv = route_to_hub(sites, hgv_graph, cdg, access_speed_kmh=access_speed_kmh)
                out["time_to_roissy_hgv_min"] = hgv["minutes"].to_numpy()
    step("time to Roissy", t0)

    t0 = time.perf_counter()
    interchanges = layers.get("interchanges")
    if interchanges is None and hubs is not None and "kind" in hubs:
        interchanges = hubs[hubs["kind"].astype(str) == "interchange"]
        if len(interchanges):
            logger.warning("no interchanges layer: using the %d hubs of kind 'interchange'", len(interchanges))
        else:
            interchanges = None
    if interchanges is None:
        logger.warning("layer 'interchanges' is missing: time_to_interchange_min is NaN")
    elif graph is not None:
        require_lambert93(interchanges, "interchanges")
        if len(interchanges):
            route = route_to_hub(sites, graph, interchanges, access_speed_kmh=access_speed_kmh)
            out["time_to_interchange_min"] = route["minutes"].to_numpy()
            out["autoroute_echang_dist"] = route["km"].to_numpy()
            if hgv_graph is not None:
                hgv = route_to_hub(sites, hgv_graph, interchanges, access_speed_kmh=access_speed_kmh)
                out["time_to_interchange_hgv_min"] = hgv["minutes"].to_numpy()
    step("time to interchange", t0)

    t0 = time.perf_counter()
    freight: gpd.GeoDataFrame | None = None
    stations = layers.get("rail_stations")
    if stations is not None:
        require_lambert93(stations, "rail_stations")
        freight = stations[_truthy(stations["fret"])] if "fret" in stations else stations.iloc[:0]
    elif hubs is not None and "kind" in hubs:
        freight = hubs[hubs["kind"].astype(str) == "freight_station"]
        logger.warning("no rail_stations layer: using the %d hubs of kind 'freight_station'", len(freight))
    else:
        logger.warning("layer 'rail_stations' is missing: dist_freight_station_m is NaN")
    if freight is not None:
        out["dist_freight_station_m"] = distance_to(sites, freight).to_numpy()
        if graph is not None and len(freight):
            route = route_to_hub(sites, graph, freight, access_speed_kmh=access_speed_kmh)
            out["time_to_freight_station_min"] = route["minutes"].to_numpy()
            out["gare_fret_dist"] = route["km"].to_numpy()
            if hgv_graph is not None:
                hgv = route_to_hub(sites, hgv_graph, freight, access_speed_kmh=access_speed_kmh)
                out["time_to_freight_station_hgv_min"] = hgv["minutes"].to_numpy()
    zones = _layer(layers, "zones")
    if zones is not None:
        out["dist_zone_activite_m"] = distance_to(sites, zones).to_numpy()
    step("distances", t0)

    t0 = time.perf_counter()
    friches = _layer(layers, "friches")
    if friches is not None:
        parcels = layers.get("parcels")
        out["share_brownfield"] = share_brownfield(sites, friches, parcels=parcels).to_numpy()
    step("brownfields", t0)

    t0 = time.perf_counter()
    flood = _layer(layers, "flood")
    if flood is not None:
        for col, values in hazard_shares(sites, flood).items():
            out[col] = values.to_numpy()
    step("flood", t0)

    t0 = time.perf_counter()
    protected = _layer(layers, "protected")
    if protected is not None:
        for col, values in ecology_criteria(sites, protected).items():
            out[col] = values.to_numpy()
    prescriptions = _layer(layers, "prescriptions")
    if prescriptions is not None:
        for col, values in prescription_shares(sites, prescriptions).items():
            out[col] = values.to_numpy()
    step("protected areas", t0)

    t0 = time.perf_counter()
    plu = _layer(layers, "plu")
    if plu is not None:
        zoning = dominant_zoning_detail(sites, plu)
        out["zoning_class"] = zoning["zoning_class"].to_numpy()
        out["zoning_presumed"] = zoning["zoning_presumed"].to_numpy()
    step("zoning", t0)

    if coverage:
        _blank_uncovered(sites, out, coverage)

    t0 = time.perf_counter()
    if dem is None:
        logger.warning("no DEM: slope_mean_pct and slope_max_pct are NaN")
    else:
        array, transform = dem
        slope = slope_percent(array, transform, nodata=dem_nodata)
        zs = zonal_slope(sites, slope, transform, LAMBERT93)
        out["slope_mean_pct"] = zs["slope_mean_pct"].to_numpy()
        out["slope_max_pct"] = zs["slope_max_pct"].to_numpy()
    step("slope", t0)

    t0 = time.perf_counter()
    if "area_m2" in sites:
        out["area_m2"] = pd.to_numeric(sites["area_m2"], errors="coerce").to_numpy(dtype=float)
    else:
        out["area_m2"] = sites.geometry.area.to_numpy()
    _layer(layers, "communes")
    communes = labour_communes(layers)
    if graph is not None and communes is not None:
        out["labour_pool"] = labour_pool(
            sites,
            graph,
            communes,
            minutes=labour_minutes,
            full_minutes=labour_full_minutes,
            population_column=labour_population_column(communes),
            access_speed_kmh=access_speed_kmh,
        ).to_numpy()
        for column, (budget, full) in LABOUR_VARIANTS.items():  # other commuting times a profile may choose
            out[column] = labour_pool(
                sites,
                graph,
                communes,
                minutes=budget,
                full_minutes=full,
                population_column=labour_population_column(communes),
                access_speed_kmh=access_speed_kmh,
            ).to_numpy()
    step("labour pool", t0)

    t0 = time.perf_counter()
    rail_lines = layers.get("rail_lines")
    if rail_lines is None:
        logger.warning("layer 'rail_lines' is missing: dist_freight_line_m is NaN")
    else:
        out["dist_freight_line_m"] = distance_to_freight_line(sites, rail_lines).to_numpy()
    out["reseau_fret_ferroviaire"] = siding_flag(sites, zones).to_numpy()
    step("rail freight", t0)

    logger.info(
        "criteria for %d sites in %.1f s (%s)",
        len(sites),
        sum(timings.values()),
        ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()),
    )
    out.index = index
    return out[list(CRITERIA_COLUMNS)]

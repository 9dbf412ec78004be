"""OpenStreetMap extracts (.osm.pbf) to the canonical ``roads`` and ``interchanges`` layers.

Read with pyosmium in two streaming passes over each extract:

1. ways tagged ``highway`` (no locations): count how many kept road ways use each node, note the nodes of
   motorways/trunks and of their links, and collect ``highway=motorway_junction`` nodes;
2. the same ways with node locations: cut every way at the nodes it shares with another way (so that
   each piece runs between two junctions and the layer is a routable graph as it is), and keep the pieces
   inside the area of interest.

Roads: ``road_id`` = ``w{way id}-{piece}`` (stable across runs), ``class`` = the ``highway`` value (only
:data:`foncier.layers.schemas.ROAD_CLASSES`; footways, cycleways, paths, planned roads... are dropped),
``speed_kmh`` from ``maxspeed`` (numbers, mph, ``FR:urban``/``FR:rural``/``FR:motorway``/``FR:zone30``...)
or :data:`CLASS_SPEEDS_KMH`, capped to 5..150, and ``oneway`` (``yes``/``true``/``1``; ``-1`` reverses the
line; implied on motorways, motorway links and roundabouts unless ``oneway=no``), plus ``nom`` and ``ref``.

Interchanges: ``highway=motorway_junction`` nodes on a motorway or trunk (or their links), and the points
where a motorway/trunk link meets its main road when no tagged junction lies within
:data:`INTERCHANGE_MERGE_M` (trunk junctions are often untagged). ``interchange_id`` = ``n{node id}``.
"""

from __future__ import annotations

import itertools
import logging
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.errors import DataFormatError
from foncier.geo.crs import LAMBERT93, WGS84
from foncier.geo.network import DEFAULT_SPEEDS_KMH
from foncier.layers.schemas import ROAD_CLASSES

logger = logging.getLogger(__name__)

CLASS_SPEEDS_KMH = DEFAULT_SPEEDS_KMH
"""Speeds (km/h) by class when ``maxspeed`` is absent or unreadable: the road graph's own defaults."""

MAJOR_CLASSES = frozenset({"motorway", "trunk", "primary", "motorway_link", "trunk_link", "primary_link"})
"""Classes kept outside the territory's margin (the roads leading to the hubs)."""

INTERCHANGE_MERGE_M = 1000.0
"""An untagged link junction closer than this to a kept interchange is the same interchange."""

_FR_ZONES = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:trunk": 110.0,
    "fr:motorway": 130.0,
    "fr:zone30": 30.0,
    "fr:zone 30": 30.0,
    "fr:zone20": 20.0,
    "fr:walk": 6.0,
    "fr:living_street": 20.0,
    "walk": 6.0,
}
_NUMBER_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
_ONEWAY_TRUE = {"yes", "true", "1"}
_ONEWAY_FALSE = {"no", "false", "0", "reversible", "alternating"}
_MIN_SPEED, _MAX_SPEED = 5.0, 150.0

BBox = tuple[float, float, float, float]
"""(lon_min, lat_min, lon_max, lat_max)."""


def parse_maxspeed(value: str | None) -> float | None:
    """Speed in km/h from an OSM ``maxspeed`` value, or None when absent or unusable.

    Examples
    --------
    >>> parse_maxspeed("70"), parse_maxspeed("30 mph"), parse_maxspeed("FR:urban"), parse_maxspeed("none")
    (70.0, 48.3, 50.0, None)
    """
    if not value:
        return None
    v = value.split(";")[0].strip()
    zone = _FR_ZONES.get(v.lower())
    if zone is not None:
        return zone
    m = _NUMBER_RE.match(v)
    if not m:
        return None
    speed = float(m.group(1).replace(",", "."))
    if (m.group(2) or "").lower() == "mph":
        speed = round(speed * 1.609344, 1)
    return speed if speed > 0 else None


def road_speed(highway: str, maxspeed: str | None) -> float:
    """Speed of a road (km/h): ``maxspeed`` when readable, else the class default, within 5..150."""
    speed = parse_maxspeed(maxspeed)
    if speed is None:
        speed = CLASS_SPEEDS_KMH.get(highway, 30.0)
    return float(min(max(speed, _MIN_SPEED), _MAX_SPEED))


def parse_oneway(highway: str, oneway: str | None, junction: str | None = None) -> tuple[bool, bool]:
    """``(oneway, reversed)`` of a way from its ``highway``, ``oneway`` and ``junction`` tags.

    ``oneway=-1`` means one-way against the drawing direction (the line is then reversed); motorways,
    motorway links and roundabouts are one-way unless tagged ``oneway=no``.
    """
    v = (oneway or "").strip().lower()
    if v == "-1":
        return True, True
    if v in _ONEWAY_TRUE:
        return True, False
    if v in _ONEWAY_FALSE:
        return False, False
    implied = highway in ("motorway", "motorway_link") or (junction or "").lower() in ("roundabout", "circular")
    return implied, False


def _intersects(b: BBox | None, lon: np.ndarray, lat: np.ndarray) -> bool:
    if b is None:
        return False
    return bool(lon.max() >= b[0] and lon.min() <= b[2] and lat.max() >= b[1] and lat.min() <= b[3])


@dataclass
class _Scan:
    """What pass 1 learns."""

    refs: array[int] = field(default_factory=lambda: array("q"))
    seen: set[int] = field(default_factory=set)
    main_nodes: dict[int, str] = field(default_factory=dict)  # node -> motorway/trunk
    link_ends: dict[int, str] = field(default_factory=dict)  # link end node -> motorway/trunk
    link_nodes: dict[int, str] = field(default_factory=dict)  # any node of a link -> motorway/trunk
    junctions: dict[int, tuple[float, float, str | None, str | None]] = field(default_factory=dict)


def _keep_highway(tags: object) -> str | None:
    get = tags.get  # type: ignore[attr-defined]
    hw = get("highway")
    if hw not in ROAD_CLASSES or get("area") == "yes":
        return None
    return str(hw)


def _scan(paths: Sequence[Path]) -> _Scan:
    import osmium

    scan = _Scan()
    for path in paths:
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_filter(
            osmium.filter.KeyFilter("highway")
        )
        for obj in fp:
            if isinstance(obj, osmium.osm.Node):
                if obj.tags.get("highway") == "motorway_junction" and obj.location.valid():
                    scan.junctions[obj.id] = (
                        obj.location.lon,
                        obj.location.lat,
                        obj.tags.get("name"),
                        obj.tags.get("ref"),
                    )
                continue
            if not isinstance(obj, osmium.osm.Way):
                continue
            hw = _keep_highway(obj.tags)
            if hw is None or obj.id in scan.seen:
                continue
            scan.seen.add(obj.id)
            refs = [n.ref for n in obj.nodes]
            scan.refs.extend(refs)
            if hw in ("motorway", "trunk"):
                for r in refs:
                    if scan.main_nodes.get(r) != "motorway":
                        scan.main_nodes[r] = hw
            elif hw in ("motorway_link", "trunk_link") and refs:
                main = hw.removesuffix("_link")
                for r in refs:
                    scan.link_nodes.setdefault(r, main)
                scan.link_ends.setdefault(refs[0], main)
                scan.link_ends.setdefault(refs[-1], main)
    return scan


@dataclass
class _Pieces:
    ids: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    oneway: list[bool] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    refs: list[str | None] = field(default_factory=list)
    coords: list[np.ndarray] = field(default_factory=list)


def _cut_positions(node_ids: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Indices where a way is cut: its ends and its interior nodes shared with other ways."""
    n = len(node_ids)
    interior = np.flatnonzero(np.isin(node_ids[1:-1], shared)) + 1 if n > 2 else np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate([[0], interior, [n - 1]]))


def _build(
    paths: Sequence[Path], shared: np.ndarray, bbox: BBox | None, major_bbox: BBox | None, scan: _Scan
) -> tuple[_Pieces, set[int], dict[int, tuple[float, float]]]:
    import osmium

    out = _Pieces()
    done: set[int] = set()
    kept_nodes: set[int] = set()
    node_xy: dict[int, tuple[float, float]] = {}
    for path in paths:
        fp = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way):
                continue
            hw = _keep_highway(obj.tags)
            if hw is None or obj.id in done:
                continue
            done.add(obj.id)
            ids, lons, lats = [], [], []
            for n in obj.nodes:
                loc = n.location
                if loc.valid():
                    ids.append(n.ref)
                    lons.append(loc.lon)
                    lats.append(loc.lat)
            if len(ids) < 2:
                continue
            lon = np.asarray(lons)
            lat = np.asarray(lats)
            inside = bbox is None or _intersects(bbox, lon, lat)
            if not inside and not (hw in MAJOR_CLASSES and _intersects(major_bbox, lon, lat)):
                continue
            tags = obj.tags
            oneway, reverse = parse_oneway(hw, tags.get("oneway"), tags.get("junction"))
            speed = road_speed(hw, tags.get("maxspeed"))
            name, ref = tags.get("name"), tags.get("ref")
            node_ids = np.asarray(ids, dtype=np.int64)
            xy = np.column_stack([lon, lat])
            cuts = _cut_positions(node_ids, shared)
            kept_nodes.update(ids)
            for pos, nid in enumerate(ids):
                if nid in scan.link_ends:
                    node_xy[nid] = (lons[pos], lats[pos])
            for k, (i, j) in enumerate(itertools.pairwise(cuts)):
                piece = xy[i : j + 1]
                if len(piece) < 2 or np.all(piece == piece[0]):
                    continue
                out.ids.append(f"w{obj.id}-{k}")
                out.classes.append(hw)
                out.speeds.append(speed)
                out.oneway.append(oneway)
                out.names.append(name)
                out.refs.append(ref)
                out.coords.append(piece[::-1] if reverse else piece)
    return out, kept_nodes, node_xy


def _interchanges(scan: _Scan, kept_nodes: set[int], node_xy: dict[int, tuple[float, float]]) -> gpd.GeoDataFrame:
    rows: list[dict[str, object]] = []
    for nid, (lon, lat, name, ref) in scan.junctions.items():
        if nid not in kept_nodes:
            continue
        road_class = scan.main_nodes.get(nid) or scan.link_nodes.get(nid)
        if road_class is None:
            logger.debug("motorway_junction n%d is on no motorway/trunk; ignored", nid)
            continue
        rows.append({"interchange_id": f"n{nid}", "nom": name or (f"sortie {ref}" if ref else None),
                     "road_class": road_class, "source": "motorway_junction", "lon": lon, "lat": lat})  # fmt: skip
    # untagged: a link's end on its main road
    for nid in scan.link_ends:
        if nid in scan.junctions or nid not in kept_nodes or nid not in node_xy:
            continue
        road_class = scan.main_nodes.get(nid)
        if road_class is None:
            continue
        lon, lat = node_xy[nid]
        rows.append({"interchange_id": f"n{nid}", "nom": None, "road_class": road_class,
                     "source": "link", "lon": lon, "lat": lat})  # fmt: skip
    if not rows:
        return gpd.GeoDataFrame(
            {"interchange_id": pd.Series(dtype="string"), "nom": pd.Series(dtype="string"),
             "road_class": pd.Series(dtype="string"), "source": pd.Series(dtype="string")},
            geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84,
        ).to_crs(LAMBERT93)  # fmt: skip
    frame = pd.DataFrame(rows)
    gdf = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=WGS84
    ).to_crs(LAMBERT93)
    # tagged junctions first, then link junctions far enough from every kept point (greedy)
    order = np.argsort((gdf["source"] != "motorway_junction").to_numpy(), kind="stable")
    gdf = gdf.iloc[order].reset_index(drop=True)
    xy = shapely.get_coordinates(gdf.geometry.to_numpy())
    keep = np.zeros(len(gdf), dtype=bool)
    kept_xy: list[np.ndarray] = []
    for i in range(len(gdf)):
        if gdf["source"].iat[i] == "motorway_junction":
            keep[i] = True
            kept_xy.append(xy[i])
            continue
        if kept_xy and np.min(np.hypot(*(np.asarray(kept_xy) - xy[i]).T)) < INTERCHANGE_MERGE_M:
            continue
        keep[i] = True
        kept_xy.append(xy[i])
    return gdf[keep].reset_index(drop=True)


def read_osm_roads(
    paths: Sequence[str | Path],
    *,
    bbox: BBox | None = None,
    major_bbox: BBox | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the roads and interchanges of one or several OSM extracts (EPSG:2154, not yet validated).

    Parameters
    ----------
    paths : sequence of path
        ``.osm.pbf`` (or any format libosmium reads) files; ways present in several are read once.
    bbox : (lon_min, lat_min, lon_max, lat_max), optional
        Keep every road class intersecting this box (default: everything).
    major_bbox : (lon_min, lat_min, lon_max, lat_max), optional
        Also keep the roads of :data:`MAJOR_CLASSES` intersecting this (larger) box: the way to the hubs.

    Returns
    -------
    (roads, interchanges) : tuple of geopandas.GeoDataFrame
        In EPSG:2154 with the canonical columns (see the module docstring); interchanges carry an extra
        ``source`` column (``motorway_junction`` or ``link``).

    Raises
    ------
    foncier.errors.DataFormatError
        When a file cannot be read by libosmium or holds no road.
    """
    files = [Path(p) for p in paths]
    try:
        scan = _scan(files)
        refs = np.frombuffer(scan.refs, dtype=np.int64) if len(scan.refs) else np.empty(0, dtype=np.int64)
        uniq, counts = np.unique(refs, return_counts=True)
        shared = uniq[counts >= 2]
        logger.info("osm: %d road ways, %d junction nodes", len(scan.seen), len(shared))
        pieces, kept_nodes, node_xy = _build(files, shared, bbox, major_bbox, scan)
    except RuntimeError as exc:  # libosmium reports unreadable files as RuntimeError
        raise DataFormatError(f"cannot read OpenStreetMap extract(s) {', '.join(map(str, files))}: {exc}") from None
    if not pieces.ids:
        raise DataFormatError(f"no road in the area of interest of {', '.join(map(str, files))}")
    offsets = np.cumsum([0] + [len(c) for c in pieces.coords])
    flat = np.concatenate(pieces.coords)
    index = np.repeat(np.arange(len(pieces.coords)), np.diff(offsets))
    lines = shapely.linestrings(flat, indices=index)
    roads = gpd.GeoDataFrame(
        {
            "road_id": pd.array(pieces.ids, dtype="string"),
            "class": pd.array(pieces.classes, dtype="string"),
            "speed_kmh": np.asarray(pieces.speeds, dtype="float64"),
            "oneway": np.asarray(pieces.oneway, dtype=bool),
            "nom": pd.array(pieces.names, dtype="string"),
            "ref": pd.array(pieces.refs, dtype="string"),
        },
        geometry=lines,
        crs=WGS84,
    ).to_crs(LAMBERT93)
    interchanges = _interchanges(scan, kept_nodes, node_xy)
    logger.info("osm: %d road pieces, %d interchanges", len(roads), len(interchanges))
    return roads, interchanges


def extract_date(path: str | Path) -> str | None:
    """Date of the data of an OSM extract (its header's replication timestamp), or None."""
    import osmium

    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            stamp = reader.header().get("osmosis_replication_timestamp")
        finally:
            reader.close()
    except RuntimeError:
        return None
    return stamp[:10] if stamp else None

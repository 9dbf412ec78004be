"""Land use of the sample territory: zones d'activite, brownfields (friches), woods and the PLU zoning.

The plan follows how the Soissonnais is built: each commune has an urban core (``UA``) and recent extensions
(``UB``) around its centre, sized by its real population, sometimes a hamlet; economic zones (``UX``) are the
zones d'activite around Soissons, Villers-Cotterets, Vic-sur-Aisne, Oulchy-le-Chateau and the bourgs, plus
small artisanal zones at the edge of larger villages; extension zones (``1AUx``/``2AUx`` for business,
``1AU``/``2AU`` for housing) border them; the Foret de Retz around Villers-Cotterets, woods on the valley sides
and the flood-prone valley floors are natural zones (``N``); the rest is agricultural (``A``).

The PLU layer is the overlay of these features by priority (UX > AUx > UA > UB > AU > Nf > N > A), cut by
commune, so its polygons never overlap and cover the whole territory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from foncier.geo.crs import LAMBERT93
from foncier.layers.sample._geom import (
    FloatArray,
    GeomArray,
    blobs,
    lonlat_to_l93,
    oriented_rectangles,
    polygon_parts,
)
from foncier.layers.sample.rivers import River

logger = logging.getLogger(__name__)

#: Spacing of the streets that divide a zone d'activite into blocks (m).
ZA_STREET_SPACING_M = 300.0


@dataclass(frozen=True)
class _ZoneSpec:
    """A zone d'activite: host commune, name, centre, area (ha), shape, kind and extension zoning."""

    insee: str
    nom: str
    lon: float
    lat: float
    area_ha: float
    aspect: float
    angle_deg: float
    kind: str
    extension: str | None = None  # "1AUx", "2AUx" or None


_ZONES: tuple[_ZoneSpec, ...] = (
    _ZoneSpec(
        "02805", "Zone industrielle de Villeneuve-Saint-Germain", 3.378, 49.371, 55, 1.6, 12, "industrial", "1AUx"
    ),
    _ZoneSpec("02722", "Parc d'activités Gouraud", 3.321, 49.364, 32, 1.3, -20, "mixed"),
    _ZoneSpec("02245", "Zone industrielle de Cuffies", 3.332, 49.422, 45, 1.5, 70, "logistics", "1AUx"),
    _ZoneSpec(
        "02477",
        "Parc d'activités du Plateau (Mercin-et-Vaux / Vauxbuin)",
        3.276,
        49.352,
        80,
        1.4,
        35,
        "logistics",
        "1AUx",
    ),
    _ZoneSpec("02243", "Zone industrielle de Crouy", 3.352, 49.398, 38, 1.8, 5, "industrial"),
    _ZoneSpec("02226", "Parc d'activités de l'Aérodrome (Courmelles)", 3.290, 49.334, 26, 1.4, -10, "mixed", "2AUx"),
    _ZoneSpec("02089", "Zone d'activités de Billy-sur-Aisne", 3.389, 49.349, 20, 1.3, 25, "artisanal"),
    _ZoneSpec("02131", "Pôle agro-industriel de Bucy-le-Long", 3.414, 49.392, 24, 1.7, -8, "agri-food"),
    _ZoneSpec("02810", "Zone industrielle de Villers-Cotterêts Nord", 3.083, 49.262, 50, 1.5, 80, "industrial", "1AUx"),
    _ZoneSpec(
        "02810",
        "Parc d'activités de Villers-Cotterêts Sud (Pisseleux)",
        3.098,
        49.222,
        40,
        1.6,
        20,
        "logistics",
        "1AUx",
    ),
    _ZoneSpec(
        "02795", "Zone d'activités du Val de l'Aisne (Vic-sur-Aisne)", 3.096, 49.422, 16, 1.5, 0, "mixed", "1AUx"
    ),
    _ZoneSpec("02580", "Zone d'activités d'Oulchy-le-Château", 3.367, 49.215, 12, 1.4, 40, "artisanal", "2AUx"),
    _ZoneSpec("02758", "Zone d'activités de Vailly-sur-Aisne", 3.507, 49.421, 12, 1.3, -30, "artisanal"),
    _ZoneSpec("02110", "Zone d'activités de Braine", 3.520, 49.337, 22, 1.5, 15, "mixed", "1AUx"),
    _ZoneSpec("02307", "Zone d'activités de La Ferté-Milon", 3.139, 49.191, 12, 1.4, -15, "artisanal"),
)
"""The zones d'activite: around Soissons, Villers-Cotterets, Vic-sur-Aisne, Oulchy and the bourgs."""

_FRICHE_HOSTS: tuple[tuple[str, int], ...] = (
    ("02722", 8),
    ("02805", 2),
    ("02243", 2),
    ("02245", 1),
    ("02064", 2),
    ("02131", 1),
    ("02780", 1),
    ("02795", 1),
    ("02758", 1),
    ("02810", 3),
    ("02110", 2),
    ("02089", 1),
    ("02326", 1),
    ("02167", 1),
    ("02307", 1),
    ("02148", 1),
    ("02226", 1),
)
"""Communes holding brownfields, and how many (Soissons and the Aisne valley first)."""

_FRICHE_NAMES = (
    "Ancienne usine de chaudronnerie",
    "Ancienne sucrerie",
    "Ancien site ferroviaire",
    "Ancienne verrerie",
    "Ancienne fonderie",
    "Ancien garage",
    "Ancienne coopérative agricole",
    "Ancien dépôt pétrolier",
    "Ancienne caserne",
    "Ancienne imprimerie",
    "Ancienne scierie",
    "Ancienne malterie",
    "Ancienne tuilerie",
    "Ancien entrepôt",
    "Ancienne laiterie",
    "Ancienne usine de construction métallique",
)
_FRICHE_STATUTS = ("friche sans projet", "friche avec projet", "friche potentielle")

RETZ_CENTRE_LONLAT = (3.078, 49.279)
"""Centre of the Foret de Retz (about 130 km2 around and north of Villers-Cotterets)."""


def town_radius(population: npt.ArrayLike) -> FloatArray:
    """Radius (m) of the built-up area of a commune of ``population`` inhabitants."""
    return np.asarray(np.clip(14.0 * np.sqrt(np.asarray(population, dtype=float)), 150.0, 2400.0), dtype=np.float64)


@dataclass
class LandUse:
    """Features of the land-use plan, before they are cut into PLU zones and parcels.

    Attributes
    ----------
    zones : geopandas.GeoDataFrame
        Canonical ``zones`` layer (zones d'activite).
    za_streets : ndarray of LineString
        Streets of the zones d'activite (they separate the blocks of a zone).
    za_streets_zone : ndarray of int
        Row of ``zones`` each street belongs to.
    za_centres : ndarray, shape (n, 2)
        Centre of each zone, where its streets and its access road meet (exact coordinates).
    friches : geopandas.GeoDataFrame
        Canonical ``friches`` layer.
    features : geopandas.GeoDataFrame
        Zoning features with ``typezone, destdomi, libelle, priority`` (lower priority wins).
    forests : shapely.Geometry
        Woods (Foret de Retz and smaller woods), used by the protected areas too.
    retz : shapely.Geometry
        The Foret de Retz alone.
    side_woods : ndarray of Polygon
        Woods on the valley sides (candidates for ZNIEFF).
    """

    zones: gpd.GeoDataFrame
    za_streets: GeomArray
    za_streets_zone: np.ndarray
    za_centres: FloatArray
    friches: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    forests: shapely.Geometry
    retz: shapely.Geometry
    side_woods: GeomArray


def build_zones(
    rng: np.random.Generator,
) -> tuple[gpd.GeoDataFrame, GeomArray, np.ndarray, GeomArray, FloatArray]:
    """Build the zones d'activite with their internal streets and extension areas.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source (vacancy rates).

    Returns
    -------
    zones : geopandas.GeoDataFrame
        Canonical ``zones`` layer: ``zone_id, nom, type, surface_m2, vacancy`` plus ``insee``.
    streets : ndarray of LineString
        Streets crossing each zone (a grid every ~340 m, from edge to edge).
    street_zone : ndarray of int
        Row of ``zones`` of each street.
    extensions : ndarray of Polygon or None
        Extension area (``1AUx``/``2AUx``) of each zone, None where the zone has none.
    centres : ndarray, shape (n, 2)
        Centre of each zone (exact start of the streets drawn from it).
    """
    specs = _ZONES
    lon = np.array([s.lon for s in specs])
    lat = np.array([s.lat for s in specs])
    x, y = lonlat_to_l93(lon, lat)
    area = np.array([s.area_ha for s in specs]) * 1e4
    aspect = np.array([s.aspect for s in specs])
    angle = np.radians([s.angle_deg for s in specs])
    width = np.sqrt(area * aspect)
    height = area / width
    polys = oriented_rectangles(x, y, width, height, angle)
    streets: list[shapely.LineString] = []
    street_zone: list[int] = []
    extensions = np.empty(len(specs), dtype=object)
    ext_side = rng.integers(0, 4, len(specs))
    ext_depth = rng.uniform(260.0, 420.0, len(specs))
    for i in range(len(specs)):
        u = np.array([np.cos(angle[i]), np.sin(angle[i])])
        v = np.array([-u[1], u[0]])
        c = np.array([x[i], y[i]])
        nx = max(1, round(width[i] / ZA_STREET_SPACING_M))
        ny = max(1, round(height[i] / ZA_STREET_SPACING_M))
        for k in range(1, nx):
            s = -width[i] / 2 + width[i] * k / nx
            a, b = c + u * s - v * height[i] / 2, c + u * s + v * height[i] / 2
            streets.append(shapely.LineString([a, b]))
            street_zone.append(i)
        for k in range(1, ny):
            t = -height[i] / 2 + height[i] * k / ny
            a, b = c + v * t - u * width[i] / 2, c + v * t + u * width[i] / 2
            streets.append(shapely.LineString([a, b]))
            street_zone.append(i)
        if specs[i].extension:
            side = int(ext_side[i])
            along = width[i] if side in (0, 2) else height[i]
            across_half = height[i] / 2 if side in (0, 2) else width[i] / 2
            direction = (v, u, -v, -u)[side]
            centre = c + direction * (across_half + ext_depth[i] / 2)
            ext_angle = angle[i] if side in (0, 2) else angle[i] + np.pi / 2
            extensions[i] = oriented_rectangles(centre[0], centre[1], along * 0.85, ext_depth[i], ext_angle)[0]
            # a street runs between the zone and its extension, reached from the centre of the zone (where its
            # access road arrives) and going on across a long extension
            edge_dir = np.array([np.cos(ext_angle), np.sin(ext_angle)])
            edge_mid = c + direction * across_half
            streets.append(shapely.LineString([edge_mid - edge_dir * along / 2, edge_mid + edge_dir * along / 2]))
            street_zone.append(i)
            far = centre + direction * ext_depth[i] / 2 if along * 0.85 > 2 * ZA_STREET_SPACING_M else edge_mid
            streets.append(shapely.LineString([c, far]))
            street_zone.append(i)
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [f"ZAE{s.insee}{i + 1:02d}" for i, s in enumerate(specs)],
            "nom": [s.nom for s in specs],
            "type": [s.kind for s in specs],
            "surface_m2": np.round(shapely.area(polys)),
            "vacancy": np.round(rng.uniform(0.04, 0.45, len(specs)), 2),
            "insee": [s.insee for s in specs],
        },
        geometry=polys,
        crs=LAMBERT93,
    )
    centres = np.column_stack([x, y])
    return zones, np.asarray(streets, dtype=object), np.asarray(street_zone, dtype=np.int64), extensions, centres


def build_friches(centres: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Place the brownfields: former industrial sites inside the built-up areas, mostly along the Aisne valley.

    Parameters
    ----------
    centres : geopandas.GeoDataFrame
        Commune centres (``insee``, ``population``).
    zones : geopandas.GeoDataFrame
        Zones d'activite (brownfields are kept out of them).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``friches`` layer: ``site_id, site_statut, site_surface_m2, nom`` plus ``insee``; Polygons.
    """
    by_insee = centres.set_index("insee")
    taken = list(zones.geometry.buffer(40.0))
    rows: list[dict[str, object]] = []
    geoms: list[shapely.Polygon] = []
    used_ids: set[str] = set()
    for insee, count in _FRICHE_HOSTS:
        centre = by_insee.geometry[insee]
        radius = float(town_radius(np.array([by_insee.population[insee]]))[0])
        placed = 0
        for _attempt in range(60):
            if placed == count:
                break
            area = float(np.clip(rng.lognormal(np.log(14000.0), 0.8), 2500.0, 90000.0))
            aspect = rng.uniform(1.0, 2.2)
            bearing = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(0.25, 0.85) * radius
            w = np.sqrt(area * aspect)
            poly = oriented_rectangles(
                centre.x + dist * np.cos(bearing),
                centre.y + dist * np.sin(bearing),
                w,
                area / w,
                rng.uniform(0, np.pi),
            )[0]
            if any(poly.intersects(t) for t in taken):
                continue
            taken.append(poly.buffer(30.0))
            number = int(rng.integers(1000, 26000))
            site_id = f"{insee}_{number}"
            while site_id in used_ids:
                number += 1
                site_id = f"{insee}_{number}"
            used_ids.add(site_id)
            geoms.append(poly)
            rows.append(
                {
                    "site_id": site_id,
                    "site_statut": _FRICHE_STATUTS[int(rng.choice(3, p=[0.35, 0.25, 0.40]))],
                    "site_surface_m2": float(round(poly.area)),
                    "nom": _FRICHE_NAMES[int(rng.integers(len(_FRICHE_NAMES)))],
                    "insee": insee,
                }
            )
            placed += 1
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=LAMBERT93)


def build_forests(
    centres: gpd.GeoDataFrame,
    outline: shapely.Polygon,
    rivers: list[tuple[River, shapely.LineString]],
    zones: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> tuple[shapely.Geometry, shapely.Geometry, GeomArray]:
    """Draw the woods: the Foret de Retz, woods on the valley sides and scattered plateau woods.

    Villages keep a clearing around them and zones d'activite are kept out of the woods.

    Returns
    -------
    forests : shapely.Geometry
        Union of all woods, clipped to the territory.
    retz : shapely.Geometry
        The Foret de Retz.
    side_woods : ndarray of Polygon
        The woods lying on valley sides.
    """
    cx, cy = lonlat_to_l93(RETZ_CENTRE_LONLAT[0], RETZ_CENTRE_LONLAT[1])
    retz = blobs(cx, cy, 7600.0, rng, roughness=0.16, elongation=1.6, angle=np.radians(8), n_vertices=96)[0]
    pts = centres.geometry.to_numpy()
    radius = town_radius(centres["population"].to_numpy())
    clearings = shapely.union_all(
        blobs(
            shapely.get_x(pts), shapely.get_y(pts), radius + rng.uniform(500.0, 1100.0, len(pts)), rng, roughness=0.35
        )
    )
    # woods on the valley sides: along both sides of each valley, at mid-slope
    side_woods: list[GeomArray] = []
    for river, line in rivers:
        offset = river.floor_half_width + river.side_width * 0.55
        for sign in (1.0, -1.0):
            edge = shapely.offset_curve(line, sign * offset)
            n = max(2, int(shapely.length(edge) / 2600.0))
            pos = np.sort(rng.uniform(0, 1, n))
            at = shapely.line_interpolate_point(edge, pos, normalized=True)
            side_woods.append(
                blobs(
                    shapely.get_x(at),
                    shapely.get_y(at),
                    rng.uniform(260, 620, n),
                    rng,
                    roughness=0.3,
                    elongation=rng.uniform(1.5, 3.0, n),
                )
            )
    side = np.concatenate(side_woods)
    # scattered plateau woods
    xmin, ymin, xmax, ymax = outline.bounds
    n_plateau = 34
    px = rng.uniform(xmin, xmax, n_plateau)
    py = rng.uniform(ymin, ymax, n_plateau)
    plateau = blobs(
        px, py, rng.uniform(350, 1300, n_plateau), rng, roughness=0.3, elongation=rng.uniform(1, 2.2, n_plateau)
    )
    keep_out = shapely.union_all([clearings, shapely.union_all(zones.geometry.buffer(120.0).to_numpy())])
    retz = shapely.intersection(shapely.difference(retz, keep_out), outline)
    side = shapely.intersection(shapely.difference(side, keep_out), outline)
    side = side[~shapely.is_empty(side)]
    plateau = shapely.intersection(shapely.difference(plateau, keep_out), outline)
    forests = shapely.union_all(np.concatenate([[retz], side, plateau]))
    logger.debug("forests: %.0f km2 (Retz %.0f km2)", forests.area / 1e6, retz.area / 1e6)
    return forests, retz, np.asarray(side, dtype=object)


def _village_features(
    centres: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, za_hosts: set[str], rng: np.random.Generator
) -> list[tuple[GeomArray, str, str, str, int]]:
    """Urban cores and extensions, hamlets, artisanal zones and extension zones of every commune."""
    pts = centres.geometry.to_numpy()
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    pop = centres["population"].to_numpy()
    radius = town_radius(pop)
    n = len(pts)
    town = blobs(x, y, radius, rng, roughness=0.25)
    core_ratio = np.where(pop >= 1000, 0.45, 0.62)
    core = blobs(x, y, radius * core_ratio, rng, roughness=0.2)
    # hamlets: one or two small groups of houses away from the centre in large communes
    n_hamlets = np.where(shapely.area(communes.geometry.to_numpy()) > 6e6, rng.integers(0, 3, n), 0)
    h_idx = np.repeat(np.arange(n), n_hamlets)
    h_bearing = rng.uniform(0, 2 * np.pi, h_idx.size)
    h_dist = rng.uniform(1200, 2400, h_idx.size)
    hx = x[h_idx] + h_dist * np.cos(h_bearing)
    hy = y[h_idx] + h_dist * np.sin(h_bearing)
    hamlets = blobs(hx, hy, rng.uniform(70, 170, h_idx.size), rng, roughness=0.3)
    hamlets = hamlets[shapely.contains(communes.geometry.to_numpy()[h_idx], shapely.points(hx, hy))]
    # artisanal zones at the edge of villages of some size that have no zone d'activite
    insee = centres["insee"].to_numpy()
    eligible = (pop >= 380) & ~np.isin(insee, list(za_hosts))
    pick = eligible & (rng.random(n) < 0.8)
    k = np.flatnonzero(pick)
    ux_area = rng.uniform(1.6e4, 7.5e4, k.size)
    ux_aspect = rng.uniform(1.0, 2.0, k.size)
    ux_w = np.sqrt(ux_area * ux_aspect)
    ux_bearing = rng.uniform(0, 2 * np.pi, k.size)
    ux_dist = radius[k] + 60.0 + ux_w / 2
    ux = oriented_rectangles(
        x[k] + ux_dist * np.cos(ux_bearing),
        y[k] + ux_dist * np.sin(ux_bearing),
        ux_w,
        ux_area / ux_w,
        ux_bearing + rng.uniform(-0.3, 0.3, k.size),
    )
    ux_label = np.where(rng.random(k.size) < 0.8, "UX", "UI")
    # housing extension zones at the edge of the larger villages
    big = np.flatnonzero(pop >= 600)
    au_area = rng.uniform(1.2e4, 6e4, big.size)
    au_w = np.sqrt(au_area * rng.uniform(1.0, 1.8, big.size))
    au_bearing = rng.uniform(0, 2 * np.pi, big.size)
    au_dist = radius[big] + au_w / 2 - 30.0
    au = oriented_rectangles(
        x[big] + au_dist * np.cos(au_bearing),
        y[big] + au_dist * np.sin(au_bearing),
        au_w,
        au_area / au_w,
        au_bearing,
    )
    au_strict = rng.random(big.size) < 0.35
    # business extension zones in a few bourgs
    bourgs = np.flatnonzero((pop >= 1100) & ~np.isin(insee, list(za_hosts)))
    bx_area = rng.uniform(4e4, 1.4e5, bourgs.size)
    bx_w = np.sqrt(bx_area * 1.4)
    bx_bearing = rng.uniform(0, 2 * np.pi, bourgs.size)
    bx_dist = radius[bourgs] + bx_w / 2 + 150.0
    bx = oriented_rectangles(
        x[bourgs] + bx_dist * np.cos(bx_bearing),
        y[bourgs] + bx_dist * np.sin(bx_bearing),
        bx_w,
        bx_area / bx_w,
        bx_bearing,
    )
    feats: list[tuple[GeomArray, str, str, str, int]] = []
    for label in ("UX", "UI"):
        sel = ux[ux_label == label]
        if sel.size:
            feats.append((sel, "U", "activite", label, 0))
    feats.append((bx, "AUc", "activite", "1AUx", 1))
    feats.append((core, "U", "mixte", "UA", 2))
    feats.append((np.concatenate([town, hamlets]), "U", "habitat", "UB", 3))
    feats.append((au[~au_strict], "AUc", "habitat", "1AU", 4))
    feats.append((au[au_strict], "AUs", "habitat", "2AU", 4))
    return feats


def build_land_use(
    centres: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    outline: shapely.Polygon,
    rivers: list[tuple[River, shapely.LineString]],
    flood_red: shapely.Geometry,
    rng: np.random.Generator,
) -> LandUse:
    """Build every land-use feature of the territory.

    Parameters
    ----------
    centres, communes : geopandas.GeoDataFrame
        Commune centres and outlines.
    outline : shapely.Polygon
        Territory outline.
    rivers : list of (River, LineString)
        Rivers and their centrelines.
    flood_red : shapely.Geometry
        Red flood zones (their unbuilt part becomes natural zoning).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    LandUse
    """
    zones, streets, street_zone, extensions, za_centres = build_zones(rng)
    friches = build_friches(centres, zones, rng)
    forests, retz, side_woods = build_forests(centres, outline, rivers, zones, rng)
    za_hosts = set(zones["insee"])
    feats = _village_features(centres, communes, za_hosts, rng)
    zone_ext = np.asarray([e for e in extensions if e is not None], dtype=object)
    ext_labels = [_ZONES[i].extension for i, e in enumerate(extensions) if e is not None]
    ext_labels_arr = np.asarray(ext_labels)
    feats.append((zones.geometry.to_numpy(), "U", "activite", "UX", 0))
    feats.append((zone_ext[ext_labels_arr == "1AUx"], "AUc", "activite", "1AUx", 1))
    feats.append((zone_ext[ext_labels_arr == "2AUx"], "AUs", "activite", "2AUx", 1))
    # brownfields keep the zoning of the site: economic for some, urban (habitat) for the others
    friche_geoms = friches.geometry.to_numpy()
    friche_eco = rng.random(len(friche_geoms)) < 0.4
    feats.append((friche_geoms[friche_eco], "U", "activite", "UX", 0))
    feats.append((friche_geoms[~friche_eco], "U", "habitat", "UB", 3))
    feats.append((np.asarray([forests], dtype=object), "N", "naturelle", "Nf", 5))
    feats.append((np.asarray([flood_red], dtype=object), "N", "naturelle", "N", 6))
    rows = []
    geoms: list[GeomArray] = []
    for g, typezone, destdomi, libelle, priority in feats:
        g = np.asarray(g, dtype=object)
        geoms.append(g)
        rows.extend([(typezone, destdomi, libelle, priority)] * len(g))
    features = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["typezone", "destdomi", "libelle", "priority"]),
        geometry=np.concatenate(geoms),
        crs=LAMBERT93,
    )
    return LandUse(
        zones=zones,
        za_streets=streets,
        za_streets_zone=street_zone,
        za_centres=za_centres,
        friches=friches,
        features=features,
        forests=forests,
        retz=retz,
        side_woods=side_woods,
    )


def build_plu(communes: gpd.GeoDataFrame, features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Overlay the zoning features by priority and cut them by commune: the ``plu`` layer.

    Parameters
    ----------
    communes : geopandas.GeoDataFrame
        Commune outlines (``insee``).
    features : geopandas.GeoDataFrame
        Zoning features from :func:`build_land_use` (``typezone, destdomi, libelle, priority``).

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical ``plu`` layer: ``typezone, destdomi, libelle`` plus ``insee`` (commune) and ``zone_plu_id``;
        non-overlapping Polygons covering the territory.
    """
    cgeoms = communes.geometry.to_numpy()
    insee = communes["insee"].to_numpy()
    taken = np.asarray([shapely.Polygon()] * len(cgeoms), dtype=object)
    out_geoms: list[GeomArray] = []
    out_rows: list[pd.DataFrame] = []
    groups = features.groupby(["priority", "typezone", "destdomi", "libelle"], sort=True).indices
    order = sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][3]))
    for (_priority, typezone, destdomi, libelle), idx in order:
        union = shapely.union_all(features.geometry.to_numpy()[idx])
        piece = shapely.difference(shapely.intersection(cgeoms, union), taken)
        taken = shapely.union(taken, piece)
        parts, pidx = polygon_parts(piece, min_area=20.0)
        out_geoms.append(parts)
        out_rows.append(
            pd.DataFrame({"typezone": typezone, "destdomi": destdomi, "libelle": libelle, "insee": insee[pidx]})
        )
    rest = shapely.difference(cgeoms, taken)
    parts, pidx = polygon_parts(rest, min_area=20.0)
    out_geoms.append(parts)
    out_rows.append(pd.DataFrame({"typezone": "A", "destdomi": "agricole", "libelle": "A", "insee": insee[pidx]}))
    table = pd.concat(out_rows, ignore_index=True)
    plu = gpd.GeoDataFrame(table, geometry=np.concatenate(out_geoms), crs=LAMBERT93)
    plu = plu.sort_values(["insee", "libelle"], kind="stable").reset_index(drop=True)
    plu.insert(0, "zone_plu_id", [f"PLU{c}-{i:04d}" for i, c in enumerate(plu["insee"])])
    return plu


DESTDOMI_CODE_OF_WORD = {
    "activite": "02", "mixte": "03", "habitat": "01", "agricole": "07", "naturel": "08", "naturelle": "08",
}  # fmt: skip
"""CNIG PLU ``destdomi`` code of the destinations the land-use builder speaks of."""


def cnig_documents(plu: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, window: shapely.Geometry) -> gpd.GeoDataFrame:
    """Give the sample's zoning the shapes of the CNIG standards, with one commune of each document kind.

    - ``destdomi`` becomes the CNIG code (activite 02, mixte 03, habitat 01, agricole 07);
    - every zone gets its plan's approval date ``datappro`` (YYYYMMDD, as the GPU publishes it) and a rules link
      ``urlfic`` (the Géoportail de l'urbanisme: there is no real document behind a synthetic plan);
    - among the communes meeting ``window`` (the small sample's window), by increasing population: the smallest
      commune without an activity zone is under the RNU (one ``RNU`` polygon, no document), the smallest with
      one has a carte communale (``typesect`` 02 ``ZCa`` for activities, 01 ``ZC`` for the other urban and open
      to-be-urbanised zones, 03 ``ZnC`` for the rest), and the next one codes its activity zones ``destdomi``
      00 (sans objet: the class is presumed from the UX/1AUx labels).

    Returns
    -------
    geopandas.GeoDataFrame
        The ``plu`` layer with ``typesect``, ``datappro``, ``urlfic``; same CRS.
    """
    plu = plu.copy()
    plu["destdomi"] = plu["destdomi"].map(lambda v: DESTDOMI_CODE_OF_WORD.get(v, v)).astype(object)
    plu["typesect"] = pd.Series([None] * len(plu), index=plu.index, dtype=object)
    near = communes[communes.intersects(window)].sort_values(["population", "insee"], kind="stable")
    activity = set(plu.loc[plu["destdomi"] == "02", "insee"])
    with_activity = [c for c in near["insee"] if c in activity]
    without = [c for c in near["insee"] if c not in activity]
    rnu = without[0] if without else None
    cc = with_activity[0] if with_activity else None
    presumed = with_activity[1] if len(with_activity) > 1 else None
    if cc is not None:
        in_cc = plu["insee"] == cc
        eco = in_cc & (plu["destdomi"] == "02") & plu["typezone"].isin(["U", "AUc"])
        open_ = in_cc & ~eco & plu["typezone"].isin(["U", "AUc"])
        sect = np.where(eco, "02", np.where(open_, "01", "03"))
        plu.loc[in_cc, "typesect"] = sect[in_cc.to_numpy()]
        plu.loc[in_cc, "typezone"] = plu.loc[in_cc, "typesect"].map({"01": "ZC", "02": "ZCa", "03": "ZnC"})
        plu.loc[in_cc, "libelle"] = plu.loc[in_cc, "typezone"]
        plu.loc[in_cc, "destdomi"] = None
    if presumed is not None:
        plu.loc[(plu["insee"] == presumed) & (plu["destdomi"] == "02"), "destdomi"] = "00"
    if rnu is not None:
        in_rnu = plu["insee"] == rnu
        outline = shapely.union_all(plu.geometry[in_rnu].to_numpy())
        rnu_row = gpd.GeoDataFrame(
            {"zone_plu_id": [f"RNU{rnu}"], "typezone": ["RNU"], "destdomi": [None], "libelle": ["RNU"],
             "insee": [rnu], "typesect": [None]},
            geometry=[outline], crs=plu.crs,
        )  # fmt: skip
        plu = gpd.GeoDataFrame(pd.concat([plu[~in_rnu], rnu_row], ignore_index=True), crs=plu.crs)
    insee = plu["insee"].astype(str)
    year = 2008 + insee.str[-2:].astype(int) % 15
    plu["datappro"] = [f"{y}{1 + int(c[-1]) % 12:02d}15" for y, c in zip(year, insee, strict=True)]
    plu.loc[plu["typezone"] == "RNU", "datappro"] = None
    plu["urlfic"] = [None if t == "RNU" else "https://www.geoportail-urbanisme.gouv.fr/" for t in plu["typezone"]]
    logger.info("sample zoning: RNU commune %s, carte communale %s, presumed activity zones in %s", rnu, cc, presumed)
    return plu.sort_values(["insee", "libelle"], kind="stable").reset_index(drop=True)

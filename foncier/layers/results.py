"""Reading results from a workspace: scored sites, one site's detail, one parcel's detail.

Scores are computed from the stored ``criteria`` table (precompute, then serve): any profile, built-in or a
planner's own, is scored in milliseconds without touching geometry. The criteria, sites and prepared profile
matrices are cached per GeoPackage file version (path + modification time + size), so the API rescoring the
same workspace does not read the file again.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from foncier.errors import NotFoundError, ValidationError
from foncier.geo.profile import Profile
from foncier.geo.scoring import ScoreResult, score_sites
from foncier.layers.availability import parcel_availability_record, site_friches
from foncier.layers.lineage import fate_message, site_fate
from foncier.layers.profile_store import load_profile
from foncier.layers.schemas import PARCEL_ID_RE
from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)

SITE_ID_RE = re.compile(r"^S[0-9a-f]{10}$")
"""A site id: "S" + 10 hex digits."""

SYNTHETIC_NOTICE_FR = "Échantillon synthétique : ce ne sont pas des terrains réels"
SYNTHETIC_NOTICE_EN = "Synthetic sample: not real land"

ProfileLike = str | Path | Profile


@dataclass(frozen=True)
class ScoredSites:
    """Candidate sites scored with one profile.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        The ``sites`` layer (EPSG:2154) joined with the criteria columns and ``score``, ``rank``,
        ``excluded``, ``reasons`` (English), ``reasons_fr``, ``warnings``; sorted by rank, index ``site_id``
        (also a column).
    breakdown : pandas.DataFrame
        One row per site and criterion: ``site_id``, ``criterion``, ``raw_value``, ``value``, ``weight``,
        ``contribution`` (sums to the site's score).
    profile : Profile
        The profile used.
    result : ScoreResult
        The raw scoring result (weights, problems).
    synthetic : bool
        True for the synthetic sample territory.
    metadata : dict
        The workspace metadata.
    provenance : pandas.DataFrame
        Provenance of the stored layers.
    """

    sites: gpd.GeoDataFrame
    breakdown: pd.DataFrame
    profile: Profile
    result: ScoreResult
    synthetic: bool
    metadata: dict[str, str]
    provenance: pd.DataFrame


_cache_lock = threading.Lock()
_cache: dict[tuple[str, int, int], dict[str, Any]] = {}


def _version_key(ws: Workspace) -> tuple[str, int, int]:
    stat = ws.gpkg.stat()
    return (str(ws.gpkg.resolve()), stat.st_mtime_ns, stat.st_size)


def _cached(ws: Workspace) -> dict[str, Any]:
    """Per-file-version cache of the tables every request needs (sites, criteria, metadata, provenance)."""
    key = _version_key(ws)
    with _cache_lock:
        entry = _cache.get(key)
        if entry is None:
            for old in [k for k in _cache if k[0] == key[0]]:
                del _cache[old]
            if "criteria" not in ws.list_layers():
                raise NotFoundError(
                    f"workspace {ws.path} has no criteria table: run 'foncier score --workspace {ws.path}' first"
                )
            criteria = ws.read_table("criteria").set_index("site_id")
            sites = ws.read_layer("sites").set_index("site_id", drop=False)
            sites.index.name = "site_id"
            entry = {
                "criteria": criteria,
                "sites": sites,
                "metadata": ws.metadata,
                "provenance": ws.provenance(),
                "profiles": {},
            }
            _cache[key] = entry
        return entry


def resolve_profile(profile: ProfileLike) -> Profile:
    """A Profile from a built-in name, a YAML path or a Profile."""
    return profile if isinstance(profile, Profile) else load_profile(profile)


def scored_sites(ws: Workspace, profile: ProfileLike = "default") -> ScoredSites:
    """Score every candidate site of ``ws`` with ``profile`` (see module docstring).

    Raises
    ------
    foncier.errors.NotFoundError
        When the workspace has not been through the pipeline (no criteria) or the profile is unknown.
    foncier.errors.ProfileError
        When the profile is invalid.
    """
    prof = resolve_profile(profile)
    entry = _cached(ws)
    result = score_sites(entry["criteria"], prof)
    scores = result.scores
    # the per-profile score_*/rank_* columns of the stored layer are for QGIS users; results carry one profile
    per_profile = [c for c in entry["sites"].columns if c.startswith(("score_", "rank_"))]
    sites = entry["sites"].drop(
        columns=[c for c in entry["criteria"].columns if c in entry["sites"].columns] + per_profile
    )
    joined = sites.join(entry["criteria"], how="inner").join(scores, how="inner")
    joined = joined.sort_values("rank")
    joined = gpd.GeoDataFrame(joined, geometry="geometry", crs=sites.crs)
    return ScoredSites(
        sites=joined,
        breakdown=result.breakdown,
        profile=prof,
        result=result,
        synthetic=entry["metadata"].get("synthetic") == "true",
        metadata=entry["metadata"],
        provenance=entry["provenance"],
    )


def _check_parcel_id(parcel_id: str) -> None:
    if not PARCEL_ID_RE.fullmatch(parcel_id or ""):
        raise ValidationError(
            [
                f"malformed parcel id '{parcel_id}': expected 14 characters, INSEE (5) + prefix (3) + section (2) "
                "+ number (4), e.g. 022580000A0099"
            ],
            title="invalid parcel id",
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or value is None:
        return None
    return value


def _hazards(geom: shapely.Geometry, flood: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """PPR zones touching ``geom``: hazard kind (flood, ground_movement, technological), level (red, blue,
    to_read: rule not classified, to read in the plan) and the share of ``geom`` they cover."""
    if flood.empty or geom.area <= 0:
        return []
    out = []
    for _, zone in flood.iterrows():
        share = float(shapely.intersection(geom, zone.geometry).area / geom.area)
        if share > 0:
            out.append(
                {
                    "hazard": _jsonable(zone.get("hazard")) or "flood",
                    "level": _jsonable(zone.get("level")),
                    "typereglement": _jsonable(zone.get("typereglement")),
                    "label": _jsonable(zone.get("nom") if "nom" in zone else zone.get("libelle")),
                    "share": round(share, 4),
                }
            )
    return out


def _shares(geom: shapely.Geometry, layer: gpd.GeoDataFrame, column: str) -> dict[str, float]:
    """Share of ``geom``'s area in each value of ``column`` of the polygons of ``layer``."""
    if layer.empty or geom.area <= 0:
        return {}
    out: dict[str, float] = {}
    for value, group in layer.groupby(column):
        covered = shapely.intersection(geom, shapely.union_all(group.geometry.to_numpy())).area
        if covered > 0:
            out[str(value)] = round(float(covered / geom.area), 4)
    return out


def _site_constraints(scored: ScoredSites, site_id: str) -> list[dict[str, Any]]:
    """The state (passed / failed / unverified) of each constraint of the profile for one site."""
    table = getattr(scored.result, "constraints", None)
    if table is None or table.empty:
        return []
    rows = table[table["site_id"] == site_id]
    return [{k: _jsonable(v) for k, v in rec.items() if k != "site_id"} for rec in rows.to_dict("records")]


def _plans(ws: Workspace, geom: shapely.Geometry) -> list[dict[str, Any]]:
    """The planning documents covering ``geom``, one per commune: kind (PLU, carte communale, RNU), approval
    date ``datappro`` and rules link ``urlfic`` (CNIG)."""
    if geom is None or "plu" not in set(ws.list_layers()):
        return []
    plu = ws.read_layer("plu", bbox=tuple(float(v) for v in geom.bounds))  # type: ignore[arg-type]
    plu = plu[plu.intersects(geom)]
    out: dict[str, dict[str, Any]] = {}
    for _, zone in plu.iterrows():
        insee = str(zone.get("insee", "") or "")
        tz = str(zone.get("typezone", "") or "")
        kind = "RNU" if tz == "RNU" else "carte communale" if tz in ("ZC", "ZCa", "ZnC") else "PLU"
        doc = {"insee": insee or None, "document": kind, "datappro": _jsonable(zone.get("datappro")),
               "urlfic": _jsonable(zone.get("urlfic"))}  # fmt: skip
        out.setdefault(insee, doc)
    return [out[k] for k in sorted(out)]


def _plan_info(zone: pd.Series) -> dict[str, Any]:
    """Class, basis and document of the zone (CNIG ``datappro`` approval date, ``urlfic`` rules link)."""
    from foncier.geo.zoning import classify_zones

    detail = classify_zones(pd.DataFrame([zone.drop(labels="geometry", errors="ignore")])).iloc[0]
    return {
        "zoning_class": str(detail["zoning_class"]),
        "presumed": bool(detail["presumed"]),
        "basis": str(detail["basis"]),
        "typesect": _jsonable(zone.get("typesect")),
        "datappro": _jsonable(zone.get("datappro")),
        "urlfic": _jsonable(zone.get("urlfic")),
        "idurba": _jsonable(zone.get("idurba")),
    }


def site_detail(ws: Workspace, site_id: str, profile: ProfileLike = "default") -> dict[str, Any]:
    """Everything about one site: rank, score, breakdown, exclusion reasons, criteria, parcels.

    Raises
    ------
    foncier.errors.NotFoundError
        When ``site_id`` is not a site of the workspace.
    """
    scored = scored_sites(ws, profile)
    if site_id not in scored.sites.index:
        fate = site_fate(ws, site_id) if SITE_ID_RE.fullmatch(site_id) else None
        raise NotFoundError(f"no site '{site_id}' in workspace {ws.path}{fate_message(fate)}")
    row = scored.sites.loc[site_id]
    criteria_cols = list(_cached(ws)["criteria"].columns)
    breakdown = scored.breakdown[scored.breakdown["site_id"] == site_id]
    parcels = [p for p in str(row.get("parcel_ids", "")).split(",") if p]
    return {
        "site_id": site_id,
        "profile": scored.profile.name,
        "rank": int(row["rank"]),
        "n_sites": len(scored.sites),
        "score": float(row["score"]),
        "excluded": bool(row["excluded"]),
        "reasons": [r for r in str(row["reasons"]).split("; ") if r],
        "reasons_fr": [r for r in str(row.get("reasons_fr", "")).split("; ") if r],
        "warnings": [r for r in str(row.get("warnings", "")).split("; ") if r],
        "unverified": [r for r in str(row.get("unverified", "") or "").split("; ") if r],
        "unverified_fr": [r for r in str(row.get("unverified_fr", "") or "").split("; ") if r],
        "constraints": _site_constraints(scored, site_id),
        "plans": _plans(ws, row.geometry),
        "area_m2": float(row["area_m2"]),
        "n_parcels": int(row["n_parcels"]),
        "min_lot_m2": float(row["min_lot_m2"]),
        "max_lot_m2": float(row["max_lot_m2"]),
        "communes": [c for c in str(row.get("communes", "")).split(",") if c],
        "criteria": {c: _jsonable(row[c]) for c in criteria_cols},
        "breakdown": [
            {k: _jsonable(v) for k, v in rec.items() if k != "site_id"} for rec in breakdown.to_dict("records")
        ],
        "parcels": parcels,
        "flags": [f for f in str(row.get("flags", "") or "").split(";") if f and f != "nan"],
        "friches": site_friches(ws, row.get("geometry")),
        "synthetic": scored.synthetic,
    }


def parcel_detail(ws: Workspace, parcel_id: str, profile: ProfileLike = "default") -> dict[str, Any]:
    """Everything about one parcel: zoning, flood and protected shares, its site and that site's score.

    Raises
    ------
    foncier.errors.ValidationError
        When ``parcel_id`` is malformed.
    foncier.errors.NotFoundError
        When no parcel has that id.
    """
    _check_parcel_id(parcel_id)
    found = ws.read_layer("parcels", where=f"parcel_id = '{parcel_id}'")  # id checked by the regex above
    if found.empty:
        raise NotFoundError(f"no parcel '{parcel_id}' in workspace {ws.path}")
    parcel = found.iloc[0]
    geom = parcel.geometry
    bbox = tuple(float(v) for v in geom.bounds)
    layers = set(ws.list_layers())

    def around(name: str) -> gpd.GeoDataFrame:
        if name not in layers:
            return gpd.GeoDataFrame(geometry=[], crs=found.crs)
        gdf = ws.read_layer(name, bbox=bbox)  # type: ignore[arg-type]
        return gdf[gdf.intersects(geom)]

    site: dict[str, Any] | None = None
    if "site_parcels" in layers:
        links = ws.read_table("site_parcels", where=f"parcel_id = '{parcel_id}'")
        if not links.empty:
            site = parcel_site_summary(site_detail(ws, str(links["site_id"].iloc[0]), profile))
    return assemble_parcel_detail(
        parcel,
        around,
        site=site,
        availability=parcel_availability_record(ws, parcel_id),
        synthetic=ws.synthetic,
    )


PARCEL_SITE_KEYS: tuple[str, ...] = (
    "site_id",
    "profile",
    "rank",
    "n_sites",
    "score",
    "excluded",
    "reasons",
    "unverified",
    "constraints",
    "area_m2",
    "n_parcels",
    "criteria",
)
"""The keys of a site's detail repeated in the detail of each of its parcels."""


def parcel_site_summary(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a site's detail (:func:`site_detail`) shown in the detail of its parcels."""
    return {k: detail[k] for k in PARCEL_SITE_KEYS}


def assemble_parcel_detail(
    parcel: Mapping[str, Any],
    around: Callable[[str], gpd.GeoDataFrame],
    *,
    site: dict[str, Any] | None,
    availability: dict[str, Any] | None,
    synthetic: bool,
) -> dict[str, Any]:
    """The detail of one parcel from its row and the features of the overlay layers it intersects.

    Shared by :func:`parcel_detail` (reads the workspace) and the API (reads through its store's R-trees), so
    both answer exactly the same content.

    Parameters
    ----------
    parcel : mapping
        The parcel's attributes and ``geometry`` (EPSG:2154).
    around : callable
        ``around(layer)`` -> the features of ``layer`` intersecting the parcel (an empty frame when the layer
        is absent).
    site, availability : dict or None
        The parcel's site summary (:func:`parcel_site_summary`) and availability record.
    synthetic : bool
        Whether the workspace is the synthetic sample.
    """
    geom = parcel["geometry"]
    plu = around("plu")
    zoning = None
    if not plu.empty:
        inter = plu.geometry.intersection(geom).area
        best = plu.loc[inter.idxmax()]
        zoning = {
            "typezone": _jsonable(best["typezone"]),
            "libelle": _jsonable(best.get("libelle")),
            "destdomi": _jsonable(best.get("destdomi")),
            "share": round(float(inter.max() / geom.area), 4),
            **_plan_info(best),
        }
    zones = around("zones")
    friches = around("friches")
    status = parcel.get("status")
    return {
        "parcel_id": str(parcel["parcel_id"]),
        "commune": str(parcel["commune"]),
        "section": str(parcel["section"]),
        "numero": str(parcel["numero"]),
        "contenance_m2": _jsonable(parcel.get("contenance_m2")),
        "area_m2": round(float(geom.area), 1),
        "status": _jsonable(status),
        "availability": availability,
        "zoning": zoning,
        "flood": _shares(geom, around("flood"), "level"),
        "hazards": _hazards(geom, around("flood")),
        "prescriptions": _shares(geom, around("prescriptions"), "kind"),
        "protected": _shares(geom, around("protected"), "kind"),
        "zones_activite": [str(z) for z in zones["nom"]] if not zones.empty else [],
        "friches": [str(f) for f in friches["site_id"]] if not friches.empty else [],
        "site": site,
        "synthetic": synthetic,
    }

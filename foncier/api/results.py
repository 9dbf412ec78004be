"""Results for the API: profiles by name, cached rankings, and the one-parcel detail read through the store.

Rankings come from :func:`foncier.layers.results.scored_sites` (scores computed from the stored criteria,
any profile); the API keeps the last few rankings of named profiles per GeoPackage file version.

The parcel detail has the same content as :func:`foncier.layers.results.parcel_detail` but reads the parcel
and its overlays (zoning, flood, protected areas, zones d'activite, friches) through the store's indexes and
R-trees: a few milliseconds instead of one GDAL open per layer.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from foncier.api.errors import ResourceNotFoundError
from foncier.api.store import Feature, GeoPackageStore
from foncier.errors import NotFoundError
from foncier.geo.profile import Profile
from foncier.layers import results
from foncier.layers.availability import availability_record
from foncier.layers.profile_store import list_profiles, load_profile
from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)

_OVERLAY_LIMIT = 500


def named_profile(name: str) -> Profile:
    """The built-in profile ``name`` (only built-in names: the API never reads a path given by a client).

    Raises
    ------
    ResourceNotFoundError
        ``unknown_profile`` (404) with the list of profiles.
    """
    names = list_profiles()
    if name not in names:
        raise ResourceNotFoundError(f"unknown profile {name[:60]!r}; available profiles: {', '.join(names)}",
                               code="unknown_profile", detail={"profiles": names})  # fmt: skip
    return _load_builtin(name)


@functools.lru_cache(maxsize=64)
def _load_builtin(name: str) -> Profile:
    return load_profile(name)


class Rankings:
    """Scored sites per named profile, cached per file version of the workspace (LRU)."""

    def __init__(self, store: GeoPackageStore, size: int = 16) -> None:
        self.store = store
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, tuple[int, ...]], results.ScoredSites] = OrderedDict()

    @property
    def workspace(self) -> Workspace:
        """The workspace as :mod:`foncier.layers` sees it."""
        return Workspace(self.store.workspace)

    def get(self, profile: str | Profile) -> results.ScoredSites:
        """Scored sites for a built-in profile name or a Profile (the latter is not cached).

        Raises
        ------
        foncier.errors.LayerNotFoundError
            When the workspace has no sites yet (404, with what to run).
        """
        if not isinstance(profile, Profile):
            named_profile(profile)
        self.store.layer("sites")
        self.store.layer("criteria")
        if isinstance(profile, Profile):
            return results.scored_sites(self.workspace, profile)
        key = (profile, self.store.snapshot().key)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        scored = results.scored_sites(self.workspace, named_profile(profile))
        if self.size:
            with self._lock:
                self._cache[key] = scored
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return scored

    def site_detail(self, site_id: str, profile: str) -> dict[str, Any]:
        """:func:`foncier.layers.results.site_detail`, 404 ``site_not_found`` for an unknown site."""
        named_profile(profile)
        self.store.layer("sites")
        try:
            return results.site_detail(self.workspace, site_id, profile)
        except NotFoundError as exc:
            raise ResourceNotFoundError(str(exc).split(" in workspace")[0], code="site_not_found") from None


def _overlay(store: GeoPackageStore, layer: str, geom: BaseGeometry) -> list[Feature]:
    if not store.has(layer):
        return []
    return sorted(store.query(layer, geometry=geom, limit=_OVERLAY_LIMIT).features, key=lambda f: f.fid)


def _shares(geom: BaseGeometry, feats: list[Feature], column: str) -> dict[str, float]:
    """Share of ``geom``'s area in each value of ``column`` (as :func:`foncier.layers.results._shares`)."""
    if not feats or geom.area <= 0:
        return {}
    groups: dict[str, list[BaseGeometry]] = {}
    for f in feats:
        if f.geometry is not None:
            groups.setdefault(str(f.properties.get(column)), []).append(f.geometry)
    out: dict[str, float] = {}
    for value in sorted(groups):
        covered = shapely.intersection(geom, shapely.union_all(np.asarray(groups[value], dtype=object))).area
        if covered > 0:
            out[value] = round(float(covered / geom.area), 4)
    return out


def parcel_detail(
    store: GeoPackageStore, rankings: Rankings, parcel_id: str, profile: str
) -> tuple[Feature, dict[str, Any]]:
    """The parcel feature and its detail (keys of :func:`foncier.layers.results.parcel_detail`).

    Raises
    ------
    ResourceNotFoundError
        ``parcel_not_found`` when no parcel has this (well-formed) id.
    """
    feat = store.get("parcels", parcel_id)
    if feat is None:
        raise ResourceNotFoundError(f"no parcel '{parcel_id}' in this workspace", code="parcel_not_found")
    geom = feat.geometry
    props = feat.properties
    zoning = None
    if geom is not None:
        plu = _overlay(store, "plu", geom)
        if plu:
            areas = shapely.area(shapely.intersection(np.asarray([f.geometry for f in plu], dtype=object), geom))
            best = plu[int(np.argmax(areas))]
            zoning = {
                "typezone": best.properties.get("typezone"),
                "libelle": best.properties.get("libelle"),
                "destdomi": best.properties.get("destdomi"),
                "share": round(float(np.max(areas) / geom.area), 4),
            }
    site: dict[str, Any] | None = None
    if store.has("site_parcels") and store.has("sites"):
        links = store.rows("site_parcels", equals={"parcel_id": parcel_id}, limit=1)
        if links:
            detail = rankings.site_detail(str(links[0]["site_id"]), profile)
            site = {k: detail[k] for k in ("site_id", "profile", "rank", "n_sites", "score", "excluded", "reasons",
                                           "area_m2", "n_parcels", "criteria")}  # fmt: skip
    zones = _overlay(store, "zones", geom) if geom is not None else []
    friches = _overlay(store, "friches", geom) if geom is not None else []
    detail = {
        "parcel_id": parcel_id,
        "commune": str(props.get("commune")),
        "section": str(props.get("section")),
        "numero": str(props.get("numero")),
        "contenance_m2": props.get("contenance_m2"),
        "area_m2": round(float(geom.area), 1) if geom is not None else None,
        "status": props.get("status"),
        "availability": availability_record(
            next(iter(store.rows("parcel_availability", equals={"parcel_id": parcel_id}, limit=1)), None)
            if store.has("parcel_availability")
            else None
        ),
        "zoning": zoning,
        "flood": _shares(geom, _overlay(store, "flood", geom), "level") if geom is not None else {},
        "protected": _shares(geom, _overlay(store, "protected", geom), "kind") if geom is not None else {},
        "zones_activite": [str(z.properties.get("nom")) for z in zones],
        "friches": [str(f.properties.get("site_id")) for f in friches],
        "site": site,
        "synthetic": store.synthetic,
    }
    return feat, detail

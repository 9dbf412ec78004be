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

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from foncier.api.errors import ResourceNotFoundError
from foncier.api.store import Feature, GeoPackageStore
from foncier.errors import NotFoundError
from foncier.geo.crs import LAMBERT93
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
    if geom is None:
        raise ResourceNotFoundError(f"parcel '{parcel_id}' has no geometry", code="parcel_not_found")

    def around(layer: str) -> gpd.GeoDataFrame:
        feats = [f for f in _overlay(store, layer, geom) if f.geometry is not None and f.geometry.intersects(geom)]
        rows = [dict(f.properties) for f in feats]
        frame = pd.DataFrame(rows, index=pd.RangeIndex(len(rows)))
        return gpd.GeoDataFrame(frame, geometry=[f.geometry for f in feats], crs=LAMBERT93)

    site: dict[str, Any] | None = None
    if store.has("site_parcels") and store.has("sites"):
        links = store.rows("site_parcels", equals={"parcel_id": parcel_id}, limit=1)
        if links:
            site = results.parcel_site_summary(rankings.site_detail(str(links[0]["site_id"]), profile))
    availability = (
        availability_record(
            next(iter(store.rows("parcel_availability", equals={"parcel_id": parcel_id}, limit=1)), None)
        )
        if store.has("parcel_availability")
        else None
    )
    parcel = {**feat.properties, "parcel_id": parcel_id, "geometry": geom}
    detail = results.assemble_parcel_detail(
        parcel, around, site=site, availability=availability, synthetic=store.synthetic
    )
    return feat, detail

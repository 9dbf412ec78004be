"""/tiles/{layer}/{z}/{x}/{y}.pbf: Mapbox vector tiles of parcels, sites and zones (WebMercatorQuad)."""

import logging
import os
import threading
from collections.abc import Hashable
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Path, Query, Response

from foncier.api.deps import StoreDep, layer_srs_text
from foncier.api.errors import ERROR_RESPONSES, InvalidParameterError, ResourceNotFoundError
from foncier.api.settings import ApiSettings
from foncier.api.store import GeoPackageStore
from foncier.api.tiles import (
    EXTENT,
    WEB_MERCATOR,
    LayerIndex,
    TileCache,
    TileLayer,
    encode_source,
    encode_tile,
    fitted_transform,
    read_envelope,
    tile_bounds,
)

logger = logging.getLogger(__name__)

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
#: Memory for encoded tiles per process (the densest z14 tile of the full sample is 0.4 MB).
TILE_CACHE_BYTES = 128 * 1024 * 1024

#: Tiled layers: name -> (workspace layer, attributes put in the tile, minimum zoom (None: the settings'))
TILE_LAYERS: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "parcels": ("parcels", ("parcel_id", "commune", "contenance_m2", "status"), None),
    "sites": ("sites", ("site_id", "area_m2", "n_parcels", "communes"), 0),
    "zones": ("zones", ("zone_id", "nom", "type", "vacancy"), 0),
}


def workspace_version(store: GeoPackageStore) -> Hashable:
    """A key that changes whenever the workspace's data may have changed.

    The GeoPackage is written in place in WAL mode (a commit appends to ``foncier.gpkg-wal``, a checkpoint
    rewrites the main file) or, by older writers, replaced: the inode, size and modification time of both
    files cover every case, for two ``stat`` calls.
    """
    key: list[object] = [store.snapshot().key]
    wal = store.path.with_name(store.path.name + "-wal")
    for path in (store.path, wal):
        try:
            st = os.stat(path)
        except OSError:
            key.append(None)
        else:
            key.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(key)


def build_router(settings: ApiSettings) -> APIRouter:
    """The vector tiles router."""
    router = APIRouter(tags=["tiles"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})
    cache_bytes = getattr(settings, "tile_cache_bytes", None)
    if cache_bytes is None:  # FONCIER_API_TILE_CACHE_MB=0 turns the cache off (benchmarks of cold tiles)
        cache_bytes = int(float(os.environ.get("FONCIER_API_TILE_CACHE_MB", TILE_CACHE_BYTES / 2**20)) * 2**20)
    cache = TileCache(int(cache_bytes))
    router.tile_cache = cache  # type: ignore[attr-defined]  # for the benchmarks and tests
    indexes: dict[str, tuple[Hashable, LayerIndex]] = {}
    index_lock = threading.Lock()

    def layer_index(store: GeoPackageStore, name: str, attributes: tuple[str, ...], version: Hashable) -> LayerIndex:
        """The in-memory index of ``name`` for this workspace version (built once, under a lock)."""
        held = indexes.get(name)
        if held is not None and held[0] == version:
            return held[1]
        with index_lock:
            held = indexes.get(name)
            if held is None or held[0] != version:
                held = (version, LayerIndex(store, name, attributes))
                indexes[name] = held
            return held[1]

    @router.get(
        "/tiles/{layer}/{z}/{x}/{y}.pbf",
        summary="Mapbox vector tile",
        response_class=Response,
        responses={
            200: {"description": "MVT tile (one layer named after the path's layer, extent 4096)",
                  "content": {MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
            204: {"description": "Empty tile (below the layer's minimum zoom)"},
        },
    )  # fmt: skip
    def tile(
        store: StoreDep,
        layer: Annotated[str, Path(description="parcels, sites or zones", examples=["parcels"])],
        z: Annotated[int, Path(ge=0, le=settings.tile_max_zoom, description="zoom", examples=[14])],
        x: Annotated[int, Path(ge=0, description="column", examples=[8343])],
        y: Annotated[int, Path(ge=0, description="row (XYZ, from the top)", examples=[5600])],
        zoning: Annotated[
            bool,
            Query(
                description="parcels: add `typezone`, the parcel's dominant PLU zone type "
                "(from the pipeline's parcel_zoning table)"
            ),
        ] = False,
        state: Annotated[
            bool,
            Query(
                description="parcels: add `state`, the parcel's availability state "
                "(from the pipeline's parcel_availability table)"
            ),
        ] = False,
    ) -> Response:
        """A vector tile of ``layer`` in WebMercatorQuad (EPSG:3857), for MapLibre, OpenLayers or QGIS."""
        spec = TILE_LAYERS.get(layer)
        if spec is None:
            raise ResourceNotFoundError(f"no tile layer {layer[:40]!r}; layers: {', '.join(TILE_LAYERS)}",
                                   code="tile_layer_not_found")  # fmt: skip
        if x >= (1 << z) or y >= (1 << z):
            raise InvalidParameterError(f"tile {z}/{x}/{y} does not exist: x and y must be below {1 << z} at zoom {z}")
        name, attributes, min_zoom = spec
        info = store.layer(name)
        headers = {"Cache-Control": "public, max-age=300"}
        if store.synthetic:
            headers["X-Foncier-Notice"] = "synthetic sample - not real land"
        if z < (settings.tile_min_zoom if min_zoom is None else min_zoom):
            return Response(status_code=204, headers=headers)
        version = workspace_version(store)
        cache_key = (layer, z, x, y, zoning, state)
        cached = cache.get(version, cache_key)
        if cached is not None:
            headers["X-Tile-Cache"] = "hit"
            return Response(content=cached, media_type=MVT_MEDIA_TYPE, headers=headers)
        bounds = tile_bounds(z, x, y)
        pad = settings.tile_buffer * (bounds[2] - bounds[0]) / EXTENT
        srs = layer_srs_text(info)
        tr = store.transformer(WEB_MERCATOR, srs)
        try:
            envelope = tr.transform_bounds(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad,
                                           densify_pts=5)  # fmt: skip
        except Exception:  # pyproj cannot transform a tile far outside the CRS's area: nothing there
            return Response(status_code=204, headers=headers)
        if not np.isfinite(envelope).all():
            return Response(status_code=204, headers=headers)
        env = (float(envelope[0]), float(envelope[1]), float(envelope[2]), float(envelope[3]))
        unit = (bounds[2] - bounds[0]) / EXTENT
        fit = fitted_transform(store.transformer(srs, WEB_MERCATOR).transform, env, tolerance=unit / 50)
        add_zoning = zoning and name == "parcels" and store.has("parcel_zoning")
        add_state = state and name == "parcels" and store.has("parcel_availability")
        if fit is not None:
            source = layer_index(store, name, attributes, version).query(env, limit=settings.tile_max_features)
            truncated = source.truncated
            if add_zoning and "parcel_id" in source.columns:
                zone_of = store.value_map("parcel_zoning", "parcel_id", "typezone")
                source.columns["typezone"] = np.asarray([zone_of.get(p) for p in source.columns["parcel_id"]],
                                                        dtype=object)  # fmt: skip
            if add_state and "parcel_id" in source.columns:
                state_of = store.value_map("parcel_availability", "parcel_id", "state")
                source.columns["state"] = np.asarray([state_of.get(p) for p in source.columns["parcel_id"]],
                                                     dtype=object)  # fmt: skip
            data = encode_source(layer, source, bounds, fit, buffer=settings.tile_buffer)
        else:  # no polynomial fits the tile (far from the CRS's area): per-vertex PROJ
            fids, geoms, columns, truncated = read_envelope(
                store, name, env, columns=[a for a in attributes if a in info.columns],
                limit=settings.tile_max_features)  # fmt: skip
            if add_zoning and "parcel_id" in columns:
                zone_of = store.value_map("parcel_zoning", "parcel_id", "typezone")
                columns["typezone"] = [zone_of.get(pid) for pid in columns["parcel_id"]]
            if add_state and "parcel_id" in columns:
                state_of = store.value_map("parcel_availability", "parcel_id", "state")
                columns["state"] = [state_of.get(pid) for pid in columns["parcel_id"]]
            geoms = store.to_crs(geoms, srs, WEB_MERCATOR)
            data = encode_tile([TileLayer(layer, geoms, columns, fids)], bounds, buffer=settings.tile_buffer)
        if truncated:  # not cached: the next request says so again
            headers["X-Tile-Truncated"] = f"more than {settings.tile_max_features} features"
        else:
            cache.put(version, cache_key, data)
        return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers)

    return router

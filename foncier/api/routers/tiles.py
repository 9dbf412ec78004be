"""/tiles/{layer}/{z}/{x}/{y}.pbf: Mapbox vector tiles of parcels, sites and zones (WebMercatorQuad).

Two parts share one :class:`TileService` per server process:

- the router computes a tile (from the layer's in-memory :class:`~foncier.api.tiles.LayerIndex`) and keeps it
  in the service's cache, keyed on the workspace's version;
- :class:`CachedTiles`, a pure ASGI layer in front of the routing, answers a request whose tile is already
  in the cache for the current version straight away: no routing, dependency resolution or worker thread for
  what is a dictionary look-up (two ``stat`` calls tell the version). Anything else (a miss, a workspace
  that changed since the last request, a query string it does not read) goes on to the router.
"""

import logging
import re
import threading
from collections.abc import Hashable
from typing import Annotated
from urllib.parse import parse_qsl

import numpy as np
from fastapi import APIRouter, Path, Query, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from foncier.api.deps import StoreDep, layer_srs_text
from foncier.api.errors import ERROR_RESPONSES, InvalidParameterError, ResourceNotFoundError
from foncier.api.settings import ApiSettings
from foncier.api.store import GeoPackageStore
from foncier.api.tiles import EXTENT, LayerIndex, TileCache, encode_source, tile_bounds

logger = logging.getLogger(__name__)

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

#: Tiled layers: name -> (workspace layer, attributes put in the tile, minimum zoom (None: the settings'))
TILE_LAYERS: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "parcels": ("parcels", ("parcel_id", "commune", "contenance_m2", "status"), None),
    "sites": ("sites", ("site_id", "area_m2", "n_parcels", "communes"), 0),
    "zones": ("zones", ("zone_id", "nom", "type", "vacancy"), 0),
}

#: Optional per-parcel attributes: query flag -> (pipeline table, column put in the tile)
PARCEL_EXTRAS: dict[str, tuple[str, str]] = {
    "zoning": ("parcel_zoning", "typezone"),
    "state": ("parcel_availability", "state"),
}

_TILE_PATH = re.compile(r"/tiles/([a-z]+)/([0-9]{1,3})/([0-9]{1,8})/([0-9]{1,8})\.pbf")
#: Boolean query values as FastAPI (pydantic) reads them
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})

TileKey = tuple[str, int, int, int, bool, bool]


def tile_headers(store: GeoPackageStore) -> dict[str, str]:
    """Headers of every tile answer."""
    headers = {"Cache-Control": "public, max-age=300"}
    if store.synthetic:
        headers["X-Foncier-Notice"] = "synthetic sample - not real land"
    return headers


class TileService:
    """Vector tiles in one server process: the layers' in-memory indexes and the cache of encoded tiles.

    Both are keyed on the workspace's version (:meth:`GeoPackageStore.snapshot`'s key: inode, size and
    modification time of ``foncier.gpkg`` and of its ``-wal``): a write to the workspace drops the cached tiles
    and the next tile rebuilds the index.
    """

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.cache = TileCache(int(settings.tile_cache_mb * 2**20))
        self._indexes: dict[str, tuple[Hashable, LayerIndex]] = {}
        self._lock = threading.Lock()

    def index(self, store: GeoPackageStore, name: str, attributes: tuple[str, ...], version: Hashable) -> LayerIndex:
        """The in-memory index of ``name`` for this workspace version (built once, under a lock)."""
        held = self._indexes.get(name)
        if held is not None and held[0] == version:
            return held[1]
        with self._lock:
            held = self._indexes.get(name)
            if held is None or held[0] != version:
                self._indexes.pop(name, None)  # the old version's arrays go before the new ones are built
                held = (version, LayerIndex(store, name, attributes, layer_srs_text(store.layer(name))))
                self._indexes[name] = held
            return held[1]

    def warm(self, store: GeoPackageStore) -> None:
        """Build the parcels' index for the current version (server start-up, in a background thread)."""
        try:
            if store.has("parcels"):
                self.index(store, "parcels", TILE_LAYERS["parcels"][1], store.snapshot().key)
        except Exception:  # start-up must not fail on it: the first tile request builds it (and says why)
            logger.warning("could not build the parcels' tile index at start-up", exc_info=True)

    @staticmethod
    def fresh_version(store: GeoPackageStore) -> Hashable | None:
        """The workspace's version when the store's last snapshot is still current (no database access), else None."""
        snap = store.current
        if snap is None:
            return None
        key = store.file_version()
        return key if key == snap.key else None


def _flag(values: list[str]) -> bool | None:
    if len(values) != 1:
        return None
    value = values[0].lower()
    return True if value in _TRUE else False if value in _FALSE else None


def cached_tile_key(path: str, query: bytes) -> TileKey | None:
    """The cache key of a tile request as the router would make it, or None when the request is not that simple."""
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        return None
    flags: dict[str, list[str]] = {}
    try:
        for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True, strict_parsing=bool(query)):
            flags.setdefault(k, []).append(v)
    except ValueError:
        return None
    if not flags.keys() <= PARCEL_EXTRAS.keys():
        return None
    zoning = _flag(flags["zoning"]) if "zoning" in flags else False
    state = _flag(flags["state"]) if "state" in flags else False
    if zoning is None or state is None:
        return None
    layer, z, x, y = match.groups()
    return (layer, int(z), int(x), int(y), zoning, state)


class CachedTiles:
    """Pure ASGI layer answering tile requests already in the cache (see the module's docstring).

    It sits inside the security and CORS middleware, so its answers carry the same headers as the router's.
    """

    def __init__(self, app: ASGIApp, *, service: TileService, store: GeoPackageStore) -> None:
        self.app = app
        self.service = service
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and "/tiles/" in scope["path"]:
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            key = cached_tile_key(path, scope.get("query_string", b""))
            version = self.service.fresh_version(self.store) if key is not None else None
            data = self.service.cache.get(version, key) if version is not None else None
            if data is not None:
                headers = [(k.lower().encode(), v.encode()) for k, v in tile_headers(self.store).items()]
                headers += [(b"content-type", MVT_MEDIA_TYPE.encode()), (b"content-length", str(len(data)).encode()),
                            (b"x-tile-cache", b"hit")]  # fmt: skip
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": data})
                return
        await self.app(scope, receive, send)


def build_router(settings: ApiSettings, service: TileService | None = None) -> APIRouter:
    """The vector tiles router (over ``service``, a new one when omitted)."""
    router = APIRouter(tags=["tiles"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})
    service = service or TileService(settings)
    router.tile_service = service  # type: ignore[attr-defined]  # for the app's fast path, benchmarks and tests

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
        store.layer(name)  # 404 when the workspace lacks it
        headers = tile_headers(store)
        if z < (settings.tile_min_zoom if min_zoom is None else min_zoom):
            return Response(status_code=204, headers=headers)
        version = store.snapshot().key
        cache_key: TileKey = (layer, z, x, y, zoning, state)
        cached = service.cache.get(version, cache_key)
        if cached is not None:
            headers["X-Tile-Cache"] = "hit"
            return Response(content=cached, media_type=MVT_MEDIA_TYPE, headers=headers)
        bounds = tile_bounds(z, x, y)
        pad = settings.tile_buffer * (bounds[2] - bounds[0]) / EXTENT
        box = (bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
        index = service.index(store, name, attributes, version)
        source = index.query(box, limit=settings.tile_max_features)
        if name == "parcels" and "parcel_id" in index.values and source.rows is not None:
            parcel_ids = index.values["parcel_id"][source.rows]
            asked = {"zoning": zoning, "state": state}
            for flag, (table, column) in PARCEL_EXTRAS.items():
                if asked[flag] and store.has(table):
                    value_of = store.value_map(table, "parcel_id", column)
                    source.columns[column] = np.asarray([value_of.get(p) for p in parcel_ids], dtype=object)
        data = encode_source(layer, source, bounds, buffer=settings.tile_buffer)
        if source.truncated:  # not cached: the next request says so again
            headers["X-Tile-Truncated"] = f"more than {settings.tile_max_features} features"
        else:
            service.cache.put(version, cache_key, data)
        return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers)

    return router

"""/tiles/{layer}/{z}/{x}/{y}.pbf: Mapbox vector tiles of parcels, sites and zones (WebMercatorQuad)."""

import logging
from typing import Annotated

import numpy as np
import shapely
from fastapi import APIRouter, Path, Query, Response

from foncier.api.deps import StoreDep, layer_srs_text
from foncier.api.errors import ERROR_RESPONSES, InvalidParameterError, ResourceNotFoundError
from foncier.api.settings import ApiSettings
from foncier.api.tiles import EXTENT, WEB_MERCATOR, TileLayer, encode_tile, fitted_transform, tile_bounds

logger = logging.getLogger(__name__)

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"

#: Tiled layers: name -> (workspace layer, attributes put in the tile, minimum zoom (None: the settings'))
TILE_LAYERS: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "parcels": ("parcels", ("parcel_id", "commune", "contenance_m2", "status"), None),
    "sites": ("sites", ("site_id", "area_m2", "n_parcels", "communes"), 0),
    "zones": ("zones", ("zone_id", "nom", "type", "vacancy"), 0),
}


def build_router(settings: ApiSettings) -> APIRouter:
    """The vector tiles router."""
    router = APIRouter(tags=["tiles"], responses={k: ERROR_RESPONSES[k] for k in (400, 404, 503)})

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
        fids, geoms, columns, truncated = store.envelope_columns(
            name, env, columns=[a for a in attributes if a in info.columns],
            limit=settings.tile_max_features)  # fmt: skip
        if zoning and name == "parcels" and store.has("parcel_zoning") and "parcel_id" in columns:
            zone_of = store.value_map("parcel_zoning", "parcel_id", "typezone")
            columns["typezone"] = [zone_of.get(pid) for pid in columns["parcel_id"]]
        if truncated:
            headers["X-Tile-Truncated"] = f"more than {settings.tile_max_features} features"
        unit = (bounds[2] - bounds[0]) / EXTENT
        fit = fitted_transform(store.transformer(srs, WEB_MERCATOR).transform, env, tolerance=unit / 50)
        if fit is not None and len(geoms):
            geoms = np.asarray(shapely.transform(geoms, fit), dtype=object)
        else:
            geoms = store.to_crs(geoms, srs, WEB_MERCATOR)
        data = encode_tile([TileLayer(layer, geoms, columns, fids.tolist())], bounds, buffer=settings.tile_buffer)
        return Response(content=data, media_type=MVT_MEDIA_TYPE, headers=headers)

    return router

"""The official sources: URL building, paging, parsing into canonical layers.

One function per source, each taking a :class:`FetchContext` and returning a :class:`SourceResult` (the
validated canonical layers in EPSG:2154 with their provenance, and what failed). A failure of one item (a
commune whose cadastre file is missing, a query tile that keeps failing) is recorded and the other items
are kept; an item missing from the cache in offline mode is listed in ``missing``.

======================  =========================================================================  =========
layer                   service (base URL setting) and paging                                        licence
======================  =========================================================================  =========
communes                geo.api.gouv.fr ``/epcis/{siren}/communes`` (+ ``/communes?code=``),          LO 2.0
                        ``format=geojson&geometry=contour``; no paging
parcels                 Etalab cadastre ``{vintage}/geojson/communes/{dep}/{insee}/cadastre-{insee}-   LO 2.0
                        parcelles.json.gz`` (a gzip file; ``latest`` may redirect to a dated edition)
plu                     API Carto ``/gpu/zone-urba?geom=`` per tile; ``_start/_limit`` ignored, the   LO 2.0
                        answer is capped: ``numberMatched > numberReturned`` splits the tile in four
protected               API Carto ``/nature/{natura-habitat,natura-oiseaux,znieff1,znieff2}``:         LO 2.0
                        ``_start += _limit`` until ``numberMatched`` (``links`` are never followed)
flood                   API Carto ``/gpu/assiette-sup-s?categorie=PM1`` (as plu), or the Georisques    LO 2.0
                        WFS ``ms:PPRN_ZONE_INOND`` (``COUNT``/``STARTINDEX``)
friches                 Cartofriches ``/geofriches/?code_insee=`` (10 codes a query), ``next`` links    LO 2.0
rail_lines/stations     SNCF Opendatasoft exports ``/{dataset}/exports/geojson``; no paging          ODbL
roads/interchanges      OpenStreetMap extracts (Geofabrik ``.osm.pbf``, checked against ``.md5``)     ODbL
dem                     Copernicus GLO-30 COG tiles, by window (see :mod:`.dem`)                     Copernicus
hubs                    the territory file                                                            -
======================  =========================================================================  =========
"""

from foncier.layers.fetch.sources._common import (
    COMMUNE_FIELDS,
    LICENCES,
    MAX_DROPPED_SHARE,
    NATURE_KINDS,
    SNCF_DATASETS,
    FetchContext,
    SourceResult,
    T,
    _features,
    _finish,
    _get,
    _get_json,
    empty_layer,
    frame_from_features,
    geom_param,
    make_provenance,
    query_tiles,
)
from foncier.layers.fetch.sources.apicarto import (
    _gpu_features,
    _nature_features,
    fetch_plu,
    fetch_protected,
)
from foncier.layers.fetch.sources.cadastre import (
    fetch_buildings,
    fetch_parcels,
    parcels_url,
    read_geojson_file,
)
from foncier.layers.fetch.sources.cartofriches import (
    _chunks,
    _rebase,
    fetch_friches,
)
from foncier.layers.fetch.sources.copernicus import (
    fetch_dem_layer,
)
from foncier.layers.fetch.sources.flood import (
    _BLUE_RE,
    _RED_RE,
    _classify_flood,
    _swap_if_latlon,
    fetch_flood,
    fetch_flood_georisques,
    fetch_flood_gpu,
    flood_level,
)
from foncier.layers.fetch.sources.geoapi import (
    fetch_communes,
)
from foncier.layers.fetch.sources.hubs import (
    territory_hubs,
)
from foncier.layers.fetch.sources.osm_roads import (
    _bbox_lonlat,
    _expected_md5,
    _http_date,
    _md5_check,
    fetch_roads,
    osm_urls,
)
from foncier.layers.fetch.sources.sncf import (
    fetch_rail,
)

__all__ = [
    "COMMUNE_FIELDS",
    "LICENCES",
    "MAX_DROPPED_SHARE",
    "NATURE_KINDS",
    "SNCF_DATASETS",
    "_BLUE_RE",
    "_RED_RE",
    "FetchContext",
    "SourceResult",
    "T",
    "_bbox_lonlat",
    "_chunks",
    "_classify_flood",
    "_expected_md5",
    "_features",
    "_finish",
    "_get",
    "_get_json",
    "_gpu_features",
    "_http_date",
    "_md5_check",
    "_nature_features",
    "_rebase",
    "_swap_if_latlon",
    "empty_layer",
    "fetch_buildings",
    "fetch_communes",
    "fetch_dem_layer",
    "fetch_flood",
    "fetch_flood_georisques",
    "fetch_flood_gpu",
    "fetch_friches",
    "fetch_parcels",
    "fetch_plu",
    "fetch_protected",
    "fetch_rail",
    "fetch_roads",
    "flood_level",
    "frame_from_features",
    "geom_param",
    "logger",
    "make_provenance",
    "osm_urls",
    "parcels_url",
    "query_tiles",
    "read_geojson_file",
    "territory_hubs",
]

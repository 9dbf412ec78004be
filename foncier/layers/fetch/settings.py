"""Settings of the fetch: base URL of every source, timeouts, retries, cache, query tiling.

Every value can be set from the environment with the prefix ``FONCIER_FETCH_`` (for example
``FONCIER_FETCH_CADASTRE_URL=http://mirror.local/etalab-cadastre`` or ``FONCIER_FETCH_RETRIES=8``), or given
to :class:`FetchSettings` directly; the command line overrides base URLs with ``--source-url NAME=URL``.
Base URLs may point at a mirror (any HTTP server laid out like the official service) or, for the services
that serve plain files (cadastre, geo, sncf, osm, dem), at a local copy with a ``file://`` URL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from foncier._version import __version__
from foncier.errors import ValidationError

logger = logging.getLogger(__name__)

SOURCE_NAMES: tuple[str, ...] = (
    "cadastre",
    "geo",
    "apicarto",
    "georisques",
    "cartofriches",
    "sncf",
    "osm",
    "dem",
)
"""Names of the sources whose base URL can be overridden (``--source-url NAME=URL``)."""


def default_cache_dir() -> Path:
    """The user cache folder: ``$XDG_CACHE_HOME/foncier`` or ``~/.cache/foncier``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "foncier"


class FetchSettings(BaseSettings):
    """Where and how to fetch the official layers.

    Attributes
    ----------
    cadastre_url : str
        Etalab cadastre files; parcels are read from
        ``{cadastre_url}/{cadastre_vintage}/geojson/communes/{dep}/{insee}/cadastre-{insee}-parcelles.json.gz``.
    cadastre_vintage : str
        Edition folder of the Etalab cadastre: ``latest`` or a date ``YYYY-MM-DD``.
    geo_url : str
        geo.api.gouv.fr (communes with outlines and population).
    apicarto_url : str
        IGN API Carto (``/gpu/zone-urba``, ``/gpu/assiette-sup-s``, ``/nature/...``).
    georisques_url : str
        Georisques services (WFS ``ms:PPRN_ZONE_INOND``), used when ``flood_service`` is ``georisques``.
    cartofriches_url : str
        Cerema API Données foncières, Cartofriches (``/geofriches/``).
    sncf_url : str
        SNCF open data (Opendatasoft explore v2.1 catalogue of datasets).
    osm_url : str
        OpenStreetMap extracts (Geofabrik); the territory names the extract paths under it.
    dem_url : str
        Copernicus DEM GLO-30 Cloud-Optimised GeoTIFF tiles.
    flood_service : {"gpu", "georisques"}
        Where flood zones come from: the PPR (PM1) easements of the Géoportail de l'urbanisme through API
        Carto (default), or the Georisques WFS of PPRN flood zoning.
    cache_dir : Path or None
        Download cache; default :func:`default_cache_dir`.
    connect_timeout, read_timeout : float
        Seconds to wait for a connection and between two received bytes.
    retries : int
        Attempts after the first one on 429, 5xx, timeouts, connection errors and truncated bodies.
    backoff_base, backoff_max : float
        Exponential backoff with full jitter: before retry ``k`` (0-based) wait a random time in
        ``[0, min(backoff_max, backoff_base * 2**k)]`` seconds.
    retry_after_max : float
        Longest ``Retry-After`` honoured (seconds).
    resume_min_bytes : int
        Downloads at least this large are resumed with an HTTP Range request after an interruption.
    query_tile_deg : float
        Side of the square tiles (degrees) the territory is cut into for the geometric queries of API Carto
        and Georisques.
    gpu_max_split_depth : int
        How many times a GPU query tile is split in four when the service caps its answer.
    nature_page_size : int
        ``_limit`` of API Carto nature queries (1..1000).
    cartofriches_page_size, cartofriches_batch : int
        ``page_size`` of Cartofriches queries and how many INSEE codes go in one query (the API takes 10).
    georisques_page_size : int
        ``COUNT`` of the Georisques WFS queries.
    rail_buffer_km : float
        Rail lines and stations are kept within this distance of the territory (freight stations nearby count).
    roads_margin_km : float
        Every road class is kept within this distance of the territory; farther, only the main roads
        (motorway, trunk, primary and their links) that lead to the hubs.
    dem_resolution_m : float
        Cell size of the workspace DEM (EPSG:2154).
    dem_margin_m : float
        Margin around the territory covered by the DEM.
    user_agent : str
        ``User-Agent`` sent with every request.
    """

    model_config = SettingsConfigDict(env_prefix="FONCIER_FETCH_", extra="ignore")

    cadastre_url: str = "https://cadastre.data.gouv.fr/data/etalab-cadastre"
    cadastre_vintage: str = "latest"
    geo_url: str = "https://geo.api.gouv.fr"
    apicarto_url: str = "https://apicarto.ign.fr/api"
    georisques_url: str = "https://www.georisques.gouv.fr/services"
    cartofriches_url: str = "https://apidf-preprod.cerema.fr/cartofriches"
    sncf_url: str = "https://ressources.data.sncf.com/api/explore/v2.1/catalog/datasets"
    osm_url: str = "https://download.geofabrik.de"
    dem_url: str = "https://copernicus-dem-30m.s3.amazonaws.com"

    flood_service: Literal["gpu", "georisques"] = "gpu"
    cache_dir: Path | None = None

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=5, ge=0)
    backoff_base: float = Field(default=1.0, ge=0)
    backoff_max: float = Field(default=60.0, ge=0)
    retry_after_max: float = Field(default=300.0, ge=0)
    resume_min_bytes: int = Field(default=8 * 1024 * 1024, ge=1)

    query_tile_deg: float = Field(default=0.2, gt=0, le=5)
    gpu_max_split_depth: int = Field(default=5, ge=0, le=12)
    nature_page_size: int = Field(default=1000, ge=1, le=1000)
    cartofriches_page_size: int = Field(default=100, ge=1)
    cartofriches_batch: int = Field(default=10, ge=1, le=10)
    georisques_page_size: int = Field(default=1000, ge=1)
    rail_buffer_km: float = Field(default=20.0, ge=0)
    roads_margin_km: float = Field(default=10.0, ge=0)
    dem_resolution_m: float = Field(default=25.0, gt=0)
    dem_margin_m: float = Field(default=1000.0, ge=0)
    user_agent: str = f"foncier/{__version__} (open-data fetch; python-httpx)"

    def base_url(self, source: str) -> str:
        """Base URL of ``source`` (one of :data:`SOURCE_NAMES`) without a trailing slash."""
        if source not in SOURCE_NAMES:
            raise KeyError(f"unknown source '{source}'; known: {', '.join(SOURCE_NAMES)}")
        return str(getattr(self, f"{source}_url")).rstrip("/")

    @property
    def cache_path(self) -> Path:
        """The cache folder in use."""
        return Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()

    def with_source_urls(self, overrides: Mapping[str, str] | None) -> FetchSettings:
        """Return a copy with some base URLs replaced.

        Parameters
        ----------
        overrides : mapping of str to str
            Source name (see :data:`SOURCE_NAMES`) to base URL.

        Raises
        ------
        foncier.errors.ValidationError
            When a name is unknown or a URL is not http(s):// or file://.
        """
        if not overrides:
            return self
        problems = []
        update: dict[str, str] = {}
        for name, url in overrides.items():
            if name not in SOURCE_NAMES:
                problems.append(f"unknown source '{name}' (known: {', '.join(SOURCE_NAMES)})")
            elif not url.startswith(("http://", "https://", "file://")):
                problems.append(f"source '{name}': '{url}' is not an http(s):// or file:// URL")
            else:
                update[f"{name}_url"] = url.rstrip("/")
        if problems:
            raise ValidationError(problems, title="invalid --source-url")
        return self.model_copy(update=update)


def parse_source_urls(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Parse ``NAME=URL`` strings (from ``--source-url``) into a mapping.

    Raises
    ------
    foncier.errors.ValidationError
        When an item has no ``=``.
    """
    out: dict[str, str] = {}
    problems = []
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            problems.append(f"'{item}' is not NAME=URL (names: {', '.join(SOURCE_NAMES)})")
            continue
        out[name.strip()] = url.strip()
    if problems:
        raise ValidationError(problems, title="invalid --source-url")
    return out

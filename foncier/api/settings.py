"""Settings of the API (pydantic-settings, environment prefix ``FONCIER_API_``).

Every value can be given in the environment, e.g. ``FONCIER_API_WORKSPACE=/data/ws``,
``FONCIER_API_MAX_LIMIT=500`` or ``FONCIER_API_CORS_ORIGINS='["https://qgis.example.org"]'``, or passed to
:class:`ApiSettings` directly (``foncier serve`` does so from its options).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

SYNTHETIC_NOTICE = "synthetic sample — not real land"
"""Notice carried by every answer made from a synthetic workspace."""


class ApiSettings(BaseSettings):
    """Configuration of the foncier API.

    Attributes
    ----------
    workspace : Path
        The workspace directory (holds ``foncier.gpkg``).
    title : str
        Title of the service (OpenAPI and OGC landing page).
    default_limit : int
        Page size when a request gives no ``limit``.
    max_limit : int
        Largest page size; a larger ``limit`` is refused (400) on the foncier endpoints and lowered to this
        value on the OGC API - Features endpoints (as that standard requires).
    max_offset : int
        Largest ``offset`` accepted: paging deeper than this should use a bbox or a commune filter.
    cors_origins : list of str
        Origins allowed by CORS (``["*"]`` for any); empty: no CORS headers.
    tile_min_zoom : int
        Below this zoom, the parcels tile layer is empty (a tile would hold too many parcels).
    tile_max_zoom : int
        Largest zoom served.
    tile_max_features : int
        Most features encoded in one tile layer (a denser tile is truncated and says so in a header).
    tile_buffer : int
        Buffer around a tile, in tile units of a 4096 extent (geometries are clipped there).
    tile_cache_mb : float
        Memory for encoded vector tiles in each server process (MB; 0 turns the cache off, e.g. to
        benchmark cold tiles). The densest z14 tile of the full sample is 0.4 MB.
    tile_index_at_start : bool
        Build the parcels' in-memory tile index when the server starts (in the background) rather than on the
        first tile request.
    max_profile_cache : int
        Number of scored rankings (named profiles) kept in memory.
    max_body_bytes : int
        Largest accepted request body (POST /scores), whatever the transfer encoding (chunked included).
    public_url : str, optional
        The service's public root URL (``https://foncier.example.org/api``): every link in the answers is
        built from it. Unset: links use the address the server listens on, never the request's Host header.
    worker_threads : int
        Threads serving the synchronous endpoints (each holds at most one read-only SQLite connection).
    """

    model_config = SettingsConfigDict(env_prefix="FONCIER_API_", extra="ignore")

    workspace: Path = Field(default=Path("workspace"), description="workspace directory (holds foncier.gpkg)")
    title: str = "foncier API"
    default_limit: int = Field(default=100, ge=1)
    max_limit: int = Field(default=1000, ge=1, le=100_000)
    max_offset: int = Field(default=1_000_000, ge=0)
    cors_origins: list[str] = Field(default_factory=list)
    tile_min_zoom: int = Field(default=12, ge=0, le=24)
    tile_max_zoom: int = Field(default=22, ge=0, le=24)
    tile_max_features: int = Field(default=20_000, ge=1)
    tile_buffer: int = Field(default=64, ge=0, le=1024)
    tile_cache_mb: float = Field(default=128.0, ge=0, le=65_536)
    tile_index_at_start: bool = True
    max_profile_cache: int = Field(default=16, ge=0)
    max_body_bytes: int = Field(default=256_000, ge=1024)
    public_url: str | None = Field(default=None, description="public root URL used in every link of the answers")
    worker_threads: int = Field(default=16, ge=1, le=64)
    map_assets: Literal["auto", "local", "cdn"] = Field(
        default="auto",
        description="where the HTML maps load Leaflet from: 'local' = this server's /maps/assets (copies from the "
        "project's npm set-up), 'cdn' = jsDelivr, 'auto' = local when the copies are installed",
    )

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(
                f"public_url must be an http(s) URL without query, like https://example.org/api; got {value!r}"
            )
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _check_limits(self) -> ApiSettings:
        if self.default_limit > self.max_limit:
            raise ValueError(f"default_limit ({self.default_limit}) is larger than max_limit ({self.max_limit})")
        if self.tile_min_zoom > self.tile_max_zoom:
            raise ValueError(f"tile_min_zoom ({self.tile_min_zoom}) is larger than tile_max_zoom "
                             f"({self.tile_max_zoom})")  # fmt: skip
        return self

"""Fetch a territory's layers from the official open-data sources, with a cache and provenance.

Entry point: :func:`fetch_territory` (``foncier fetch``). Modules: :mod:`.settings` (base URLs, timeouts,
retries; ``FONCIER_FETCH_*``), :mod:`.http` (cached, retrying downloads), :mod:`.territory` (territory
files), :mod:`.sources` (one function per official source), :mod:`.osm` (roads from OpenStreetMap extracts),
:mod:`.dem` (Copernicus DEM by window), :mod:`.run` (orchestration and report). See docs/FETCH.md.
"""

from __future__ import annotations

from foncier.layers.fetch.http import ContentCache, HttpClient, OfflineMissingError, ResourceNotFoundError
from foncier.layers.fetch.run import FETCH_LAYERS, FetchReport, LayerReport, fetch_territory, resolve_layers
from foncier.layers.fetch.settings import SOURCE_NAMES, FetchSettings, parse_source_urls
from foncier.layers.fetch.territory import Territory, list_territories, load_territory

__all__ = [
    "FETCH_LAYERS",
    "SOURCE_NAMES",
    "ContentCache",
    "FetchReport",
    "FetchSettings",
    "HttpClient",
    "LayerReport",
    "OfflineMissingError",
    "ResourceNotFoundError",
    "Territory",
    "fetch_territory",
    "list_territories",
    "load_territory",
    "parse_source_urls",
    "resolve_layers",
]

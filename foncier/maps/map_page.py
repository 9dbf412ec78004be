"""The set-up every foncier map page starts with: a folium map, its page, its CSS and its basemap.

The site map, the site sheet, the site comparison and the parcel map all open the same way: a folium map centred
on the data's bounds (no folium tiles, no folium scale), only Leaflet among folium's default assets, a
:class:`~foncier.maps.elements.Page` with a title and a language as the root, foncier's CSS in the header and,
online only, the light OpenStreetMap basemap (offline maps must not touch the network).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import folium

from foncier.maps.assets import trim_map_defaults
from foncier.maps.elements import BASE_CSS, Css, Page, attach_page

logger = logging.getLogger(__name__)

BASEMAP_TILES = "OpenStreetMap"
BASEMAP_OPACITY = 0.6


def new_map_page(
    bounds: list[list[float]],
    *,
    zoom_start: int,
    title: str,
    lang: str,
    css: str,
    offline: bool,
    basemap_options: Mapping[str, Any] | None = None,
    **map_options: Any,
) -> tuple[folium.Map, Page]:
    """A folium map on its foncier page, with foncier's CSS and (online) the basemap.

    Parameters
    ----------
    bounds : list of list of float
        ``[[south, west], [north, east]]`` in degrees; the map opens on their centre.
    zoom_start : int
        Zoom the map opens at (builders usually fit the bounds afterwards).
    title : str
        Title of the page.
    lang : str
        Language of the page (``fr`` or ``en``).
    css : str
        The map's own CSS, added after :data:`~foncier.maps.elements.BASE_CSS` in one ``<style>`` block
        named ``foncier_css``.
    offline : bool
        No basemap when true (an offline map must not fetch tiles).
    basemap_options : mapping, optional
        More keyword arguments for the basemap's ``folium.TileLayer`` (``max_zoom`` ...).
    **map_options
        More keyword arguments for ``folium.Map`` (``width``, ``zoom_snap`` ...).

    Returns
    -------
    tuple of (folium.Map, Page)
        The map and the page it is the child of.
    """
    m = folium.Map(
        location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
        zoom_start=zoom_start,
        tiles=None,
        control_scale=False,
        **map_options,
    )
    trim_map_defaults(m)
    page = attach_page(m, title=title, lang=lang)
    m.add_child(Css(BASE_CSS + css), name="foncier_css")
    if not offline:
        folium.TileLayer(
            BASEMAP_TILES, name="OpenStreetMap", control=False, opacity=BASEMAP_OPACITY, **dict(basemap_options or {})
        ).add_to(m)
    return m, page

"""The land officers' parcel map: every parcel of the territory, coloured by availability or zoning.

The territory has about 150,000 parcels: as inline GeoJSON that is a 100 MB page that freezes a browser. This
map therefore never embeds parcels. It draws them from the **vector tiles** of the foncier API
(``/tiles/parcels/{z}/{x}/{y}.pbf``, Mapbox Vector Tile, one layer named ``parcels`` with the attributes
``parcel_id``, ``commune``, ``contenance_m2``, ``status``) with the Leaflet.VectorGrid plugin (npm
``leaflet.vectorgrid``): the browser only fetches the tiles in view, from zoom :data:`MIN_ZOOM` on, and
each tile is already clipped and simplified by the server.

- ``color_by="availability"`` fills parcels by their land officer status (available, under option, sold,
  not for sale, not recorded);
- ``color_by="state"`` fills parcels by their availability state computed by the pipeline
  (``parcel_availability.state``: available, built, occupied, committed, to verify), from the tiles'
  opt-in ``state`` attribute (``?state=true``);
- ``color_by="zoning"`` fills parcels by the PLU zone type when the tiles carry ``typezone``, and otherwise
  shows the (simplified, inline, small) PLU zoning layer under parcel outlines.

Clicking a parcel shows its id, commune, tax area and status. Candidate sites (``/tiles/sites/...``) are drawn
as outlines on top. The map must be served next to the API (``foncier serve`` serves it under ``/maps``) or
given an absolute ``tiles_url``; a file opened from disk cannot fetch relative tile URLs.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any, Literal, get_args

import folium
import geopandas as gpd
import pandas as pd
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import LocateControl
from folium.template import Template

from foncier.maps import i18n
from foncier.maps.assets import ASSETS, use_assets
from foncier.maps.display import feature_collection, generalise, latlon_bounds
from foncier.maps.elements import (
    Banner,
    HtmlControl,
    ReadyFlag,
    Script,
    StaticScript,
    fit_bounds_js,
    js_json,
    provenance_html,
    static_text,
)
from foncier.maps.i18n import t
from foncier.maps.map_page import new_map_page
from foncier.maps.style import AVAILABILITY_COLORS, LAYER_STYLES, STATE_COLORS, ZONING_COLORS

logger = logging.getLogger(__name__)

ColorBy = Literal["availability", "zoning", "state"]
#: What each :data:`ColorBy` value fills parcels by: the one description of the CLI's ``--color-by`` help and the
#: API's ``color_by`` parameter (tests check it names every value of :data:`ColorBy`, and only those).
COLOR_BY_MEANINGS: dict[str, str] = {
    "availability": "the land officer status (available, under option, sold, not for sale, not recorded)",
    "zoning": "the PLU zone type (typezone)",
    "state": "the availability state computed by the pipeline (parcel_availability.state: available, built, "
    "occupied, committed, to verify)",
}


def color_by_help() -> str:
    """One line naming every ``color_by`` value and what it colours parcels by (CLI and API help)."""
    return "; ".join(f"{value}: {COLOR_BY_MEANINGS[value]}" for value in get_args(ColorBy)) + "."


TILES_URL = "/tiles/parcels/{z}/{x}/{y}.pbf"
SITES_TILES_URL = "/tiles/sites/{z}/{x}/{y}.pbf"
MIN_ZOOM = 14
"""Parcels are drawn from this zoom on (about 1:35,000): a tile then holds a few hundred parcels."""
ZONING_TOLERANCE_M = 10.0
MAP_MIN_ZOOM = 7
"""The map's own minimum zoom: set explicitly, else Leaflet takes the parcel layer's ``minZoom`` for the map's."""


class VectorTileLayer(JSCSSMixin, Layer):
    """A Leaflet.VectorGrid protobuf layer with foncier's parcel styling, popups and a zoom hint."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = foncierParcelLayer({{ this._parent.get_name() }}, {{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict[str, Any], *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "VectorTileLayer"
        self.config_json = js_json(config)
        self.default_js = [("vectorgrid_js", ASSETS["vectorgrid_js"].cdn_url())]


class SitesOutline(JSCSSMixin, Layer):
    """Candidate sites drawn as outlines from the API's ``sites`` vector tiles."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.vectorGrid.protobuf({{ this.url_json }}, {
            vectorTileLayerStyles: {sites: {weight: 2.5, color: '#111', fill: false, opacity: 0.9}},
            interactive: false, rendererFactory: L.svg.tile
        });
        {% endmacro %}
        """
    )

    def __init__(self, url: str, *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "SitesOutline"
        self.url_json = js_json(url)
        self.default_js = [("vectorgrid_js", ASSETS["vectorgrid_js"].cdn_url())]


class ZoomHint(HtmlControl):
    """A hint shown while the map is zoomed out too far for the parcels."""

    def __init__(self, text: str, min_zoom: int) -> None:
        super().__init__(
            f'<span class="fx-zoom-hint">{html.escape(text)}</span>', position="topright", css_class="fx-box fx-hint"
        )
        self.min_zoom = min_zoom


PARCEL_MAP_CSS = static_text("parcel_map.css")


def _legend(color_by: ColorBy, lang: str, url: str, zoning_inline: bool) -> str:
    if color_by == "availability":
        entries = [(AVAILABILITY_COLORS[k], t(f"availability_{k}", lang)) for k in AVAILABILITY_COLORS]
    elif color_by == "state":
        entries = [(STATE_COLORS[k], t(f"parcel_state_{k}", lang)) for k in STATE_COLORS]
    else:
        entries = [(ZONING_COLORS[k], t(f"zoning_{k}", lang)) for k in ZONING_COLORS]
    rows = "".join(
        f'<div><span class="fx-swatch" style="background:{c}"></span>{html.escape(label)}</div>' for c, label in entries
    )
    title = t(f"color_by_{color_by}", lang)
    note = t("tiles_note", lang, url=url)
    return f'<h3>{html.escape(title)}</h3>{rows}<div class="fx-small">{html.escape(note)}</div>'


def build_parcel_map(
    *,
    extent: gpd.GeoDataFrame | list[list[float]],
    tiles_url: str = TILES_URL,
    sites_tiles_url: str | None = SITES_TILES_URL,
    color_by: ColorBy = "availability",
    zoning: gpd.GeoDataFrame | None = None,
    communes: gpd.GeoDataFrame | None = None,
    lang: str = "fr",
    offline: bool = False,
    synthetic: bool = False,
    provenance: pd.DataFrame | None = None,
    min_zoom: int = MIN_ZOOM,
    max_native_zoom: int = 18,
    tile_layer: str = "parcels",
) -> folium.Map:
    """Build the land officers' parcel map (parcels from vector tiles, never inline).

    Parameters
    ----------
    extent : GeoDataFrame or [[south, west], [north, east]]
        What the map opens on (the communes, or bounds in degrees).
    tiles_url : str
        URL template of the parcel vector tiles (relative to the page, or absolute).
    sites_tiles_url : str or None
        URL template of the candidate sites' vector tiles (None: no site outlines).
    color_by : {"availability", "zoning", "state"}
        What the parcel fill shows: the officer's status, the PLU zone type or the availability state.
    zoning : GeoDataFrame, optional
        The PLU layer (``typezone``), drawn simplified under the parcels when ``color_by="zoning"``.
    communes : GeoDataFrame, optional
        Commune outlines (the background offline, with names).
    lang, offline, synthetic, provenance
        As for :func:`foncier.maps.site_map.build_site_map`.
    min_zoom : int
        First zoom at which parcel tiles are requested.
    max_native_zoom : int
        Deepest zoom of the tile server (deeper zooms scale its tiles).
    tile_layer : str
        Name of the layer inside the tiles.
    """
    lang = i18n.check_lang(lang)
    if color_by not in ("availability", "zoning", "state"):
        raise ValueError(f"color_by must be 'availability', 'zoning' or 'state', got {color_by!r}")
    bounds = latlon_bounds(extent) if isinstance(extent, gpd.GeoDataFrame) else [list(map(float, p)) for p in extent]
    m, _ = new_map_page(
        bounds,
        zoom_start=11,
        title=t("parcel_map_title", lang),
        lang=lang,
        css=PARCEL_MAP_CSS,
        offline=offline,
        basemap_options={"max_zoom": 20, "max_native_zoom": 19},
    )
    # folium only gives min/max zoom to its own tile layer: set the map's (before the parcel layer is added)
    m.add_child(Script(f"map.setMinZoom({MAP_MIN_ZOOM}); map.setMaxZoom(20);"), name="foncier_zoom_range")
    m.add_child(StaticScript("parcel_map.js"), name="foncier_parcel_map_js")
    if communes is not None and not communes.empty:
        style = LAYER_STYLES["communes"]
        shown = generalise(communes, tolerance_m=style.tolerance_m, decimals=style.decimals)
        folium.GeoJson(
            feature_collection(shown, columns=("nom",)),
            name=html.escape(i18n.layer_title("communes", lang)),
            style_function=lambda f: {**style.leaflet(), "fillOpacity": 0.35},
            interactive=False,  # above the tile pane: it must not catch the clicks meant for parcels
        ).add_to(m)
    zoning_inline = color_by == "zoning" and zoning is not None and not zoning.empty
    if zoning_inline:
        assert zoning is not None
        shown = generalise(zoning[["typezone", zoning.geometry.name]], tolerance_m=ZONING_TOLERANCE_M, decimals=5)

        def zoning_style(feature: dict[str, Any]) -> dict[str, Any]:
            color = ZONING_COLORS.get(str(feature["properties"].get("typezone")), ZONING_COLORS["other"])
            return {"color": color, "weight": 0.5, "fillColor": color, "fillOpacity": 0.45}

        folium.GeoJson(
            feature_collection(shown, columns=("typezone",)),
            name=html.escape(t("zoning", lang)),
            style_function=zoning_style,
            interactive=False,
        ).add_to(m)
    text = i18n.table(lang, ["parcel_id", "commune", "contenance", "status", "zoning", "state"])
    text.update(
        {k: v for k, v in i18n.table(lang).items() if k.startswith("availability_") or k.startswith("parcel_state_")}
    )
    # the zone type and the availability state are opt-in attributes of the API's parcel tiles (larger tiles)
    opt_in = {"zoning": "zoning=true", "state": "state=true"}.get(color_by)
    config = {
        "url": tiles_url + ("&" if "?" in tiles_url else "?") + opt_in if opt_in else tiles_url,
        "layer": tile_layer,
        "colorBy": color_by,
        "colors": {"availability": AVAILABILITY_COLORS, "state": STATE_COLORS}.get(color_by, ZONING_COLORS),
        "minZoom": min_zoom,
        "maxNativeZoom": max_native_zoom,
        "text": text,
        "locale": "fr-FR" if lang == "fr" else "en-GB",
        "attribution": html.escape(t("synthetic_short", lang)) if synthetic else "",
        "communes": {},
    }
    if communes is not None and {"insee", "nom"} <= set(communes.columns):
        config["communes"] = dict(zip(communes["insee"].astype(str), communes["nom"].astype(str), strict=False))
    VectorTileLayer(config, name=html.escape(i18n.t("parcels", lang))).add_to(m)
    if sites_tiles_url:
        SitesOutline(sites_tiles_url, name=html.escape(t("sites_layer", lang))).add_to(m)
    m.add_child(
        HtmlControl(
            _legend(color_by, lang, tiles_url, zoning_inline), position="bottomright", css_class="fx-box fx-legend"
        ),
        name="foncier_legend",
    )
    hint = ZoomHint(t("zoom_in_for_parcels", lang, z=min_zoom), min_zoom)
    m.add_child(hint, name="foncier_hint")
    m.add_child(
        Script(
            f"function fxHint() {{ var el = document.querySelector('.fx-hint'); if (el) {{ el.style.display = "
            f"map.getZoom() < {int(min_zoom)} ? '' : 'none'; }} }} map.on('zoomend', fxHint); fxHint();"
        ),
        name="foncier_hint_js",
    )
    LocateControl(
        position="topleft",
        strings={"title": "Me localiser" if lang == "fr" else "Show me where I am"},
    ).add_to(m)
    m.add_child(Script("L.control.scale({imperial: false}).addTo(map);"), name="foncier_scale")
    m.add_child(
        HtmlControl(provenance_html(provenance, lang), position="bottomleft", css_class="fx-box"),
        name="foncier_provenance",
    )
    if synthetic:
        m.add_child(Banner(t("synthetic_banner", lang)), name="foncier_banner")
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(Script(fit_bounds_js(bounds)), name="foncier_fit")
    m.add_child(ReadyFlag(), name="foncier_ready")
    use_assets(m.get_root(), offline=offline)
    logger.info("parcel map (%s, colour by %s, tiles %s)", lang, color_by, tiles_url)
    return m


def parcel_tile_properties() -> Mapping[str, str]:
    """The attributes the parcel tiles are expected to carry, and what the map does with them."""
    return {
        "parcel_id": "popup, feature id",
        "commune": "popup",
        "contenance_m2": "popup",
        "status": "fill colour with color_by='availability'",
        "state": "fill colour with color_by='state' (optional, ``?state=true``: parcel_availability.state)",
        "typezone": "fill colour with color_by='zoning' (optional; else the inline PLU layer is shown)",
    }

"""The site map of a profile: candidate sites coloured by score, the best ones numbered and listed.

What the map shows (see docs/MAPS.md):

- every candidate site, coloured by its score class (viridis quintiles, :mod:`foncier.maps.style`), excluded
  sites in grey with a dashed outline; hovering shows rank and score, clicking opens a popup with the score
  breakdown (a bar per criterion), area, number of parcels, smallest and largest lot, travel time to Roissy,
  communes and, for excluded sites, the reasons;
- the ``top`` best sites numbered on the map and listed in a side panel; clicking an entry zooms to the site
  and opens its popup;
- toggleable context layers: communes, zones d'activité, rail lines and freight stations, main roads and
  interchanges, isochrones to Roissy-CDG, flood zones, protected areas, brownfields;
- a legend, a scale bar, a full-screen button, a minimap (online only: it needs tiles), the data's sources and
  date, and a "synthetic sample" banner when the data is synthetic.

Online maps have a light CARTO/OpenStreetMap basemap; offline maps have none (they must not touch the network)
and show the communes as their background.

Parcels are never put on this map (150,000 of them would make it a 100 MB page): sites only. The popups are
built in the browser from a few compact properties per site, so the page stays small.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.map import CustomPane, Layer
from folium.plugins import Fullscreen, MiniMap
from folium.template import Template

from foncier.geo.profile import Profile
from foncier.maps import i18n
from foncier.maps.assets import use_assets
from foncier.maps.display import (
    feature_collection,
    generalise,
    label_points,
    latlon_bounds,
    point_lonlat,
    ring_labels,
    road_labels,
    town_labels,
)
from foncier.maps.elements import (
    Banner,
    HtmlControl,
    ReadyFlag,
    Script,
    StaticScript,
    attribution_text,
    fit_bounds_js,
    js_json,
    provenance_html,
    static_text,
)
from foncier.maps.i18n import t
from foncier.maps.map_page import BASEMAP_TILES, new_map_page
from foncier.maps.style import (
    EXCLUDED_BAR_COLOR,
    EXCLUDED_COLOR,
    EXCLUDED_FILL_OPACITY,
    FLOOD_LEVEL_COLORS,
    HIGHLIGHT_COLOR,
    ISOCHRONE_COLORS,
    LAYER_STYLES,
    ROAD_COLORS,
    ROAD_WEIGHTS,
    SITE_DECIMALS,
    SITE_OUTLINE,
    SITE_TOLERANCE_M,
    LayerStyle,
    class_colors,
    score_breaks,
    score_class,
    text_color_on,
)

logger = logging.getLogger(__name__)

REQUIRED_SITE_COLUMNS = ("site_id", "score", "rank", "excluded")

#: Context layers, bottom to top, with the pane they are drawn in.
CONTEXT_ORDER: tuple[tuple[str, str], ...] = (
    ("communes", "fx-base"),
    ("isochrones", "fx-areas"),
    ("flood", "fx-areas"),
    ("protected", "fx-areas"),
    ("zones", "fx-areas"),
    ("friches", "fx-areas"),
    ("roads", "fx-lines"),
    ("rail_lines", "fx-lines"),
    ("interchanges", "fx-points"),
    ("rail_stations", "fx-points"),
)
#: Layers read only for orientation labels (not drawn as layers): Roissy-CDG among the hubs.
ORIENTATION_LAYERS = ("hubs",)
#: Map panes and z-indexes: context under the sites (overlayPane, 400), points above them (under markers).
PANES = {"fx-base": 300, "fx-areas": 350, "fx-lines": 380, "fx-points": 450}

#: Decimals of raw values in popups, by unit (fewer bytes per site).
_RAW_DECIMALS = {"min": 1, "m": 0, "0..1": 3, "m2": 0, "%": 1, "persons": 0}

#: Room left on the map's left and top for the side panel and the banner when zooming (pixels).
PANEL_PADDING = (320, 70)
#: Below this zoom each site is also marked by a dot in its colour (polygons are a few pixels there).
DOT_ZOOM = 12.5
#: Room left on the right and bottom for the layer control and the legend when fitting the whole territory.
RIGHT_PADDING = (290, 30)


def profile_names(profile: str | Profile, lang: str) -> tuple[str, str]:
    """``(name, title)`` of a profile given as a name or a :class:`~foncier.geo.profile.Profile`."""
    if isinstance(profile, Profile):
        title = (profile.title_fr if lang == "fr" else profile.title_en) or profile.name
        return profile.name, title
    return str(profile), str(profile)


def _check_sites(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    present = {*sites.columns, sites.index.name}
    missing = [c for c in REQUIRED_SITE_COLUMNS if c not in present]
    if missing:
        raise ValueError(f"sites lack column(s) {', '.join(missing)} (see docs/CONTRACTS.md, scored_sites)")
    if "site_id" not in sites.columns:
        sites = sites.reset_index()
    out = sites.sort_values("rank").reset_index(drop=True)
    out["excluded"] = out["excluded"].astype(bool)
    return out


def _commune_names(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, str]:
    communes = layers.get("communes")
    if communes is None or communes.empty or "insee" not in communes.columns or "nom" not in communes.columns:
        return {}
    return dict(zip(communes["insee"].astype(str), communes["nom"].astype(str), strict=False))


def _round_raw(value: Any, unit: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number) or math.isinf(number):
        return None
    decimals = _RAW_DECIMALS.get(unit, 3)
    rounded = round(number, decimals)
    return int(rounded) if decimals == 0 else rounded


def breakdown_matrix(
    breakdown: pd.DataFrame | None, site_ids: list[str]
) -> tuple[list[dict[str, Any]], dict[str, list[list[Any]]]]:
    """Criteria (name, weight; heaviest first) and, per site, ``[raw, value]`` pairs in that order."""
    if breakdown is None or breakdown.empty:
        return [], {}
    bd = breakdown[breakdown["site_id"].astype(str).isin(set(site_ids))]
    weights = bd.groupby("criterion", sort=False)["weight"].max()
    order = [str(c) for c in sorted(weights.index, key=lambda c: (-float(weights[c]), str(c)))]
    weights.index = weights.index.astype(str)
    criteria: list[dict[str, Any]] = [
        {
            "k": str(c),
            "l": i18n.criterion_label(str(c)),
            "u": i18n.criterion_unit(str(c)),
            "w": round(float(weights[c]), 4),
        }
        for c in order
    ]
    pos = {c: i for i, c in enumerate(order)}
    per_site: dict[str, list[list[Any]]] = {}
    for site_id, crit, raw, value in zip(
        bd["site_id"].astype(str), bd["criterion"].astype(str), bd["raw_value"], bd["value"], strict=True
    ):
        row = per_site.setdefault(site_id, [[None, 0.0] for _ in order])
        unit = criteria[pos[crit]]["u"]
        v = float(value) if value is not None and not pd.isna(value) else 0.0
        row[pos[crit]] = [_round_raw(raw, unit), round(v, 2)]
    return criteria, per_site


class SitesLayer(Layer):
    """The candidate sites: compact GeoJSON plus the JavaScript that styles them and builds their popups.

    The layer registers itself as ``window.foncier`` (``map``, ``sites``, ``byId``, ``open(site_id)``), which
    the side panel, the numbered markers and the tests use.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = foncierSitesLayer({{ this._parent.get_name() }}, {{ this.data_json }},
            {{ this.config_json }});
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any], config: dict[str, Any], *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "SitesLayer"
        self.data_json = js_json(data)
        self.config_json = js_json(config)


class RankMarkers(Layer):
    """Numbered markers on the best sites; clicking one opens the site's popup.

    Markers never overlap: at each zoom they are placed in rank order, and a marker that would cover a
    better-ranked one moves aside (up to two rings of eight positions around its site) with a thin leader line
    to its site.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = foncierRankMarkers({{ this._parent.get_name() }}, {{ this.data_json }});
        {% endmacro %}
        """
    )

    def __init__(self, points: list[tuple[float, float, int, str]], *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "RankMarkers"
        self.data_json = js_json([list(p) for p in points])


class PanelClicks(MacroElement):
    """Makes the entries of the side panel zoom to their site."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        foncierPanelClicks();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "PanelClicks"


SITE_MAP_CSS = static_text("site_map.css") + static_text("orientation.css")


def _top_panel_html(
    sites: gpd.GeoDataFrame,
    *,
    top: int,
    colors: list[str],
    breaks: list[float],
    lang: str,
    profile_title: str,
    commune_names: Mapping[str, str],
    n_excluded: int,
    availability_counts: Mapping[str, int] | None = None,
    effective_weights: pd.DataFrame | None = None,
) -> str:
    kept = sites[~sites["excluded"]].head(top)
    items = []
    for rec in kept.to_dict("records"):
        color = colors[score_class(float(rec["score"]), breaks)]
        communes = ", ".join(commune_names.get(c, c) for c in str(rec.get("communes") or "").split(",") if c)
        detail = " · ".join(x for x in (i18n.fmt_area(rec.get("area_m2"), lang), str(rec["site_id"])) if x and x != "–")
        facts = _facts(rec, lang, None)
        items.append(
            f'<li tabindex="0" role="button" data-site="{html.escape(str(rec["site_id"]))}" '
            f'title="{html.escape(t("click_to_zoom", lang))}">'
            f'<span class="fx-rank">{int(rec["rank"])}</span>'
            f'<span class="fx-li-main"><b>{html.escape(communes or str(rec["site_id"]))}</b>'
            f'<span class="fx-small">{html.escape(detail)}</span>{_item_facts_html(facts, lang)}</span>'
            f'<span class="fx-li-score" style="background:{color};color:{text_color_on(color)}">'
            f"{i18n.fmt_number(rec['score'], lang, 2)}</span></li>"
        )
    body = f"<ol>{''.join(items)}</ol>" if items else f'<p class="fx-small">{t("no_site", lang)}</p>'
    return (
        f"<h2>{html.escape(t('site_map_title', lang))}</h2>"
        f'<div class="fx-small">{html.escape(t("territory", lang))}<br>{t("profile", lang)}{i18n.colon(lang)}'
        f"<b>{html.escape(profile_title)}</b> · {t('n_sites', lang, n=len(sites), k=n_excluded)}</div>"
        f"{_counts_html(availability_counts, lang)}{_weights_html(effective_weights, lang)}"
        f'<h3 style="margin-top:8px">{t("top_sites", lang, n=min(top, len(kept)))}</h3>{body}'
    )


def _item_facts_html(facts: Mapping[str, Any], lang: str) -> str:
    """A listed site's availability (with the date of its last status change) and its "unverified" badge."""
    parts = []
    if facts.get("av"):
        av = str(facts["av"])
        key = f"site_av_{av}"
        label = t(key, lang) if key in i18n.TEXT else av
        date = f" ({t('status_changed', lang, date=facts['ad'])})" if facts.get("ad") else ""
        parts.append(f'<span class="fx-av fx-av-{html.escape(av)}">{html.escape(label)}</span>{html.escape(date)}')
    if facts.get("uv"):
        parts.append(
            f'<span class="fx-uv-badge" title="{html.escape(str(facts["uv"]))}">'
            f"{html.escape(t('unverified_badge', lang))}</span>"
        )
    return f'<span class="fx-small fx-li-facts">{" ".join(parts)}</span>' if parts else ""


def _counts_html(counts: Mapping[str, int] | None, lang: str) -> str:
    """The number of parcels in each availability state (``parcel_availability``), empty when unknown."""
    if not counts:
        return ""
    cells = "".join(
        f'<span class="fx-state fx-state-{html.escape(state)}" data-state="{html.escape(state)}">'
        f"<b>{i18n.fmt_number(n, lang, 0)}</b> {html.escape(t(f'parcel_state_{state}', lang))}</span>"
        for state, n in counts.items()
        if f"parcel_state_{state}" in i18n.TEXT
    )
    return f'<div class="fx-states"><div class="fx-small">{html.escape(t("parcel_states", lang))}</div>{cells}</div>'


def _weights_html(weights: pd.DataFrame | None, lang: str) -> str:
    """The profile's nominal and effective weights (largest effective share first), empty when unknown."""
    if weights is None or weights.empty or "effective_share" not in weights.columns:
        return ""
    rows = []
    for criterion, rec in weights.sort_values("effective_share", ascending=False, kind="stable").iterrows():
        share = _finite(rec.get("effective_share"))
        weight = _finite(rec.get("weight"))
        rows.append(
            f'<tr data-criterion="{html.escape(str(criterion))}">'
            f"<td>{html.escape(i18n.criterion_label(str(criterion), lang))}</td>"
            f'<td class="fx-num">{"–" if weight is None else i18n.fmt_number(100 * weight, lang, 0) + " %"}</td>'
            f'<td class="fx-num">{"–" if share is None else i18n.fmt_number(100 * share, lang, 0) + " %"}</td></tr>'
        )
    return (
        f'<details class="fx-weights"><summary>{html.escape(t("effective_weights", lang))}</summary>'
        f"<table><tr><th>{html.escape(t('criterion', lang))}</th><th>{html.escape(t('nominal_weight', lang))}</th>"
        f"<th>{html.escape(t('effective_share', lang))}</th></tr>{''.join(rows)}</table>"
        f'<div class="fx-small">{html.escape(t("effective_weights_note", lang))}</div></details>'
    )


def _has_unverified(sites: pd.DataFrame) -> bool:
    """Whether a site of the map has a constraint that could not be checked (``n_unverified > 0``)."""
    if "n_unverified" not in sites.columns:
        return False
    return bool((pd.to_numeric(sites["n_unverified"], errors="coerce").fillna(0) > 0).any())


def _legend_html(
    breaks: list[float], colors: list[str], lang: str, top: int, has_excluded: bool, has_unverified: bool = False
) -> str:
    rows = []
    n = len(colors)
    for i in reversed(range(n)):
        lo, hi = breaks[i], breaks[i + 1]
        rows.append(
            f'<div><span class="fx-swatch" style="background:{colors[i]}"></span>'
            f"{i18n.fmt_number(lo, lang, 2)} – {i18n.fmt_number(hi, lang, 2)}</div>"
        )
    if has_excluded:
        rows.append(
            f'<div><span class="fx-swatch" style="background:{EXCLUDED_COLOR};opacity:.6;border-style:dashed"></span>'
            f"{t('legend_excluded', lang)}</div>"
        )
    if has_unverified:
        rows.append(
            f'<div class="fx-legend-uv"><span class="fx-swatch fx-swatch-uv"></span>{t("legend_unverified", lang)}'
            f' <span class="fx-uv-badge">{html.escape(t("unverified_badge", lang))}</span></div>'
        )
    rows.append(
        f'<div><span class="fx-rank" style="width:18px;height:18px;font-size:10px;margin-right:4px">1</span>'
        f"{t('legend_rank', lang)}</div>"
    )
    return (
        f'<h3>{t("legend_score", lang)}</h3>{"".join(rows)}<div class="fx-small">{t("legend_classes_note", lang)}</div>'
    )


def _swatch(style: LayerStyle, kind: str) -> str:
    if kind == "line":
        dash = "dashed" if style.dash_array else "solid"
        return f'<span class="fx-line" style="border-top-color:{style.color};border-top-style:{dash}"></span>'
    if kind == "point":
        return f'<span class="fx-dot" style="border-color:{style.color};background:{style.fill_color}"></span>'
    fill = style.fill_color if style.fill_opacity > 0 else "transparent"
    dash = "dashed" if style.dash_array else "solid"
    return (
        f'<span class="fx-swatch" style="background:{fill};border:2px {dash} {style.color};'
        f'opacity:{max(style.fill_opacity, 0.6) if style.fill_opacity else 1}"></span>'
    )


def context_label(name: str, rec: dict[str, Any], lang: str) -> str:
    """The tooltip text of one context feature."""

    def val(key: str) -> str:
        v = rec.get(key)
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

    if name == "communes":
        return val("nom")
    if name == "zones":
        return " · ".join(x for x in (val("nom"), val("type")) if x)
    if name == "isochrones":
        minutes = rec.get("minutes")
        return t("minutes_to_roissy", lang, m=int(minutes)) if minutes is not None else ""
    if name == "flood":
        level = val("level")
        level_text = t(f"flood_{level}", lang) if level in ("red", "blue") else level
        return f"{t('layer_flood', lang)}{i18n.colon(lang)}{level_text}"
    if name == "protected":
        kind = val("kind")
        kind_text = t(f"protected_{kind}", lang) if f"protected_{kind}" in i18n.TEXT else kind
        return " · ".join(x for x in (kind_text, val("nom") or val("code")) if x)
    if name == "friches":
        return " · ".join(x for x in (t("layer_friches", lang), val("nom"), val("site_statut")) if x)
    if name == "roads":
        return " · ".join(x for x in (val("ref"), val("nom")) if x) or val("class")
    if name in ("rail_stations", "interchanges"):
        return val("nom")
    if name == "rail_lines":
        return " · ".join(x for x in (val("code_ligne"), val("libelle")) if x)
    return ""


def prepare_context(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Select what the site map shows of a context layer (main roads, freight stations, isochrones to CDG)."""
    out = gdf
    if name == "roads" and "class" in out.columns:
        out = out[out["class"].astype(str).isin(tuple(ROAD_WEIGHTS))]
    elif name == "rail_stations":
        if "fret" in out.columns:
            out = out[out["fret"].fillna(False).astype(bool)]
        if "code_uic" in out.columns:
            out = out.drop_duplicates("code_uic")
    elif name == "isochrones":
        if "hub_id" in out.columns and (out["hub_id"] == "CDG").any():
            out = out[out["hub_id"] == "CDG"]
        if "minutes" in out.columns:
            out = out.sort_values("minutes", ascending=False)
    return out


def context_style(name: str, style: LayerStyle) -> Any:
    base = style.leaflet()
    if name == "flood":

        def flood(feature: dict[str, Any]) -> dict[str, Any]:
            color = FLOOD_LEVEL_COLORS.get(str(feature["properties"].get("k")), style.fill_color or style.color)
            return {**base, "color": color, "fillColor": color}

        return flood
    if name == "roads":

        def road(feature: dict[str, Any]) -> dict[str, Any]:
            cls = str(feature["properties"].get("k"))
            return {**base, "color": ROAD_COLORS.get(cls, style.color), "weight": ROAD_WEIGHTS.get(cls, style.weight)}

        return road
    if name == "isochrones":

        def iso(feature: dict[str, Any]) -> dict[str, Any]:
            minutes = feature["properties"].get("k")
            return {**base, "color": ISOCHRONE_COLORS.get(int(minutes) if minutes is not None else 0, style.color)}

        return iso
    return lambda feature: base


def _add_context_layer(m: folium.Map, name: str, gdf: gpd.GeoDataFrame, pane: str, lang: str) -> int:
    style = LAYER_STYLES[name]
    data = prepare_context(name, gdf)
    if data.empty:
        return 0
    shown = generalise(data, tolerance_m=style.tolerance_m, decimals=style.decimals)
    records = shown.drop(columns=shown.geometry.name).to_dict("records")
    key_col = {"flood": "level", "roads": "class", "isochrones": "minutes"}.get(name)
    extra = [
        {"label": context_label(name, rec, lang), **({"k": rec.get(key_col)} if key_col else {})} for rec in records
    ]
    for e in extra:
        if isinstance(e.get("k"), float | np.floating):
            e["k"] = int(e["k"]) if name == "isochrones" else e["k"]
    fc = feature_collection(shown, columns=(), extra=extra)
    geom_types = set(shown.geom_type.unique())
    kind = "area"
    if geom_types <= {"Point", "MultiPoint"}:
        kind = "point"
    elif geom_types <= {"LineString", "MultiLineString"}:
        kind = "line"
    marker = None
    if geom_types & {"Point", "MultiPoint"}:
        marker = folium.CircleMarker(
            radius=style.radius,
            color=style.color,
            weight=style.weight,
            fill=True,
            fill_color=style.fill_color or style.color,
            fill_opacity=style.fill_opacity or 1,
            pane=pane,
        )
    label = f"{_swatch(style, kind)}{html.escape(i18n.layer_title(name, lang))}"
    layer = folium.GeoJson(
        fc,
        name=label,
        style_function=context_style(name, style),
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        marker=marker,
        show=style.show,
        pane=pane,
        smooth_factor=1.5,
    )
    layer.add_to(m)
    return len(fc["features"])


#: Texts of the search box, filters, orientation and availability (built in the browser).
UI_TEXT_KEYS = [
    "search", "search_placeholder", "search_none", "filters", "filter_min_area", "filter_min_lot",
    "filter_max_time", "filter_zoning", "filter_any", "filter_brownfield", "filter_available", "filter_reset",
    "filter_count", "open_sheet", "panel_toggle", "legend_toggle", "roissy_label", "target_direction",
    "availability", "site_av_free", "site_av_under_option", "site_av_sold", "site_av_built", "site_av_unverified",
    "status_changed", "tie_short", "tie_group", "unverified_constraints", "unverified_badge", "roissy_time_hgv",
    "communes", "area", "rank", "score",
]  # fmt: skip


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _facts(rec: Mapping[str, Any], lang: str, sheet_urls: Mapping[str, str] | None) -> dict[str, Any]:
    """Compact popup/filter properties of one site from its optional columns (absent ones left out)."""
    out: dict[str, Any] = {}
    site_id = str(rec["site_id"])
    if sheet_urls and site_id in sheet_urls:
        out["u"] = sheet_urls[site_id]
    zoning = rec.get("zoning_class")
    if isinstance(zoning, str) and zoning:
        out["z"] = zoning
    brown = _finite(rec.get("share_brownfield"))
    if brown is not None:
        out["bf"] = int(brown > 0)
    hgv = _finite(rec.get("time_to_roissy_hgv_min"))
    if hgv is not None:
        out["th"] = round(hgv, 1)
    ids = rec.get("parcel_ids")
    if isinstance(ids, str) and ids:
        out["ids"] = ids
    availability = rec.get("availability")
    if isinstance(availability, str) and availability:
        out["av"] = availability
        date = rec.get("status_date")
        if isinstance(date, str) and date:
            out["ad"] = date[:10]
    first, last = _finite(rec.get("group_first")), _finite(rec.get("group_last"))
    if first is not None and last is not None and last > first:
        out["g"] = [int(first), int(last)]
    n_unverified = _finite(rec.get("n_unverified"))
    if n_unverified:
        text = rec.get("unverified_fr" if lang == "fr" else "unverified") or rec.get("unverified") or ""
        out["uv"] = str(text) or str(int(n_unverified))
        out["uvn"] = int(n_unverified)
    return out


def _filter_options(sites: gpd.GeoDataFrame, lang: str) -> dict[str, Any]:
    """Which filters the sites allow (a filter whose column is absent is hidden) and the zoning classes."""
    zoning: list[list[str]] = []
    if "zoning_class" in sites.columns:
        for value in sorted({str(v) for v in sites["zoning_class"].dropna()}):
            zoning.append([value, i18n.zoning_class_label(value, lang)])
    return {
        "area": "area_m2" in sites.columns,
        "lot": "max_lot_m2" in sites.columns,
        "time": "time_to_roissy_min" in sites.columns,
        "zoning": zoning,
        "brownfield": "share_brownfield" in sites.columns,
        "available": bool("availability" in sites.columns and sites["availability"].notna().any()),
    }


def _orientation(layers: Mapping[str, gpd.GeoDataFrame], lang: str, vehicle: str) -> dict[str, Any]:
    """Roissy-CDG, town, road and isochrone labels for the map (each left out when its layer is absent)."""
    out: dict[str, Any] = {"vehicle": t("vehicle_hgv" if vehicle == "hgv" else "vehicle_car", lang)}
    hubs = layers.get("hubs")
    if hubs is not None and not hubs.empty and "hub_id" in hubs.columns:
        cdg = hubs[hubs["hub_id"].astype(str) == "CDG"]
        if not cdg.empty and cdg.crs is not None:
            geom = cdg.to_crs(2154).geometry.iloc[0]
            out["cdg"] = list(point_lonlat(geom.representative_point()))
    communes = layers.get("communes")
    if communes is not None and not communes.empty:
        out["towns"] = town_labels(communes)
    roads = layers.get("roads")
    if roads is not None and not roads.empty:
        out["roadLabels"] = road_labels(prepare_context("roads", roads))
    iso = layers.get("isochrones")
    if iso is not None and not iso.empty:
        out["isoLabels"] = ring_labels(prepare_context("isochrones", iso))
        out["isoTitle"] = i18n.layer_title("isochrones", lang)
        out["isoShown"] = LAYER_STYLES["isochrones"].show
    return out


def build_site_map(
    sites: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    profile: str | Profile,
    breakdown: pd.DataFrame | None = None,
    lang: str = "fr",
    offline: bool = False,
    synthetic: bool = False,
    provenance: pd.DataFrame | None = None,
    top: int = 10,
    generated: str = "",
    sheet_urls: Mapping[str, str] | None = None,
    availability_counts: Mapping[str, int] | None = None,
    effective_weights: pd.DataFrame | None = None,
) -> folium.Map:
    """Build the interactive site map of one profile.

    Parameters
    ----------
    sites : GeoDataFrame
        Scored sites (``scored_sites(...).sites``): ``site_id``, ``score``, ``rank``, ``excluded`` and, when
        present, ``reasons``/``reasons_fr``, ``area_m2``, ``n_parcels``, ``min_lot_m2``, ``max_lot_m2``,
        ``communes``, ``time_to_roissy_min``. Any CRS (Lambert-93 expected).
    layers : mapping of str to GeoDataFrame, optional
        Context layers by canonical name: ``communes``, ``zones``, ``rail_lines``, ``rail_stations``,
        ``roads``, ``interchanges``, ``isochrones``, ``flood``, ``protected``, ``friches``. Missing ones are
        left out. Never pass parcels: they do not belong on this map.
    profile : str or Profile
        The profile the scores come from (its title is shown).
    breakdown : DataFrame, optional
        The long breakdown table (``site_id``, ``criterion``, ``raw_value``, ``value``, ``weight``,
        ``contribution``) for the popups' bar charts.
    lang : {"fr", "en"}
        Language of every label.
    offline : bool
        No basemap tiles and no minimap (nothing from the network); save with ``save_map(..., offline=True)``.
    synthetic : bool
        Show the "synthetic sample" banner.
    provenance : DataFrame, optional
        The workspace's provenance table (sources, licences, dates), shown in a collapsible block.
    top : int
        How many of the best sites are numbered and listed.
    generated : str, optional
        Override of the "map made on ... by foncier ..." line (tests, reproducible output).
    sheet_urls : mapping of str to str, optional
        Site id -> URL of its sheet: the popups link to it.
    availability_counts : mapping of str to int, optional
        Number of parcels in each availability state (``foncier.layers.availability.availability_counts``),
        shown in the side panel.
    effective_weights : DataFrame, optional
        ``criterion`` index, ``weight`` and ``effective_share`` (``site_facts.effective_weights``): the
        profile's nominal and effective weights, shown in the side panel.

    Optional columns of ``sites`` shown when present (see :mod:`foncier.maps.site_facts`): ``availability``
    and ``status_date``; ``group_first``/``group_last`` (rank groups: ties); ``n_unverified`` and
    ``unverified_fr``/``unverified``; ``zoning_class``, ``share_brownfield``, ``time_to_roissy_hgv_min``,
    ``parcel_ids`` (search). A missing column hides its filter or line. ``layers`` may hold ``hubs`` (Roissy-CDG
    is labelled, with an arrow towards it when it is off the map).

    Returns
    -------
    folium.Map
        The map; write it with :func:`foncier.maps.export.save_map`.

    Raises
    ------
    ValueError
        When ``sites`` lack the required columns, ``lang`` is unknown or a layer has no CRS.
    """
    lang = i18n.check_lang(lang)
    layers = dict(layers or {})
    if "parcels" in layers:
        logger.warning("the site map never shows parcels (too many for a web page); 'parcels' layer ignored")
        layers.pop("parcels")
    sites = _check_sites(sites)
    name, title = profile_names(profile, lang)
    vehicle = str(getattr(profile, "vehicle", "car")) if isinstance(profile, Profile) else "car"
    commune_names = _commune_names(layers)

    kept_scores = sites.loc[~sites["excluded"], "score"].to_numpy(dtype="float64")
    breaks = score_breaks(kept_scores)
    colors = class_colors(len(breaks) - 1)
    n_excluded = int(sites["excluded"].sum())

    # ------------------------------------------------------------------ the map and its page
    extent = sites if not sites.empty else layers.get("communes", sites)
    bounds = latlon_bounds(extent) if not extent.empty else [[49.1, 3.0], [49.5, 3.6]]
    m, _ = new_map_page(
        bounds,
        zoom_start=10,
        title=f"{t('site_map_title', lang)} · {title}",
        lang=lang,
        css=SITE_MAP_CSS,
        offline=offline,
        prefer_canvas=False,
        zoom_snap=0.5,
    )
    m.add_child(StaticScript("orientation.js"), name="foncier_orientation_js")
    m.add_child(StaticScript("site_map.js"), name="foncier_site_map_js")
    for pane, z in PANES.items():
        CustomPane(pane, z_index=z, pointer_events=True).add_to(m)

    # ------------------------------------------------------------------ context layers
    for layer_name, pane in CONTEXT_ORDER:
        gdf = layers.get(layer_name)
        if gdf is None or gdf.empty:
            continue
        n = _add_context_layer(m, layer_name, gdf, pane, lang)
        logger.debug("site map: %d features in context layer %s", n, layer_name)

    # ------------------------------------------------------------------ sites
    shown = generalise(sites, tolerance_m=SITE_TOLERANCE_M, decimals=SITE_DECIMALS)
    ids = shown["site_id"].astype(str).tolist()
    criteria, per_site = breakdown_matrix(breakdown, ids)
    for c in criteria:
        c["l"] = i18n.criterion_label(c["k"], lang)
    reasons_col = i18n.reasons_column(lang)
    if reasons_col not in shown.columns:
        reasons_col = "reasons"
    extra = []
    for rec in shown.drop(columns=shown.geometry.name).to_dict("records"):
        excluded = bool(rec["excluded"])
        props: dict[str, Any] = {
            "id": str(rec["site_id"]),
            "r": int(rec["rank"]),
            "s": round(float(rec["score"]), 3),
            "x": int(excluded),
            "c": -1 if excluded else score_class(float(rec["score"]), breaks),
        }
        for key, col, decimals in (
            ("a", "area_m2", 0),
            ("n", "n_parcels", 0),
            ("lo", "min_lot_m2", 0),
            ("hi", "max_lot_m2", 0),
            ("t", "time_to_roissy_min", 1),
        ):
            value = rec.get(col)
            if value is not None and not pd.isna(value):
                props[key] = round(float(value)) if decimals == 0 else round(float(value), decimals)
        communes = [c for c in str(rec.get("communes") or "").split(",") if c]
        if communes:
            props["m"] = ", ".join(commune_names.get(c, c) for c in communes)
        props.update(_facts(rec, lang, sheet_urls))
        if excluded:
            props["why"] = str(rec.get(reasons_col) or rec.get("reasons") or "")
        if props["id"] in per_site:
            props["b"] = per_site[props["id"]]
        extra.append(props)
    for props, point in zip(extra, label_points(shown, 5), strict=True):
        props["p"] = list(point)
    data = feature_collection(shown, columns=(), extra=extra)
    text_keys = [
        "site",
        "score",
        "rank",
        "rank_of",
        "area",
        "parcels",
        "smallest_lot",
        "largest_lot",
        "roissy_time",
        "communes",
        "excluded",
        "breakdown",
        "breakdown_note",
        "breakdown_excluded_note",
    ]
    text = i18n.table(lang, text_keys)
    text.update({k: v for k, v in i18n.table(lang).items() if k.startswith("zoning_class_")})
    text["unit_persons"] = i18n.unit_label("persons", lang)
    config = {
        "lang": lang,
        "text": text,
        "colors": colors,
        "excludedColor": EXCLUDED_COLOR,
        "excludedOpacity": EXCLUDED_FILL_OPACITY,
        "excludedBar": EXCLUDED_BAR_COLOR,
        "outline": SITE_OUTLINE,
        "highlight": HIGHLIGHT_COLOR,
        "criteria": criteria,
        "n": len(sites),
        "top": top,
        "dotZoom": DOT_ZOOM,
        "padTopLeft": list(PANEL_PADDING),
        "padBottomRight": [RIGHT_PADDING[0], 20],
        "textColors": [text_color_on(c) for c in colors],
        **_orientation(layers, lang, vehicle),
        "ui": i18n.table(lang, UI_TEXT_KEYS),
        "filters": _filter_options(sites, lang),
    }
    sites_label = (
        f'<span class="fx-swatch" style="background:{colors[-1]}"></span>{html.escape(t("sites_layer", lang))}'
    )
    SitesLayer(data, config, name=sites_label).add_to(m)

    kept = sites[~sites["excluded"]].head(top)
    if not kept.empty:
        points = [
            (lat, lon, int(r), str(s))
            for (lat, lon), r, s in zip(label_points(kept), kept["rank"], kept["site_id"], strict=True)
        ]
        RankMarkers(
            points,
            name=f'<span class="fx-rank" style="width:16px;height:16px;font-size:9px;'
            f'margin-right:4px;border-width:1px">1</span>{html.escape(t("legend_rank", lang))}',
        ).add_to(m)

    # ------------------------------------------------------------------ controls
    Fullscreen(
        position="topleft",
        title="Plein écran" if lang == "fr" else "Full screen",
        title_cancel="Quitter le plein écran" if lang == "fr" else "Exit full screen",
    ).add_to(m)
    m.add_child(
        HtmlControl(
            _top_panel_html(
                sites,
                top=top,
                colors=colors,
                breaks=breaks,
                lang=lang,
                profile_title=title,
                commune_names=commune_names,
                n_excluded=n_excluded,
                availability_counts=availability_counts,
                effective_weights=effective_weights,
            ),
            position="topleft",
            css_class="fx-box fx-panel",
        ),
        name="foncier_panel",
    )
    m.add_child(PanelClicks(), name="foncier_panel_clicks")
    m.add_child(
        HtmlControl(
            _legend_html(breaks, colors, lang, top, n_excluded > 0, _has_unverified(sites)),
            position="bottomright",
            css_class="fx-box fx-legend",
        ),
        name="foncier_legend",
    )
    if not offline:
        MiniMap(
            tile_layer=BASEMAP_TILES,
            position="bottomright",
            toggle_display=True,
            width=130,
            height=130,
            zoom_level_offset=-5,
        ).add_to(m)
    prov_layers = None
    m.add_child(
        HtmlControl(
            provenance_html(provenance, lang, layers=prov_layers, generated=generated),
            position="bottomleft",
            css_class="fx-box",
        ),
        name="foncier_provenance",
    )
    if synthetic:
        m.add_child(Banner(t("synthetic_banner", lang)), name="foncier_banner")
    shown_layers = {"parcels", *(k for k, v in layers.items() if v is not None and not v.empty)}
    credits = attribution_text(shown_layers, synthetic=synthetic, lang=lang)
    m.add_child(Script(f"foncierAttribution(map, {js_json(credits)});"), name="foncier_attribution")
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(Script("foncierSiteMapUi(map);"), name="foncier_ui")
    m.add_child(Script("L.control.scale({imperial: false, maxWidth: 150}).addTo(map);"), name="foncier_scale")
    m.add_child(Script(fit_bounds_js(bounds, PANEL_PADDING, RIGHT_PADDING)), name="foncier_fit")
    m.add_child(ReadyFlag(), name="foncier_ready")
    use_assets(m.get_root(), offline=offline)
    logger.info("site map (%s, profile %s): %d sites, %d excluded, top %d", lang, name, len(sites), n_excluded, top)
    return m

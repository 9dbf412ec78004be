"""The site sheet: one printable page per candidate site, for investors.

It holds the site's map zoomed on its parcels (with nearby constraints), its rank and score, a bar chart of
the score breakdown (inline SVG: no chart library), the constraints (flood, protected areas, zoning, slope,
exclusion reasons), the access times, and the list of its cadastral parcels (ids, commune, section, number,
tax area).

Only whitelisted parcel columns are ever read (:data:`PARCEL_COLUMNS`): owner names or any other personal data
that a parcels layer might carry never reach the page.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from foncier.geo.profile import Profile
from foncier.maps import i18n
from foncier.maps.assets import use_assets
from foncier.maps.display import (
    feature_collection,
    generalise,
    latlon_bounds,
    point_lonlat,
    road_labels,
    town_labels,
)
from foncier.maps.elements import (
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
from foncier.maps.map_page import new_map_page
from foncier.maps.site_map import (
    context_label,
    context_style,
    prepare_context,
    profile_names,
)
from foncier.maps.style import (
    EXCLUDED_BAR_COLOR,
    EXCLUDED_COLOR,
    LAYER_STYLES,
    PARCEL_DECIMALS,
    PARCEL_TOLERANCE_M,
    SCORE_COLORS,
    SITE_OUTLINE,
    text_color_on,
)

logger = logging.getLogger(__name__)

#: The only parcel attributes a sheet shows (no owner, no personal data).
PARCEL_COLUMNS = ("parcel_id", "commune", "section", "numero", "contenance_m2")

#: Criteria shown under "access" and "constraints" (in this order), when the site carries them.
ACCESS_CRITERIA = (
    "time_to_roissy_min",
    "time_to_interchange_min",
    "dist_freight_station_m",
    "dist_zone_activite_m",
    "labour_pool",
)
CONSTRAINT_CRITERIA = (
    "share_flood_red",
    "share_flood_blue",
    "share_protected",
    "zoning_class",
    "slope_mean_pct",
    "slope_max_pct",
    "share_brownfield",
)
#: Context layers drawn around the site on the sheet's map.
SHEET_CONTEXT = ("communes", "flood", "protected", "zones", "friches", "roads", "rail_lines")
#: Point layers a sheet reads whole (small) to label Roissy-CDG and the site's nearest interchange.
SHEET_TARGETS = ("interchanges", "hubs")
CONTEXT_MARGIN_M = 2500.0

DEFAULT_COLOR = SCORE_COLORS[2]

SHEET_CSS = static_text("sheet.css") + static_text("orientation.css") + static_text("print.css")


def as_number(value: Any) -> float:
    """``value`` as a float; NaN when it is none or not a number (missing cells, text)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def breakdown_chart_svg(
    breakdown: pd.DataFrame, *, lang: str = "fr", color: str = DEFAULT_COLOR, excluded: bool = False, width: int = 470
) -> str:
    """A horizontal bar chart of a site's score breakdown, as inline SVG.

    One row per criterion (heaviest first): a grey bar for the weight (the most the criterion can give) and a
    coloured bar for the contribution earned; the contributions add up to the score.
    """
    if breakdown.empty:
        return ""
    rows = breakdown.assign(_w=breakdown["weight"].astype(float))
    rows = rows.sort_values(["_w", "criterion"], ascending=[False, True])
    label_w, num_w = 190, 78
    bar_w = max(width - label_w - num_w - 10, 60)
    row_h = 22
    wmax = float(rows["_w"].max()) or 1.0
    height = row_h * len(rows) + 8
    parts = [
        f'<svg class="fx-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(t("breakdown", lang))}">'
    ]
    for i, rec in enumerate(rows.to_dict("records")):
        y = 4 + i * row_h
        weight = float(rec["weight"])
        # an excluded site (score 0) shows what it would have earned without the exclusion
        contrib = (
            weight * max(as_number(rec.get("value")), 0.0) if excluded else max(as_number(rec.get("contribution")), 0.0)
        )
        if math.isnan(contrib):
            contrib = 0.0
        earned = i18n.fmt_number(contrib, lang, 3)
        label = i18n.criterion_label(str(rec["criterion"]), lang)
        ww = bar_w * weight / wmax
        cw = bar_w * contrib / wmax
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{ww:.1f}" height="13" fill="#e0e0e0"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{cw:.1f}" height="13" fill="{color}"/>'
            f'<text x="{width - 4}" y="{y + 14}" text-anchor="end">{f"({earned})" if excluded else earned} / '
            f"{i18n.fmt_number(weight, lang, 2)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _site_series(site: gpd.GeoDataFrame | pd.Series) -> tuple[pd.Series, gpd.GeoDataFrame]:
    if isinstance(site, gpd.GeoDataFrame):
        if len(site) != 1:
            raise ValueError(f"a site sheet is about one site, got {len(site)} rows")
        frame = site.reset_index(drop=site.index.name in site.columns or site.index.name is None)
        return frame.iloc[0], frame
    if isinstance(site, pd.Series):
        geom = site.get("geometry")
        frame = gpd.GeoDataFrame([site.drop(labels=["geometry"], errors="ignore")], geometry=[geom], crs="EPSG:2154")
        return site, frame
    raise TypeError("site must be a one-row GeoDataFrame or a row (Series) of the scored sites")


def _facts_rows(row: pd.Series, lang: str) -> list[tuple[str, str]]:
    """Availability (with the last status change), ties and unverified constraints, when the row has them."""
    out: list[tuple[str, str]] = []
    availability = row.get("availability")
    if isinstance(availability, str) and availability:
        text = t(f"site_av_{availability}", lang) if f"site_av_{availability}" in i18n.TEXT else availability
        date = row.get("status_date")
        if isinstance(date, str) and date:
            text += f" ({t('status_changed', lang, date=date[:10])})"
        out.append((t("availability", lang), f'<span class="fx-av fx-av-{html.escape(availability)}">'
                                            f"{html.escape(text)}</span>"))  # fmt: skip
    first, last = row.get("group_first"), row.get("group_last")
    if first is not None and last is not None and not pd.isna(first) and not pd.isna(last) and last > first:
        out.append((t("rank", lang), html.escape(t("tie_group", lang, first=int(first), last=int(last)))))
    n_unverified = row.get("n_unverified")
    if n_unverified is not None and not pd.isna(n_unverified) and n_unverified > 0:
        text = row.get("unverified_fr" if lang == "fr" else "unverified") or row.get("unverified") or ""
        out.append((t("unverified_constraints", lang), f'<span class="fx-uv">{html.escape(str(text))}</span>'))
    return out


def _effective_weights_html(weights: pd.DataFrame | None, lang: str) -> str:
    """The profile's nominal and effective weights, largest effective share first (empty when unknown)."""
    if weights is None or weights.empty or "effective_share" not in weights.columns:
        return ""
    rows = []
    for criterion, rec in weights.sort_values("effective_share", ascending=False).iterrows():
        share = rec.get("effective_share")
        if share is None or pd.isna(share):
            continue
        nominal = rec.get("weight")
        rows.append(
            f"<tr><th>{html.escape(i18n.criterion_label(str(criterion), lang))}</th>"
            f"<td>{i18n.fmt_number(100 * float(share), lang, 0)} %</td>"
            f"<td class='fx-small'>{t('nominal_weight', lang)} "
            f"{i18n.fmt_number(100 * float(nominal), lang, 0) if nominal is not None else '–'} %</td></tr>"
        )
    if not rows:
        return ""
    return (
        f'<h2 style="margin-top:10px">{t("effective_weights", lang)}</h2><table class="fx-kv2 fx-eff">'
        f'{"".join(rows)}</table><div class="fx-small">{t("effective_weights_note", lang)}</div>'
    )


def sheet_orientation(site: gpd.GeoDataFrame, context: Mapping[str, gpd.GeoDataFrame], lang: str) -> dict[str, Any]:
    """Labels around a site: towns and numbered roads of ``context``, the nearest interchange and Roissy-CDG.

    Returns ``towns``, ``roadLabels``, ``targets`` (``[lat, lon, label, css class]``) and ``layers`` (the
    layers used, for the credits).
    """
    out: dict[str, Any] = {"towns": [], "roadLabels": [], "targets": [], "layers": []}
    l93 = site.to_crs("EPSG:2154") if site.crs is not None else site
    centre = l93.geometry.union_all().centroid
    communes = context.get("communes")
    if communes is not None and not communes.empty:
        out["towns"] = town_labels(communes)
        out["layers"].append("communes")
    roads = context.get("roads")
    if roads is not None and not roads.empty:
        out["roadLabels"] = road_labels(prepare_context("roads", roads), spacing_m=2_500.0)
        out["layers"].append("roads")
    inter = context.get("interchanges")
    if inter is not None and not inter.empty and inter.crs is not None:
        pts = inter.to_crs("EPSG:2154")
        nearest = pts.iloc[int(pts.geometry.distance(centre).to_numpy().argmin())]
        name = str(nearest.get("nom") or t("nearest_interchange", lang))
        lat, lon = point_lonlat(nearest.geometry.representative_point())
        out["targets"].append([lat, lon, name, "fx-target"])
        out["layers"].append("interchanges")
    hubs = context.get("hubs")
    if hubs is not None and not hubs.empty and "hub_id" in hubs.columns and hubs.crs is not None:
        cdg = hubs[hubs["hub_id"].astype(str) == "CDG"]
        if not cdg.empty:
            lat, lon = point_lonlat(cdg.to_crs("EPSG:2154").geometry.iloc[0].representative_point())
            out["targets"].append([lat, lon, t("roissy_label", lang), "fx-cdg"])
    return out


def _kv_rows(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)


def _criteria_rows(row: pd.Series, names: tuple[str, ...], lang: str) -> list[tuple[str, str]]:
    out = []
    for name in names:
        if name in row.index:
            value = i18n.fmt_value(row[name], i18n.criterion_unit(name), lang)
            out.append((i18n.criterion_label(name, lang), html.escape(value)))
    return out


def build_site_sheet(
    site: gpd.GeoDataFrame | pd.Series,
    parcels: gpd.GeoDataFrame,
    breakdown: pd.DataFrame,
    *,
    rank: int | None = None,
    profile: str | Profile,
    lang: str = "fr",
    offline: bool = False,
    synthetic: bool = False,
    n_sites: int | None = None,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    commune_names: Mapping[str, str] | None = None,
    provenance: pd.DataFrame | None = None,
    color: str | None = None,
    generated: str = "",
    assets_url: str | None = None,
    effective_weights: pd.DataFrame | None = None,
) -> str:
    """The HTML page of one site's sheet.

    Optional columns of ``site`` shown when present (:mod:`foncier.maps.site_facts`): ``availability`` and
    ``status_date``, ``group_first``/``group_last`` (ties), ``n_unverified`` with ``unverified_fr``/
    ``unverified``. ``effective_weights`` (``criterion`` index, ``weight``, ``effective_share``) adds the
    profile's effective weights under the breakdown.

    Parameters
    ----------
    site : one-row GeoDataFrame or Series
        The site's row of the scored sites (``site_id``, ``score``, ``rank``, ``excluded``, reasons, criteria
        columns, ``area_m2``...). A Series is taken to be in Lambert-93.
    parcels : GeoDataFrame
        The site's parcels; only :data:`PARCEL_COLUMNS` are read.
    breakdown : DataFrame
        The breakdown rows (``criterion``, ``raw_value``, ``value``, ``weight``, ``contribution``); rows of
        other sites are ignored when a ``site_id`` column is present.
    rank : int, optional
        Rank of the site (default: its ``rank`` column).
    profile : str or Profile
        The profile of the ranking.
    lang : {"fr", "en"}
        Language of the page.
    offline : bool
        No basemap, assets from the local asset folder (write with ``save_html(..., offline=True)``).
    assets_url : str, optional
        URL prefix the page loads Leaflet and the plugins from (e.g. ``/maps/assets`` when served by the API),
        whatever ``offline`` says of the basemap.
    synthetic : bool
        Show the "synthetic sample" banner.
    n_sites : int, optional
        Number of ranked sites ("rank 3 of 245").
    context : mapping of str to GeoDataFrame, optional
        Constraint and context layers (flood, protected, zones, friches, roads, rail_lines), drawn around the
        site.
    commune_names : mapping, optional
        INSEE code to commune name.
    provenance : DataFrame, optional
        The workspace's provenance table.
    color : str, optional
        Colour of the site (its score class on the site map).
    generated : str, optional
        Override of the "made on ... by foncier ..." line.

    Returns
    -------
    str
        A complete HTML page.
    """
    lang = i18n.check_lang(lang)
    row, site_frame = _site_series(site)
    site_id = str(row.get("site_id", row.name))
    excluded = bool(row.get("excluded", False))
    rank = int(rank if rank is not None else row.get("rank", 0))
    score = as_number(row.get("score"))
    _, profile_title = profile_names(profile, lang)
    names = dict(commune_names or {})
    color = EXCLUDED_COLOR if excluded else (color or DEFAULT_COLOR)
    if "site_id" in breakdown.columns:
        breakdown = breakdown[breakdown["site_id"].astype(str) == site_id]
    keep = [c for c in PARCEL_COLUMNS if c in parcels.columns]
    parcels = parcels[[*keep, parcels.geometry.name]].copy()
    if "parcel_id" in parcels.columns:
        parcels = parcels.sort_values("parcel_id")

    # ------------------------------------------------------------------ the map
    extent = parcels if not parcels.empty else site_frame
    bounds = latlon_bounds(extent)
    m, page = new_map_page(
        bounds,
        zoom_start=15,
        title=f"{t('sheet_title', lang)} {site_id}",
        lang=lang,
        css=SHEET_CSS,
        offline=offline,
        width="100%",
        height="100%",
    )
    context_names = []
    if context:
        l93 = site_frame.to_crs("EPSG:2154") if site_frame.crs is not None else site_frame
        minx, miny, maxx, maxy = l93.total_bounds
        window = (minx - CONTEXT_MARGIN_M, miny - CONTEXT_MARGIN_M, maxx + CONTEXT_MARGIN_M, maxy + CONTEXT_MARGIN_M)
        for name in SHEET_CONTEXT:
            gdf = context.get(name)
            if gdf is None or gdf.empty:
                continue
            near = prepare_context(name, gdf.to_crs("EPSG:2154").cx[window[0] : window[2], window[1] : window[3]])
            near = near[~near.geom_type.isin(["Point", "MultiPoint"])]  # areas and lines only on a sheet
            if near.empty:
                continue
            style = LAYER_STYLES[name]
            shown = generalise(near, tolerance_m=min(style.tolerance_m, 2.0), decimals=6)
            records = shown.drop(columns=shown.geometry.name).to_dict("records")
            key_col = {"flood": "level", "roads": "class"}.get(name)
            extra = [
                {"label": context_label(name, r, lang), **({"k": r.get(key_col)} if key_col else {})} for r in records
            ]
            folium.GeoJson(
                feature_collection(shown, extra=extra),
                name=html.escape(i18n.layer_title(name, lang)),
                style_function=context_style(name, style),
                tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
            ).add_to(m)
            context_names.append(name)
    if not parcels.empty:
        shown = generalise(parcels, tolerance_m=PARCEL_TOLERANCE_M, decimals=PARCEL_DECIMALS)
        extra = [
            {"label": f"{r.get('parcel_id', '')} · {i18n.fmt_area(r.get('contenance_m2'), lang)}"}
            for r in shown.drop(columns=shown.geometry.name).to_dict("records")
        ]
        folium.GeoJson(
            feature_collection(shown, columns=("parcel_id",), extra=extra),
            name=html.escape(t("layer_parcels", lang)),
            style_function=lambda f: {"color": "#ffffff", "weight": 1.5, "fillColor": color, "fillOpacity": 0.55},
            highlight_function=lambda f: {"weight": 3, "color": "#ff7f00"},
            tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
        ).add_to(m)
    site_shown = generalise(site_frame, tolerance_m=0.0, decimals=PARCEL_DECIMALS)
    folium.GeoJson(
        feature_collection(site_shown),
        name=html.escape(t("layer_site", lang)),
        style_function=lambda f: {"color": SITE_OUTLINE, "weight": 3.5, "fill": False},
        interactive=False,
    ).add_to(m)
    if context_names:
        folium.LayerControl(collapsed=True, position="topright").add_to(m)
    m.add_child(Script("L.control.scale({imperial: false}).addTo(map);"), name="foncier_scale")
    m.add_child(StaticScript("orientation.js"), name="foncier_orientation_js")
    orientation = sheet_orientation(site_frame, context or {}, lang)
    credits = attribution_text({"parcels", *context_names, *orientation.pop("layers")}, synthetic=synthetic, lang=lang)
    text = {"direction": t("target_direction", lang)}
    m.add_child(Script(f"foncierOrientation(map, {js_json(orientation)}, {js_json(text)});"
                       f"foncierAttribution(map, {js_json(credits)});"), name="foncier_orientation")  # fmt: skip
    # no closer than zoom 15: the surroundings (roads, towns, the nearest interchange) stay in view
    fit = fit_bounds_js(bounds, (30, 30), (30, 30)) + " if (map.getZoom() > 15) { map.setZoom(15, {animate: false}); }"
    m.add_child(Script(fit), name="foncier_fit")
    m.add_child(ReadyFlag(), name="foncier_ready")

    # ------------------------------------------------------------------ the page around the map
    communes = [c for c in str(row.get("communes") or "").split(",") if c]
    commune_text = ", ".join(names.get(c, c) for c in communes)
    rank_text = t("rank_of", lang, rank=rank, n=n_sites) if n_sites else str(rank)
    pill = (
        f'<span class="fx-score-pill" style="background:{color};color:{text_color_on(color)}">'
        f"{i18n.fmt_number(score, lang, 2)}</span>"
    )
    sub = (
        f"{t('rank', lang)} {rank_text} · {t('profile', lang)} <b>{html.escape(profile_title)}</b> · "
        f"{t('score', lang)} {pill}" + (f" · {html.escape(commune_text)}" if commune_text else "")
    )
    if excluded:
        sub += f" · <b>{t('excluded', lang)}</b>"
    key = [
        (t("score", lang), pill),
        (t("rank", lang), html.escape(rank_text)),
        (t("area", lang), html.escape(i18n.fmt_area(row.get("area_m2"), lang))),
        (t("parcels", lang), html.escape(i18n.fmt_number(row.get("n_parcels", len(parcels)), lang))),
        (t("smallest_lot", lang), html.escape(i18n.fmt_area(row.get("min_lot_m2"), lang))),
        (t("largest_lot", lang), html.escape(i18n.fmt_area(row.get("max_lot_m2"), lang))),
        (t("communes", lang), html.escape(commune_text or "–")),
        *_facts_rows(row, lang),
    ]
    reasons_col = i18n.reasons_column(lang)
    reasons = str(row.get(reasons_col) or row.get("reasons") or "")
    verdict = (
        f'<div class="fx-excl"><b>{t("reasons", lang)}</b>{i18n.colon(lang)}{html.escape(reasons)}</div>'
        if excluded
        else f'<div class="fx-ok">{t("not_excluded", lang)}</div>'
    )
    bar_color = EXCLUDED_BAR_COLOR if excluded else color
    chart = breakdown_chart_svg(breakdown, lang=lang, color=bar_color, excluded=excluded)
    chart_note = t("breakdown_excluded_note" if excluded else "breakdown_note", lang)
    parcel_rows = "".join(
        f"<tr><td><code>{html.escape(str(r.get('parcel_id', '')))}</code></td>"
        f"<td>{html.escape(names.get(str(r.get('commune', '')), str(r.get('commune', ''))))}</td>"
        f"<td>{html.escape(str(r.get('section', '')))}</td><td>{html.escape(str(r.get('numero', '')))}</td>"
        f'<td class="num">{html.escape(i18n.fmt_area(r.get("contenance_m2"), lang))}</td></tr>'
        for r in parcels.drop(columns=parcels.geometry.name).to_dict("records")
    )
    parcel_head = "".join(
        f"<th{' class=num' if k == 'contenance' else ''}>{t(k, lang)}</th>"
        for k in ("parcel_id", "commune", "section", "numero", "contenance")
    )
    banner = f'<div class="fx-sheet-banner" role="alert">{t("synthetic_banner", lang)}</div>' if synthetic else ""
    page.before_map = (
        f'<div class="fx-sheet">{banner}'
        f'<h1>{t("sheet_title", lang)} {html.escape(site_id)}</h1><div class="fx-sub">{sub}</div>'
        f'<div class="fx-grid"><section class="fx-map-cell">'
    )
    page.after_map = (
        "</section>"
        f'<section><h2>{t("key_figures", lang)}</h2><table class="fx-kv2">{_kv_rows(key)}</table>'
        f'<h2 style="margin-top:12px">{t("access", lang)}</h2>'
        f'<table class="fx-kv2">{_kv_rows(_criteria_rows(row, ACCESS_CRITERIA, lang))}</table></section>'
        f"<section><h2>{t('breakdown', lang)}</h2>{chart}"
        f'<div class="fx-small">{chart_note}</div>{_effective_weights_html(effective_weights, lang)}</section>'
        f"<section><h2>{t('constraints', lang)}</h2>"
        f'<table class="fx-kv2">{_kv_rows(_criteria_rows(row, CONSTRAINT_CRITERIA, lang))}</table>{verdict}</section>'
        f'<section class="fx-full"><h2>{t("parcel_list", lang)} ({len(parcels)})</h2>'
        f'<table class="fx-parcels"><tr>{parcel_head}</tr>{parcel_rows}</table></section>'
        "</div>"
        f'<div class="fx-foot">{provenance_html(provenance, lang, generated=generated)}'
        f"<div>{t('privacy_note', lang)}</div></div></div>"
    )
    if assets_url is not None:  # JS/CSS from a server's asset folder (the API's /maps/assets), basemap as asked
        use_assets(page, offline=True, asset_dir=assets_url)
    else:
        use_assets(page, offline=offline)
    logger.info("site sheet %s (%s): %d parcels", site_id, lang, len(parcels))
    return str(page.render())

"""The site comparison: two to six candidate sites side by side, for investors.

One page: a small map with the compared sites numbered (one colour per site, the colour of its column), and a
table with one column per site (best rank first): rank and score, area, smallest and largest lot, communes,
access times and distances, constraints (flood, protected areas, zoning, slope), exclusion reasons and one
row of contribution bars per criterion, so that a reader sees at a glance why one site beats another. The
best value of each row is highlighted (the direction of each criterion comes from the criteria catalogue).

Only named columns of the sites are read (no owner or other personal data can reach the page).
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from foncier.geo.criteria_catalogue import CATALOGUE
from foncier.geo.profile import Profile
from foncier.maps import i18n
from foncier.maps.assets import use_assets
from foncier.maps.display import feature_collection, generalise, label_points, latlon_bounds
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
    SITE_MAP_CSS,
    context_style,
    prepare_context,
    profile_names,
)
from foncier.maps.site_sheet import (
    ACCESS_CRITERIA,
    CONSTRAINT_CRITERIA,
    DEFAULT_COLOR,
    SHEET_CSS,
    as_number,
    sheet_orientation,
)
from foncier.maps.style import (
    EXCLUDED_BAR_COLOR,
    EXCLUDED_COLOR,
    LAYER_STYLES,
    OKABE_ITO,
    SITE_DECIMALS,
    SITE_TOLERANCE_M,
    class_colors,
    score_breaks,
    score_class,
    text_color_on,
)

logger = logging.getLogger(__name__)

MIN_SITES = 2
MAX_SITES = 6

#: One colour per compared site (Okabe-Ito, colour-blind safe; yellow left out: unreadable on white).
SITE_COLORS: tuple[str, ...] = tuple(OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky"))

#: Order of the dominant zoning classes, best first (for highlighting the best zoning).
ZONING_ORDER = ("economic_U", "economic_AU", "U", "AU", "none", "A", "N")

#: Width in pixels of the bar of the heaviest criterion.
BAR_PX = 110

#: Numbered markers, one per site; a marker that would cover another moves aside with a leader line to its site.

COMPARE_CSS = static_text("compare.css")


def _prepare(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The compared sites with a ``site_id`` column, best rank first; checks their number and columns."""
    if not MIN_SITES <= len(sites) <= MAX_SITES:
        raise ValueError(f"a comparison holds {MIN_SITES} to {MAX_SITES} sites, got {len(sites)}")
    sites = sites.reset_index(drop="site_id" in sites.columns)
    missing = [c for c in ("site_id", "score", "rank", "excluded") if c not in sites.columns]
    if missing:
        raise ValueError(f"sites lack column(s) {', '.join(missing)} (see docs/CONTRACTS.md, scored_sites)")
    out = sites.sort_values(["rank", "site_id"]).reset_index(drop=True)
    out["excluded"] = out["excluded"].astype(bool)
    return out


def score_class_colors(all_sites: pd.DataFrame, site_ids: Sequence[str]) -> dict[str, str]:
    """Colour of each of ``site_ids`` on the site map (its score class among all the scored sites).

    Parameters
    ----------
    all_sites : DataFrame
        Every scored site of the ranking, indexed by site id (``score``, ``excluded``).
    site_ids : sequence of str
        The sites whose colour is wanted.
    """
    excluded = all_sites["excluded"].astype(bool)
    breaks = score_breaks(all_sites.loc[~excluded, "score"].to_numpy(dtype="float64"))
    colors = class_colors(len(breaks) - 1)
    return {
        str(s): EXCLUDED_COLOR
        if bool(excluded.loc[s])
        else colors[score_class(float(all_sites.loc[s, "score"]), breaks)]
        for s in site_ids
    }


def _best(values: list[float], direction: str | None, keys: list[str] | None = None) -> set[int]:
    """Positions of the best of ``values`` (none when no direction, fewer than two values or all equal).

    ``keys`` are the values as shown: a value shown like the best one is highlighted too (52.4 and 52.3 min
    both read "52 min").
    """
    if direction is None:
        return set()
    finite = [(i, v) for i, v in enumerate(values) if not math.isnan(v)]
    if len(finite) < 2 or max(v for _, v in finite) - min(v for _, v in finite) < 1e-9:
        return set()
    target = max(v for _, v in finite) if direction == "max" else min(v for _, v in finite)
    best = {i for i, v in finite if abs(v - target) < 1e-9}
    if keys is not None:
        shown = {keys[i] for i in best}
        best |= {i for i, _ in finite if keys[i] in shown}
        if len(best) == len(finite):
            return set()
    return best


def _row(
    label: str,
    cells: list[str],
    values: list[float] | None = None,
    direction: str | None = None,
    keys: list[str] | None = None,
) -> str:
    best = _best(values, direction, keys if keys is not None else cells) if values is not None else set()
    tds = "".join(
        f'<td class="fx-best">{cell}</td>' if i in best else f"<td>{cell}</td>" for i, cell in enumerate(cells)
    )
    return f"<tr><th>{html.escape(label)}</th>{tds}</tr>"


def _facts_rows(recs: list[dict[str, Any]], lang: str) -> list[str]:
    """Availability (with the last status change), ties and unverified constraints, when the sites carry them."""
    rows: list[str] = []
    if any(isinstance(r.get("availability"), str) for r in recs):
        cells = []
        for r in recs:
            value = r.get("availability")
            if not isinstance(value, str):
                cells.append("–")
                continue
            text = t(f"site_av_{value}", lang) if f"site_av_{value}" in i18n.TEXT else value
            date = r.get("status_date")
            if isinstance(date, str) and date:
                text += f" ({t('status_changed', lang, date=date[:10])})"
            cells.append(f'<span class="fx-av fx-av-{html.escape(value)}">{html.escape(text)}</span>')
        rows.append(_row(t("availability", lang), cells))

    def tie(r: dict[str, Any]) -> str:
        first, last = as_number(r.get("group_first")), as_number(r.get("group_last"))
        if math.isnan(first) or math.isnan(last) or last <= first:
            return "–"
        return html.escape(t("tie_short", lang, first=int(first), last=int(last)))

    ties = [tie(r) for r in recs]
    if any(x != "–" for x in ties):
        rows.append(_row(t("tie_label", lang), ties))
    unverified = [str(r.get("unverified_fr" if lang == "fr" else "unverified") or "") for r in recs]
    if any(as_number(r.get("n_unverified")) > 0 for r in recs):
        rows.append(_row(t("unverified_constraints", lang), [html.escape(u) or "–" for u in unverified]))
    return rows


#: Layers drawn around the compared sites (thin, non-interactive): where they lie.
SURROUNDINGS = ("communes", "roads", "rail_lines")


def _draw_surroundings(m: folium.Map, context: Mapping[str, gpd.GeoDataFrame], lang: str) -> list[str]:
    """Communes, main roads and rail lines under the sites; returns the layers drawn."""
    drawn = []
    for name in SURROUNDINGS:
        gdf = context.get(name)
        if gdf is None or gdf.empty:
            continue
        data = prepare_context(name, gdf)
        if data.empty:
            continue
        style = LAYER_STYLES[name]
        shown = generalise(data, tolerance_m=style.tolerance_m, decimals=style.decimals)
        key_col = {"roads": "class"}.get(name)
        records = shown.drop(columns=shown.geometry.name).to_dict("records")
        extra = [{"k": r.get(key_col)} if key_col else {} for r in records]
        folium.GeoJson(feature_collection(shown, extra=extra), name=html.escape(i18n.layer_title(name, lang)),
                       style_function=context_style(name, style)).add_to(m)  # fmt: skip
        drawn.append(name)
    return drawn


def _section(title: str, n: int) -> str:
    return f'<tr class="fx-sec"><th colspan="{n + 1}">{html.escape(title)}</th></tr>'


def _zoning_rank(value: Any) -> float:
    return float(len(ZONING_ORDER) - ZONING_ORDER.index(value)) if value in ZONING_ORDER else math.nan


def _criterion_rows(recs: list[dict[str, Any]], names: tuple[str, ...], lang: str) -> list[str]:
    rows = []
    for name in names:
        if not any(name in r for r in recs):
            continue
        unit = i18n.criterion_unit(name)
        cells = [html.escape(i18n.fmt_value(r.get(name), unit, lang)) for r in recs]
        crit = CATALOGUE.get(name)
        direction: str | None
        if name == "zoning_class":
            values, direction = [_zoning_rank(r.get(name)) for r in recs], "max"
        else:
            values = [as_number(r.get(name)) for r in recs]
            direction = None if crit is None else ("max" if crit.direction == "benefit" else "min")
        rows.append(_row(i18n.criterion_label(name, lang), cells, values, direction))
    return rows


def _breakdown_rows(recs: list[dict[str, Any]], breakdown: pd.DataFrame, colors: list[str], lang: str) -> list[str]:
    """One row per criterion (heaviest first): weight bar, contribution bar and points of each site."""
    if breakdown.empty:
        return []
    ids = [str(r["site_id"]) for r in recs]
    bd = breakdown[breakdown["site_id"].astype(str).isin(set(ids))]
    if bd.empty:
        return []
    weights = bd.groupby("criterion")["weight"].max().astype(float)
    order = sorted(weights.index, key=lambda c: (-float(weights[c]), str(c)))
    wmax = float(weights.max()) or 1.0
    cells_of = {
        (str(s), str(c)): rec for s, c, rec in zip(bd["site_id"], bd["criterion"], bd.to_dict("records"), strict=True)
    }
    rows = []
    for crit in order:
        weight = float(weights[crit])
        cells: list[str] = []
        values: list[float] = []
        keys: list[str] = []
        for r, color in zip(recs, colors, strict=True):
            rec = cells_of.get((str(r["site_id"]), str(crit)))
            if rec is None:
                cells.append("–")
                values.append(math.nan)
                keys.append("–")
                continue
            excluded = bool(r["excluded"])
            earned = max(as_number(rec.get("contribution")), 0.0)
            earned = 0.0 if math.isnan(earned) else earned
            would = weight * max(as_number(rec.get("value")), 0.0) if excluded else earned
            would = 0.0 if math.isnan(would) else would
            shown = i18n.fmt_number(would, lang, 3)
            width = BAR_PX * weight / wmax
            fill = 100.0 * min(would / weight, 1.0) if weight > 0 else 0.0
            bar_color = EXCLUDED_BAR_COLOR if excluded else color
            raw = i18n.fmt_value(rec.get("raw_value"), i18n.criterion_unit(str(crit)), lang)
            cells.append(
                f'<span class="fx-cbar" style="width:{width:.0f}px"><span style="width:{fill:.0f}%;'
                f'background:{bar_color}"></span></span>'
                f'<span class="fx-cnum">{f"({shown})" if excluded else shown} / {i18n.fmt_number(weight, lang, 2)}'
                f" · {html.escape(raw)}</span>"
            )
            values.append(earned)
            keys.append(i18n.fmt_number(earned, lang, 3))
        rows.append(_row(i18n.criterion_label(str(crit), lang), cells, values, "max", keys))
    return rows


def build_comparison(
    sites: gpd.GeoDataFrame,
    breakdown: pd.DataFrame,
    *,
    profile: str | Profile,
    lang: str = "fr",
    offline: bool = False,
    synthetic: bool = False,
    n_sites: int | None = None,
    commune_names: Mapping[str, str] | None = None,
    provenance: pd.DataFrame | None = None,
    assets_url: str | None = None,
    score_colors: Mapping[str, str] | None = None,
    sheet_url: Callable[[str], str] | None = None,
    generated: str = "",
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> str:
    """The HTML page comparing two to six scored sites side by side.

    ``context`` (optional, canonical layer names): ``communes``, ``roads`` and ``rail_lines`` are drawn thinly
    around the sites, towns and numbered roads named, and the nearest interchange (``interchanges``) and
    Roissy-CDG (``hubs``) labelled with arrows when off the map (as on a sheet).

    Parameters
    ----------
    sites : GeoDataFrame
        2 to 6 rows of the scored sites (``site_id`` as column or index, ``score``, ``rank``, ``excluded``,
        ``reasons``/``reasons_fr``, criteria columns, ``area_m2``, ``min_lot_m2``, ``max_lot_m2``,
        ``communes``, geometry), in any order: columns are shown best rank first.
    breakdown : DataFrame
        The long breakdown (``site_id``, ``criterion``, ``raw_value``, ``value``, ``weight``,
        ``contribution``); rows of other sites are ignored.
    profile : str or Profile
        The profile of the ranking.
    lang : {"fr", "en"}
        Language of the page.
    offline : bool
        No basemap, assets from the local asset folder (write with ``save_html(..., offline=True)``).
    synthetic : bool
        Show the "synthetic sample" banner.
    n_sites : int, optional
        Number of ranked sites ("out of 245 ranked sites").
    commune_names : mapping, optional
        INSEE code to commune name.
    provenance : DataFrame, optional
        The workspace's provenance table (footer).
    assets_url : str, optional
        URL prefix the page loads Leaflet from (e.g. ``/maps/assets`` when served by the API).
    score_colors : mapping, optional
        Site id to the colour of its score class on the site map (see :func:`score_class_colors`), for the
        score badges; a neutral colour otherwise (grey for excluded sites).
    sheet_url : callable, optional
        Site id to the URL of its sheet: adds a link under each column head (the API gives one).
    generated : str, optional
        Override of the "made on ... by foncier ..." line.

    Returns
    -------
    str
        A complete HTML page.

    Raises
    ------
    ValueError
        When there are fewer than 2 or more than 6 sites, or required columns are missing.
    """
    lang = i18n.check_lang(lang)
    frame = _prepare(sites)
    n = len(frame)
    _, profile_title = profile_names(profile, lang)
    names = dict(commune_names or {})
    badges = dict(score_colors or {})
    colors = list(SITE_COLORS[:n])
    recs: list[dict[str, Any]] = frame.drop(columns=frame.geometry.name).to_dict("records")
    ids = [str(r["site_id"]) for r in recs]

    # ------------------------------------------------------------------ the map
    bounds = latlon_bounds(frame)
    m, page = new_map_page(
        bounds,
        zoom_start=12,
        title=f"{t('compare_title', lang)} · {', '.join(ids)}",
        lang=lang,
        css=SHEET_CSS + SITE_MAP_CSS + COMPARE_CSS,
        offline=offline,
        width="100%",
        height="100%",
    )
    shown = generalise(frame[["site_id", frame.geometry.name]], tolerance_m=SITE_TOLERANCE_M, decimals=SITE_DECIMALS)
    extra = [
        {
            "c": colors[i],
            "label": f"{i + 1} · {ids[i]} · {t('score', lang)} {i18n.fmt_number(recs[i].get('score'), lang, 2)}",
        }
        for i in range(n)
    ]
    folium.GeoJson(
        feature_collection(shown, extra=extra),
        name=html.escape(t("compare_map_layer", lang)),
        style_function=lambda f: {
            "color": "#222222",
            "weight": 2,
            "fillColor": f["properties"]["c"],
            "fillOpacity": 0.6,
        },
        highlight_function=lambda f: {"weight": 3.5, "color": "#ff7f00"},
        tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False, sticky=True),
    ).add_to(m)
    points = [
        [lat, lon, i + 1, colors[i], text_color_on(colors[i]), ids[i]]
        for i, (lat, lon) in enumerate(label_points(frame))
    ]
    shown_layers = _draw_surroundings(m, context or {}, lang)
    orientation = sheet_orientation(frame, context or {}, lang)
    credits = attribution_text({*shown_layers, *orientation.pop("layers")}, synthetic=synthetic, lang=lang)
    text = {"direction": t("target_direction", lang)}
    m.add_child(StaticScript("orientation.js"), name="foncier_orientation_js")
    m.add_child(Script(f"foncierOrientation(map, {js_json(orientation)}, {js_json(text)});"
                       f"foncierAttribution(map, {js_json(credits)});"), name="foncier_orientation")  # fmt: skip
    m.add_child(StaticScript("compare.js"), name="foncier_compare_js")
    m.add_child(Script(f"foncierCompareMarkers(map, {js_json(points)});"), name="foncier_markers")
    m.add_child(Script("L.control.scale({imperial: false}).addTo(map);"), name="foncier_scale")
    m.add_child(
        Script(fit_bounds_js(bounds, (40, 40), (40, 40)) + " if (map.getZoom() > 16) { map.setZoom(16); }"),
        name="foncier_fit",
    )
    m.add_child(ReadyFlag(), name="foncier_ready")

    # ------------------------------------------------------------------ the table
    head = []
    for i, sid in enumerate(ids):
        link = (
            f'<br><a href="{html.escape(sheet_url(sid))}">{t("open_sheet", lang)}</a>' if sheet_url is not None else ""
        )
        head.append(
            f'<th><span class="fx-rank fx-rank-big" style="background:{colors[i]};color:{text_color_on(colors[i])}">'
            f'{i + 1}</span><span class="fx-id">{html.escape(sid)}</span>{link}</th>'
        )
    rows: list[str] = [_section(t("key_figures", lang), n)]
    ranks = [as_number(r.get("rank")) for r in recs]
    rank_text = [
        t("rank_of", lang, rank=int(v), n=n_sites) if n_sites and not math.isnan(v) else i18n.fmt_number(v, lang)
        for v in ranks
    ]
    rows.append(_row(t("rank", lang), [html.escape(x) for x in rank_text], ranks, "min"))
    pills = []
    for r in recs:
        color = EXCLUDED_COLOR if r["excluded"] else badges.get(str(r["site_id"]), DEFAULT_COLOR)
        pills.append(
            f'<span class="fx-score-pill" style="background:{color};color:{text_color_on(color)}">'
            f"{i18n.fmt_number(r.get('score'), lang, 2)}</span>"
            + (f" <b>{t('excluded', lang)}</b>" if r["excluded"] else "")
        )
    rows.append(_row(t("score", lang), pills, [as_number(r.get("score")) for r in recs], "max"))
    for key, col, direction in (
        ("area", "area_m2", "max"),
        ("smallest_lot", "min_lot_m2", None),
        ("largest_lot", "max_lot_m2", "max"),
    ):
        rows.append(
            _row(
                t(key, lang),
                [html.escape(i18n.fmt_area(r.get(col), lang)) for r in recs],
                [as_number(r.get(col)) for r in recs],
                direction,
            )
        )
    if any("n_parcels" in r for r in recs):
        rows.append(_row(t("parcels", lang), [html.escape(i18n.fmt_number(r.get("n_parcels"), lang)) for r in recs]))
    communes = [", ".join(names.get(c, c) for c in str(r.get("communes") or "").split(",") if c) or "–" for r in recs]
    rows.append(_row(t("communes", lang), [html.escape(c) for c in communes]))
    rows += _facts_rows(recs, lang)
    rows.append(_section(t("access", lang), n))
    rows += _criterion_rows(recs, ACCESS_CRITERIA, lang)
    rows.append(_section(t("constraints", lang), n))
    rows += _criterion_rows(recs, CONSTRAINT_CRITERIA, lang)
    reasons_col = i18n.reasons_column(lang)
    reasons = [
        f'<span class="fx-why">{html.escape(str(r.get(reasons_col) or r.get("reasons") or ""))}</span>'
        if r["excluded"]
        else t("none", lang)
        for r in recs
    ]
    rows.append(_row(t("reasons", lang), reasons))
    bars = _breakdown_rows(recs, breakdown, colors, lang)
    if bars:
        rows.append(_section(t("breakdown", lang), n))
        rows += bars

    sub = (
        f"{t('compare_sub', lang, n=n)}"
        + (f" ({t('compare_of_ranked', lang, n=n_sites)})" if n_sites else "")
        + f" · {t('profile', lang)} <b>{html.escape(profile_title)}</b>"
    )
    banner = f'<div class="fx-sheet-banner" role="alert">{t("synthetic_banner", lang)}</div>' if synthetic else ""
    page.before_map = (
        f'<div class="fx-sheet">{banner}<h1>{t("compare_title", lang)}</h1><div class="fx-sub">{sub}</div>'
        f'<section class="fx-cmp-map">'
    )
    page.after_map = (
        "</section>"
        f'<div class="fx-cmp-wrap"><table class="fx-cmp"><colgroup><col class="fx-lab">{"<col>" * n}</colgroup>'
        f"<thead><tr><th></th>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<div class="fx-small" style="margin-top:6px">{t("compare_best_note", lang)} '
        f"{t('compare_bar_note', lang) if bars else ''}</div>"
        f'<div class="fx-foot">{provenance_html(provenance, lang, generated=generated)}'
        f"<div>{t('privacy_note', lang)}</div></div></div>"
    )
    if assets_url is not None:
        use_assets(page, offline=True, asset_dir=assets_url)
    else:
        use_assets(page, offline=offline)
    logger.info("comparison of %d sites (%s): %s", n, lang, ", ".join(ids))
    return str(page.render())

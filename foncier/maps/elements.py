"""Small page elements shared by foncier's maps: the page, CSS, HTML controls, the synthetic banner, provenance.

They are branca/folium ``MacroElement``s: each renders its HTML, CSS and JavaScript into the page of the map
it is added to, so a map stays one self-contained HTML file.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import PurePath
from typing import Any

import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from foncier._version import __version__
from foncier.maps.i18n import t
from foncier.maps.style import BANNER_BACKGROUND

logger = logging.getLogger(__name__)


def js_json(obj: Any) -> str:
    """Compact JSON safe to put inside a ``<script>`` (``<``, ``>``, ``&``, ``'`` escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")


class Page(Figure):
    """A branca Figure with a language, a title and a viewport: the HTML page of a map.

    Parameters
    ----------
    title : str
        Page title.
    lang : str
        Language of the page (``fr`` or ``en``).
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}">\n'
        "<head>\n"
        '<meta charset="utf-8"/>\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>\n'
        "<title>{{ this.title|e }}</title>\n"
        "    {{this.header.render(**kwargs)}}\n"
        "</head>\n"
        "<body>\n"
        "{{ this.before_map }}"
        "    {{this.html.render(**kwargs)}}\n"
        "{{ this.after_map }}"
        "</body>\n"
        "<script>\n"
        "    {{this.script.render(**kwargs)}}\n"
        "</script>\n"
        "</html>\n"
    )

    def __init__(self, title: str, lang: str = "fr") -> None:
        super().__init__(title=title)
        self._name = "Page"
        self.lang = lang
        self.before_map = ""
        self.after_map = ""
        # the meta tag of Figure is replaced by the charset tag of the template
        self.header._children.pop("meta_http", None)


def attach_page(m: Any, title: str, lang: str) -> Page:
    """Make a :class:`Page` the root of folium map ``m`` (instead of folium's anonymous Figure)."""
    page = Page(title=title, lang=lang)
    page.add_child(m)
    return page


class Css(MacroElement):
    """A ``<style>`` block in the page header."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        """
    )

    def __init__(self, css: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "Css"
        self.css = re.sub(r"\s*\n\s*", " ", css.strip())


@cache
def static_text(name: str) -> str:
    """The text of a JavaScript or CSS file of ``foncier/maps/static`` (package data)."""
    return (resources.files("foncier.maps") / "static" / name).read_text(encoding="utf-8")


class StaticScript(MacroElement):
    """A ``<script>`` in the page header with the code of ``foncier/maps/static/<name>`` (functions the map uses)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <script>{{ this.code }}</script>
        {% endmacro %}
        """
    )

    def __init__(self, name: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "StaticScript"
        code = static_text(name)
        if "</script" in code.lower():
            raise ValueError(f"{name} must not contain '</script'")
        self.code = code


class Script(MacroElement):
    """Raw JavaScript run after the map is made (``{map}`` in the code is replaced by the map's variable)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map){ {{ this.code }} })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, code: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "Script"
        self.code = code


def fit_bounds_js(
    bounds: list[list[float]], top_left: tuple[int, int] = (20, 20), bottom_right: tuple[int, int] = (20, 20)
) -> str:
    """JavaScript fitting ``map`` to ``bounds`` at once (no zoom animation at load: it can stall in headless
    browsers and leaves the map refusing later zooms)."""
    # on a narrow screen (a phone) the panels fold away: small paddings, else Leaflet finds no zoom (NaN)
    return (
        f"(function() {{ var narrow = map.getSize().x < 2 * ({top_left[0]} + {bottom_right[0]}) + 120; "
        f"map.fitBounds({js_json(bounds)}, {{animate: false, "
        f"paddingTopLeft: narrow ? [10, 10] : {js_json(list(top_left))}, "
        f"paddingBottomRight: narrow ? [10, 10] : {js_json(list(bottom_right))}}}); }})();"
    )


class HtmlControl(MacroElement):
    """A Leaflet control holding static HTML (legend, side panel, provenance).

    Clicks and scrolls inside it do not reach the map.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function(map) {
            var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html_json }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "topright", css_class: str = "fx-box") -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "HtmlControl"
        self.position = position
        self.css_class = f"leaflet-control {css_class}"
        self.html_json = js_json(html_text)


class Banner(MacroElement):
    """The "synthetic sample" banner, on top of the map (also in full-screen mode)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map){
            var div = L.DomUtil.create('div', 'fx-banner', map.getContainer());
            div.setAttribute('role', 'alert');
            div.textContent = {{ this.text_json }};
            L.DomEvent.disableClickPropagation(div);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "Banner"
        self.text_json = js_json(text)


class ReadyFlag(MacroElement):
    """Sets ``window.foncierReady`` (milliseconds since navigation) once the map and its layers are drawn.

    Add it last: benchmarks and browser tests wait for it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.foncierReady = performance.now();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca's MacroElement is untyped
        self._name = "ReadyFlag"


BASE_CSS = f":root {{ --fx-banner: {BANNER_BACKGROUND}; }}\n" + static_text("base.css")


def _source_text(source: object) -> str:
    text = str(source or "")
    if re.match(r"^[a-z]+://", text):
        return text
    if "/" in text or "\\" in text:
        return PurePath(text).name  # a local path: only its file name (no user directories)
    return text


def latest_date(provenance: pd.DataFrame | None) -> str:
    """The most recent retrieval date of the provenance table (ISO date, ``""`` when unknown)."""
    if provenance is None or provenance.empty or "retrieved" not in provenance.columns:
        return ""
    dates = [str(v)[:10] for v in provenance["retrieved"] if isinstance(v, str) and v]
    return max(dates) if dates else ""


def provenance_html(
    provenance: pd.DataFrame | None, lang: str, *, layers: list[str] | None = None, generated: str = ""
) -> str:
    """A collapsible block listing each layer's source, licence and date, plus when the map was made."""
    date = latest_date(provenance)
    summary = t("sources", lang) + (f" · {t('data_of', lang, date=date)}" if date else "")
    rows = []
    if provenance is not None and not provenance.empty:
        frame = provenance
        if layers is not None and "layer" in frame.columns:
            frame = frame[frame["layer"].isin(layers)]
        for rec in frame.to_dict("records"):
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        rec.get("layer", ""),
                        _source_text(rec.get("source")),
                        rec.get("licence", ""),
                        str(rec.get("retrieved", ""))[:10],
                    )
                )
                + "</tr>"
            )
    head = "".join(f"<th>{t(k, lang)}</th>" for k in ("layer", "source", "licence", "retrieved"))
    today = pd.Timestamp.now().strftime("%Y-%m-%d")
    generated_line = generated or t("generated", lang, date=today, version=__version__)
    table = f"<table><tr>{head}</tr>{''.join(rows)}</table>" if rows else ""
    return (
        f'<details class="fx-prov"><summary>{html.escape(summary)}</summary>{table}'
        f'<div class="fx-small">{html.escape(generated_line)}</div></details>'
    )


def escape_map(values: Mapping[str, str]) -> dict[str, str]:
    """HTML-escape every value of ``values``."""
    return {k: html.escape(v) for k, v in values.items()}


def add_css(m: Element, css: str, name: str = "foncier_css") -> None:
    """Add a ``<style>`` block to the page of map ``m``."""
    m.add_child(Css(css), name=name)


def attribution_text(layers: list[str] | tuple[str, ...] | set[str], *, synthetic: bool, lang: str) -> str:
    """The credits of the layers a map shows (:func:`foncier.layers.attribution.attributions`, ODbL named for
    OpenStreetMap), deduplicated; "synthetic data modelled on" for the sample territory, which imitates these
    sources without holding their data."""
    from foncier.layers.attribution import LAYER_SOURCES, ODBL, attributions

    odbl = {credit for credit, licence in LAYER_SOURCES.values() if licence is ODBL and "OpenStreetMap" in credit}
    credits = " · ".join(f"{c} (ODbL)" if c in odbl else c for c in attributions(layers))
    if synthetic:
        lead = "Données synthétiques d'après" if lang == "fr" else "Synthetic data modelled on"
        return f"{lead} : {credits}" if lang == "fr" else f"{lead}: {credits}"
    return credits

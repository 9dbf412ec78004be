"""Colours and layer styles of foncier's maps.

Scores use five classes of the *viridis* ramp (perceptually uniform, readable by colour-blind people and in
grey print), reversed so that the best sites are the darkest: "more" reads as "darker" on the light
background. Classes are quintiles of the scores of the sites kept (not excluded), so the map always tells the
best fifth from the worst whatever the spread of the scores; excluded sites are grey with a dashed outline.

Context layers use colours away from the ramp (orange, brown, red/blue for flood levels, green for protected
areas) and are mostly outlines, so the sites stay the figure and the context the ground. Categorical colours
of the parcel map come from the Okabe-Ito palette (colour-blind safe).

Each layer also carries its display generalisation: the simplification tolerance (metres, Lambert-93) and the
number of decimals kept in longitude/latitude, which keep the site map of the full territory small.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger(__name__)

#: viridis, 5 classes, best (darkest) first.
SCORE_COLORS: tuple[str, ...] = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
EXCLUDED_COLOR = "#9e9e9e"
EXCLUDED_FILL_OPACITY = 0.25
EXCLUDED_BAR_COLOR = "#8c8c8c"
"""Bars of an excluded site's breakdown (the points it would have earned; they do not count)."""
SITE_OUTLINE = "#222222"
HIGHLIGHT_COLOR = "#ff7f00"
BANNER_BACKGROUND = "#9b1c1c"
TOP_MARKER_FILL = "#ffffff"
TOP_MARKER_TEXT = "#111111"

#: Okabe-Ito palette (colour-blind safe).
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}

#: Parcel colours by planning zone type (PLU ``typezone``).
ZONING_COLORS: dict[str, str] = {
    "U": OKABE_ITO["vermillion"],
    "AUc": OKABE_ITO["orange"],
    "AUs": OKABE_ITO["yellow"],
    "A": OKABE_ITO["green"],
    "N": OKABE_ITO["blue"],
    "other": OKABE_ITO["grey"],
}

#: Parcel colours by availability status (layers.schemas.AVAILABILITY_STATUSES).
AVAILABILITY_COLORS: dict[str, str] = {
    "available": OKABE_ITO["green"],
    "under_option": OKABE_ITO["orange"],
    "sold": OKABE_ITO["vermillion"],
    "not_for_sale": OKABE_ITO["purple"],
    "unknown": "#bdbdbd",
}

#: Parcel fill by availability state (``parcel_availability.state``, issue 13), in the states' display order.
STATE_COLORS: dict[str, str] = {
    "available": OKABE_ITO["green"],
    "built": OKABE_ITO["vermillion"],
    "occupied": OKABE_ITO["purple"],
    "committed": OKABE_ITO["orange"],
    "to_verify": "#bdbdbd",
}

#: Isochrone outline colours by minutes (darker = closer to Roissy).
ISOCHRONE_COLORS: dict[int, str] = {15: "#54278f", 30: "#756bb1", 45: "#9e9ac8", 60: "#cbc9e2"}


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn and generalised on a web map.

    Attributes
    ----------
    color, weight, opacity, dash_array : Leaflet path options of the outline (``dash_array`` "" for solid).
    fill_color, fill_opacity : Leaflet fill options (``fill_opacity`` 0 for outlines only).
    radius : float
        Circle-marker radius in pixels, for point layers.
    tolerance_m : float
        Douglas-Peucker simplification tolerance in metres (Lambert-93) before display.
    decimals : int
        Decimals kept in longitude/latitude (5 is about 1 m, 6 about 0.1 m).
    show : bool
        Whether the layer is visible when the map opens.
    keep : tuple of str
        Attribute columns kept for tooltips (everything else is dropped to keep the page small).
    """

    color: str
    weight: float = 1.0
    opacity: float = 1.0
    dash_array: str = ""
    fill_color: str | None = None
    fill_opacity: float = 0.0
    radius: float = 4.0
    tolerance_m: float = 10.0
    decimals: int = 5
    show: bool = False
    keep: tuple[str, ...] = field(default_factory=tuple)

    def leaflet(self) -> dict[str, object]:
        """Leaflet path options (``color``, ``weight``... ``fillColor``) of this style."""
        opts: dict[str, object] = {"color": self.color, "weight": self.weight, "opacity": self.opacity}
        if self.dash_array:
            opts["dashArray"] = self.dash_array
        opts["fill"] = self.fill_opacity > 0
        if self.fill_opacity > 0:
            opts["fillColor"] = self.fill_color or self.color
            opts["fillOpacity"] = self.fill_opacity
        return opts


#: Styles of the context layers of the site map (canonical layer names, plus ``isochrones``).
LAYER_STYLES: dict[str, LayerStyle] = {
    "communes": LayerStyle(
        color="#9a9a9a",
        weight=0.8,
        fill_color="#f4f1ea",
        fill_opacity=0.55,
        tolerance_m=60,
        decimals=4,
        show=True,
        keep=("nom", "insee"),
    ),
    "zones": LayerStyle(
        color="#e66101",
        weight=2,
        fill_color="#fdb863",
        fill_opacity=0.25,
        tolerance_m=5,
        show=True,
        keep=("nom", "type"),
    ),
    "rail_lines": LayerStyle(
        color="#3a3a3a", weight=2, dash_array="6 3", tolerance_m=20, show=False, keep=("libelle",)
    ),
    "rail_stations": LayerStyle(
        color="#111111", weight=1.5, fill_color="#ffffff", fill_opacity=1, radius=5, show=False, keep=("nom",)
    ),
    "roads": LayerStyle(
        color="#b2182b", weight=2, opacity=0.75, tolerance_m=25, show=True, keep=("class", "ref", "nom")
    ),
    "interchanges": LayerStyle(
        color="#b2182b", weight=1.5, fill_color="#ffffff", fill_opacity=1, radius=4, show=False, keep=("nom",)
    ),
    "isochrones": LayerStyle(
        color="#756bb1", weight=2, dash_array="4 4", tolerance_m=80, decimals=4, show=False, keep=("minutes",)
    ),
    "flood": LayerStyle(
        color="#2166ac",
        weight=0.8,
        fill_color="#4393c3",
        fill_opacity=0.35,
        tolerance_m=15,
        show=False,
        keep=("level",),
    ),
    "protected": LayerStyle(
        color="#1b7837",
        weight=1.2,
        dash_array="3 3",
        fill_color="#5aae61",
        fill_opacity=0.15,
        tolerance_m=25,
        decimals=4,
        show=False,
        keep=("kind", "nom", "code"),
    ),
    "friches": LayerStyle(
        color="#8c510a",
        weight=1.5,
        fill_color="#bf812d",
        fill_opacity=0.45,
        radius=5,
        tolerance_m=5,
        show=False,
        keep=("nom", "site_statut"),
    ),
}

#: Flood zone fills by level (red: building prohibited, blue: under conditions).
FLOOD_LEVEL_COLORS: dict[str, str] = {"red": "#d6604d", "blue": "#4393c3"}

#: Road weights by class (only these classes are drawn on the site map).
ROAD_WEIGHTS: dict[str, float] = {"motorway": 3.5, "trunk": 3.0, "primary": 1.6}
ROAD_COLORS: dict[str, str] = {"motorway": "#b2182b", "trunk": "#d6604d", "primary": "#8c8c8c"}

#: Sites: simplification tolerance (m) and decimals on the site map; parcels on a site sheet.
SITE_TOLERANCE_M = 4.0
SITE_DECIMALS = 6
PARCEL_TOLERANCE_M = 0.5
PARCEL_DECIMALS = 6


def score_breaks(scores: Sequence[float] | np.ndarray, n_classes: int = len(SCORE_COLORS)) -> list[float]:
    """Class breaks (``n_classes + 1`` increasing values, first = min, last = max) from score quantiles.

    Duplicate quantiles (many equal scores) collapse: fewer classes are returned then. An empty input gives
    ``[0, 1]``.
    """
    values = np.asarray(scores, dtype="float64")
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [0.0, 1.0]
    qs = np.quantile(values, np.linspace(0, 1, n_classes + 1))
    breaks = [float(qs[0])]
    for q in qs[1:]:
        if float(q) > breaks[-1] + 1e-9:
            breaks.append(float(q))
    if len(breaks) == 1:
        breaks.append(breaks[0])
    return breaks


def class_colors(n_classes: int) -> list[str]:
    """Colours of ``n_classes`` score classes, lowest class first (a subset of :data:`SCORE_COLORS`)."""
    ramp = list(reversed(SCORE_COLORS))  # lowest first
    if n_classes >= len(ramp):
        return ramp
    idx = np.round(np.linspace(0, len(ramp) - 1, n_classes)).astype(int)
    return [ramp[i] for i in idx]


def score_class(score: float, breaks: Sequence[float]) -> int:
    """Index (0 = lowest) of the class of ``score`` given ``breaks`` from :func:`score_breaks`."""
    n = max(len(breaks) - 1, 1)
    for i in range(n):
        if score <= breaks[i + 1] + 1e-12:
            return i
    return n - 1


def score_color(score: float, breaks: Sequence[float], excluded: bool = False) -> str:
    """Fill colour of a site."""
    if excluded:
        return EXCLUDED_COLOR
    colors = class_colors(max(len(breaks) - 1, 1))
    return colors[score_class(score, breaks)]


def text_color_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (``#rrggbb``)."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111111" if luminance > 0.45 else "#ffffff"

"""Labels (French by default, English on request) and colours of the maps."""

from __future__ import annotations

import re

import numpy as np
import pytest

from foncier.geo.criteria_catalogue import CRITERIA_NAMES
from foncier.maps import i18n, style


def test_every_text_exists_in_both_languages() -> None:
    for key, entry in i18n.TEXT.items():
        assert set(entry) == {"fr", "en"}, key
        assert all(v.strip() for v in entry.values()), key
        # the same placeholders in both languages
        assert set(re.findall(r"\{(\w+)\}", entry["fr"])) == set(re.findall(r"\{(\w+)\}", entry["en"])), key


def test_french_is_the_default_and_english_on_request() -> None:
    assert i18n.t("layer_flood") == "Zones inondables (PPRI)"
    assert i18n.t("layer_flood", "en") == "Flood zones (PPRI)"
    assert i18n.t("top_sites", "fr", n=10) == "Les 10 meilleurs sites"
    with pytest.raises(ValueError, match="unknown language 'de'"):
        i18n.t("layer_flood", "de")


def test_criterion_labels_come_from_the_catalogue() -> None:
    for name in CRITERIA_NAMES:
        assert i18n.criterion_label(name, "fr") != name
        assert i18n.criterion_label(name, "en") != name
    assert i18n.criterion_label("time_to_roissy_min", "fr") == "Temps d'accès à Roissy-CDG"
    assert i18n.criterion_label("unknown_criterion") == "unknown_criterion"


def test_numbers_are_formatted_for_the_reader() -> None:
    assert i18n.fmt_number(12345.678, "fr", 1) == "12\u202f345,7"
    assert i18n.fmt_number(12345.678, "en", 1) == "12,345.7"
    assert i18n.fmt_number(float("nan")) == "–"
    assert i18n.fmt_area(156_000, "fr") == "15,6 ha"
    assert i18n.fmt_area(5_000, "en") == "0.50 ha"
    assert i18n.fmt_area(300, "en") == "300 m²"
    assert i18n.fmt_value(0.123, "0..1", "fr") == "12 %"
    assert i18n.fmt_value(4800, "m", "en") == "4.8 km"
    assert i18n.fmt_value(44.4, "min", "fr") == "44 min"
    assert i18n.fmt_value("economic_U", "class", "en") == "urban business zone"


def test_score_classes_are_quintiles_of_the_scores() -> None:
    scores = np.linspace(0.2, 0.9, 101)
    breaks = style.score_breaks(scores)
    assert len(breaks) == 6 and breaks[0] == pytest.approx(0.2) and breaks[-1] == pytest.approx(0.9)
    assert style.score_class(0.2, breaks) == 0 and style.score_class(0.9, breaks) == 4
    # the best class is the darkest viridis colour, the lowest the lightest
    assert style.score_color(0.9, breaks) == "#440154"
    assert style.score_color(0.2, breaks) == "#fde725"
    assert style.score_color(0.9, breaks, excluded=True) == style.EXCLUDED_COLOR
    # ties collapse into fewer classes, an empty input still gives a usable range
    assert style.score_breaks([0.5, 0.5, 0.5]) == [0.5, 0.5]
    assert style.score_breaks([]) == [0.0, 1.0]
    assert len(style.class_colors(2)) == 2


def test_text_colour_contrasts_with_its_background() -> None:
    assert style.text_color_on("#440154") == "#ffffff"
    assert style.text_color_on("#fde725") == "#111111"

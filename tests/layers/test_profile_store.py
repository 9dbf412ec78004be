"""Profiles on disk and their validation: built-ins, files, YAML errors, every problem reported at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from foncier.errors import NotFoundError, ProfileError
from foncier.geo.criteria_catalogue import synthetic_criteria
from foncier.geo.profile import Profile
from foncier.geo.scoring import score_sites
from foncier.layers.profile_store import dump_profile, list_profiles, load_profile, profile_path

BUILTINS = ["default", "logistics", "bio-economy", "eco-construction", "agri-food"]


def test_builtin_profiles_are_listed_and_valid() -> None:
    names = list_profiles()
    assert names[0] == "default"
    assert set(BUILTINS) <= set(names)
    crit = synthetic_criteria(300)
    for name in BUILTINS:
        p = load_profile(name)
        assert p.name == name and p.title_fr and p.title_en and p.description
        assert p.weights.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p.weights > 0).all()
        text = profile_path(name).read_text(encoding="utf-8")
        assert text.startswith("# foncier scoring profile") and "WHY THESE WEIGHTS" in text
        rules = {e.rule_text().split(" ")[0] for e in p.exclusions}
        assert {"share_flood_red", "zoning_class", "share_protected", "slope_mean_pct"} <= rules
        assert p.min_site_area_m2 > 0
        res = score_sites(crit, p)
        assert res.problems == []
        assert res.scores["excluded"].any() and not res.scores["excluded"].all()


def test_profiles_differ_in_what_they_favour() -> None:
    logistics = load_profile("logistics").weights
    eco = load_profile("eco-construction").weights
    agri = load_profile("agri-food").weights
    assert logistics.idxmax() == "time_to_roissy_hgv_min"  # a lorry's time (vehicle: hgv)
    assert load_profile("logistics").vehicle == load_profile("bio-economy").vehicle == "hgv"
    assert load_profile("default").vehicle == "car"
    assert eco.idxmax() == "share_brownfield"
    assert agri.idxmax() == "labour_pool"
    assert load_profile("logistics").min_site_area_m2 >= 50000


def test_bio_economy_weights_come_from_ahp() -> None:
    p = load_profile("bio-economy")
    assert p.ahp is not None and p.ahp_result is not None
    assert p.ahp_result.cr < 0.10
    assert p.weights.idxmax() == "gare_fret_dist"  # rail freight: road km to a freight station
    assert all(rule.weight is None for rule in p.criteria.values())


def test_unknown_name_lists_available_profiles() -> None:
    with pytest.raises(NotFoundError) as err:
        load_profile("logistic")
    assert "logistics" in str(err.value) and "bio-economy" in str(err.value)
    with pytest.raises(NotFoundError, match="not found"):
        load_profile("/nonexistent/profile.yaml")


def test_load_by_path_and_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "my-own.yaml"
    data = yaml.safe_load(profile_path("logistics").read_text(encoding="utf-8"))
    del data["name"]
    data["criteria"]["time_to_roissy_hgv_min"]["weight"] = 0.20
    data["criteria"]["area_m2"]["weight"] = 0.25
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    mine = load_profile(p)
    assert mine.name == "my-own"  # defaults to the file name
    assert mine.weights["area_m2"] == pytest.approx(0.25)
    again = tmp_path / "again.yml"
    again.write_text(dump_profile(mine), encoding="utf-8")
    assert load_profile(str(again)) == mine
    bio = load_profile("bio-economy")
    (tmp_path / "bio.yaml").write_text(dump_profile(bio), encoding="utf-8")
    assert load_profile(tmp_path / "bio.yaml").weights.equals(bio.weights)


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("name: broken\ncriteria:\n  area_m2: {weight: 1, method: linear\n  low: 0\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(p)
    assert "line " in str(err.value) and str(p) in str(err.value)


def test_duplicate_keys_refused(tmp_path: Path) -> None:
    p = tmp_path / "dup.yaml"
    p.write_text(
        "name: dup\ncriteria:\n  area_m2: {weight: 0.5, method: linear, low: 0, high: 1}\n"
        "  area_m2: {weight: 0.5, method: linear, low: 0, high: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError, match="duplicate key 'area_m2'"):
        load_profile(p)


def test_empty_and_non_mapping_files(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    with pytest.raises(ProfileError, match="empty"):
        load_profile(tmp_path / "empty.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="mapping"):
        load_profile(tmp_path / "list.yaml")


def _bad_profile() -> dict[str, Any]:
    return {
        "name": "bad one",
        "criteria": {
            "time_to_rosy_min": {"weight": 0.3, "method": "linear", "low": 0, "high": 60},
            "area_m2": {"weight": 0.5, "method": "linear", "low": 50000, "high": 10000},
            "labour_pool": {"weight": -0.1, "method": "cubic"},
            "slope_mean_pct": {"weight": float("nan"), "method": "sigmoid", "midpoint": 5, "spread": 0},
            "zoning_class": {"weight": 0.2, "method": "classes", "mapping": {"U": 1, "Q": 0.5}},
            "share_brownfield": {"weight": 0.1, "method": "linear", "low": 0, "high": 1, "midpoint": 3},
        },
        "exclusions": [
            {"criterion": "share_flood_red", "operator": "=>", "value": 0.1},
            {"criterion": "zoning_class", "operator": "<", "value": "A"},
            {"criterion": "slope", "operator": ">", "value": 10},
            {"criterion": "area_m2", "operator": "in", "value": 5},
        ],
        "min_site_area_m2": -5,
        "missing_values": "guess",
    }


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ProfileError) as err:
        Profile.from_dict(_bad_profile(), source="bad.yaml")
    text = str(err.value)
    expected = [
        "name 'bad one'",
        "unknown criterion 'time_to_rosy_min' (did you mean 'time_to_roissy_min'?)",
        "known criteria: time_to_roissy_min, time_to_interchange_min",
        "criteria.area_m2: thresholds reversed",
        "criteria.labour_pool: unknown method 'cubic'",
        "criteria.labour_pool: weight must not be negative",
        "criteria.slope_mean_pct: sigmoid spread must be positive",
        "criteria.slope_mean_pct: weight must be a finite number",
        "criteria.zoning_class: unknown categories Q",
        "criteria.zoning_class: mapping lacks categories",
        "criteria.share_brownfield: parameter(s) midpoint not used by method linear",
        "unknown operator '=>'",
        "categorical criterion: use ==, != or in",
        "unknown criterion 'slope'",
        "operator 'in' needs a list",
        "min_site_area_m2 must be a non-negative number",
        "missing_values must be one of zero, exclude, error",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    assert all(p.source == "bad.yaml" for p in err.value.problems)
    assert err.value.code == "invalid_profile"


def test_weights_must_sum_to_one() -> None:
    data: dict[str, Any] = {
        "name": "w",
        "criteria": {
            "area_m2": {"weight": 0.5, "method": "linear", "low": 0, "high": 1},
            "labour_pool": {"weight": 0.4, "method": "linear", "low": 0, "high": 1},
        },
    }
    with pytest.raises(ProfileError, match=r"weights sum to 0\.9, not 1"):
        Profile.from_dict(data)
    data["criteria"]["labour_pool"]["weight"] = 0.5 + 5e-7  # within the 1e-6 tolerance
    assert Profile.from_dict(data).weights.sum() == pytest.approx(1.0, abs=1e-15)
    del data["criteria"]["labour_pool"]["weight"]
    with pytest.raises(ProfileError, match="no weight for labour_pool"):
        Profile.from_dict(data)


def test_type_errors_and_unknown_fields_are_reported() -> None:
    data = {
        "name": "t",
        "criteria": {"area_m2": {"weight": "heavy", "method": "linear", "low": 0, "high": 1, "wieght": 1}},
        "colour": "red",
    }
    with pytest.raises(ProfileError) as err:
        Profile.from_dict(data)
    text = str(err.value)
    assert "criteria.area_m2.weight" in text and "criteria.area_m2.wieght: unknown field" in text
    assert "colour: unknown field" in text


def test_ahp_block_problems() -> None:
    base: dict[str, Any] = {
        "name": "a",
        "criteria": {
            "area_m2": {"method": "linear", "low": 0, "high": 1, "weight": 0.5},
            "labour_pool": {"method": "linear", "low": 0, "high": 1},
        },
    }
    inconsistent = {
        **base,
        "ahp": {
            "criteria": ["area_m2", "labour_pool", "slope_mean_pct"],
            "matrix": [[1, 9, "1/9"], ["1/9", 1, 9], [9, "1/9", 1]],
        },
    }
    with pytest.raises(ProfileError) as err:
        Profile.from_dict(inconsistent)
    text = str(err.value)
    assert "weight(s) given for area_m2 while the 'ahp' block derives" in text
    assert "not under 'criteria'" in text and "slope_mean_pct" in text
    assert "CR = " in text  # the consistency problem is reported too

    forced = {
        **base,
        "criteria": {**base["criteria"], "area_m2": {"method": "linear", "low": 0, "high": 1}},
        "ahp": {"criteria": ["labour_pool", "area_m2"], "matrix": [[1, 3], ["1/3", 1]]},
    }
    p = Profile.from_dict(forced)
    assert p.weights.to_dict() == pytest.approx({"area_m2": 0.25, "labour_pool": 0.75})
    assert list(p.weights.index) == ["area_m2", "labour_pool"]  # profile order


def test_with_weights_validation() -> None:
    p = load_profile("default")
    with pytest.raises(ProfileError) as err:
        p.with_weights({"area_m2": 1.0, "share_flood_red": 0.0, "nonsense": 0.0})
    text = str(err.value)
    assert "'share_flood_red' is not in profile 'default'" in text
    assert "unknown criterion 'nonsense'" in text
    assert "no weight given for" in text
    new = p.with_weights(dict.fromkeys(p.criteria, 1.0), normalise=True)
    assert new.weights.to_numpy() == pytest.approx(np.full(len(p.criteria), 1 / len(p.criteria)))
    assert p.weights["time_to_roissy_min"] == pytest.approx(0.15)  # original untouched
    bio = load_profile("bio-economy").with_weights(dict.fromkeys(load_profile("bio-economy").criteria, 1 / 7))
    assert bio.ahp is None and bio.ahp_result is None

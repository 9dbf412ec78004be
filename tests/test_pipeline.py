"""The pipeline and the scoring commands on the small sample territory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from click.testing import CliRunner

from foncier.layers.profile_store import load_profile
from foncier.layers.results import parcel_detail, scored_sites, site_detail
from foncier.layers.workspace import Workspace
from foncier.pipeline import criteria_are_current, run_pipeline
from foncier.scripts.cli import cli

PROFILES = ["default", "logistics", "bio-economy", "eco-construction", "agri-food"]


def test_pipeline_outputs_follow_the_contract(scored_sample_workspace: Path) -> None:
    ws = Workspace.open(scored_sample_workspace)
    layers = dict(pyogrio.list_layers(ws.gpkg))
    for name in ("sites", "site_parcels", "criteria", "scores", "score_breakdown", "isochrones"):
        assert name in layers, name
    assert criteria_are_current(ws)
    sites = ws.read_layer("sites")
    assert len(sites) >= 5
    assert sites["site_id"].is_unique
    # down to the smallest site any scored profile wants (eco-construction: 0.5 ha), never below
    smallest = min(load_profile(p).min_site_area_m2 for p in PROFILES)
    assert smallest == 5_000 and (sites["area_m2"] >= smallest).all()
    links = ws.read_table("site_parcels")
    assert set(links["site_id"]) == set(sites["site_id"])
    assert not links["parcel_id"].duplicated().any(), "a parcel belongs to one site at most"
    scores = ws.read_table("scores")
    assert set(scores["profile"]) == set(PROFILES)
    for profile in PROFILES:
        column = profile.replace("-", "_")
        ranked = scored_sites(ws, profile).sites
        np.testing.assert_allclose(sites.set_index("site_id").loc[ranked.index, f"score_{column}"], ranked["score"])
        assert (sites.set_index("site_id").loc[ranked.index, f"rank_{column}"] == ranked["rank"]).all()
    iso = ws.read_layer("isochrones")
    assert sorted(iso["minutes"]) == [15, 30, 45, 60]


@pytest.mark.parametrize("profile", PROFILES)
def test_scores_bounded_breakdowns_add_up_and_reasons_given(scored_sample_workspace: Path, profile: str) -> None:
    scored = scored_sites(Workspace.open(scored_sample_workspace), profile)
    sites = scored.sites
    assert ((sites["score"] >= 0) & (sites["score"] <= 1)).all()
    sums = scored.breakdown.groupby("site_id")["contribution"].sum()
    np.testing.assert_allclose(sums.reindex(sites.index).to_numpy(), sites["score"].to_numpy(), atol=1e-9)
    excluded = sites[sites["excluded"].astype(bool)]
    assert (excluded["reasons"].str.len() > 0).all()
    assert (excluded["score"] == 0).all()
    assert list(sites["rank"]) == list(range(1, len(sites) + 1))
    assert scored.synthetic


def test_ranking_and_site_ids_do_not_depend_on_row_order(small_sample_workspace: Path, tmp_path: Path) -> None:
    runs = []
    for seed in (None, 7):
        path = tmp_path / f"ws{seed}"
        shutil.copytree(small_sample_workspace, path)
        ws = Workspace.open(path)
        if seed is not None:
            parcels = ws.read_layer("parcels")
            ws.write_layers({"parcels": parcels.sample(frac=1.0, random_state=seed).reset_index(drop=True)})
        run_pipeline(ws, profiles=["logistics"])
        ranking = scored_sites(ws, "logistics").sites[["rank", "score"]]
        runs.append(ranking)
    pd.testing.assert_index_equal(runs[0].index, runs[1].index)
    np.testing.assert_allclose(runs[0]["score"], runs[1]["score"], atol=1e-9)


def test_rescoring_reuses_criteria_and_changes_with_weights(scored_sample_workspace: Path) -> None:
    ws = Workspace.open(scored_sample_workspace)
    before = ws.read_table("criteria")
    a = scored_sites(ws, "logistics").sites
    b = scored_sites(ws, "agri-food").sites
    pd.testing.assert_frame_equal(ws.read_table("criteria"), before)
    assert not np.allclose(a.loc[b.index, "score"], b["score"])


def test_stale_criteria_are_detected(scored_sample_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    ws = Workspace.open(path)
    assert criteria_are_current(ws)
    from foncier.layers.workspace import Provenance

    flood = ws.read_layer("flood")
    ws.write_layers({"flood": flood.iloc[:1]}, [Provenance("flood", "edited", checksum="changed", feature_count=1)])
    assert not criteria_are_current(ws)


def test_site_and_parcel_detail(scored_sample_workspace: Path) -> None:
    ws = Workspace.open(scored_sample_workspace)
    best = scored_sites(ws, "default").sites.iloc[0]
    detail = site_detail(ws, best["site_id"], "default")
    assert detail["rank"] == 1
    assert sum(b["contribution"] for b in detail["breakdown"]) == pytest.approx(detail["score"], abs=1e-9)
    assert len(detail["parcels"]) == detail["n_parcels"]
    parcel = parcel_detail(ws, detail["parcels"][0], "default")
    assert parcel["site"]["site_id"] == best["site_id"]
    assert parcel["zoning"] is not None and parcel["zoning"]["typezone"] in ("U", "AUc", "AUs", "ZC", "ZCa")
    # the class on the CNIG standards, and the plan's approval date and rules link
    assert parcel["zoning"]["zoning_class"] in ("economic_U", "economic_AUc", "economic_AUs", "cc_activity", "U")
    assert parcel["zoning"]["datappro"] and parcel["zoning"]["urlfic"]
    assert parcel["synthetic"] is True


def test_cli_sites_parcel_score_sensitivity_export(scored_sample_workspace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ws = str(scored_sample_workspace)
    out = runner.invoke(cli, ["sites", "-w", ws, "-p", "logistics", "--top", "3", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["synthetic"] is True and len(doc["rows"]) == 3
    assert [r["rank"] for r in doc["rows"]] == sorted(r["rank"] for r in doc["rows"])
    site = doc["rows"][0]["site_id"]
    parcel_id = site_detail(Workspace.open(ws), site, "logistics")["parcels"][0]
    out = runner.invoke(cli, ["parcel", "-w", ws, parcel_id, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["site"]["site_id"] == site
    bad = runner.invoke(cli, ["parcel", "-w", ws, "not-an-id"])
    assert bad.exit_code == 3 and "malformed parcel id" in bad.output
    missing = runner.invoke(cli, ["parcel", "-w", ws, "02722000ZZ9999"])
    assert missing.exit_code == 4 and "no parcel" in missing.output
    out = runner.invoke(
        cli, ["sensitivity", "-w", ws, "--runs", "50", "--top", "3", "--format", "csv", "--method", "monte-carlo"]
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].startswith("site_id,base_rank")
    for ext in ("gpkg", "geojson", "csv"):
        target = tmp_path / f"sites.{ext}"
        out = runner.invoke(cli, ["export", "-w", ws, "-p", "logistics", "-o", str(target)])
        assert out.exit_code == 0, out.output
        assert target.stat().st_size > 0
    geo = json.loads((tmp_path / "sites.geojson").read_text())
    assert geo["synthetic"] is True and geo["features"][0]["properties"]["notice"]
    unknown = runner.invoke(cli, ["sites", "-w", ws, "-p", "nope"])
    assert unknown.exit_code == 4 and "default" in unknown.output


def test_cli_score_stores_one_profile(scored_sample_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    out = CliRunner().invoke(cli, ["score", "-w", str(path), "-p", "logistics"])
    assert out.exit_code == 0, out.output
    assert "Profile 'logistics'" in out.output
    ws = Workspace.open(path)
    scores = ws.read_table("scores")
    assert sorted(scores["profile"].unique()) == sorted(PROFILES)
    used = ws.read_table("score_profiles").set_index("profile")
    assert sorted(used.index) == sorted(PROFILES)
    from foncier.geo.profile import Profile
    from foncier.layers.profile_store import load_profile

    again = Profile.from_dict(yaml.safe_load(used.loc["logistics", "definition_yaml"]))
    assert again.fingerprint() == used.loc["logistics", "fingerprint"] == load_profile("logistics").fingerprint()
    assert (scores.groupby("profile").size() == scores.groupby("profile").size().iloc[0]).all()


def test_cli_ahp(tmp_path: Path) -> None:
    good = tmp_path / "ahp.yaml"
    good.write_text(
        "criteria: [roissy, area, flood]\nmatrix:\n  - [1, 3, 5]\n  - ['1/3', 1, 2]\n  - ['1/5', '1/2', 1]\n"
    )
    out = CliRunner().invoke(cli, ["ahp", str(good), "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert sum(doc["weights"].values()) == pytest.approx(1.0)
    assert doc["weights"]["roissy"] > doc["weights"]["area"] > doc["weights"]["flood"]
    assert doc["cr"] < 0.10
    bad = tmp_path / "bad.yaml"
    bad.write_text("criteria: [a, b, c]\nmatrix:\n  - [1, 9, '1/9']\n  - ['1/9', 1, 9]\n  - [9, '1/9', 1]\n")
    out = CliRunner().invoke(cli, ["ahp", str(bad)])
    assert out.exit_code == 3 and "CR" in out.output
    forced = CliRunner().invoke(cli, ["ahp", str(bad), "--force"])
    assert forced.exit_code == 0 and "forced" in forced.output


def test_real_extracts_go_through_the_whole_chain(real_data: Path, tmp_path: Path) -> None:
    """The real files ingest, and a workspace without zoning is scored without crashing, saying why it is empty."""
    runner = CliRunner()
    ws = str(tmp_path / "real")
    for layer, name in [
        ("parcels", "cadastre-02-parcelles-excerpt-retz.geojson"), ("communes", "territoire_communes_epci.geojson"),
        ("rail_stations", "sncf_gares_zone.geojson"), ("rail_lines", "sncf_lignes_zone.geojson"),
        ("friches", "cartofriches_territoire.geojson"), ("hubs", "aerodromes_zone_airportsdata.geojson"),
    ]:  # fmt: skip
        out = runner.invoke(cli, ["ingest", "-w", ws, layer, str(real_data / name)])
        assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["score", "-w", ws])
    assert out.exit_code == 0, out.output
    assert "No candidate site" in out.output and "missing layers: plu, zones" in out.output
    out = runner.invoke(cli, ["sites", "-w", ws, "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.output)["rows"] == []
    assert not Workspace.open(ws).synthetic


def test_cli_info_shows_layers_provenance_and_the_synthetic_label(scored_sample_workspace: Path) -> None:
    out = CliRunner().invoke(cli, ["info", "-w", str(scored_sample_workspace)])
    assert out.exit_code == 0, out.output
    assert "SYNTHETIC SAMPLE" in out.output
    for layer in ("parcels", "sites", "criteria", "dem"):
        assert layer in out.output
    assert "Provenance:" in out.output and "synthetic" in out.output

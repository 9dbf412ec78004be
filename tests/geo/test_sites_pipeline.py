"""Through the pipeline on the small sample: availability stored, no built parcel in a site unless a
brownfield, sites down to the smallest profile's size, ids kept when a parcel is sold, the built threshold
settable per run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier.errors import NotFoundError
from foncier.layers.results import site_detail
from foncier.layers.workspace import Workspace
from foncier.pipeline import run_pipeline
from foncier.scripts.cli import cli


@pytest.fixture
def ws(scored_sample_workspace: Path, tmp_path: Path) -> Workspace:
    target = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, target)
    return Workspace.open(target)


def test_availability_and_sites_on_the_small_sample(ws: Workspace) -> None:
    avail = ws.read_table("parcel_availability")
    parcels = ws.read_layer("parcels")
    assert sorted(avail["parcel_id"]) == sorted(parcels["parcel_id"])
    threshold = float(ws.metadata["built_threshold"])
    links = ws.read_table("site_parcels").merge(avail, on="parcel_id")
    built = links[links["built_share"] > threshold]
    assert built["flags"].str.contains("demolition_reconversion").all(), built
    assert set(links["state"]) == {"available"}
    assert (avail["state"] == "built").sum() > 0 and (avail["state"] == "to_verify").sum() > 0
    sites = ws.read_layer("sites")
    assert sites["area_m2"].min() >= 5_000 and (sites["area_m2"] < 10_000).any()  # eco-construction's 0.5 ha
    assert "flags" in sites


def test_selling_a_parcel_keeps_the_site_id_and_an_old_id_says_what_became_of_it(ws: Workspace) -> None:
    sites = ws.read_layer("sites")
    big = sites.sort_values(["n_parcels", "site_id"]).iloc[-1]
    links = ws.read_table("site_parcels")
    first = sorted(links.loc[links["site_id"] == big["site_id"], "parcel_id"])[0]
    ws.set_parcel_status([first], "sold")
    run_pipeline(ws)
    after = ws.read_layer("sites")
    assert big["site_id"] in set(after["site_id"])
    kept = after.set_index("site_id").loc[big["site_id"]]
    assert kept["n_parcels"] == big["n_parcels"] - 1
    lineage = ws.read_table("site_lineage")
    assert ((lineage["old_site_id"] == big["site_id"]) & (lineage["relation"] == "kept")).any()
    # every parcel of a small site sold: the site is gone, and its old id says so
    small = after.sort_values(["n_parcels", "site_id"]).iloc[0]
    sold = ws.read_table("site_parcels").query("site_id == @small.site_id")["parcel_id"].tolist()
    ws.set_parcel_status(sold, "sold")
    run_pipeline(ws)
    with pytest.raises(NotFoundError, match="gone"):
        site_detail(ws, str(small["site_id"]), "default")


def test_built_threshold_is_settable_per_run(ws: Workspace) -> None:
    before = ws.read_table("parcel_availability")["state"].value_counts()
    out = CliRunner().invoke(cli, ["score", "-w", str(ws.path), "-p", "default", "--built-threshold", "0.6"])
    assert out.exit_code == 0, out.output
    w = Workspace.open(ws.path)
    assert w.metadata["built_threshold"] == "0.6"
    after = w.read_table("parcel_availability")["state"].value_counts()
    assert after["built"] < before["built"]
    bad = CliRunner().invoke(cli, ["score", "-w", str(ws.path), "--built-threshold", "1.5"])
    assert bad.exit_code != 0 and "built-threshold" in bad.output
    info = CliRunner().invoke(cli, ["info", "-w", str(ws.path)])
    assert "built above 60%" in info.output


def test_site_detail_carries_flags_and_friches(ws: Workspace) -> None:
    sites = ws.read_layer("sites")
    friches = ws.read_layer("friches")
    hit = sites[sites.intersects(friches.union_all())]
    assert len(hit), "the small sample has sites on brownfields"
    detail = site_detail(ws, str(hit["site_id"].iloc[0]), "default")
    assert detail["friches"] and {"site_id", "site_statut", "polluted"} <= set(detail["friches"][0])
    assert isinstance(detail["flags"], list)
    # a friche "avec projet" never makes a parcel a candidate
    avail = ws.read_table("parcel_availability")
    assert (avail.loc[avail["reason"] == "friche_with_project", "candidate"] == 0).all()

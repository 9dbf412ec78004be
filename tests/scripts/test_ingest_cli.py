"""``foncier ingest`` through the real console entry point (click runner)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from foncier.layers.workspace import Workspace, file_checksum
from foncier.scripts.cli import cli

CADASTRE = "cadastre-02-parcelles-excerpt-retz.geojson"


def test_ingest_real_parcels(real_data: Path, tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["ingest", "--workspace", str(ws_dir), "parcels", str(real_data / CADASTRE)])
    assert result.exit_code == 0, result.output
    assert "18 features stored" in result.output
    ws = Workspace.open(ws_dir)
    parcels = ws.read_layer("parcels")
    assert len(parcels) == 18
    assert (parcels["parcel_id"].str.len() == 14).all()
    assert ((parcels.area / parcels["contenance_m2"] - 1).abs() <= 0.03).all()
    prov = ws.provenance().set_index("layer")
    assert prov.loc["parcels", "checksum"] == file_checksum(real_data / CADASTRE)
    assert "Licence Ouverte" in prov.loc["parcels", "licence"]


def test_workspace_from_environment(real_data: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["ingest", "friches", str(real_data / "cartofriches_territoire.geojson")],
        env={"FONCIER_WORKSPACE": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert Workspace.open(tmp_path).feature_count("friches") == 23


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("truncated", "truncated or malformed GeoJSON"),
        ("wrong_crs", "look like EPSG:2154"),
        ("duplicates", "duplicate id"),
        ("self_intersection", "Self-intersection"),
    ],
)
def test_bad_input_leaves_workspace_untouched(real_data: Path, tmp_path: Path, case: str, expected: str) -> None:
    runner = CliRunner()
    ws_dir = tmp_path / "ws"
    ok = runner.invoke(cli, ["ingest", "-w", str(ws_dir), "parcels", str(real_data / CADASTRE)])
    assert ok.exit_code == 0
    before = file_checksum(ws_dir / "foncier.gpkg")
    raw = gpd.read_file(real_data / CADASTRE).drop(columns=["created", "updated"])
    bad = tmp_path / f"{case}.geojson"
    if case == "truncated":
        bad.write_bytes((real_data / CADASTRE).read_bytes()[:5000])
    elif case == "wrong_crs":
        doc = json.loads(raw.to_crs(2154).to_json())
        doc.pop("crs", None)
        bad.write_text(json.dumps(doc))
    elif case == "duplicates":
        raw.loc[5, "id"] = raw.loc[4, "id"]
        raw.to_file(bad)
    else:
        raw.loc[0, "geometry"] = shapely.Polygon([(3.16, 49.15), (3.17, 49.16), (3.17, 49.15), (3.16, 49.16)])
        raw.to_file(bad)
    result = runner.invoke(cli, ["ingest", "-w", str(ws_dir), "parcels", str(bad)])
    assert result.exit_code == 3, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert file_checksum(ws_dir / "foncier.gpkg") == before
    assert len(Workspace.open(ws_dir).read_layer("parcels")) == 18

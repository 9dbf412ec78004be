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


# ---------------------------------------------------------------------------------------------- merge / statuses
def _layer_checksums(ws: Workspace, layer: str, communes: set[str]) -> str:
    """Checksum of the stored features of ``communes`` (sorted by id, so that the order of the merge does not
    matter)."""
    from foncier.layers.workspace import frame_checksum

    frame = ws.read_layer(layer)
    part = frame[frame["commune"].isin(communes)].sort_values("parcel_id").reset_index(drop=True)
    return frame_checksum(part[["parcel_id", "commune", "section", "numero", "contenance_m2", "geometry"]])


def _copy(src: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "ws"
    shutil.copytree(src, target)
    return target


def _commune_file(ws: Workspace, commune: str, path: Path, *, drop: list[str] | None = None) -> gpd.GeoDataFrame:
    """The stored parcels of one commune written as an Etalab-shaped GeoJSON (``id`` at the top level)."""
    parcels = ws.read_layer("parcels")
    part = parcels[(parcels["commune"] == commune) & ~parcels["parcel_id"].isin(drop or [])].to_crs(4326)
    features = [
        {
            "type": "Feature",
            "id": r.parcel_id,
            "properties": {
                "id": r.parcel_id,
                "commune": r.commune,
                "prefixe": r.prefixe,
                "section": r.section,
                "numero": r.numero,
                "contenance": int(r.contenance_m2),
            },
            "geometry": shapely.geometry.mapping(r.geometry),
        }
        for r in part.itertuples()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return part


def test_one_commune_ingested_into_the_territory_is_merged(
    small_sample_workspace: Path, real_data: Path, tmp_path: Path
) -> None:
    path = _copy(small_sample_workspace, tmp_path)
    ws = Workspace.open(path)
    before = ws.read_layer("parcels")
    others = set(before["commune"])
    kept_before = _layer_checksums(ws, "parcels", others)
    statuses_before = before.dropna(subset=["status"]).set_index("parcel_id")["status"]
    result = CliRunner().invoke(cli, ["ingest", "-w", str(path), "parcels", str(real_data / CADASTRE)])
    assert result.exit_code == 0, result.output
    after = ws.read_layer("parcels")
    assert len(after) == len(before) + 18
    assert _layer_checksums(ws, "parcels", others) == kept_before  # the other communes are untouched
    assert (
        after.dropna(subset=["status"])
        .set_index("parcel_id")["status"]
        .sort_index()
        .equals(statuses_before.sort_index())
    )
    assert "merged by commune: 3 commune(s) replaced" in result.output
    assert f"{len(before)} features of {len(others)} other commune(s) kept" in result.output
    state = ws.provenance().set_index("layer").loc["parcels", "state"]
    assert state.startswith("merged by commune")


def test_a_commune_reingested_replaces_its_own_parcels_and_keeps_statuses(
    small_sample_workspace: Path, tmp_path: Path
) -> None:
    path = _copy(small_sample_workspace, tmp_path)
    ws = Workspace.open(path)
    before = ws.read_layer("parcels")
    villers = before[before["commune"] == "02810"]
    keep_id, gone_id = villers["parcel_id"].iloc[0], villers["parcel_id"].iloc[1]
    runner = CliRunner()
    out = runner.invoke(cli, ["status", "-w", str(path), keep_id, "--set", "under_option"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["status", "-w", str(path), gone_id, "--set", "sold"])
    assert out.exit_code == 0, out.output
    others = set(before["commune"]) - {"02810"}
    kept_before = _layer_checksums(ws, "parcels", others)
    # the cadastre's new edition: one parcel of Villers-Cotterets merged away
    file = tmp_path / "cadastre-02810-parcelles.json"
    _commune_file(ws, "02810", file, drop=[gone_id])
    result = runner.invoke(cli, ["ingest", "-w", str(path), "parcels", str(file)])
    assert result.exit_code == 0, result.output
    after = ws.read_layer("parcels").set_index("parcel_id")
    assert len(after) == len(before) - 1 and gone_id not in after.index
    assert after.loc[keep_id, "status"] == "under_option"
    assert _layer_checksums(ws, "parcels", others) == kept_before
    assert "no longer in the cadastre" in result.output and gone_id in result.output
    from foncier.layers.statuses import status_history

    history = status_history(ws, [gone_id, keep_id])
    assert list(history.loc[history["parcel_id"] == gone_id, "status"]) == ["sold", "sold"]
    assert history.loc[history["parcel_id"] == gone_id, "note"].iloc[-1] == "parcel no longer in the cadastre"
    assert list(history.loc[history["parcel_id"] == keep_id, "status"]) == ["under_option"]

    # the parcel comes back (the merge was undone): its status comes back with it
    _commune_file(Workspace.open(small_sample_workspace), "02810", file)
    again = runner.invoke(cli, ["ingest", "-w", str(path), "parcels", str(file)])
    assert again.exit_code == 0, again.output
    back = ws.read_layer("parcels").set_index("parcel_id")
    assert back.loc[gone_id, "status"] == "sold" and back.loc[keep_id, "status"] == "under_option"


def test_replace_replaces_the_whole_layer_and_says_how_many_go(
    small_sample_workspace: Path, real_data: Path, tmp_path: Path
) -> None:
    path = _copy(small_sample_workspace, tmp_path)
    n = Workspace.open(path).feature_count("parcels")
    result = CliRunner().invoke(cli, ["ingest", "-w", str(path), "parcels", str(real_data / CADASTRE), "--replace"])
    assert result.exit_code == 0, result.output
    assert f"replaced: {n} stored features go; 18 features stored" in result.output
    ws = Workspace.open(path)
    assert len(ws.read_layer("parcels")) == 18
    assert ws.provenance().set_index("layer").loc["parcels", "state"] == "complete"
    # the sample's statuses are not lost: their parcels left, so they are reported and kept in the history
    assert "no longer in the cadastre" in result.output


# ---------------------------------------------------------------------------------------------- kill -9
def _foncier() -> str:
    import shutil as sh
    import sys

    return sh.which("foncier", path=str(Path(sys.executable).parent)) or "foncier"


def _kill_at(args: list[str], delay: float) -> int | None:
    """Run ``foncier ARGS`` and SIGKILL it after ``delay`` seconds (None when it finished before)."""
    import signal
    import subprocess
    import time

    proc = subprocess.Popen([_foncier(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return None


def _timed(args: list[str]) -> float:
    import subprocess
    import time

    t0 = time.monotonic()
    subprocess.run([_foncier(), *args], check=True, capture_output=True)
    return time.monotonic() - t0


def test_kill_9_during_ingest_and_status_never_leaves_a_mixed_workspace(
    small_sample_workspace: Path, real_data: Path, tmp_path: Path
) -> None:
    from foncier.layers.statuses import status_history
    from foncier.layers.workspace import frame_checksum

    path = _copy(small_sample_workspace, tmp_path)
    ws = Workspace.open(path)
    before = frame_checksum(ws.read_layer("parcels").sort_values("parcel_id").reset_index(drop=True))
    n_before = ws.feature_count("parcels")
    file = real_data / "cadastre-91216-parcelles.json"
    # how long a whole ingest takes here, on a scratch copy, to kill the real ones at every stage
    scratch = _copy(small_sample_workspace, tmp_path / "scratch")
    total = _timed(["ingest", "-w", str(scratch), "parcels", str(file)])
    after = frame_checksum(
        Workspace.open(scratch).read_layer("parcels").sort_values("parcel_id").reset_index(drop=True)
    )
    for fraction in (0.5, 0.75, 0.9):
        _kill_at(["ingest", "-w", str(path), "parcels", str(file)], total * fraction)
        ws = Workspace.open(path)
        ws.check()  # a sound GeoPackage
        now = frame_checksum(ws.read_layer("parcels").sort_values("parcel_id").reset_index(drop=True))
        assert now in (before, after), fraction  # the old layer or the new one, never a mix
        assert ws.feature_count("parcels") in (n_before, n_before + 4241)
    # the next command is not blocked by a stale lock, and statuses survive a kill the same way
    pid = str(ws.read_layer("parcels")["parcel_id"].iloc[0])
    status_total = _timed(["status", "-w", str(path), pid, "--set", "available"])
    for fraction, value in ((0.5, "sold"), (0.8, "under_option"), (0.95, "not_for_sale")):
        _kill_at(["status", "-w", str(path), pid, "--set", value], status_total * fraction)
        ws = Workspace.open(path)
        ws.check()
        current = ws.read_layer("parcels", where=f"parcel_id = '{pid}'")["status"].iloc[0]
        history = status_history(ws, [pid])
        assert current == history["status"].iloc[-1]  # the status and its history: both or neither
    result = CliRunner().invoke(cli, ["status", "-w", str(path), pid, "--set", "sold"])
    assert result.exit_code == 0, result.output

"""Refresh semantics: a stored layer is replaced only by a complete, validated version of itself.

Each test starts from a workspace filled by a complete fetch (built once, copied per test) and checks,
with layer checksums, that an offline, failed or partial refresh leaves it unchanged or merged as specified.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from foncier.layers.fetch import fetch_territory
from foncier.layers.fetch.dem import tile_name
from foncier.layers.fetch.http import HttpClient
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.statuses import read_history
from foncier.layers.workspace import Workspace, file_checksum, frame_checksum

from .conftest import CADASTRE_EDITION, OSM_PATH, TEST_COMMUNES, Fault, Served, Services

LAYERS = ("communes", "parcels", "plu", "protected", "flood", "friches", "rail_lines", "rail_stations", "roads",
          "interchanges", "hubs")  # fmt: skip


def _settings(cache: Path, services: Services) -> FetchSettings:
    return FetchSettings(
        cache_dir=cache, retries=1, backoff_base=0.001, backoff_max=0.01, retry_after_max=0.05,
        connect_timeout=2.0, read_timeout=2.0,
    ).with_source_urls(services.source_urls())  # fmt: skip


def _run(ws: Path, territory: Path, settings: FetchSettings, **kwargs: object):  # type: ignore[no-untyped-def]
    client = HttpClient(settings, sleep=lambda _: None)
    offline = bool(kwargs.pop("offline", False))
    return fetch_territory(ws, territory, client=client, offline=offline, progress=False, **kwargs)  # type: ignore[arg-type]


def checksums(path: Path) -> dict[str, str]:
    """Content checksum of every stored layer (and of the DEM file)."""
    ws = Workspace.open(path)
    out = {name: frame_checksum(ws.read_layer(name)) for name in LAYERS if ws.has_layer(name)}
    if ws.dem_path.exists():
        out["dem"] = file_checksum(ws.dem_path)
    return out


@pytest.fixture(scope="module")
def stored(served: Served, tmp_path_factory: pytest.TempPathFactory, real_data: Path) -> tuple[Path, Path]:
    """(workspace, territory file) after one complete fetch of every layer."""
    root = tmp_path_factory.mktemp("stored")
    territory = root / "test-retz.yaml"
    territory.write_text(
        "name: test-retz\ntitle: Test Retz-en-Valois (4 communes)\n"
        'epcis: [{siren: "200071991", nom: CC Retz-en-Valois}]\n'
        f"communes: [{', '.join(repr(c) for c in TEST_COMMUNES)}]\n"
        "hubs:\n  - {hub_id: CDG, nom: Paris-Charles de Gaulle, kind: airport, lon: 2.55, lat: 49.0128}\n"
        f"osm_extracts: [{OSM_PATH}]\n",
        "utf-8",
    )
    svc = Services(served.root, served.data)
    try:
        report = _run(root / "ws", territory, _settings(root / "cache", svc))
        assert report.ok, report.render()
    finally:
        svc.close()
    return root / "ws", territory


@pytest.fixture
def workspace(stored: tuple[Path, Path], tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(stored[0], target)
    return target


def test_complete_fetch_records_the_state(stored: tuple[Path, Path]) -> None:
    prov = Workspace.open(stored[0]).provenance().set_index("layer")
    assert set(prov.loc[[*LAYERS, "dem"], "state"]) == {"complete"}


def test_offline_with_an_empty_cache_keeps_every_layer(
    workspace: Path, stored: tuple[Path, Path], tmp_path: Path, services: Services
) -> None:
    before = checksums(workspace)
    prov_before = Workspace.open(workspace).provenance()
    report = _run(workspace, stored[1], _settings(tmp_path / "empty-cache", services), offline=True)
    assert not report.ok and services.count() == 0
    assert checksums(workspace) == before
    assert Workspace.open(workspace).provenance().equals(prov_before)
    for name in [*LAYERS, "dem"]:
        if name == "hubs":
            continue  # from the territory file: complete without any download
        rep = report.layers[name]
        assert rep.status == "kept", (name, rep.status)
        assert rep.kept is not None and rep.kept > 0
    text = report.render()
    assert "kept: " in text and " features from " in text


SOURCE_PATHS = {
    "communes": ["/geo/epcis/200071991/communes", "/geo/communes"],  # the EPCI, then one by one
    "parcels": [f"/cadastre/{CADASTRE_EDITION}/geojson/communes/02/{c}/cadastre-{c}-parcelles.json.gz"
                for c in TEST_COMMUNES],
    "plu": ["/apicarto/gpu/zone-urba"],
    "protected": ["/apicarto/nature/znieff1"],
    "flood": ["/apicarto/gpu/assiette-sup-s"],
    "friches": ["/cartofriches/geofriches/"],
    "rail_stations": ["/sncf/liste-des-gares/exports/geojson"],
    "roads": [f"/osm/{OSM_PATH}"],
    "dem": [f"/dem/{tile_name(3, 49)}/{tile_name(3, 49)}.tif"],
}  # fmt: skip


@pytest.mark.parametrize("failing", sorted(SOURCE_PATHS))
def test_each_source_failing_keeps_its_stored_layer(
    failing: str, workspace: Path, stored: tuple[Path, Path], tmp_path: Path, services: Services
) -> None:
    before = checksums(workspace)
    for path in SOURCE_PATHS[failing]:
        services.fail(path, Fault("status", 503, times=-1))
    report = _run(workspace, stored[1], _settings(tmp_path / "cache", services), layers=[failing, "plu"])
    assert not report.ok
    # every layer is byte-for-byte what it was: the failing one kept, plu refetched identical
    assert checksums(workspace) == before
    rep = report.layers[failing]
    assert rep.status == "kept", report.render()
    assert any(n.startswith(f"kept: {rep.kept} features from ") for n in rep.notes)
    prov = Workspace.open(workspace).provenance().set_index("layer")
    assert prov.loc[failing, "state"] == "complete"  # the kept layer's record is unchanged
    assert [name for name, r in report.layers.items() if r.status not in ("stored", "kept", "empty")] == []


def test_partial_parcels_refresh_merges_by_commune(
    workspace: Path, stored: tuple[Path, Path], tmp_path: Path, services: Services, served: Served
) -> None:
    ws = Workspace.open(workspace)
    parcels = ws.read_layer("parcels")
    # make the stored state distinguishable: one parcel of 02258 dropped, one of 02594 edited
    dropped = parcels[parcels["commune"] == "02258"]["parcel_id"].iloc[0]
    edited = parcels[parcels["commune"] == "02594"]["parcel_id"].iloc[0]
    parcels.loc[parcels["parcel_id"] == edited, "contenance_m2"] = 4242.0
    ws.write_layers({"parcels": parcels[parcels["parcel_id"] != dropped].reset_index(drop=True)})
    ws.set_parcel_statuses({edited: "under_option"})
    services.fail(
        f"/cadastre/{CADASTRE_EDITION}/geojson/communes/02/02594/cadastre-02594-parcelles.json.gz",
        Fault("status", 404, times=-1),
    )
    report = _run(workspace, stored[1], _settings(tmp_path / "cache", services), layers=["parcels"])
    rep = report.layers["parcels"]
    assert rep.status == "partial" and not report.ok
    after = Workspace.open(workspace).read_layer("parcels").set_index("parcel_id")
    assert dropped in after.index  # a refreshed commune: replaced by the fetched file
    assert after.loc[edited, "contenance_m2"] == 4242.0  # the failed commune: stored parcels kept
    assert after.loc[edited, "status"] == "under_option"  # statuses survive the refresh
    assert len(after) == sum(served.parcel_counts.values())
    assert sorted(after["commune"].unique()) == sorted(TEST_COMMUNES)
    state = Workspace.open(workspace).provenance().set_index("layer").loc["parcels", "state"]
    assert state.startswith("partial: ") and "02594" in state
    assert any("merged by commune" in n for n in rep.notes)


def test_complete_refresh_carries_statuses(
    workspace: Path, stored: tuple[Path, Path], tmp_path: Path, services: Services
) -> None:
    ws = Workspace.open(workspace)
    pid = ws.read_layer("parcels")["parcel_id"].iloc[3]
    ws.set_parcel_statuses({pid: "sold"})
    report = _run(workspace, stored[1], _settings(tmp_path / "cache", services), layers=["parcels"])
    assert report.ok, report.render()
    after = Workspace.open(workspace).read_layer("parcels").set_index("parcel_id")
    assert after.loc[pid, "status"] == "sold"
    history = read_history(Workspace.open(workspace))
    assert list(history.loc[history["parcel_id"] == pid, "status"]) == ["sold"]


def test_info_shows_state_vintage_checksum_and_source(stored: tuple[Path, Path]) -> None:
    from click.testing import CliRunner

    from foncier.scripts.cli import cli

    result = CliRunner().invoke(cli, ["info", "--workspace", str(stored[0])])
    assert result.exit_code == 0, result.output
    prov = Workspace.open(stored[0]).provenance().set_index("layer")
    assert "complete" in result.output and CADASTRE_EDITION in result.output
    assert str(prov.loc["parcels", "checksum"])[:12] in result.output
    assert f"parcels: {prov.loc['parcels', 'source']}" in result.output


def test_kill_9_during_a_refresh_never_leaves_a_mixed_workspace(
    workspace: Path, stored: tuple[Path, Path], tmp_path: Path, services: Services
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    exe = shutil.which("foncier", path=str(Path(sys.executable).parent)) or "foncier"
    before = checksums(workspace)
    env = {**os.environ, "FONCIER_FETCH_RETRIES": "0"}

    def args(cache: Path) -> list[str]:
        out = [exe, "fetch", "-w", str(workspace), "-t", str(stored[1]), "--cache-dir", str(cache), "--no-progress"]
        for name, url in services.source_urls().items():
            out += ["--source-url", f"{name}={url}"]
        return [*out, "-l", "communes,parcels,plu,friches,rail"]

    t0 = time.monotonic()
    subprocess.run(args(tmp_path / "c0"), env=env, check=True, capture_output=True)
    total = time.monotonic() - t0
    assert checksums(workspace) == before  # the same data refetched: the same layers
    for i, fraction in enumerate((0.55, 0.8, 0.95)):
        proc = subprocess.Popen(args(tmp_path / f"c{i + 1}"), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(total * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ws = Workspace.open(workspace)
        ws.check()
        assert checksums(workspace) == before, fraction  # each layer whole: the stored one or its identical refresh
    # no stale lock: the next refresh runs to the end
    done = subprocess.run(args(tmp_path / "c9"), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

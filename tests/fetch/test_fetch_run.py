"""``foncier fetch`` end to end against the local server: a workspace the engine accepts, faults, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from foncier.errors import WorkspaceError
from foncier.layers.fetch import FETCH_LAYERS, fetch_territory
from foncier.layers.fetch.http import ContentCache, HttpClient
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.fetch.sources import cadastre as sources_mod
from foncier.layers.validate import validate_layer
from foncier.layers.workspace import PROVENANCE_COLUMNS, Workspace
from foncier.scripts.cli import cli

from .conftest import (
    CADASTRE_EDITION,
    OSM_TIMESTAMP,
    TEST_COMMUNES,
    Fault,
    Served,
    Services,
    cache_files,
    cli_args,
)

PARCELS_02594 = f"/cadastre/{CADASTRE_EDITION}/geojson/communes/02/02594/cadastre-02594-parcelles.json.gz"


def _run(ws: Path, territory: Path, settings: FetchSettings, **kwargs: object):  # type: ignore[no-untyped-def]
    client = HttpClient(settings, sleep=lambda _: None)
    offline = bool(kwargs.pop("offline", False))
    return fetch_territory(ws, territory, client=client, offline=offline, progress=False, **kwargs)  # type: ignore[arg-type]


def test_fetch_fills_a_workspace_the_engine_accepts(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path, served: Served
) -> None:
    report = _run(tmp_path / "ws", territory_file, fetch_settings)
    assert report.ok, report.render()
    assert {name: r.status for name, r in report.layers.items()} == {name: "stored" for name in FETCH_LAYERS}
    ws = Workspace.open(tmp_path / "ws")
    assert ws.metadata["synthetic"] == "false" and ws.metadata["territory_id"] == "test-retz"
    for name in FETCH_LAYERS:
        if name == "dem":
            continue
        gdf = ws.read_layer(name)
        valid, _ = validate_layer(gdf, name)  # what the scoring engine reads
        assert len(valid) == report.layers[name].features > 0
        assert gdf.crs.to_epsg() == 2154
    assert len(ws.read_layer("parcels")) == sum(served.parcel_counts.values())
    assert sorted(ws.read_layer("communes")["insee"]) == sorted(TEST_COMMUNES)
    assert ws.read_layer("hubs").set_index("hub_id").loc["CDG", "kind"] == "airport"
    dem, transform = ws.read_dem()
    assert transform.a == 25.0 and (dem == dem).all()

    prov = ws.provenance().set_index("layer")
    assert set(prov.index) == set(FETCH_LAYERS)
    for column in PROVENANCE_COLUMNS[1:]:
        assert prov[column].astype(str).str.len().gt(0).all(), column
    assert prov.loc["parcels", "vintage"] == CADASTRE_EDITION
    assert prov.loc["roads", "vintage"] == f"OSM extract of {OSM_TIMESTAMP[:10]}"
    assert prov.loc["roads", "licence"].startswith("ODbL") and prov.loc["dem", "licence"].startswith("Copernicus")
    assert int(prov.loc["parcels", "feature_count"]) == sum(served.parcel_counts.values())
    assert report.checks == []
    assert report.stats.retries == 0 and report.stats.downloads > 0


def test_fetched_workspace_is_scored_by_the_pipeline(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path
) -> None:
    pipeline = pytest.importorskip("foncier.pipeline", reason="the scoring pipeline is not importable")
    results = pytest.importorskip("foncier.layers.results", reason="the results module is not importable")
    network = pytest.importorskip("foncier.geo.network", reason="the road network module is not importable")
    report = _run(tmp_path / "ws", territory_file, fetch_settings)
    assert report.ok, report.render()
    ws = Workspace.open(tmp_path / "ws")
    graph = network.build_road_graph(ws.read_layer("roads"))
    assert graph.main.sum() >= 10  # the fetched roads are one routable network
    run = pipeline.run_pipeline(ws, profiles=["default"])
    assert run.n_sites > 0 and run.n_available > 0
    scored = results.scored_sites(ws, "default")
    assert len(scored.sites) == run.n_sites and not scored.synthetic
    assert scored.sites["time_to_roissy_min"].notna().all()
    assert (scored.sites["score"] > 0).any()


def test_second_run_and_offline_use_the_cache(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path
) -> None:
    first = _run(tmp_path / "ws", territory_file, fetch_settings)
    assert first.ok
    services.reset_log()
    again = _run(tmp_path / "ws", territory_file, fetch_settings)
    assert again.ok and services.count() == 0 and again.stats.requests == 0
    offline = _run(tmp_path / "ws-offline", territory_file, fetch_settings, offline=True)
    assert offline.ok and services.count() == 0
    a, b = Workspace.open(tmp_path / "ws").provenance(), Workspace.open(tmp_path / "ws-offline").provenance()
    assert list(a["checksum"]) == list(b["checksum"])


def test_offline_with_an_empty_cache_says_what_is_missing(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path
) -> None:
    report = _run(tmp_path / "ws", territory_file, fetch_settings, offline=True, layers=["communes", "parcels"])
    assert not report.ok and services.count() == 0
    assert report.layers["communes"].status == "missing" and report.layers["parcels"].status == "missing"
    assert any("/geo/epcis/200071991/communes" in u for u in report.missing)
    assert "Missing from the cache" in report.render()


def test_layers_by_insee_code_need_no_outlines(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path
) -> None:
    report = _run(tmp_path / "ws", territory_file, fetch_settings, layers=["parcels", "friches"])
    assert report.ok and set(report.layers) == {"parcels", "friches"}
    assert services.count("/geo/") == 0  # the territory lists its communes: no outline needed


def test_404_for_one_commune_keeps_the_others(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path, served: Served
) -> None:
    services.fail(PARCELS_02594, Fault("status", 404, times=-1))
    report = _run(tmp_path / "ws", territory_file, fetch_settings, layers=["communes", "parcels"])
    parcels = report.layers["parcels"]
    assert parcels.status == "partial" and not report.ok
    assert len(parcels.failures) == 1 and "02594" in parcels.failures[0] and "404" in parcels.failures[0]
    assert services.count(PARCELS_02594) == 1  # a 404 is not retried
    ws = Workspace.open(tmp_path / "ws")
    stored = ws.read_layer("parcels")
    assert set(stored["commune"]) == set(TEST_COMMUNES) - {"02594"}
    assert len(stored) == sum(n for c, n in served.parcel_counts.items() if c != "02594")

    # the commune's file is published later: only it is downloaded
    services.faults.clear()
    services.reset_log()
    again = _run(tmp_path / "ws", territory_file, fetch_settings, layers=["communes", "parcels"])
    assert again.ok
    assert services.count("/cadastre/") == 2  # the 'latest' redirect and the file, for 02594 only
    assert services.count(PARCELS_02594) == 1
    assert set(Workspace.open(tmp_path / "ws").read_layer("parcels")["commune"]) == set(TEST_COMMUNES)


def test_outage_mid_run_then_resume_downloads_only_what_is_missing(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path
) -> None:
    settings = fetch_settings.model_copy(update={"retries": 1})
    services.outage_after = 12  # the services go down after 12 requests
    broken = _run(tmp_path / "ws", territory_file, settings)
    assert not broken.ok
    assert any(r.status in ("failed", "partial") for r in broken.layers.values())
    cached_urls = {e.url for e in ContentCache(settings.cache_path).entries()}
    assert 0 < len(cached_urls) < 35
    for path in cache_files(settings.cache_path):  # never a partial file
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text("utf-8"))
        assert meta["size"] == path.stat().st_size

    services.outage_after = None
    services.reset_log()
    resumed = _run(tmp_path / "ws", territory_file, settings)
    assert resumed.ok, resumed.render()
    requested = {f"{services.base}{r.target}" for r in services.requests}
    # nothing that was complete is downloaded again (DEM windows are cached under '#window=' keys)
    assert not {u.split("#")[0] if "#window=" in u else u for u in cached_urls} & requested
    assert resumed.stats.cache_hits >= len(cached_urls)


def test_interrupted_run_resumes(
    tmp_path: Path,
    services: Services,
    fetch_settings: FetchSettings,
    territory_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = {"n": 0}
    real = sources_mod.read_geojson_file

    def interrupt_third(path: Path):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(path)

    monkeypatch.setattr(sources_mod, "read_geojson_file", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "ws", territory_file, fetch_settings, layers=["communes", "parcels"])
    monkeypatch.undo()
    ws = Workspace.open(tmp_path / "ws")
    assert ws.has_layer("communes") and not ws.has_layer("parcels")  # stored layers kept, nothing half-written
    assert services.count("/cadastre/") == 6  # 3 communes: redirect + file

    services.reset_log()
    report = _run(tmp_path / "ws", territory_file, fetch_settings, layers=["communes", "parcels"])
    assert report.ok
    assert services.count("/geo/") == 0
    assert services.count("/cadastre/") == 2  # only the fourth commune


def test_nothing_in_the_territory_stores_an_empty_layer(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings
) -> None:
    territory = tmp_path / "dammard.yaml"
    territory.write_text("communes: ['02258']\n", "utf-8")  # no brownfield, no PPR zone there
    report = _run(tmp_path / "ws", territory, fetch_settings, layers=["friches", "flood", "plu"])
    assert report.ok, report.render()
    assert report.layers["friches"].status == report.layers["flood"].status == "empty"
    assert report.layers["plu"].status == "stored"
    ws = Workspace.open(tmp_path / "ws")
    friches = ws.read_layer("friches")
    assert len(friches) == 0 and {"site_id", "site_statut", "site_surface_m2"} <= set(friches.columns)
    assert ws.provenance().set_index("layer").loc["flood", "feature_count"] == 0


def test_synthetic_workspace_is_refused(tmp_path: Path, fetch_settings: FetchSettings, territory_file: Path) -> None:
    Workspace.create(tmp_path / "ws", territory="sample", synthetic=True)
    with pytest.raises(WorkspaceError, match="synthetic"):
        _run(tmp_path / "ws", territory_file, fetch_settings)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_fetch(tmp_path: Path, services: Services, territory_file: Path, fast_env: None) -> None:
    runner = CliRunner()
    args = cli_args(
        services, tmp_path / "ws", territory_file, tmp_path / "cache", "--layers", "communes,parcels", "-l", "rail"
    )
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "parcels" in result.output and "stored" in result.output
    assert set(Workspace.open(tmp_path / "ws").list_layers()) >= {"communes", "parcels", "rail_lines", "rail_stations"}

    offline = runner.invoke(
        cli,
        [
            *cli_args(services, tmp_path / "ws2", territory_file, tmp_path / "cache"),
            "--offline",
            "-l",
            "communes,parcels",
        ],
    )
    assert offline.exit_code == 0, offline.output


def test_cli_offline_missing_exits_non_zero(
    tmp_path: Path, services: Services, territory_file: Path, fast_env: None
) -> None:
    result = CliRunner().invoke(
        cli, [*cli_args(services, tmp_path / "ws", territory_file, tmp_path / "empty"), "--offline"]
    )
    assert result.exit_code == 6
    assert "Missing from the cache" in result.output
    assert "run without --offline" in result.output
    assert services.count() == 0


def test_cli_bad_input(tmp_path: Path, territory_file: Path) -> None:
    runner = CliRunner()
    bad_layer = runner.invoke(cli, ["fetch", "-w", str(tmp_path / "ws"), "-t", str(territory_file), "-l", "zones"])
    assert bad_layer.exit_code == 3 and "foncier ingest" in bad_layer.output
    bad_url = runner.invoke(
        cli, ["fetch", "-w", str(tmp_path / "ws"), "-t", str(territory_file), "--source-url", "ftp=x"]
    )
    assert bad_url.exit_code == 3 and "unknown source 'ftp'" in bad_url.output
    bad_territory = runner.invoke(cli, ["fetch", "-w", str(tmp_path / "ws"), "-t", "atlantis"])
    assert bad_territory.exit_code == 4 and "soissonnais-valois" in bad_territory.output
    assert "Traceback" not in bad_layer.output + bad_url.output + bad_territory.output


def test_cli_help() -> None:
    result = CliRunner().invoke(cli, ["fetch", "--help"])
    assert result.exit_code == 0 and "--source-url" in result.output and "--offline" in result.output

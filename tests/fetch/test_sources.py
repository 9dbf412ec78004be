"""Each source against the local server: URLs, paging, capping, parsing into canonical layers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from foncier.layers.fetch.http import HttpClient
from foncier.layers.fetch.settings import FetchSettings, parse_source_urls
from foncier.layers.fetch.sources import (
    FetchContext,
    SourceResult,
    _finish,
    _rebase,
    fetch_communes,
    fetch_flood,
    fetch_friches,
    fetch_parcels,
    fetch_plu,
    fetch_protected,
    fetch_rail,
    flood_level,
    geom_param,
    parcels_url,
    query_tiles,
)
from foncier.layers.fetch.territory import load_territory

from .conftest import TEST_COMMUNES, Fault, Served, Services


def test_communes_from_the_geo_api(ctx: FetchContext, services: Services) -> None:
    gdf = ctx.communes
    assert gdf is not None
    assert sorted(gdf["insee"]) == sorted(TEST_COMMUNES)
    assert gdf.crs.to_epsg() == 2154 and set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    assert (gdf["epci_siren"] == "200071991").all() and gdf["population"].notna().all()


def test_communes_by_code_and_geometry_contour(
    services: Services, fetch_settings: FetchSettings, tmp_path: Path
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("communes: ['02722', '02810']\n", "utf-8")
    context = FetchContext(client=HttpClient(fetch_settings), territory=load_territory(path))
    result = fetch_communes(context)
    assert result.complete
    assert sorted(result.layers["communes"]["insee"]) == ["02722", "02810"]
    queries = [r.query for r in services.requests if r.path == "/geo/communes"]
    assert [q["code"] for q in queries] == ["02722", "02810"]
    assert all(q["geometry"] == "contour" and q["format"] == "geojson" for q in queries)


def test_unknown_epci_is_reported(services: Services, fetch_settings: FetchSettings, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("epcis: [{siren: '999999999'}, {siren: '200071991'}]\ncommunes: ['02810']\n", "utf-8")
    result = fetch_communes(FetchContext(client=HttpClient(fetch_settings), territory=load_territory(path)))
    assert any("EPCI 999999999: not found (HTTP 404)" in w for w in result.warnings)
    assert result.complete  # every listed commune was found
    assert list(result.layers["communes"]["insee"]) == ["02810"]

    path.write_text("epcis: [{siren: '999999999'}]\n", "utf-8")
    alone = fetch_communes(FetchContext(client=HttpClient(fetch_settings), territory=load_territory(path)))
    assert any("EPCI 999999999: not found (HTTP 404)" in f for f in alone.failures)
    assert "communes" not in alone.layers


def test_rows_refused_by_validation_are_left_out() -> None:
    good = [shapely.box(700_000 + 100 * i, 6_900_000, 700_090 + 100 * i, 6_900_090) for i in range(30)]
    bowtie = shapely.Polygon([(700_000, 6_901_000), (700_100, 6_901_100), (700_100, 6_901_000), (700_000, 6_901_100)])
    ids = [f"02810000AB{i:04d}" for i in range(31)]
    gdf = gpd.GeoDataFrame(
        {"parcel_id": ids, "commune": "02810", "section": "AB", "numero": [str(i) for i in range(31)],
         "contenance_m2": [8100.0] * 30 + [-5.0]},
        geometry=[*good[:29], bowtie, good[29]], crs="EPSG:2154",
    )  # fmt: skip
    result = SourceResult()
    _finish(result, "parcels", gdf, source="test", entries=[])
    assert len(result.layers["parcels"]) == 29 and result.failures == []
    assert any("2 feature(s) refused by validation" in w for w in result.warnings)

    result = SourceResult()
    _finish(result, "parcels", gdf.drop(columns=["section"]), source="test", entries=[])
    assert "parcels" not in result.layers and "refused by validation" in result.failures[0]


def test_parcels_url_pattern() -> None:
    assert parcels_url("https://cadastre.data.gouv.fr/data/etalab-cadastre", "latest", "02722") == (
        "https://cadastre.data.gouv.fr/data/etalab-cadastre/latest/geojson/communes/02/02722/cadastre-02722-parcelles.json.gz"
    )
    assert "/2A/2A004/" in parcels_url("x", "2025-10-01", "2A004")


def test_parcels(ctx: FetchContext, served: Served) -> None:
    result = fetch_parcels(ctx)
    assert result.complete, result.failures
    gdf = result.layers["parcels"]
    assert len(gdf) == sum(served.parcel_counts.values())
    assert gdf["parcel_id"].str.len().eq(14).all() and gdf["parcel_id"].is_unique
    assert gdf.loc[gdf["parcel_id"] == "022580000A0099", "contenance_m2"].item() == 152220
    assert gdf["contenance_m2"].isna().sum() == 1  # absent key in the Etalab file
    prov = result.provenance["parcels"]
    assert prov.vintage == "2025-10-01"  # 'latest' redirected to the dated edition
    assert prov.feature_count == len(gdf) and len(prov.checksum) == 64
    assert "{dep}/{insee}" in prov.source and prov.licence.startswith("Licence Ouverte 2.0")


def test_plu_and_cap_splitting(ctx: FetchContext, services: Services) -> None:
    baseline = fetch_plu(ctx)
    assert baseline.complete
    plu = baseline.layers["plu"]
    # 26 PLU zones, 3 carte communale sectors (gpu/secteur-cc) and 1 commune under the RNU (gpu/municipality)
    assert len(plu) == 30 and set(plu["typezone"]) == {"U", "AUc", "AUs", "A", "N", "ZC", "ZCa", "ZnC", "RNU"}
    assert set(plu["libelle"]) >= {"UX", "1AUx"}
    tiles = services.count("/apicarto/gpu/zone-urba")

    services.reset_log()
    services.gpu_cap = 6  # the service silently caps its answer: numberMatched > numberReturned
    other_cache = ctx.settings.model_copy(update={"cache_dir": ctx.settings.cache_path / "x"})
    fresh = FetchContext(client=HttpClient(other_cache), territory=ctx.territory, communes=ctx.communes)
    capped = fetch_plu(fresh)
    assert capped.complete, capped.failures
    assert sorted(capped.layers["plu"]["gid"].dropna()) == sorted(plu["gid"].dropna())  # every zone once, split
    assert len(capped.layers["plu"]) == len(plu)
    assert services.count("/apicarto/gpu/zone-urba") > tiles
    assert all("_start" not in r.query for r in services.requests)


def test_cap_that_cannot_be_split_away_is_reported(ctx: FetchContext, services: Services) -> None:
    services.gpu_cap = 0
    context = FetchContext(
        client=HttpClient(ctx.settings.model_copy(update={"gpu_max_split_depth": 1})),
        territory=ctx.territory, communes=ctx.communes,
    )  # fmt: skip
    result = fetch_plu(context)
    assert any("even after 1 splits" in f for f in result.failures)


def test_protected_paging(ctx: FetchContext, services: Services) -> None:
    context = FetchContext(
        client=HttpClient(ctx.settings.model_copy(update={"nature_page_size": 1})),
        territory=ctx.territory, communes=ctx.communes,
    )  # fmt: skip
    result = fetch_protected(context)
    assert result.complete, result.failures
    gdf = result.layers["protected"]
    assert sorted(gdf["kind"]) == ["natura2000_sic", "rnn", "znieff1", "znieff1", "znieff1", "znieff2"]
    assert set(gdf["code"]) >= {"FR2200398", "220120045"}
    starts = sorted({int(r.query["_start"]) for r in services.requests if r.path == "/apicarto/nature/znieff1"})
    assert starts[:3] == [0, 1, 2]  # _start += _limit until numberMatched
    assert not any("localhost" in r.path for r in services.requests)  # 'links' not followed


def test_flood_from_gpu_pm1(ctx: FetchContext, services: Services) -> None:
    result = fetch_flood(ctx)
    gdf = result.layers["flood"]
    # the zone neither red nor blue is kept, as "PPR zone, rule to read", never dropped
    assert sorted(gdf["level"]) == ["blue", "red", "to_read"]
    assert set(gdf["hazard"]) <= {"flood", "ground_movement", "technological", "other"}
    assert any("rule to read" in w for w in result.warnings)
    assert {r.query.get("categorie") for r in services.requests} == {"PM1"}


def test_flood_from_georisques(ctx: FetchContext, services: Services) -> None:
    context = FetchContext(
        client=HttpClient(ctx.settings.model_copy(update={"flood_service": "georisques"})),
        territory=ctx.territory, communes=ctx.communes,
    )  # fmt: skip
    result = fetch_flood(context)
    assert result.complete
    assert sorted(result.layers["flood"]["level"]) == ["blue", "red"]
    assert "Georisques" in result.provenance["flood"].licence
    assert all(r.query["TYPENAMES"] == "ms:PPRN_ZONE_INOND" for r in services.requests)


@pytest.mark.parametrize(
    ("values", "expected"),
    [(("Zone rouge",), "red"), (("R1",), "red"), (("Zone d'interdiction",), "red"), (("B2",), "blue"),
     (("Zone bleue",), "blue"), (("Zone réglementée", "Zone de prescriptions"), "blue"), (("Périmètre",), None),
     ((None, "nan"), None)],
)  # fmt: skip
def test_flood_level(values: tuple[object, ...], expected: str | None) -> None:
    assert flood_level(*values) == expected


def test_friches_follow_next_links(ctx: FetchContext, services: Services) -> None:
    context = FetchContext(
        client=HttpClient(ctx.settings.model_copy(update={"cartofriches_page_size": 1})),
        territory=ctx.territory, communes=ctx.communes,
    )  # fmt: skip
    result = fetch_friches(context)
    assert result.complete, result.failures
    gdf = result.layers["friches"]
    assert sorted(gdf["site_id"]) == ["02810_11350", "02810_2309"]
    assert {"site_statut", "site_surface_m2", "nom"} <= set(gdf.columns)
    assert not [c for c in gdf.columns if c.startswith("proprio_")]  # no personal data
    pages = [r.query.get("page", "1") for r in services.requests if r.path == "/cartofriches/geofriches/"]
    assert pages == ["1", "2"]


def test_friches_batches_of_ten_codes(services: Services, fetch_settings: FetchSettings) -> None:
    context = FetchContext(client=HttpClient(fetch_settings), territory=load_territory("soissonnais-valois"))
    result = fetch_friches(context)  # needs no outlines: by INSEE code
    assert result.complete, result.failures
    assert len(result.layers["friches"]) == 23
    assert services.count("/cartofriches/geofriches/") == 17  # 163 codes, 10 per query
    assert all(len(r.query["code_insee"].split(",")) <= 10 for r in services.requests)


def test_rebase_next_link() -> None:
    base = "http://mirror.local/cartofriches"
    official = "https://apidf-preprod.cerema.fr/cartofriches/geofriches/?code_insee=02810&page=2"
    assert (
        _rebase(official, base, "/geofriches/")
        == "http://mirror.local/cartofriches/geofriches/?code_insee=02810&page=2"
    )
    assert _rebase(base + "/geofriches/?page=2", base, "/geofriches/") == base + "/geofriches/?page=2"


def test_rail(ctx: FetchContext) -> None:
    result = fetch_rail(ctx)
    assert result.complete
    stations = result.layers["rail_stations"]
    assert "Villers-Cotterêts" in set(stations["nom"])
    vc = stations[stations["nom"] == "Villers-Cotterêts"]
    assert vc["fret"].all() and vc["code_uic"].str.fullmatch(r"\d{8}").all()
    assert stations["fret"].dtype == bool
    lines = result.layers["rail_lines"]
    assert "exploitation" in lines.columns and lines["code_ligne"].notna().all()
    # only what is near the territory (rail_buffer_km)
    far = shapely.distance(stations.geometry.to_numpy(), ctx.footprint)
    assert far.max() <= ctx.settings.rail_buffer_km * 1000 + 1


def test_rail_one_export_failing_spares_the_other(ctx: FetchContext, services: Services) -> None:
    services.fail("/sncf/liste-des-gares/exports/geojson", Fault("status", 500, times=-1))
    result = fetch_rail(ctx)
    assert "rail_lines" in result.layers and "rail_stations" not in result.layers
    assert all(f.startswith("rail_stations:") for f in result.failures)


def test_query_tiles_are_on_a_fixed_grid() -> None:
    area = shapely.box(3.05, 49.13, 3.22, 49.29)
    tiles = query_tiles(area, 0.1)
    assert (3.0, 49.1, 3.1, 49.2) in tiles and len(tiles) == 6
    assert geom_param((3.0, 49.1, 3.1, 49.2)) == (
        '{"type":"Polygon","coordinates":[[[3.0,49.1],[3.1,49.1],[3.1,49.2],[3.0,49.2],[3.0,49.1]]]}'
    )


def test_source_url_overrides() -> None:
    s = FetchSettings().with_source_urls(
        parse_source_urls(["cadastre=http://m/etalab-cadastre/", "osm=file:///data/osm"])
    )
    assert s.base_url("cadastre") == "http://m/etalab-cadastre" and s.base_url("osm") == "file:///data/osm"
    assert s.base_url("geo") == "https://geo.api.gouv.fr"
    with pytest.raises(Exception, match="unknown source 'nope'"):
        FetchSettings().with_source_urls({"nope": "http://x"})
    with pytest.raises(Exception, match="not NAME=URL"):
        parse_source_urls(["cadastre"])


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FONCIER_FETCH_CADASTRE_URL", "http://env-mirror/cadastre")
    monkeypatch.setenv("FONCIER_FETCH_RETRIES", "7")
    s = FetchSettings()
    assert s.base_url("cadastre") == "http://env-mirror/cadastre" and s.retries == 7

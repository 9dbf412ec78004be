"""The CNIG Sites économiques standard in and out: the standard's examples, TERRAIN-ECO files written in its
exchange form, bad codes, and the real commune 91216 flowing through ingest, sites and export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from foncier.errors import DataFormatError, LayerValidationError
from foncier.layers.cnig import TERRAIN_ECO_FIELDS
from foncier.layers.readers import read_layer
from foncier.layers.workspace import Workspace
from foncier.scripts.cli import cli
from tests.layers.etalab_buildings import buildings_on, write_etalab_buildings

STANDARD = Path(__file__).resolve().parents[2].parent / "shared" / "standards" / "cnig-sites-economiques"


@pytest.fixture(scope="module")
def standard() -> Path:
    if not STANDARD.exists():
        pytest.skip(f"the CNIG standard is not at {STANDARD}")
    return STANDARD


def frictionless_report(csv_path: Path, schema_path: Path):  # type: ignore[no-untyped-def]
    from frictionless import Resource, Schema, formats

    schema = Schema.from_descriptor(json.loads(schema_path.read_text("utf-8")))
    resource = Resource(path=csv_path.name, basepath=str(csv_path.parent), schema=schema,
                        control=formats.CsvControl(delimiter=";"))  # fmt: skip
    return resource.validate()


def write_terrain_eco(path: Path, records: list[dict[str, object]]) -> Path:
    """A TERRAIN-ECO exchange file as in the standard's example (";" separated, GeoJSON in Lambert-93)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(TERRAIN_ECO_FIELDS), delimiter=";")
        writer.writeheader()
        for r in records:
            writer.writerow({k: r.get(k, "") for k in TERRAIN_ECO_FIELDS})
    return path


def terrain(i: int, site: str, geom: shapely.Geometry, refcad: list[str], **codes: str) -> dict[str, object]:
    rec: dict[str, object] = {
        "terr_id": f"91216_TERRAIN-ECO_{i:05d}", "site_id": site, "terr_refcad": "|".join(refcad),
        "terr_surf_brute": round(geom.area / 10_000, 4), "terr_utile": "oui", "terr_identif_date": "2024-03-01",
        "terr_actu_date": "2025-01-15", "terr_maitrise_fonc": "structure intercommunale",
        "terr_stade_amngt": "viabilisé et aménagé", "terr_stade_comm": "en vente", "terr_etat_occup": "inoccupé",
        "terr_usage": "inconnu", "terr_geomsurf": shapely.to_geojson(geom), "terr_cle_en_main": "oui",
        "terr_m2_prix": "35",
    }  # fmt: skip
    rec.update(codes)
    return rec


def test_the_standards_valid_examples_go_through_ingest(standard: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ws = str(tmp_path / "ws")
    out = runner.invoke(cli, ["ingest", "-w", ws, "terrains", str(standard / "terrain-eco" / "exemple-valide.csv")])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["ingest", "-w", ws, "zones", str(standard / "site-eco" / "exemple-valide.csv")])
    assert out.exit_code == 0, out.output
    w = Workspace.open(ws)
    terrains = w.read_layer("terrains")
    assert terrains["terr_refcad"].iloc[0] == "80024000ZO0030|80024000ZO0034|80024000ZO0035"
    assert terrains["terr_stade_comm"].iloc[0] == "vendu, commercialisation achevée"
    zones = w.read_layer("zones")
    # site_taux_vacance 13 % is a share of unités foncières by count (2 of 15 would be 13.3 %), not of land
    assert zones["vacancy_uf_share"].iloc[0] == pytest.approx(0.13)
    assert zones["vacancy"].iloc[0] == pytest.approx(5.7 / 35.3)
    assert zones["surface_m2"].iloc[0] == pytest.approx(372_000)


def test_terrain_eco_is_never_read_as_zones_and_may_repeat_its_site(standard: Path, tmp_path: Path) -> None:
    geoms = [shapely.box(650_000 + 100 * i, 6_860_000, 650_090 + 100 * i, 6_860_090) for i in range(3)]
    path = write_terrain_eco(
        tmp_path / "t.csv", [terrain(i, "91216_SITE-ECO_00001", g, []) for i, g in enumerate(geoms)]
    )
    gdf, _ = read_layer(path, "terrains")
    assert len(gdf) == 3 and gdf["site_id"].nunique() == 1
    with pytest.raises(DataFormatError, match="TERRAIN-ECO"):
        read_layer(path, "zones")


def test_unknown_codes_are_refused_with_row_and_column_and_nothing_is_stored(tmp_path: Path) -> None:
    geoms = [shapely.box(650_000 + 100 * i, 6_860_000, 650_090 + 100 * i, 6_860_090) for i in range(3)]
    recs = [terrain(i, "S1", g, []) for i, g in enumerate(geoms)]
    recs[1]["terr_stade_comm"] = "vendu"  # not a code of the list
    recs[2]["terr_etat_occup"] = "libre"
    path = write_terrain_eco(tmp_path / "bad.csv", recs)
    with pytest.raises(LayerValidationError) as info:
        read_layer(path, "terrains")
    where = {(p.column, p.row) for p in info.value.problems}
    assert any(c == "terr_stade_comm" for c, _ in where) and any(c == "terr_etat_occup" for c, _ in where)
    out = CliRunner().invoke(cli, ["ingest", "-w", str(tmp_path / "ws"), "terrains", str(path)])
    assert out.exit_code != 0 and "terr_stade_comm" in out.output and "vendu" in out.output
    gpkg = tmp_path / "ws" / "foncier.gpkg"
    assert not gpkg.exists() or "terrains" not in Workspace.open(tmp_path / "ws").list_layers()


def test_real_commune_flows_through_ingest_sites_and_cnig_export(
    real_data: Path, standard: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    ws = str(tmp_path / "ws")
    out = runner.invoke(cli, ["ingest", "-w", ws, "parcels", str(real_data / "cadastre-91216-parcelles.json")])
    assert out.exit_code == 0, out.output
    parcels = Workspace.open(ws).read_layer("parcels")
    # an inventory: three blocks of contiguous parcels in one site, two for sale (unbuilt), one sold
    big = parcels[parcels.geometry.area > 5000].copy()
    seeds = big.iloc[[0, len(big) // 2, len(big) - 1]]
    recs, offered = [], set()
    for i, (_, seed) in enumerate(seeds.iterrows()):
        block = parcels[parcels.geometry.distance(seed.geometry) < 40.0]
        geom = shapely.union_all(block.geometry.to_numpy())
        stade = "vendu, commercialisation achevée" if i == 2 else "en vente"
        if i < 2:
            offered |= set(block["parcel_id"])
        recs.append(terrain(i + 1, "91216_SITE-ECO_00001", geom, sorted(block["parcel_id"]), terr_stade_comm=stade))
    # buildings on every other parcel, and one on a parcel the inventory offers (the cadastre wins: built)
    rest = parcels[~parcels["parcel_id"].isin(offered)]
    built_offered = parcels[parcels["parcel_id"] == sorted(offered)[0]]
    buildings = buildings_on(gpd.GeoDataFrame(pd.concat([rest, built_offered]), crs=parcels.crs), every=2)
    bpath = write_etalab_buildings(buildings, tmp_path / "cadastre-91216-batiments.json.gz")
    assert runner.invoke(cli, ["ingest", "-w", ws, "buildings", str(bpath)]).exit_code == 0
    tpath = write_terrain_eco(tmp_path / "terrain-eco.csv", recs)
    out = runner.invoke(cli, ["ingest", "-w", ws, "terrains", str(tpath)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["score", "-w", ws, "-p", "eco-construction"])
    assert out.exit_code == 0, out.output
    w = Workspace.open(ws)
    avail = w.read_table("parcel_availability")
    sold = set(recs[2]["terr_refcad"].split("|"))  # type: ignore[union-attr]
    assert set(avail.loc[avail["parcel_id"].isin(sold), "state"]) == {"committed"}
    links = w.read_table("site_parcels").merge(avail, on="parcel_id")
    assert len(links) > 0
    assert not (links["built_share"] > 0.10).any()  # no built parcel in a site (none is a brownfield here)
    assert set(links["state"]) == {"available"}
    info = runner.invoke(cli, ["info", "-w", ws])
    assert "Parcel availability" in info.output and "committed" in info.output

    target = tmp_path / "out" / "terrain-eco.csv"
    out = runner.invoke(
        cli, ["export", "-w", ws, "-p", "eco-construction", "--format", "cnig-terrain-eco", "-o", str(target)]
    )
    assert out.exit_code == 0, out.output
    report = frictionless_report(target, standard / "terrain-eco" / "schema.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    exported = gpd.read_file(target.with_suffix(".gpkg"), layer="terrain_eco")
    assert len(exported) == len(w.read_layer("sites"))
    n_by_site = w.read_layer("sites").set_index("site_id")["n_parcels"]
    for terr_id, ref in zip(exported["terr_id"], exported["terr_refcad"], strict=True):
        assert ref.count("|") + 1 == n_by_site[terr_id.split("_TERRAIN-ECO_")[1]]
    # what we wrote reads back as terrains
    back, _ = read_layer(target, "terrains")
    assert len(back) == len(exported)


def test_zones_export_as_site_eco_and_sites_as_terrain_eco_validate(
    scored_sample_workspace: Path, standard: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    ws = str(scored_sample_workspace)
    site_eco = tmp_path / "site-eco.csv"
    out = runner.invoke(cli, ["export", "-w", ws, "--format", "cnig-site-eco", "-o", str(site_eco)])
    assert out.exit_code == 0, out.output
    assert "SYNTHETIC" in out.output and "left empty" in out.output
    report = frictionless_report(site_eco, standard / "site-eco" / "schema.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    zones = Workspace.open(ws).read_layer("zones")
    exported = gpd.read_file(site_eco.with_suffix(".gpkg"), layer="site_eco")
    assert sorted(exported["site_id"]) == sorted(zones["zone_id"])
    assert exported["autoroute_echang_dist"].isna().all()  # road km not computed for zones: empty, never guessed
    terrain = tmp_path / "terrain-eco.csv"
    out = runner.invoke(
        cli, ["export", "-w", ws, "-p", "logistics", "--format", "cnig-terrain-eco", "-o", str(terrain)]
    )
    assert out.exit_code == 0, out.output
    report = frictionless_report(terrain, standard / "terrain-eco" / "schema.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    rows = list(csv.DictReader(terrain.open(encoding="utf-8"), delimiter=";"))
    assert rows and set(r["terr_stade_comm"] for r in rows) <= {"en vente", "inconnu"}  # candidates only
    assert all(r["site_id"] for r in rows)

"""Personal data never leaves: owner columns dropped at ingest (and named), never shown by any output."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from foncier.layers.privacy import allowed_columns, drop_personal, is_personal, public_columns, public_frame
from foncier.layers.workspace import Workspace
from foncier.scripts.cli import cli

OWNER_VALUES = ("DUPONT", "@example.fr", "PERSONNE PHYSIQUE")


def test_known_owner_fields_are_personal() -> None:
    for name in ("nom_proprietaire", "owner_email", "l_catpro3txt", "source_producteur", "source_contact",
                 "date_mutation", "proprio_nom", "Owner_Phone", "EMAIL", "telephone_proprio"):  # fmt: skip
        assert is_personal(name), name
    for name in ("parcel_id", "commune", "nom", "site_statut", "status", "typezone", "score"):
        assert not is_personal(name), name


def test_allowlists() -> None:
    parcels = allowed_columns("parcels")
    assert parcels is not None and {"parcel_id", "commune", "status"} <= parcels
    assert "nom_proprietaire" not in parcels
    assert allowed_columns("criteria") is None  # computed by foncier: every non-personal column
    assert public_columns("parcels", ["parcel_id", "owner_email", "mystery"]) == ["parcel_id"]
    assert public_columns("scores", ["site_id", "score", "owner_email"]) == ["site_id", "score"]
    frame = gpd.GeoDataFrame({"parcel_id": ["1"], "nom_proprietaire": ["DUPONT"]}, geometry=[None], crs=2154)
    assert list(public_frame("parcels", frame).columns) == ["parcel_id", "geometry"]
    assert drop_personal(pd.DataFrame({"a": [1], "owner": ["x"]}))[1] == ["owner"]


@pytest.fixture
def owner_files(real_data: Path, tmp_path: Path) -> dict[str, Path]:
    """The real cadastre excerpt with two owner columns added; the real Cartofriches extract as published
    (it carries proprio_nom, l_catpro3txt, source_producteur, source_contact, date_mutation)."""
    doc = json.loads((real_data / "cadastre-02-parcelles-excerpt-retz.geojson").read_text())
    for i, feature in enumerate(doc["features"]):
        feature["properties"]["nom_proprietaire"] = f"DUPONT Jean {i}"
        feature["properties"]["owner_email"] = f"jean.dupont{i}@example.fr"
    parcels = tmp_path / "parcelles_proprietaires.geojson"
    parcels.write_text(json.dumps(doc))
    return {"parcels": parcels, "friches": real_data / "cartofriches_territoire.geojson"}


def _columns(gpkg: Path, table: str) -> set[str]:
    con = sqlite3.connect(gpkg)
    try:
        return {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
    finally:
        con.close()


def test_ingest_drops_and_names_owner_columns(owner_files: dict[str, Path], tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    runner = CliRunner()
    out = runner.invoke(cli, ["ingest", "--workspace", str(ws_dir), "parcels", str(owner_files["parcels"])])
    assert out.exit_code == 0, out.output
    assert "personal data not stored" in out.output and "nom_proprietaire" in out.output
    assert "owner_email" in out.output
    out = runner.invoke(cli, ["ingest", "--workspace", str(ws_dir), "friches", str(owner_files["friches"])])
    assert out.exit_code == 0, out.output
    for name in ("l_catpro3txt", "source_producteur", "source_contact", "date_mutation"):
        assert name in out.output, name
    stored = _columns(ws_dir / "foncier.gpkg", "parcels") | _columns(ws_dir / "foncier.gpkg", "friches")
    assert not [c for c in stored if is_personal(c)], stored
    raw = (ws_dir / "foncier.gpkg").read_bytes()
    assert b"DUPONT" not in raw and b"@example.fr" not in raw and b"PERSONNE PHYSIQUE" not in raw


def _plant_owner_columns(gpkg: Path) -> None:
    """A workspace written before the allowlist existed: owner columns stored in parcels."""
    from foncier.layers.gpkg import register_gpkg_functions

    con = sqlite3.connect(gpkg)
    register_gpkg_functions(con)
    con.execute('ALTER TABLE parcels ADD COLUMN "nom_proprietaire" TEXT')
    con.execute('ALTER TABLE parcels ADD COLUMN "owner_email" TEXT')
    con.execute("UPDATE parcels SET nom_proprietaire = 'DUPONT Jean', owner_email = 'jean.dupont@example.fr'")
    con.commit()
    con.close()


def _no_owner_data(text: str, where: str) -> None:
    for value in (*OWNER_VALUES, "nom_proprietaire", "owner_email"):
        assert value not in text, f"{value} in {where}"


def test_no_output_shows_owner_columns(scored_sample_workspace: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from foncier.api.app import create_app
    from foncier.api.settings import ApiSettings

    ws_dir = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws_dir)
    _plant_owner_columns(ws_dir / "foncier.gpkg")
    ws = Workspace.open(ws_dir)
    pid = str(ws.read_layer("parcels", columns=["parcel_id"])["parcel_id"].iloc[0])
    with TestClient(create_app(ApiSettings(workspace=ws_dir, map_assets="cdn"))) as api:
        for url in ("/parcels?limit=20", f"/parcels/{pid}", "/ogc/collections/parcels/items?limit=20",
                    f"/ogc/collections/parcels/items/{pid}", "/ogc/collections/parcels/queryables",
                    "/ogc/collections/parcels", "/sites?limit=5", "/openapi.json"):  # fmt: skip
            r = api.get(url)
            assert r.status_code in (200, 404), (url, r.status_code, r.text[:300])
            _no_owner_data(r.text, url)
        from foncier.api.tiles import tile_for_lonlat

        centre = ws.read_layer("parcels").to_crs(4326).geometry.iloc[0].representative_point()
        x, y = tile_for_lonlat(centre.x, centre.y, 14)
        r = api.get(f"/tiles/parcels/14/{x}/{y}.pbf")
        assert r.status_code in (200, 204), r.text[:200]
        _no_owner_data(r.content.decode("latin-1"), "parcel tile")
    for fmt in ("gpkg", "geojson", "csv"):
        target = tmp_path / f"out.{fmt}"
        out = CliRunner().invoke(cli, ["export", "--workspace", str(ws_dir), "--profile", "default",
                                       "-o", str(target)])  # fmt: skip
        assert out.exit_code == 0, out.output
        _no_owner_data(target.read_bytes().decode("latin-1"), f"export {fmt}")


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://officer:Pa@Secret42@127.0.0.1:1/foncier",  # '@' in the password
        "postgresql://officer:Pa/Secret42@127.0.0.1:1/foncier",  # '/' in the password
        "host=127.0.0.1 port=1 user=officer password=Pa Secret42 dbname=foncier",  # unquoted space
        "host=127.0.0.1 port=1 user=officer password='PaSecret42 dbname=foncier",  # unterminated quote
        "postgresql://127.0.0.1:1/foncier?user=officer&password=PaSecret42&bogus=1",  # bad query parameter
    ],
)
def test_malformed_dsn_never_prints_the_password(dsn: str, scored_sample_workspace: Path) -> None:
    pytest.importorskip("psycopg")
    for command in (["publish"], ["pull-status"]):
        out = CliRunner().invoke(cli, [*command, "--workspace", str(scored_sample_workspace), "--dsn", dsn])
        assert out.exit_code != 0
        assert "Secret42" not in out.output and "Secret42" not in str(out.exception or ""), out.output

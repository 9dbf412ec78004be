"""What a publish puts in PostGIS: every workspace table (keys, counts), the ODbL notice, never personal data."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

psycopg = pytest.importorskip("psycopg")

from foncier.layers.attribution import ODBL_NOTICE  # noqa: E402
from foncier.layers.gpkg import register_gpkg_functions  # noqa: E402
from foncier.layers.postgis import (  # noqa: E402
    NOTICE_TABLE,
    PRIMARY_KEYS,
    publish,
    published_name,
    pull_statuses,
)
from foncier.layers.privacy import is_personal  # noqa: E402
from foncier.layers.workspace import Workspace  # noqa: E402

OWNER_COLUMNS = {"parcels": ("nom_proprietaire", "owner_email")}
CARTOFRICHES_OWNER_COLUMNS = ("l_catpro3txt", "source_producteur", "source_contact", "date_mutation")


def _rows(dsn: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(query, params).fetchall())


def _primary_keys(dsn: str, schema: str) -> dict[str, str]:
    return dict(
        _rows(
            dsn,
            "SELECT tc.table_name, string_agg(k.column_name, ',' ORDER BY k.ordinal_position) "
            "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k "
            "USING (constraint_schema, constraint_name) WHERE tc.table_schema = %s "
            "AND tc.constraint_type = 'PRIMARY KEY' GROUP BY tc.table_name",
            [schema],
        )
    )


def test_every_workspace_table_is_published_with_its_rows_and_key(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    dsn = pg_cluster["dsn"]
    publish(ws, dsn, schema=schema)
    # an officer's edit pulled back gives the workspace its own parcel_status_history table
    pid = str(ws.read_table("parcels")["parcel_id"].iloc[0])
    with psycopg.connect(dsn) as conn:
        conn.execute(f'INSERT INTO "{schema}".parcel_status (parcel_id, status) VALUES (%s, %s)', [pid, "sold"])
    assert pull_statuses(ws, dsn, schema=schema) == 1
    officers_history = _rows(dsn, f'SELECT count(*) FROM "{schema}".parcel_status_history')[0][0]
    assert officers_history >= 1

    layers = ws.list_layers()
    for new in ("site_constraints", "parcel_availability", "effective_weights", "rank_groups", "site_lineage",
                "parcel_status_history", "buildings", "terrains", "labour_communes", "prescriptions"):  # fmt: skip
        assert new in layers, new
    counts = publish(ws, dsn, schema=schema)
    tables = {r[0] for r in _rows(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])}
    for name in layers:
        target = published_name(name)
        assert target in tables, name
        assert counts[target] == ws.feature_count(name), name
        assert _rows(dsn, f'SELECT count(*) FROM "{schema}"."{target}"')[0][0] == ws.feature_count(name), name
    # the workspace's history is published beside the officers' one, which the publish never replaces
    assert published_name("parcel_status_history") == "workspace_status_history"
    assert _rows(dsn, f'SELECT count(*) FROM "{schema}".parcel_status_history')[0][0] == officers_history
    assert _rows(dsn, f'SELECT operation FROM "{schema}".parcel_status_history LIMIT 1')[0][0] == "INSERT"
    assert _rows(dsn, f'SELECT status FROM "{schema}".parcel_status WHERE parcel_id = %s', [pid])[0][0] == "sold"

    keys = _primary_keys(dsn, schema)
    for name in layers:
        assert published_name(name) in keys, name
    for name, key in PRIMARY_KEYS.items():
        if name in layers:
            assert keys[name] == ",".join(key), name
    assert keys["site_constraints"] == "profile,site_id,constraint"
    assert keys["parcel_availability"] == "parcel_id"
    assert keys["terrains"] == "terr_id"
    assert keys["labour_communes"] == "insee"
    assert keys["buildings"] == "fid"
    assert keys["site_lineage"] == "fid"  # several records per site over the runs


def test_a_declared_key_the_data_breaks_falls_back_to_fid(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    con = sqlite3.connect(ws.gpkg)
    with con:
        row = con.execute('SELECT profile, site_id, "constraint" FROM site_constraints LIMIT 1').fetchone()
        cols = [r[1] for r in con.execute("PRAGMA table_info(site_constraints)") if r[1] != "fid"]
        quoted = ", ".join(f'"{c}"' for c in cols)
        con.execute(
            f"INSERT INTO site_constraints ({quoted}) SELECT {quoted} FROM site_constraints "
            'WHERE profile = ? AND site_id = ? AND "constraint" = ?',
            row,
        )
    con.close()
    counts = publish(ws, pg_cluster["dsn"], schema=schema, layers=["site_constraints"])
    assert counts["site_constraints"] == ws.feature_count("site_constraints")
    assert _primary_keys(pg_cluster["dsn"], schema)["site_constraints"] == "fid"


def test_odbl_notice_is_published_with_osm_derived_tables(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    from click.testing import CliRunner

    from foncier.scripts.cli import cli

    dsn = pg_cluster["dsn"]
    # a schema with no OSM-derived table carries no notice
    publish(ws, dsn, schema=schema, layers=["parcels", "communes"])
    assert not _rows(dsn, "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", [schema, NOTICE_TABLE])
    assert _rows(dsn, "SELECT obj_description(%s::regnamespace, 'pg_namespace')", [f'"{schema}"'])[0][0] is None

    result = CliRunner().invoke(cli, ["publish", "-w", str(ws.path), "--dsn", dsn, "--schema", schema])
    assert result.exit_code == 0, result.output
    assert "ODbL" in result.output and "OpenStreetMap" in result.output
    notices = dict(_rows(dsn, f'SELECT table_name, notice FROM "{schema}".{NOTICE_TABLE}'))
    assert {"roads", "interchanges", "sites", "scores", "isochrones"} <= set(notices)
    assert "parcels" not in notices
    assert set(notices.values()) == {ODBL_NOTICE}
    assert _rows(dsn, "SELECT obj_description(%s::regnamespace, 'pg_namespace')", [f'"{schema}"'])[0][0] == ODBL_NOTICE
    for table in ("roads", "interchanges"):
        comment = _rows(dsn, "SELECT obj_description(%s::regclass, 'pg_class')", [f'"{schema}"."{table}"'])[0][0]
        assert comment == ODBL_NOTICE, table
    licence = _rows(dsn, f"SELECT licence, licence_url FROM \"{schema}\".{NOTICE_TABLE} WHERE table_name = 'roads'")
    assert licence == [("ODbL 1.0", "https://opendatacommons.org/licenses/odbl/1-0/")]


def test_personal_columns_of_an_older_workspace_never_reach_postgis(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    # an older workspace, written before ingest dropped owner columns: add them with sqlite3
    con = sqlite3.connect(ws.gpkg)
    register_gpkg_functions(con)  # the R-tree triggers of an UPDATE call ST_IsEmpty...
    with con:
        for col in OWNER_COLUMNS["parcels"]:
            con.execute(f'ALTER TABLE parcels ADD COLUMN "{col}" TEXT')
        con.execute("UPDATE parcels SET nom_proprietaire = 'DUPONT Jean', owner_email = 'jean.dupont@example.fr'")
        for col in CARTOFRICHES_OWNER_COLUMNS:
            con.execute(f'ALTER TABLE friches ADD COLUMN "{col}" TEXT')
        con.execute(
            "UPDATE friches SET l_catpro3txt = 'PERSONNE PHYSIQUE', source_producteur = 'Mairie de Soissons', "
            "source_contact = 'urbanisme@example.fr', date_mutation = '2019-06-12'"
        )
    con.close()
    assert {"nom_proprietaire", "owner_email"} <= set(ws.read_table("parcels").columns)
    assert set(CARTOFRICHES_OWNER_COLUMNS) <= set(ws.read_layer("friches").columns)

    dsn = pg_cluster["dsn"]
    counts = publish(ws, dsn, schema=schema)
    assert counts["parcels"] == ws.feature_count("parcels")
    columns = _rows(
        dsn, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s", [schema]
    )
    published = {c for _, c in columns}
    for col in (*OWNER_COLUMNS["parcels"], *CARTOFRICHES_OWNER_COLUMNS):
        assert col not in published, col
    assert not [(t, c) for t, c in columns if is_personal(c)]
    # the allowed columns are still there, and no value of the personal ones leaked under another name
    friches_cols = {c for t, c in columns if t == "friches"}
    assert {"site_id", "site_statut", "geom"} <= friches_cols
    assert {"parcel_id", "commune", "geom"} <= {c for t, c in columns if t == "parcels"}
    for table, column in columns:
        if table in ("parcels", "friches", "parcels_status"):
            hits = _rows(
                dsn,
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE %s OR "{column}"::text = %s',
                ["%example.fr%", "DUPONT Jean"],
            )[0][0]
            assert hits == 0, (table, column)

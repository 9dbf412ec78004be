"""Publishing a workspace to PostGIS, officers editing statuses together, pulling them back."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import shapely

psycopg = pytest.importorskip("psycopg")

from foncier.errors import DatabaseError  # noqa: E402
from foncier.layers.postgis import publish, published_name, pull_statuses, redact_dsn  # noqa: E402
from foncier.layers.workspace import Workspace  # noqa: E402


def _one(dsn: str, query: str, params: Any = None) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def _grant_officers(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for role in ("officer_a", "officer_b"):
            conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
            conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
            conn.execute(f'GRANT INSERT, UPDATE, DELETE ON "{schema}".parcel_status TO {role}')
            conn.execute(f'GRANT UPDATE ON "{schema}".parcels_status TO {role}')


def _officer_dsn(dsn: str, role: str) -> str:
    return dsn.replace(f"user={dsn.split('user=')[1].split()[0]}", f"user={role}")


def _upsert(conn: Any, schema: str, parcel_id: str, status: str) -> None:
    conn.execute(
        f'INSERT INTO "{schema}".parcel_status (parcel_id, status) VALUES (%s, %s) '
        "ON CONFLICT (parcel_id) DO UPDATE SET status = EXCLUDED.status",
        [parcel_id, status],
    )


@contextmanager
def _two_officers(ws: Workspace, dsn: str, schema: str) -> Iterator[tuple[Any, Any]]:
    """``ws`` published into ``schema``, opened to the officers, and officer A's and officer B's connections to it
    (closed afterwards)."""
    publish(ws, dsn, schema=schema)
    _grant_officers(dsn, schema)
    conn_a = psycopg.connect(_officer_dsn(dsn, "officer_a"))
    conn_b = psycopg.connect(_officer_dsn(dsn, "officer_b"))
    try:
        yield conn_a, conn_b
    finally:
        conn_a.close()
        conn_b.close()


def test_publish_tables_types_keys_and_geometries(ws: Workspace, pg_cluster: dict[str, str], schema: str) -> None:
    dsn = pg_cluster["dsn"]
    counts = publish(ws, dsn, schema=schema)
    for layer in ws.list_layers():
        name = published_name(layer)
        assert counts[name] == ws.feature_count(layer), name
        assert _one(dsn, f'SELECT count(*) FROM "{schema}"."{name}"') == counts[name]
    with psycopg.connect(dsn) as conn:
        cols = dict(
            conn.execute(
                "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = %s", [schema]
            ).fetchall()
        )
        assert {"parcels", "sites", "zones", "isochrones"} <= set(cols)
        assert set(cols.values()) == {2154}
        gist = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_indexes WHERE schemaname = %s AND indexdef ILIKE '%%USING gist%%'", [schema]
            ).fetchall()
        }
        assert set(cols) - {"parcels_status"} <= gist  # the view is listed too, with the parcels' SRID
        pks = dict(
            conn.execute(
                "SELECT tc.table_name, string_agg(k.column_name, ',' ORDER BY k.ordinal_position) "
                "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k "
                "USING (constraint_schema, constraint_name) WHERE tc.table_schema = %s "
                "AND tc.constraint_type = 'PRIMARY KEY' GROUP BY tc.table_name",
                [schema],
            ).fetchall()
        )
        assert pks["parcels"] == "parcel_id"
        assert pks["sites"] == "site_id"
        assert pks["scores"] == "profile,site_id"
        assert pks["parcel_status"] == "parcel_id"
        assert set(map(published_name, ws.list_layers())) <= set(pks)
        # the published parcels carry no status: parcel_status is the one place for it
        parcel_cols = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'parcels'",
                [schema],
            ).fetchall()
        }
        assert "status" not in parcel_cols
        assert conn.execute(f'SELECT count(*) FROM "{schema}".parcels_status').fetchone()[0] == counts["parcels"]
        # geometries round-trip exactly
        parcels = ws.read_layer("parcels")
        sample = parcels.iloc[:: max(1, len(parcels) // 7)].head(7)
        rows = dict(
            conn.execute(
                f'SELECT parcel_id, ST_AsBinary(geom) FROM "{schema}".parcels WHERE parcel_id = ANY(%s)',
                [list(sample["parcel_id"])],
            ).fetchall()
        )
        for pid, geom in zip(sample["parcel_id"], sample.geometry, strict=True):
            assert shapely.from_wkb(bytes(rows[pid])).equals_exact(geom, 0.0), pid
        sites_type = conn.execute(
            "SELECT type FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = 'sites'", [schema]
        ).fetchone()[0]
        assert sites_type in {"POLYGON", "MULTIPOLYGON"}
    # statuses of the workspace seeded the officers' table
    seeded = ws.read_table("parcels", where="status IS NOT NULL")
    assert counts["parcel_status"] == len(seeded)


def test_officers_edit_at_the_same_time_and_history_records_them(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    dsn = pg_cluster["dsn"]
    ids = list(ws.read_table("parcels")["parcel_id"].head(3))
    with _two_officers(ws, dsn, schema) as (conn_a, conn_b):
        _upsert(conn_a, schema, ids[0], "under_option")  # A's transaction is open, not committed
        done = threading.Event()

        def officer_b() -> None:
            _upsert(conn_b, schema, ids[1], "sold")
            conn_b.commit()
            done.set()

        thread = threading.Thread(target=officer_b)
        thread.start()
        assert done.wait(10), "officer B was blocked by officer A's edit of another parcel"
        thread.join()
        conn_a.commit()
        # the QGIS way: edit the status column of the view
        conn_b.execute(
            f'UPDATE "{schema}".parcels_status SET status = %s WHERE parcel_id = %s', ["not_for_sale", ids[2]]
        )
        conn_b.commit()
    with psycopg.connect(dsn) as conn:
        got = dict(
            conn.execute(
                f"SELECT parcel_id, status || '/' || updated_by FROM \"{schema}\".parcel_status "
                "WHERE parcel_id = ANY(%s)",
                [ids],
            ).fetchall()
        )
        assert got == {ids[0]: "under_option/officer_a", ids[1]: "sold/officer_b", ids[2]: "not_for_sale/officer_b"}
        history = conn.execute(
            f'SELECT parcel_id, new_status, changed_by FROM "{schema}".parcel_status_history '
            "WHERE parcel_id = ANY(%s) ORDER BY id",
            [ids],
        ).fetchall()
        assert (ids[0], "under_option", "officer_a") in history
        assert (ids[1], "sold", "officer_b") in history
        assert (ids[2], "not_for_sale", "officer_b") in history
        # officers cannot forge the history
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with psycopg.connect(_officer_dsn(dsn, "officer_a")) as officer:
                officer.execute(f'DELETE FROM "{schema}".parcel_status_history')


def test_republish_keeps_officers_statuses_and_pull_brings_them_back(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    from foncier.pipeline import criteria_are_current

    dsn = pg_cluster["dsn"]
    publish(ws, dsn, schema=schema)
    _grant_officers(dsn, schema)
    ids = list(ws.read_table("parcels")["parcel_id"].head(2))
    with psycopg.connect(_officer_dsn(dsn, "officer_a")) as conn:
        _upsert(conn, schema, ids[0], "sold")
        _upsert(conn, schema, ids[1], "under_option")
    n_status = _one(dsn, f'SELECT count(*) FROM "{schema}".parcel_status')

    counts = publish(ws, dsn, schema=schema)  # the workspace still has the old statuses
    assert counts["parcel_status"] == n_status
    assert _one(dsn, f'SELECT status FROM "{schema}".parcel_status WHERE parcel_id = %s', [ids[0]]) == "sold"
    # privileges of the replaced tables survive a publish
    assert _one(_officer_dsn(dsn, "officer_b"), f'SELECT count(*) FROM "{schema}".parcels_status') == counts["parcels"]

    assert criteria_are_current(ws)
    changed = pull_statuses(ws, dsn, schema=schema)
    assert changed >= 2
    parcels = ws.read_table("parcels").set_index("parcel_id")
    assert parcels.loc[ids[0], "status"] == "sold"
    assert parcels.loc[ids[1], "status"] == "under_option"
    db = dict(psycopg.connect(dsn).execute(f'SELECT parcel_id, status FROM "{schema}".parcel_status').fetchall())
    ws_status = parcels["status"].dropna().to_dict()
    assert ws_status == db
    assert not criteria_are_current(ws)
    assert pull_statuses(ws, dsn, schema=schema) == 0  # idempotent


def test_failed_publish_keeps_previous_tables(ws: Workspace, pg_cluster: dict[str, str], schema: str) -> None:
    dsn = pg_cluster["dsn"]
    publish(ws, dsn, schema=schema)
    oids = {name: _one(dsn, "SELECT %s::regclass::oid", [f"{schema}.{name}"]) for name in ("sites", "parcels")}
    n_parcels = _one(dsn, f'SELECT count(*) FROM "{schema}".parcels')
    # an honest failure: a duplicated parcel id violates the primary key after sites were already replaced
    parcels = ws.read_layer("parcels")
    broken = pd.concat([parcels, parcels.head(1)], ignore_index=True)
    ws.write_layers({"parcels": broken.set_crs(2154, allow_override=True)})
    with pytest.raises(DatabaseError, match="previous content is kept"):
        publish(ws, dsn, schema=schema, layers=["sites", "parcels"])
    for name, oid in oids.items():
        assert _one(dsn, "SELECT %s::regclass::oid", [f"{schema}.{name}"]) == oid
    assert _one(dsn, f'SELECT count(*) FROM "{schema}".parcels') == n_parcels
    assert _one(dsn, f'SELECT count(*) FROM "{schema}".parcels_status') == n_parcels


def test_bad_dsn_is_a_clear_error_without_password(pg_cluster: dict[str, str], ws: Workspace) -> None:
    closed = f"postgresql://officer:s3cret-pw@127.0.0.1:{_free_port()}/foncier"
    with pytest.raises(DatabaseError) as info:
        publish(ws, closed)
    assert "cannot connect" in str(info.value)
    assert "s3cret-pw" not in str(info.value)
    assert "officer:***@127.0.0.1" in str(info.value)
    assert isinstance(info.value, OSError)

    no_db = f"host=127.0.0.1 port={pg_cluster['port']} user={pg_cluster['user']} password=hunter2 dbname=nope"
    with pytest.raises(DatabaseError, match="nope") as info:
        pull_statuses(ws, no_db)
    assert "hunter2" not in str(info.value)

    with psycopg.connect(pg_cluster["admin_dsn"], autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS no_postgis")
        conn.execute("CREATE DATABASE no_postgis")
    plain = pg_cluster["dsn"].replace("dbname=foncier_test", "dbname=no_postgis")
    with pytest.raises(DatabaseError, match="CREATE EXTENSION postgis"):
        publish(ws, plain)


def test_redact_dsn() -> None:
    assert (
        redact_dsn("postgresql://u:p%40ss@h:5432/db?sslmode=require") == "postgresql://u:***@h:5432/db?sslmode=require"
    )
    assert redact_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_dsn("host=h password = 'a b\\'c' user=u") == "host=h password = *** user=u"


def test_cli_publish_and_pull_status(ws: Workspace, pg_cluster: dict[str, str], schema: str) -> None:
    from click.testing import CliRunner

    from foncier.scripts.cli import cli

    dsn = pg_cluster["dsn"]
    runner = CliRunner()
    result = runner.invoke(cli, ["publish", "-w", str(ws.path), "--dsn", dsn, "--schema", schema])
    assert result.exit_code == 0, result.output
    assert f"{schema}.parcels:" in result.output
    pid = ws.read_table("parcels")["parcel_id"].iloc[0]
    with psycopg.connect(dsn) as conn:
        _upsert(conn, schema, pid, "not_for_sale")
    result = runner.invoke(cli, ["pull-status", "-w", str(ws.path), "--schema", schema], env={"FONCIER_PG_DSN": dsn})
    assert result.exit_code == 0, result.output
    assert "foncier score" in result.output
    assert ws.read_table("parcels").set_index("parcel_id").loc[pid, "status"] == "not_for_sale"

    bad = f"postgresql://officer:topsecret@127.0.0.1:{_free_port()}/x"
    result = runner.invoke(cli, ["publish", "-w", str(ws.path), "--dsn", bad])
    assert result.exit_code != 0
    assert "database_error" in result.output
    assert "topsecret" not in result.output


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_set_parcel_statuses_is_batched_and_atomic(ws: Workspace) -> None:
    from foncier.errors import NotFoundError, ValidationError

    ids = list(ws.read_table("parcels")["parcel_id"].head(3))
    before = ws.statuses_digest()
    with pytest.raises(NotFoundError):
        ws.set_parcel_statuses({ids[0]: "sold", "02722000ZZ9999": "sold"})
    with pytest.raises(ValidationError):
        ws.set_parcel_statuses({ids[0]: "stolen"})
    assert ws.statuses_digest() == before
    assert ws.set_parcel_statuses({ids[0]: "sold", ids[1]: "under_option", ids[2]: None}) >= 2
    parcels = ws.read_table("parcels").set_index("parcel_id")
    assert parcels.loc[ids[0], "status"] == "sold"
    assert pd.isna(parcels.loc[ids[2], "status"])
    assert ws.set_parcel_statuses({ids[0]: "sold"}) == 0


def test_two_officers_editing_the_same_parcel_lose_no_update(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    dsn = pg_cluster["dsn"]
    pid = str(ws.read_table("parcels")["parcel_id"].iloc[10])
    with _two_officers(ws, dsn, schema) as (conn_a, conn_b):
        _upsert(conn_a, schema, pid, "under_option")  # A's edit, not committed yet
        started, done = threading.Event(), threading.Event()

        def officer_b() -> None:
            started.set()
            conn_b.execute(f'UPDATE "{schema}".parcels_status SET status = %s WHERE parcel_id = %s', ["sold", pid])
            conn_b.commit()
            done.set()

        thread = threading.Thread(target=officer_b)
        thread.start()
        assert started.wait(10)
        assert not done.wait(0.5), "officer B must wait for officer A's edit of the same parcel"
        conn_a.commit()
        thread.join(10)
        assert done.is_set()
    with psycopg.connect(dsn) as conn:
        history = conn.execute(
            f'SELECT old_status, new_status, changed_by FROM "{schema}".parcel_status_history '
            "WHERE parcel_id = %s ORDER BY id",
            [pid],
        ).fetchall()
    # both edits are in the history, chained: B's change starts from A's value (nothing silently overwritten)
    assert history[-2:] == [(None, "under_option", "officer_a"), ("under_option", "sold", "officer_b")]
    pull_statuses(ws, dsn, schema=schema)
    from foncier.layers.statuses import status_history

    mine = status_history(ws, [pid])
    assert list(mine["status"]) == ["sold"] and "officer_b" in mine["source"].iloc[-1]


def test_failed_pull_changes_nothing_and_leaves_no_file(ws: Workspace, pg_cluster: dict[str, str], schema: str) -> None:
    from foncier.errors import NotFoundError
    from foncier.layers.workspace import frame_checksum

    dsn = pg_cluster["dsn"]
    publish(ws, dsn, schema=schema)
    parcels = ws.read_layer("parcels")
    ws.write_layers({"parcels": parcels.iloc[1:].reset_index(drop=True)})  # one published parcel left the workspace
    with psycopg.connect(dsn) as conn:
        conn.execute(f'UPDATE "{schema}".parcel_status SET status = %s', ["sold"])
        conn.execute(
            f'INSERT INTO "{schema}".parcel_status (parcel_id, status) SELECT parcel_id, %s FROM "{schema}".parcels '
            "ON CONFLICT (parcel_id) DO NOTHING",
            ["available"],
        )
    before = frame_checksum(ws.read_layer("parcels"))
    files = sorted(p.name for p in ws.path.iterdir())
    with pytest.raises(NotFoundError, match=str(parcels["parcel_id"].iloc[0])):
        pull_statuses(ws, dsn, schema=schema)
    assert frame_checksum(ws.read_layer("parcels")) == before
    assert sorted(p.name for p in ws.path.iterdir()) == files


def test_kill_9_during_pull_status_never_leaves_a_mixed_workspace(
    ws: Workspace, pg_cluster: dict[str, str], schema: str
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from foncier.layers.statuses import read_history, stored_statuses

    dsn = pg_cluster["dsn"]
    publish(ws, dsn, schema=schema)
    with psycopg.connect(dsn) as conn:  # officers mark every parcel
        conn.execute(
            f'INSERT INTO "{schema}".parcel_status (parcel_id, status) SELECT parcel_id, %s FROM "{schema}".parcels '
            "ON CONFLICT (parcel_id) DO UPDATE SET status = EXCLUDED.status",
            ["under_option"],
        )
    exe = shutil.which("foncier", path=str(Path(sys.executable).parent)) or "foncier"
    args = [exe, "pull-status", "-w", str(ws.path), "--dsn", dsn, "--schema", schema]
    before = stored_statuses(ws).set_index("parcel_id")["status"].to_dict()
    scratch = Workspace.open(shutil.copytree(ws.path, ws.path.parent / "scratch"))
    t0 = time.monotonic()
    subprocess.run([*args[:3], str(scratch.path), *args[4:]], check=True, capture_output=True)
    total = time.monotonic() - t0
    after = stored_statuses(scratch).set_index("parcel_id")["status"].to_dict()
    assert after != before
    for fraction in (0.6, 0.85, 0.97):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(total * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ws.check()
        now = stored_statuses(ws).set_index("parcel_id")["status"].to_dict()
        assert now in (before, after), fraction  # all the statuses pulled, or none
        if now == after:  # the statuses came with their history rows, in the same transaction
            assert len(read_history(ws)) >= sum(1 for k, v in after.items() if before.get(k) != v)
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)  # no stale lock
    assert done.returncode == 0, done.stderr
    assert stored_statuses(ws).set_index("parcel_id")["status"].to_dict() == after

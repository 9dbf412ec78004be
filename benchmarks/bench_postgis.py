"""Benchmark: the PostGIS round trip at territory scale (issue 10): ``publish`` and ``pull-status``.

Run: ``.venv/bin/python benchmarks/bench_postgis.py [WORKSPACE]``. WORKSPACE defaults to /tmp/foncier-full,
built once with ``foncier demo --size full`` when missing (never in the repository). A private PostgreSQL 15 +
PostGIS cluster is started on 127.0.0.1 (as in tests/postgis/conftest.py) and removed at the end.

Steps, on a copy of the workspace: publish every layer; officers change 5,000 statuses in PostGIS (one
transaction); ``pull_statuses`` brings every status back (162,595 ids). Prints the times; exits 1 when publish or
pull-status takes 10 s or more, or when the statuses pulled differ from the database's.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from foncier.layers.postgis import publish, pull_statuses
from foncier.layers.statuses import stored_statuses
from foncier.layers.workspace import Workspace

PG_BIN = Path("/usr/lib/postgresql/15/bin")
BUDGET_S = 10.0
EDITS = 5_000


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def cluster() -> Iterator[str]:
    """A throw-away PostgreSQL cluster with PostGIS; yields a DSN."""
    base = Path(tempfile.mkdtemp(prefix="foncier-bench-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8", "--no-sync"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
    pg_ctl = str(PG_BIN / "pg_ctl")
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "server.log"), "-w", "-t", "30", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        with psycopg.connect(f"host=127.0.0.1 port={port} user={user} dbname=postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE foncier_bench")
        dsn = f"host=127.0.0.1 port={port} user={user} dbname=foncier_bench"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield dsn
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres(stop), check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/foncier-full")
    if not (source / "foncier.gpkg").exists():
        foncier = Path(sys.executable).with_name("foncier")
        subprocess.run([str(foncier), "demo", "--size", "full", "--workspace", str(source)], check=True)
    with tempfile.TemporaryDirectory(prefix="foncier-bench-ws-") as tmp, cluster() as dsn:
        path = Path(tmp) / "ws"
        shutil.copytree(source, path)
        ws = Workspace.open(path)
        n = ws.feature_count("parcels")
        t0 = time.perf_counter()
        counts = publish(ws, dsn)
        publish_s = time.perf_counter() - t0
        with psycopg.connect(dsn) as conn, conn.transaction():  # officers at work
            conn.execute(
                "INSERT INTO foncier.parcel_status (parcel_id, status) "
                "SELECT parcel_id, (ARRAY['available','under_option','sold','not_for_sale'])[1 + (row_number() "
                "OVER (ORDER BY parcel_id))::int %% 4] FROM foncier.parcels ORDER BY parcel_id LIMIT %s "
                "ON CONFLICT (parcel_id) DO UPDATE SET status = EXCLUDED.status",
                [EDITS],
            )
            expected = dict(conn.execute("SELECT parcel_id, status FROM foncier.parcel_status").fetchall())
        before = sorted(os.listdir(path))
        t1 = time.perf_counter()
        changed = pull_statuses(ws, dsn)
        pull_s = time.perf_counter() - t1
        got = stored_statuses(ws).set_index("parcel_id")["status"].to_dict()
        same = got == expected
        leftovers = sorted(set(os.listdir(path)) - set(before) - {"foncier.gpkg-wal", "foncier.gpkg-shm"})
        t2 = time.perf_counter()
        again = pull_statuses(ws, dsn)  # nothing to change: the cost of a no-op pull
        noop_s = time.perf_counter() - t2
    ok = publish_s < BUDGET_S and pull_s < BUDGET_S and same and not leftovers and again == 0
    print(
        f"parcels={n} tables={len(counts)} publish_s={publish_s:.1f} officer_edits={EDITS} "
        f"pull_status_s={pull_s:.1f} changed={changed} noop_pull_s={noop_s:.1f} statuses_match={same} "
        f"leftover_files={leftovers or 'none'} budget_s={BUDGET_S:g} ok={ok}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

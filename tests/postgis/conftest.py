"""A throw-away PostgreSQL/PostGIS cluster for the PostGIS tests (initdb in a temp dir, stopped at the end)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from foncier.layers.workspace import Workspace
from tests.conftest import require

PG_BIN = Path(os.environ.get("FONCIER_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run the server tools as the 'postgres' user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[dict[str, str]]:
    """Start a private cluster on 127.0.0.1:<free port>; yields {"dsn", "admin_dsn", "dbname", "port"}."""
    pytest.importorskip("psycopg")
    require(
        (PG_BIN / "initdb").is_file() and (PG_BIN / "pg_ctl").is_file(),
        f"PostgreSQL server binaries not found in {PG_BIN} (Debian package postgresql-15)",
    )
    require(POSTGIS_CONTROL.is_file(), "PostGIS is not installed (Debian package postgresql-15-postgis-3)")
    if os.geteuid() == 0:
        require(shutil.which("runuser") is not None, "runuser is needed to start PostgreSQL as root")
    import psycopg

    base = Path(tempfile.mkdtemp(prefix="foncier-pg-"))  # not under pytest's 0700 root: postgres must enter it
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        _as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(base / "server.log"),
                "-w",
                "-t",
                "30",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        admin = f"host=127.0.0.1 port={port} user={user} dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE foncier_test")
            conn.execute("CREATE ROLE officer_a LOGIN")
            conn.execute("CREATE ROLE officer_b LOGIN")
        dsn = f"host=127.0.0.1 port={port} user={user} dbname=foncier_test"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield {"dsn": dsn, "admin_dsn": admin, "dbname": "foncier_test", "port": str(port), "user": user}
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ws(scored_sample_workspace: Path, tmp_path: Path) -> Workspace:
    """A private copy of the scored small sample (tests publish it and change its statuses)."""
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    return Workspace.open(path)


@pytest.fixture
def schema(request: pytest.FixtureRequest) -> str:
    """One schema per test (they share the cluster): ``t`` and a digest of the test's node id (unique across the
    test files), then its name (lower case, at most 50 characters)."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:6]
    name = str(request.node.name).lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    return f"t{digest}_{name}"

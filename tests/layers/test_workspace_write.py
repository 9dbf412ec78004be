"""The in-place transactional write model: WAL, staged tables swapped in, orphans cleaned, one lock, corrupt
files refused, concurrent in-place edits (QGIS) never lost."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from foncier.errors import WorkspaceError
from foncier.layers import gpkg
from foncier.layers.readers import read_layer
from foncier.layers.workspace import Provenance, Workspace, file_checksum


@pytest.fixture
def parcels(real_data: Path) -> gpd.GeoDataFrame:
    return read_layer(real_data / "cadastre-02-parcelles-excerpt-retz.geojson", "parcels")[0]


@pytest.fixture
def ws(tmp_path: Path, parcels: gpd.GeoDataFrame) -> Workspace:
    ws = Workspace.create(tmp_path / "ws", territory="t", synthetic=False)
    ws.write_layers({"parcels": parcels}, [Provenance("parcels", "cadastre.json", feature_count=len(parcels))])
    return ws


def _sql(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_writes_in_place_in_wal_mode(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    inode = ws.gpkg.stat().st_ino
    ws.write_layers({"parcels": parcels.iloc[:5], "zones_test": pd.DataFrame({"a": [1, 2]})})
    assert ws.gpkg.stat().st_ino == inode, "the file is never replaced"
    assert _sql(ws.gpkg, "PRAGMA journal_mode") == [("wal",)]
    assert _sql(ws.gpkg, "PRAGMA integrity_check") == [("ok",)]
    assert len(ws.read_layer("parcels")) == 5
    # registrations follow the swapped table: R-tree, extension, feature count, no staged leftovers
    assert _sql(ws.gpkg, "SELECT count(*) FROM rtree_parcels_geom") == [(5,)]
    assert _sql(ws.gpkg, "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name='parcels'") == [(5,)]
    assert _sql(ws.gpkg, "SELECT identifier FROM gpkg_contents WHERE table_name='parcels'") == [("parcels",)]
    assert _sql(ws.gpkg, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%foncier_tmp%'") == [(0,)]
    assert not [p for p in ws.path.iterdir() if p.name.startswith(".foncier-")]


def test_gdal_reads_what_foncier_writes(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    """QGIS opens the file with GDAL: layers, CRS, R-tree filtered reads and counts must match."""
    code = (
        "import pyogrio, sys; p = sys.argv[1]; layers = dict(pyogrio.list_layers(p)); "
        "g = pyogrio.read_dataframe(p, layer='parcels'); "
        "print(layers['parcels'], g.crs.to_epsg(), len(g), pyogrio.read_info(p, layer='parcels')['features'])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(ws.gpkg)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Polygon", "2154", str(len(parcels)), str(len(parcels))]


def test_replaced_layer_keeps_its_serving_indexes_and_triggers(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    con = sqlite3.connect(ws.gpkg)
    con.execute('CREATE INDEX "foncier_idx_parcels_parcel_id" ON parcels (parcel_id)')
    con.execute("CREATE TRIGGER parcels_guard BEFORE UPDATE OF commune ON parcels "
                "WHEN NEW.commune = 'bad' BEGIN SELECT RAISE(ABORT, 'bad commune'); END")  # fmt: skip
    con.commit()
    con.close()
    ws.write_layers({"parcels": parcels.iloc[:7]})
    names = {r[0] for r in _sql(ws.gpkg, "SELECT name FROM sqlite_master WHERE tbl_name = 'parcels'")}
    assert {"foncier_idx_parcels_parcel_id", "parcels_guard", "rtree_parcels_geom_insert"} <= names


def test_interrupted_write_leaves_nothing_visible_and_next_write_cleans(
    ws: Workspace, parcels: gpd.GeoDataFrame
) -> None:
    before = ws.read_layer("parcels")["parcel_id"].tolist()
    # what a writer killed between staging and swapping leaves: a committed staged table
    con = sqlite3.connect(ws.gpkg, isolation_level=None)
    gpkg.register_gpkg_functions(con)
    con.execute("BEGIN")
    gpkg.write_table(con, "foncier_tmp_deadbeef_parcels", parcels.iloc[:2])
    con.execute("COMMIT")
    con.close()
    (ws.path / ".foncier-abc123.gpkg").write_bytes(b"old model copy")
    assert ws.list_layers() == ["parcels", "metadata", "provenance"] or set(ws.list_layers()) == {
        "parcels", "metadata", "provenance"}  # fmt: skip
    assert ws.read_layer("parcels")["parcel_id"].tolist() == before
    ws.set_parcel_status([before[0]], "sold")  # any write cleans up first
    assert _sql(ws.gpkg, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%foncier_tmp%'") == [(0,)]
    assert _sql(ws.gpkg, "SELECT count(*) FROM gpkg_contents WHERE table_name LIKE 'foncier_tmp%'") == [(0,)]
    assert not (ws.path / ".foncier-abc123.gpkg").exists()


def test_failed_session_changes_nothing(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    digest = ws.statuses_digest()

    def failing() -> None:
        with ws.write_session() as s:
            s.stage("parcels", parcels.iloc[:1])
            s.connection.execute("UPDATE parcels SET commune = 'x'")
            s.set_metadata({"k": "v"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    assert len(ws.read_layer("parcels")) == len(parcels)
    assert "k" not in ws.metadata and ws.statuses_digest() == digest


def test_session_reads_see_its_own_changes_and_commit_once(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    with ws.write_session() as s:
        s.stage("parcels", parcels.iloc[:3])
        s.set_metadata({"criteria_inputs": "abc"})
        assert len(ws.read_layer("parcels")) == 3  # same thread: through the session
        other: list[int] = []
        t = threading.Thread(target=lambda: other.append(len(Workspace(ws.path).read_layer("parcels"))))
        t.start()
        t.join()
        assert other == [len(parcels)], "other readers see the committed state"
    assert len(ws.read_layer("parcels")) == 3 and ws.metadata["criteria_inputs"] == "abc"


def test_corrupt_workspace_is_refused_never_overwritten(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    con = sqlite3.connect(ws.gpkg)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = ws.gpkg.stat().st_size
    with ws.gpkg.open("r+b") as fh:  # a truncated copy (an interrupted download, a full disk)
        fh.truncate(size // 2)
    before = file_checksum(ws.gpkg)
    with pytest.raises(WorkspaceError, match=r"truncated.*(recover|backup)"):
        Workspace.open(ws.path)
    with pytest.raises(WorkspaceError, match="corrupt"):
        Workspace(ws.path).write_layers({"communes_x": pd.DataFrame({"a": [1]})})
    with pytest.raises(WorkspaceError, match="corrupt"):
        Workspace(ws.path).set_parcel_status([parcels["parcel_id"].iloc[0]], "sold")
    assert file_checksum(ws.gpkg) == before


def test_garbage_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "foncier.gpkg").write_bytes(b"not a database at all" * 100)
    with pytest.raises(WorkspaceError, match="not an SQLite"):
        Workspace.open(tmp_path)
    with pytest.raises(WorkspaceError, match=r"not an SQLite|not a readable GeoPackage"):
        Workspace.create(tmp_path, territory="t", synthetic=False)
    assert (tmp_path / "foncier.gpkg").read_bytes() == b"not a database at all" * 100


_HOLD_LOCK = """
import sys, time
from foncier.layers.workspace import workspace_lock
with workspace_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_waiting_writer_says_so_and_gives_up(
    ws: Workspace, parcels: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(ws.path), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with pytest.raises(WorkspaceError, match=r"locked by another foncier command.*FONCIER_LOCK_TIMEOUT"):
            Workspace(ws.path, lock_timeout=3).set_parcel_status([parcels["parcel_id"].iloc[0]], "sold")
        waited = time.monotonic() - t0
        assert 2.5 < waited < 20
        assert any("waiting for the workspace lock" in r.getMessage() for r in caplog.records)
    finally:
        holder.kill()
        holder.wait()
    # a killed holder never blocks the next writer
    assert Workspace(ws.path, lock_timeout=5).set_parcel_status([parcels["parcel_id"].iloc[0]], "sold") == 1


def test_lock_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from foncier.layers.workspace import lock_timeout

    monkeypatch.setenv("FONCIER_LOCK_TIMEOUT", "7.5")
    assert lock_timeout() == 7.5
    monkeypatch.setenv("FONCIER_LOCK_TIMEOUT", "soon")
    assert lock_timeout() == 600.0


_QGIS_EDITS = """
import sqlite3, sys, time
from foncier.layers.gpkg import register_gpkg_functions
path, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(path, timeout=60)
register_gpkg_functions(con)  # GDAL (QGIS) registers ST_IsEmpty... in its connections; the triggers need them
done = 0
for i in range(n):
    con.execute("UPDATE parcels SET numero = ? WHERE fid = 1", (f"E{i:04d}",))  # QGIS saves an attribute edit
    con.commit()
    done += 1
    time.sleep(0.005)
print(done, flush=True)
"""


def test_in_place_edits_committed_during_foncier_writes_are_kept(ws: Workspace, parcels: gpd.GeoDataFrame) -> None:
    """Another program (QGIS) commits edits to parcels while foncier writes other layers and statuses."""
    n = 150
    editor = subprocess.Popen([sys.executable, "-c", _QGIS_EDITS, str(ws.gpkg), str(n)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    ids = parcels["parcel_id"].tolist()
    i = 0
    while editor.poll() is None:
        ws.write_layers({"scores": pd.DataFrame({"site_id": [f"S{i}"], "score": [0.5]})})
        ws.set_parcel_status([ids[i % len(ids)]], ("sold", "available")[i % 2])
        i += 1
    assert editor.stdout is not None and editor.stdout.read().strip() == str(n)
    assert i >= 2
    assert _sql(ws.gpkg, "SELECT numero FROM parcels WHERE fid = 1") == [(f"E{n - 1:04d}",)], "last edit kept"
    assert _sql(ws.gpkg, "PRAGMA integrity_check") == [("ok",)]


def test_first_write_killed_before_its_commit_leaves_a_usable_workspace(tmp_path: Path) -> None:
    """A new workspace whose first write was killed holds an empty (or empty-schema) file: not corrupt."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "foncier.gpkg").write_bytes(b"")
    con = sqlite3.connect(tmp_path / "b.gpkg")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    (tmp_path / "b").mkdir()
    (tmp_path / "b.gpkg").rename(tmp_path / "b" / "foncier.gpkg")
    for name in ("a", "b"):
        ws = Workspace.create(tmp_path / name, territory="t", synthetic=False)
        assert ws.metadata["territory"] == "t"
        assert _sql(ws.gpkg, "PRAGMA integrity_check") == [("ok",)]

"""The store under concurrent writes and many threads: readers see the old or the new state, never an error;
connections of ended threads are closed (bounded); caches follow the workspace version without locks."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pandas as pd

from foncier.api.store import GeoPackageStore
from foncier.layers.workspace import Workspace


def test_readers_see_old_then_new_state_during_a_write(scored_sample_workspace: Path, tmp_path: Path) -> None:
    ws_dir = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws_dir)
    store = GeoPackageStore(ws_dir)
    ws = Workspace.open(ws_dir)
    parcels = ws.read_layer("parcels")
    n = len(parcels)
    envelope = tuple(parcels.total_bounds)
    first = str(parcels["parcel_id"].iloc[0])
    seen: list[object] = []

    def read() -> None:
        try:
            page = store.query("parcels", envelope=envelope, limit=100_000, exact=False)
            seen.append(
                (len(page.features), store.get("parcels", first) is not None, store.layer("parcels").feature_count)
            )
        except Exception as exc:
            seen.append(exc)

    with ws.write_session() as session:
        session.stage("parcels", parcels.iloc[: n // 2])
        session.stage("scores", pd.DataFrame({"site_id": ["S1"], "score": [1.0]}))
        t = threading.Thread(target=read)
        t.start()
        t.join()
    t = threading.Thread(target=read)
    t.start()
    t.join()
    assert seen[0] == (n, True, n), "during the write: the old state, whole"
    assert seen[1] == (n // 2, True, n // 2), "after the commit: the new state, whole"
    assert store.layer("scores").columns == ("site_id", "score")


def test_connections_of_ended_threads_are_closed(scored_sample_workspace: Path) -> None:
    store = GeoPackageStore(scored_sample_workspace, prepare=False)
    barrier = threading.Barrier(20)

    def work() -> None:
        store.connection().execute("SELECT count(*) FROM parcels").fetchone()
        barrier.wait()

    for _ in range(3):  # 60 short-lived threads, 20 at a time
        threads = [threading.Thread(target=work) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert store.open_connections() <= 20
    store.connection()  # a new connection closes those of the threads that ended
    assert store.open_connections() == 1
    store.close()
    assert store.open_connections() == 0


def test_id_map_and_snapshot_under_many_threads_never_deadlock(scored_sample_workspace: Path, tmp_path: Path) -> None:
    """The freeze of the old store: a lookup building its id map while the file changed took a lock twice."""
    ws_dir = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, ws_dir)
    store = GeoPackageStore(ws_dir, prepare=False)  # no indexes: id lookups build in-memory maps
    ws = Workspace.open(ws_dir)
    ids = ws.read_layer("parcels", columns=["parcel_id"])["parcel_id"].astype(str).tolist()[:50]
    stop = threading.Event()
    errors: list[BaseException] = []

    def lookups() -> None:
        while not stop.is_set():
            try:
                for pid in ids[:10]:
                    store.get("parcels", pid)
                store.value_map("site_parcels", "parcel_id", "site_id")
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=lookups) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(15):  # new versions of the file while the lookups run
        ws.write_tables({"scores_tmp_test": pd.DataFrame({"i": [i]})})
        ws.set_parcel_status([ids[i]], "sold")
    stop.set()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a reader thread is stuck"
    assert not errors, errors[:3]
    assert store.get("parcels", ids[0]) is not None

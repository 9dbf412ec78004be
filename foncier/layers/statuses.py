"""Officers' availability statuses, keyed by parcel id, with their history.

The current status of a parcel lives in the ``status`` and ``status_date`` columns of the ``parcels`` layer
(what the scoring engine reads, what QGIS users edit). Every change is also kept in the
``parcel_status_history`` table (one row per change: parcel id, status, date, where it came from), which is
never rewritten by a new cadastre. So:

- re-ingesting or refreshing the parcels' geometry carries every status over by parcel id
  (:func:`carry_statuses`); a parcel that leaves the cadastre (merged, split) keeps its history and is
  reported; a parcel id that comes back gets its last status back;
- the status vocabulary (:data:`~foncier.layers.schemas.AVAILABILITY_STATUSES`) is enforced where statuses
  are written: the CLI refuses other values, SQLite triggers on the GeoPackage's ``parcels`` table refuse them
  when a user edits the layer in QGIS (:func:`install_status_triggers`), and :func:`invalid_statuses` finds any
  that slipped in (a file edited by a tool that bypasses triggers) so that commands report them with the
  parcel ids instead of treating them as "available".
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from foncier.errors import NotFoundError, ValidationError, WorkspaceError
from foncier.layers.schemas import AVAILABILITY_STATUSES
from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)

HISTORY_TABLE = "parcel_status_history"
HISTORY_COLUMNS = ("parcel_id", "status", "changed_at", "source", "note")
STATUS_COLUMNS = ("status", "status_date")
LEFT_CADASTRE = "parcel no longer in the cadastre"
_TRIGGER_PREFIX = "foncier_status_check"


def _today() -> str:
    return dt.date.today().isoformat()


def _connect_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def stored_statuses(ws: Workspace) -> pd.DataFrame:
    """The statuses stored in the ``parcels`` layer: ``parcel_id, status, status_date`` (non-null statuses).

    Read with SQLite (no geometry), in one scan.
    """
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in ("parcel_id", *STATUS_COLUMNS)})
    if not ws.gpkg.exists():
        return empty
    con = _connect_ro(ws.gpkg)
    try:
        if not _has_table(con, "parcels"):
            return empty
        cols = {row[1] for row in con.execute('PRAGMA table_info("parcels")')}
        if "status" not in cols:
            return empty
        date = "status_date" if "status_date" in cols else "NULL"
        rows = con.execute(f"SELECT parcel_id, status, {date} FROM parcels WHERE status IS NOT NULL").fetchall()
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["parcel_id", *STATUS_COLUMNS], dtype="object")


def read_history(ws: Workspace) -> pd.DataFrame:
    """The ``parcel_status_history`` table (empty, with its columns, when there is none yet)."""
    if ws.gpkg.exists():
        con = _connect_ro(ws.gpkg)
        try:
            if _has_table(con, HISTORY_TABLE):
                cols = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS)
                rows = con.execute(f'SELECT {cols} FROM "{HISTORY_TABLE}" ORDER BY rowid').fetchall()
                return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS), dtype="object")
        finally:
            con.close()
    return pd.DataFrame({c: pd.Series(dtype="object") for c in HISTORY_COLUMNS})


def _last(history: pd.DataFrame) -> pd.DataFrame:
    """The last history row of each parcel id (index: parcel_id)."""
    if history.empty:
        return history.set_index("parcel_id")
    return history.drop_duplicates("parcel_id", keep="last").set_index("parcel_id")


def _sync_rows(current: pd.DataFrame, history: pd.DataFrame, source: str, ids: set[str] | None) -> pd.DataFrame:
    """History rows for statuses of ``current`` (parcel_id, status, status_date) that the history lacks,
    and for parcels of ``ids`` (every parcel id of the layer) whose last recorded status was cleared."""
    last = _last(history)
    cur = current.set_index("parcel_id")
    before = last["status"].reindex(cur.index)
    changed = cur[before.isna() | (before.astype("object") != cur["status"].astype("object"))]
    rows = [
        {"parcel_id": pid, "status": r.status, "changed_at": r.status_date or _today(), "source": source, "note": ""}
        for pid, r in changed.iterrows()
    ]
    if ids is not None and len(last):
        # a status cleared in place (QGIS): the parcel is present, its status is null, the history says otherwise
        live = last[last["status"].notna() & (last["note"].astype("string").fillna("") != LEFT_CADASTRE)]
        cleared = [pid for pid in live.index if pid in ids and pid not in cur.index]
        rows += [
            {"parcel_id": pid, "status": None, "changed_at": _today(), "source": source, "note": "status cleared"}
            for pid in cleared
        ]
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS), dtype="object")


@dataclass
class CarryResult:
    """Parcels with the officers' statuses carried over, and the history to store with them.

    Attributes
    ----------
    parcels : geopandas.GeoDataFrame
        The new parcels, with ``status`` and ``status_date``.
    history : pandas.DataFrame
        The whole ``parcel_status_history`` table to store in the same transaction.
    carried : int
        Parcels of the new layer that kept (or got back) a status.
    orphans : pandas.DataFrame
        Parcels with a status that are not in the new layer (``parcel_id, status, status_date``): their
        history is kept.
    """

    parcels: gpd.GeoDataFrame
    history: pd.DataFrame
    carried: int = 0
    orphans: pd.DataFrame = field(default_factory=pd.DataFrame)

    def describe(self) -> list[str]:
        """Plain-language lines for the user (statuses carried, parcels that left the cadastre)."""
        lines = []
        if self.carried:
            lines.append(f"{self.carried} officer status(es) carried over to the new parcels")
        if len(self.orphans):
            ids = ", ".join(f"{r.parcel_id} ({r.status})" for r in self.orphans.head(10).itertuples())
            more = f" and {len(self.orphans) - 10} more" if len(self.orphans) > 10 else ""
            lines.append(
                f"{len(self.orphans)} parcel(s) with a status are no longer in the cadastre (merged or split?): "
                f"{ids}{more}; their status history is kept in '{HISTORY_TABLE}'"
            )
        return lines


def carry_statuses(ws: Workspace, parcels: gpd.GeoDataFrame, *, source: str) -> CarryResult:
    """Give the new ``parcels`` the statuses stored for their ids; record what changed in the history.

    Parameters
    ----------
    ws : Workspace
        The workspace whose ``parcels`` (statuses) and history are read.
    parcels : GeoDataFrame
        The parcels about to be stored (a re-ingest, a refresh, a merge).
    source : str
        What is storing them (recorded in the history rows written now: "foncier ingest", "foncier fetch").

    Returns
    -------
    CarryResult
        Store ``result.parcels`` and ``result.history`` in one transaction.

    Notes
    -----
    Precedence for a parcel id: the status stored in the workspace's parcels, else the last one of the
    history (a parcel that comes back), else the status carried by the new file itself.
    """
    history = read_history(ws)
    stored_ids: set[str] | None = None
    current = stored_statuses(ws)
    if ws.has_layer("parcels"):
        stored_ids = _all_ids(ws)
    sync = _sync_rows(current, history, "workspace edit", stored_ids)
    history = pd.concat([history, sync], ignore_index=True) if len(sync) else history
    last = _last(history)
    live = last[last["status"].notna()]
    ids = parcels["parcel_id"].astype(str)
    new = parcels.copy()
    for col in STATUS_COLUMNS:
        if col not in new.columns:
            new[col] = pd.Series(pd.NA, index=new.index, dtype="string")
        new[col] = new[col].astype("object").where(new[col].notna(), None)
    known = ids.isin(live.index).to_numpy()
    new.loc[known, "status"] = live["status"].reindex(ids[known]).to_numpy()
    new.loc[known, "status_date"] = live["changed_at"].reindex(ids[known]).to_numpy()
    new["status"] = new["status"].astype("string")
    new["status_date"] = new["status_date"].astype("string")
    # statuses brought by the file itself for parcels with no history: recorded
    brought = new.loc[~known & new["status"].notna().to_numpy(), ["parcel_id", "status", "status_date"]]
    if len(brought):
        rows = pd.DataFrame(
            {
                "parcel_id": brought["parcel_id"].astype(str).to_numpy(),
                "status": brought["status"].astype(str).to_numpy(),
                "changed_at": brought["status_date"].fillna(_today()).astype(str).to_numpy(),
                "source": source,
                "note": "status in the ingested file",
            },
            dtype="object",
        )
        history = pd.concat([history, rows], ignore_index=True)
    new_ids = set(ids)
    gone = live[~live.index.isin(new_ids)]
    orphans = pd.DataFrame(
        {"parcel_id": gone.index.astype(str), "status": gone["status"].to_numpy(), "status_date": gone["changed_at"]}
    ).reset_index(drop=True)
    fresh_orphans = gone[gone["note"].astype("string").fillna("") != LEFT_CADASTRE]
    if len(fresh_orphans):
        rows = pd.DataFrame(
            {
                "parcel_id": fresh_orphans.index.astype(str),
                "status": fresh_orphans["status"].to_numpy(),
                "changed_at": _today(),
                "source": source,
                "note": LEFT_CADASTRE,
            },
            dtype="object",
        )
        history = pd.concat([history, rows], ignore_index=True)
    # a parcel that came back: its history says it left; the status is live again
    back = last[(last["note"].astype("string").fillna("") == LEFT_CADASTRE) & last.index.isin(new_ids)]
    if len(back):
        rows = pd.DataFrame(
            {
                "parcel_id": back.index.astype(str),
                "status": back["status"].to_numpy(),
                "changed_at": _today(),
                "source": source,
                "note": "parcel back in the cadastre",
            },
            dtype="object",
        )
        history = pd.concat([history, rows], ignore_index=True)
    if len(orphans):
        logger.warning("%d parcel(s) with a status are no longer in the cadastre", len(orphans))
    return CarryResult(parcels=new, history=_history_frame(history), carried=int(known.sum()), orphans=orphans)


def _all_ids(ws: Workspace) -> set[str]:
    con = _connect_ro(ws.gpkg)
    try:
        return {str(r[0]) for r in con.execute("SELECT parcel_id FROM parcels")}
    finally:
        con.close()


def _history_frame(history: pd.DataFrame) -> pd.DataFrame:
    out = history.reindex(columns=list(HISTORY_COLUMNS)).reset_index(drop=True)
    for col in HISTORY_COLUMNS:
        out[col] = out[col].astype("string")
    return out


def sync_history(ws: Workspace, *, source: str) -> int:
    """Append to the history every status of the parcels it does not record yet (after ``foncier status``,
    ``pull-status`` or an edit in QGIS); returns the number of rows added.

    Idempotent: a second call adds nothing.
    """
    if not ws.has_layer("parcels"):
        return 0
    history = read_history(ws)
    rows = _sync_rows(stored_statuses(ws), history, source, _all_ids(ws))
    if rows.empty:
        return 0
    ws.write_tables({HISTORY_TABLE: _history_frame(pd.concat([history, rows], ignore_index=True))})
    return len(rows)


def apply_statuses(
    ws: Workspace,
    mapping: Mapping[str, str | None],
    *,
    source: str,
    details: Mapping[str, tuple[str, str]] | None = None,
) -> int:
    """Set many parcels' statuses and record the changes in the history, in ONE workspace transaction.

    Set operations only (scales to the whole territory): the ids are loaded in a temporary table with a
    primary key, unknown ids are found with ``EXCEPT``, the parcels are updated with ``UPDATE ... FROM`` (one
    index lookup per parcel), the history rows are appended.

    Parameters
    ----------
    ws : Workspace
        The workspace.
    mapping : mapping of str to str or None
        Parcel id -> status (None clears it).
    source : str
        Where the change comes from (history ``source``).
    details : mapping of str to (str, str), optional
        Parcel id -> (date of the change, who made it) when known (PostGIS ``updated_at``/``updated_by``).

    Returns
    -------
    int
        Parcels whose status changed.

    Raises
    ------
    foncier.errors.ValidationError
        A status outside the vocabulary (nothing changed).
    foncier.errors.NotFoundError
        An id that is not a parcel of the workspace (nothing changed).
    foncier.errors.WorkspaceError
        No parcels layer.
    """
    bad = sorted({str(v) for v in mapping.values() if v is not None and v not in AVAILABILITY_STATUSES})
    if bad:
        raise ValidationError(
            [f"unknown status '{b}' (expected one of {', '.join(AVAILABILITY_STATUSES)})" for b in bad],
            title="invalid parcel statuses",
        )
    if not ws.has_layer("parcels"):
        raise WorkspaceError(f"workspace {ws.path} has no parcels layer")
    today = _today()
    with ws.write_session() as session:
        current = stored_statuses(ws).set_index("parcel_id")["status"]
        new = pd.Series(mapping, dtype="object")
        old = current.reindex(new.index)
        changed_ids = new.index[~((old.isna() & new.isna()) | (old == new).fillna(False))]
        rows = pd.DataFrame(
            {
                "parcel_id": changed_ids.astype(str),
                "status": new.loc[changed_ids].to_numpy(),
                "changed_at": [details[p][0] if details and p in details else today for p in changed_ids],
                "source": [
                    f"{source} ({details[p][1]})" if details and p in details and details[p][1] else source
                    for p in changed_ids
                ],
                "note": ["status cleared" if v is None else "" for v in new.loc[changed_ids]],
            },
            dtype="object",
        )
        has_history = HISTORY_TABLE in ws.list_layers()
        if not has_history and len(rows):
            session.stage(HISTORY_TABLE, _history_frame(rows))
        con = session.connection
        install_status_triggers(con)
        con.execute("CREATE TEMP TABLE IF NOT EXISTS foncier_apply (parcel_id TEXT PRIMARY KEY, status TEXT)")
        con.execute("DELETE FROM temp.foncier_apply")
        con.executemany("INSERT OR REPLACE INTO temp.foncier_apply VALUES (?, ?)", list(mapping.items()))
        missing = [
            r[0]
            for r in con.execute(
                "SELECT parcel_id FROM temp.foncier_apply EXCEPT SELECT parcel_id FROM main.parcels ORDER BY 1 LIMIT 11"
            )
        ]
        if missing:
            raise NotFoundError(
                f"no parcel {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''} in workspace {ws.path}"
            )
        cur = con.execute(
            "UPDATE main.parcels SET status = n.status, status_date = ? FROM temp.foncier_apply n "
            "WHERE parcels.parcel_id = n.parcel_id AND parcels.status IS NOT n.status",
            [today],
        )
        changed = int(cur.rowcount)
        con.execute("DROP TABLE temp.foncier_apply")
        if has_history and len(rows):
            cols = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS)
            con.executemany(
                f'INSERT INTO "{HISTORY_TABLE}" ({cols}) VALUES ({", ".join("?" * len(HISTORY_COLUMNS))})',
                list(rows.itertuples(index=False, name=None)),
            )
    logger.info("%d parcel status(es) changed (%s)", changed, source)
    return changed


def status_history(ws: Workspace, parcel_ids: Iterable[str]) -> pd.DataFrame:
    """History rows of some parcels (oldest first)."""
    history = read_history(ws)
    return history[history["parcel_id"].isin(set(parcel_ids))].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- vocabulary
def invalid_statuses(ws: Workspace) -> pd.DataFrame:
    """Parcels whose status is not in the vocabulary (``parcel_id, status``), e.g. typed in QGIS."""
    current = stored_statuses(ws)
    bad = current[~current["status"].isin(AVAILABILITY_STATUSES)]
    return bad[["parcel_id", "status"]].sort_values("parcel_id").reset_index(drop=True)


def require_valid_statuses(ws: Workspace) -> None:
    """Refuse a workspace holding statuses outside the vocabulary, naming the parcels.

    Raises
    ------
    foncier.errors.ValidationError
        With one line per bad status (parcel id and value): nothing treats them as "available".
    """
    bad = invalid_statuses(ws)
    if len(bad):
        raise ValidationError(
            [
                f"parcel {r.parcel_id}: unknown status '{r.status}' (expected one of "
                f"{', '.join(AVAILABILITY_STATUSES)}, or empty); fix it with 'foncier status {r.parcel_id} --set ...'"
                for r in bad.itertuples()
            ],
            title=f"{len(bad)} parcel status(es) outside the vocabulary in {ws.gpkg}",
        )


def status_trigger_sql() -> list[str]:
    """SQLite triggers refusing a status outside the vocabulary on the ``parcels`` table (insert, update)."""
    allowed = ", ".join(f"'{s}'" for s in AVAILABILITY_STATUSES)
    message = f"foncier: status must be one of {', '.join(AVAILABILITY_STATUSES)} or empty"
    cond = f"NEW.status IS NOT NULL AND NEW.status <> '' AND NEW.status NOT IN ({allowed})"
    return [
        f'CREATE TRIGGER IF NOT EXISTS "{_TRIGGER_PREFIX}_insert" BEFORE INSERT ON parcels '
        f"WHEN {cond} BEGIN SELECT RAISE(ABORT, '{message}'); END",
        f'CREATE TRIGGER IF NOT EXISTS "{_TRIGGER_PREFIX}_update" BEFORE UPDATE OF status ON parcels '
        f"WHEN {cond} BEGIN SELECT RAISE(ABORT, '{message}'); END",
    ]


def install_status_triggers(con: sqlite3.Connection) -> bool:
    """Install the vocabulary triggers on the ``parcels`` table through ``con`` (no-op without the table).

    Returns
    -------
    bool
        Whether the triggers are in place.
    """
    if not _has_table(con, "parcels"):
        return False
    cols = {row[1] for row in con.execute('PRAGMA table_info("parcels")')}
    for col in STATUS_COLUMNS:
        if col not in cols:
            con.execute(f'ALTER TABLE parcels ADD COLUMN "{col}" TEXT')
    for stmt in status_trigger_sql():
        con.execute(stmt)
    return True


def ensure_status_triggers(ws: Workspace) -> bool:
    """Install the vocabulary triggers in the workspace's GeoPackage (in one write session).

    Call it after the ``parcels`` layer was (re)written: rewriting a table drops its triggers.
    """
    if not ws.has_layer("parcels"):
        return False
    with ws.write_session() as session:
        return install_status_triggers(session.connection)

"""What the investor outputs say about each site beyond its score: availability and rank groups.

Read from a workspace for the maps (the site map, the sheets, the comparison), every part optional: a table
the workspace does not hold (an older pipeline, another engineer's table not there yet) leaves its columns
out, and the maps then hide the matching feature instead of failing.

Availability of a site (:func:`site_availability`), from its parcels:

- ``sold``: a parcel is sold or not for sale (officer's status), or committed (``parcel_availability``);
- ``under_option``: a parcel is under option;
- ``built``: a parcel is built or occupied (``parcel_availability``);
- ``unverified``: a parcel has no availability information (``to_verify``, or no ``parcel_availability``
  row while the table exists);
- ``free``: every parcel is available.

The first that applies wins (in this order). ``status_date`` is the latest date of an officer's status
change among the site's parcels (``parcels.status_date``), empty when none.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)

#: Availability of a site, in order of precedence.
SITE_AVAILABILITY = ("sold", "under_option", "built", "unverified", "free")

_COMMITTED_STATUSES = {"sold", "not_for_sale"}


def _table(ws: Workspace, name: str) -> pd.DataFrame | None:
    try:
        if not ws.has_layer(name):
            return None
        return ws.read_table(name)
    except Exception as exc:  # a table being rewritten by another program: the feature is left out
        logger.warning("cannot read %s (%s): left out of the maps", name, exc)
        return None


def site_availability(ws: Workspace, site_ids: Sequence[str]) -> pd.DataFrame:
    """Availability of each site (see the module docstring), indexed by ``site_id``.

    Columns ``availability`` (one of :data:`SITE_AVAILABILITY`), ``n_available``, ``n_parcels_known``,
    ``status_date``. Empty (no rows) when the workspace knows nothing of its parcels' availability.
    """
    links = _table(ws, "site_parcels")
    if links is None or links.empty:
        return pd.DataFrame(columns=["availability", "n_available", "n_parcels_known", "status_date"])
    links = links[links["site_id"].astype(str).isin(set(map(str, site_ids)))][["site_id", "parcel_id"]]
    links = links.astype({"site_id": str, "parcel_id": str})
    avail = _table(ws, "parcel_availability")
    statuses = _statuses(ws)
    if avail is None and statuses.empty:
        return pd.DataFrame(columns=["availability", "n_available", "n_parcels_known", "status_date"])
    frame = links
    if avail is not None:
        frame = frame.merge(avail[["parcel_id", "state"]].astype({"parcel_id": str}), on="parcel_id", how="left")
    else:
        frame = frame.assign(state="available")  # no per-parcel states: a site's parcels were available
    frame = frame.merge(statuses, on="parcel_id", how="left")
    status = frame["status"].astype("object")
    state = frame["state"].astype("object")
    grouped = frame.assign(
        sold=status.isin(_COMMITTED_STATUSES) | (state == "committed"),
        option=status.eq("under_option"),
        built=state.isin(("built", "occupied")),
        unknown=state.isna() | state.eq("to_verify"),
        free=state.eq("available") & status.isna() | status.eq("available"),
    ).groupby("site_id")
    flags = grouped[["sold", "option", "built", "unknown"]].any()
    out = pd.DataFrame(index=flags.index)
    out["availability"] = "free"
    for column, label in (("unknown", "unverified"), ("built", "built"), ("option", "under_option"), ("sold", "sold")):
        out.loc[flags[column], "availability"] = label
    out["n_available"] = grouped["free"].sum().astype(int)
    out["n_parcels_known"] = grouped["parcel_id"].count().astype(int)
    dates = frame.dropna(subset=["status_date"]).groupby("site_id")["status_date"].max()
    out["status_date"] = dates.reindex(out.index).fillna("").astype(str).str[:10]
    out.index.name = "site_id"
    return out


def _statuses(ws: Workspace) -> pd.DataFrame:
    """Officers' statuses of the parcels (``parcel_id``, ``status``, ``status_date``)."""
    try:
        from foncier.layers.statuses import stored_statuses

        frame = stored_statuses(ws)
    except Exception as exc:  # older workspace or module: no statuses shown
        logger.debug("no parcel statuses: %s", exc)
        frame = pd.DataFrame(columns=["parcel_id", "status", "status_date"])
    if "status_date" not in frame.columns:
        frame["status_date"] = None
    return frame[["parcel_id", "status", "status_date"]].astype({"parcel_id": str})


def rank_groups(ws: Workspace, profile: str) -> pd.DataFrame:
    """``group_first``, ``group_last``, ``group_size`` of each eligible site for ``profile`` (empty when unknown)."""
    table = _table(ws, "rank_groups")
    if table is None or table.empty or not {"profile", "site_id", "group_first", "group_last"} <= set(table.columns):
        return pd.DataFrame(columns=["group_first", "group_last", "group_size"])
    table = table[table["profile"].astype(str) == profile].astype({"site_id": str}).set_index("site_id")
    if "group_size" not in table.columns:
        table["group_size"] = table["group_last"] - table["group_first"] + 1
    return table[["group_first", "group_last", "group_size"]]


def effective_weights(ws: Workspace, profile: str) -> pd.DataFrame:
    """``weight`` and ``effective_share`` of each criterion of ``profile`` (empty when unknown)."""
    table = _table(ws, "effective_weights")
    if table is None or table.empty or not {"profile", "criterion", "effective_share"} <= set(table.columns):
        return pd.DataFrame(columns=["weight", "effective_share"])
    table = table[table["profile"].astype(str) == profile].set_index("criterion")
    return table[[c for c in ("weight", "effective_share") if c in table.columns]]


def parcel_state_counts(ws: Workspace) -> dict[str, int] | None:
    """Number of parcels in each availability state (``parcel_availability``), None when never computed."""
    from foncier.layers.availability import availability_counts

    try:
        return availability_counts(ws)
    except Exception as exc:  # an older workspace: no counts shown
        logger.debug("no availability counts: %s", exc)
        return None


def with_site_facts(ws: Workspace, sites: pd.DataFrame, profile: str) -> pd.DataFrame:
    """``sites`` (indexed by site id) with the availability and rank-group columns the workspace can give."""
    ids = [str(i) for i in sites.index]
    out = sites.copy()
    for extra in (site_availability(ws, ids), rank_groups(ws, profile)):
        if not extra.empty:
            out = out.drop(columns=[c for c in extra.columns if c in out.columns]).join(extra, how="left")
    return out

"""Merge a layer holding some communes into a stored layer holding others (per-commune replacement).

Used by ``foncier fetch`` (a refresh where some communes' files failed: the communes fetched replace their
own features, the others keep theirs) and by ``foncier ingest`` (one commune's parcels or buildings added to
a workspace holding the whole territory). The rule is the same for every layer carrying an INSEE commune
column (``parcels``, ``buildings``: ``commune``; ``communes``: ``insee``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from foncier.errors import ValidationError
from foncier.layers.schemas import SCHEMAS

logger = logging.getLogger(__name__)


def commune_column(layer: str) -> str | None:
    """The column holding the INSEE code of a layer's features, or None when the layer has none.

    Examples
    --------
    >>> commune_column("parcels"), commune_column("communes"), commune_column("roads")
    ('commune', 'insee', None)
    """
    schema = SCHEMAS.get(layer)
    if schema is None:
        return None
    names = {c.name for c in (*schema.columns, *schema.optional_columns)}
    if "commune" in names:
        return "commune"
    if layer == "communes" and "insee" in names:
        return "insee"
    return None


@dataclass
class MergeResult:
    """A merged layer and what happened to the stored features.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The merged layer: stored features of the other communes, then the new ones.
    communes : list of str
        Communes whose features were replaced (or added).
    removed : int
        Stored features of those communes that were replaced.
    added : int
        New features.
    kept : int
        Stored features of other communes, kept as they were.
    kept_communes : list of str
        The communes kept.
    """

    frame: gpd.GeoDataFrame
    communes: list[str] = field(default_factory=list)
    removed: int = 0
    added: int = 0
    kept: int = 0
    kept_communes: list[str] = field(default_factory=list)


def merge_by_commune(
    stored: gpd.GeoDataFrame,
    fresh: gpd.GeoDataFrame,
    column: str,
    communes: Iterable[str] | None = None,
    *,
    id_column: str | None = None,
) -> MergeResult:
    """Replace the features of some communes in ``stored`` by ``fresh``; keep the other communes' features.

    Parameters
    ----------
    stored : GeoDataFrame
        The layer in the workspace (EPSG:2154).
    fresh : GeoDataFrame
        The new features (EPSG:2154), of the communes in ``communes``.
    column : str
        The INSEE commune column (see :func:`commune_column`).
    communes : iterable of str, optional
        Communes whose stored features are replaced (those fetched, even when they have no feature now);
        default: the communes present in ``fresh``.
    id_column : str, optional
        Feature id column: a stored feature of another commune bearing an id of ``fresh`` is replaced too
        (a parcel that moved to a merged commune is not stored twice).

    Returns
    -------
    MergeResult

    Raises
    ------
    foncier.errors.ValidationError
        When either frame lacks ``column``.
    """
    for name, frame in (("stored", stored), ("new", fresh)):
        if column not in frame.columns:
            raise ValidationError([f"the {name} layer has no '{column}' column: cannot merge by commune"])
    codes = sorted({str(c) for c in (fresh[column].dropna().astype(str) if communes is None else communes)})
    stored_codes = stored[column].astype("string")
    drop = stored_codes.isin(codes).fillna(False).to_numpy(dtype=bool).copy()
    if id_column and id_column in stored.columns and id_column in fresh.columns:
        same_id = stored[id_column].astype("string").isin(set(fresh[id_column].astype(str))).fillna(False)
        drop = drop | same_id.to_numpy(dtype=bool)
    kept = stored[~drop]
    columns = list(dict.fromkeys([*fresh.columns, *(c for c in kept.columns if c != kept.geometry.name)]))
    geometry = fresh.geometry.name
    parts = [kept.rename_geometry(geometry) if kept.geometry.name != geometry else kept, fresh]
    parts = [p.reindex(columns=columns) for p in parts if len(p)]
    if parts:
        merged = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry=geometry, crs=fresh.crs or stored.crs)
    else:
        merged = gpd.GeoDataFrame(fresh.reindex(columns=columns), geometry=geometry, crs=fresh.crs)
    kept_codes = sorted({str(c) for c in kept[column].dropna()})
    logger.info(
        "merge by %s: %d communes replaced (%d -> %d features), %d features of %d other communes kept",
        column, len(codes), int(drop.sum()), len(fresh), len(kept), len(kept_codes),
    )  # fmt: skip
    return MergeResult(
        frame=merged,
        communes=codes,
        removed=int(drop.sum()),
        added=len(fresh),
        kept=len(kept),
        kept_communes=kept_codes,
    )

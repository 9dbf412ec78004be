"""Store layers in a workspace: one validated file (``foncier ingest``) or the whole sample territory."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from foncier.layers.merge import commune_column, merge_by_commune
from foncier.layers.readers import read_layer
from foncier.layers.schemas import SCHEMAS
from foncier.layers.statuses import HISTORY_TABLE, carry_statuses, ensure_status_triggers
from foncier.layers.validate import ValidationReport
from foncier.layers.workspace import Provenance, Workspace, file_checksum, frame_checksum

if TYPE_CHECKING:
    from foncier.layers.sample import SampleTerritory

logger = logging.getLogger(__name__)

#: Licences of the publishers' formats foncier knows, by canonical layer (for provenance of local files).
DEFAULT_LICENCES = {
    "parcels": "Licence Ouverte 2.0 (Etalab cadastre)",
    "buildings": "Licence Ouverte 2.0 (Etalab cadastre)",
    "communes": "Licence Ouverte 2.0 (IGN ADMIN EXPRESS / geo.api.gouv.fr)",
    "rail_lines": "ODbL (SNCF Réseau)",
    "rail_stations": "ODbL (SNCF)",
    "friches": "Licence Ouverte 2.0 (Cerema Cartofriches)",
    "roads": "ODbL (OpenStreetMap contributors)",
    "dem": "Copernicus DEM licence",
}


@dataclass
class IngestResult:
    """What storing a layer did.

    Attributes
    ----------
    layer : str
        Canonical layer name.
    mode : str
        ``new`` (nothing was stored), ``replaced`` (the whole layer) or ``merged`` (by commune).
    stored : int
        Features in the layer now.
    removed : int
        Stored features that went (the whole previous layer, or those of the communes replaced).
    added : int
        Features of the file.
    kept : int
        Stored features of other communes kept (``merged``).
    communes : list of str
        Communes replaced (``merged``).
    kept_communes : int
        Other communes whose features were kept (``merged``).
    notes : list of str
        Statuses carried over, parcels that left the cadastre.
    """

    layer: str
    mode: str
    stored: int
    removed: int = 0
    added: int = 0
    kept: int = 0
    communes: list[str] = field(default_factory=list)
    kept_communes: int = 0
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One line for the user."""
        if self.mode == "merged":
            return (
                f"{self.layer}: merged by commune: {len(self.communes)} commune(s) replaced ({self.removed} stored "
                f"features -> {self.added} from the file), {self.kept} features of {self.kept_communes} other "
                f"commune(s) kept; {self.stored} features stored (use --replace to replace the whole layer)"
            )
        if self.mode == "replaced":
            return f"{self.layer}: replaced: {self.removed} stored features go; {self.stored} features stored"
        return f"{self.layer}: {self.stored} features stored"


def ingest_file(
    workspace: Workspace,
    layer: str,
    path: str | Path,
    *,
    sublayer: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    licence: str | None = None,
    vintage: str = "",
    replace: bool = False,
) -> tuple[ValidationReport, IngestResult]:
    """Validate one file as canonical ``layer`` and store it in ``workspace`` (atomically).

    Nothing is written when the file is refused: the workspace keeps its previous content. See
    :func:`store_layer` for merge (default) and ``replace``.

    Returns
    -------
    ValidationReport, IngestResult
        Repairs and warnings of the accepted layer; what was stored.
    """
    gdf, report = read_layer(path, layer, sublayer=sublayer, encoding=encoding, crs=crs)
    result = store_layer(workspace, layer, gdf, path, licence=licence, vintage=vintage, replace=replace)
    return report, result


def store_layer(
    workspace: Workspace,
    layer: str,
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    licence: str | None = None,
    vintage: str = "",
    replace: bool = False,
) -> IngestResult:
    """Store an already validated layer read from ``path``, with its provenance (atomically).

    Parameters
    ----------
    workspace : Workspace
        Where to store it.
    layer : str
        Canonical layer name.
    gdf : GeoDataFrame
        The validated layer (EPSG:2154).
    path : str or Path
        The file it was read from (provenance: path and SHA-256).
    licence, vintage : str
        Provenance.
    replace : bool, default False
        Replace the whole stored layer. By default a layer with a commune column (``parcels``,
        ``buildings``, ``communes``) is merged by commune into the stored one: the communes of the file
        replace their own features, the other communes keep theirs. Layers without a commune column are
        replaced.

    Returns
    -------
    IngestResult

    Notes
    -----
    The officers' statuses of the parcels are carried over by parcel id (:func:`foncier.layers.statuses.
    carry_statuses`), whatever the mode; parcels with a status that are no longer there keep their history
    and are reported.
    """
    with workspace.write_session():  # read the stored layer and statuses, write the new one, under the lock
        result = _store_locked(workspace, layer, gdf, path, licence=licence, vintage=vintage, replace=replace)
    if layer == "parcels":
        ensure_status_triggers(workspace)
    logger.info("%s (%s)", result.describe(), workspace.path)
    return result


def _store_locked(
    workspace: Workspace,
    layer: str,
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    licence: str | None,
    vintage: str,
    replace: bool,
) -> IngestResult:
    column = commune_column(layer)
    existing = workspace.has_layer(layer)
    checksum = file_checksum(path)
    state = "complete"
    source = str(Path(path).resolve())
    if existing and column is not None and not replace and column in gdf.columns:
        prov = workspace.provenance()
        row = prov[prov["layer"] == layer]
        since = str(row["retrieved"].iloc[0])[:10] if len(row) else "an unknown date"
        merged = merge_by_commune(workspace.read_layer(layer), gdf, column, id_column=SCHEMAS[layer].id_column)
        frame = merged.frame
        result = IngestResult(
            layer, "merged", len(frame), removed=merged.removed, added=merged.added, kept=merged.kept,
            communes=merged.communes, kept_communes=len(merged.kept_communes),
        )  # fmt: skip
        previous = str(row["state"].iloc[0]) if len(row) and "state" in row and pd.notna(row["state"].iloc[0]) else ""
        state = (
            f"merged by commune: {len(merged.communes)} commune(s) from {Path(path).name} ({dt.date.today()}), "
            f"{len(merged.kept_communes)} kept from {since}" + (f"; before: {previous}" if previous else "")
        )
        source = f"{source} (merged by commune into the layer stored on {since})"
        checksum = frame_checksum(frame)
    elif existing:
        frame = gdf
        result = IngestResult(layer, "replaced", len(gdf), removed=workspace.feature_count(layer), added=len(gdf))
    else:
        frame = gdf
        result = IngestResult(layer, "new", len(gdf), added=len(gdf))
    writes: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    if layer == "parcels":
        carried = carry_statuses(workspace, frame, source="foncier ingest")
        frame = carried.parcels
        writes[HISTORY_TABLE] = carried.history
        result.notes = carried.describe()
    writes[layer] = frame
    provenance = Provenance(
        layer=layer,
        source=source,
        licence=licence or DEFAULT_LICENCES.get(layer, "unknown"),
        retrieved=dt.date.today().isoformat(),
        vintage=vintage,
        feature_count=len(frame),
        checksum=checksum,
        state=state,
    )
    workspace.write_layers(writes, [provenance])
    return result


def store_sample(workspace: Workspace, sample: SampleTerritory) -> None:
    """Store every layer of the synthetic sample territory and its DEM in ``workspace``."""
    today = dt.date.today().isoformat()
    source = f"foncier synthetic sample ({sample.size}, seed {sample.seed})"
    records = [
        Provenance(
            layer=name,
            source=source,
            licence="synthetic (no licence needed); commune centres and populations: INSEE/IGN, Licence Ouverte",
            retrieved=today,
            vintage=f"synthetic-{sample.size}-{sample.seed}",
            feature_count=len(gdf),
            checksum=frame_checksum(gdf),
            state="complete",
        )
        for name, gdf in sample.layers.items()
    ]
    workspace.write_layers(dict(sample.layers), records)
    ensure_status_triggers(workspace)
    workspace.write_dem(
        sample.dem,
        sample.dem_transform,
        crs=sample.dem_crs,
        provenance=Provenance(
            layer="dem", source=source, licence="synthetic", retrieved=today,
            vintage=f"synthetic-{sample.size}-{sample.seed}", feature_count=int(sample.dem.size),
            checksum=hashlib.sha256(np.ascontiguousarray(sample.dem).tobytes()).hexdigest(), state="complete",
        ),
    )  # fmt: skip

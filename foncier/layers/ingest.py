"""Store layers in a workspace: one validated file (``foncier ingest``) or the whole sample territory."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from foncier.layers.readers import read_layer
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
) -> ValidationReport:
    """Validate one file as canonical ``layer`` and store it in ``workspace`` (atomically).

    Nothing is written when the file is refused: the workspace keeps its previous content.

    Returns
    -------
    ValidationReport
        Repairs and warnings of the accepted layer.
    """
    gdf, report = read_layer(path, layer, sublayer=sublayer, encoding=encoding, crs=crs)
    store_layer(workspace, layer, gdf, path, licence=licence, vintage=vintage)
    return report


def store_layer(
    workspace: Workspace,
    layer: str,
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    licence: str | None = None,
    vintage: str = "",
) -> None:
    """Store an already validated layer read from ``path``, with its provenance (atomically)."""
    provenance = Provenance(
        layer=layer,
        source=str(Path(path).resolve()),
        licence=licence or DEFAULT_LICENCES.get(layer, "unknown"),
        retrieved=dt.date.today().isoformat(),
        vintage=vintage,
        feature_count=len(gdf),
        checksum=file_checksum(path),
    )
    workspace.write_layers({layer: gdf}, [provenance])
    logger.info("stored %d features in layer '%s' of %s", len(gdf), layer, workspace.path)


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
        )
        for name, gdf in sample.layers.items()
    ]
    workspace.write_layers(dict(sample.layers), records)
    workspace.write_dem(
        sample.dem,
        sample.dem_transform,
        crs=sample.dem_crs,
        provenance=Provenance(
            layer="dem", source=source, licence="synthetic", retrieved=today,
            vintage=f"synthetic-{sample.size}-{sample.seed}", feature_count=int(sample.dem.size),
            checksum=hashlib.sha256(np.ascontiguousarray(sample.dem).tobytes()).hexdigest(),
        ),
    )  # fmt: skip

"""``foncier export --format cnig-terrain-eco | cnig-site-eco``: the CNIG Sites économiques exchange files.

Candidate sites (the ones scored with a profile) become TERRAIN-ECO records, zones d'activité SITE-ECO
records (:mod:`foncier.layers.cnig`), written as the standard's CSV (";" separated, GeoJSON geometry in
Lambert-93) and, beside it, as a GeoPackage layer for QGIS (``terrain_eco`` / ``site_eco``). Both files are
written to temporary names and moved into place: a failed export leaves nothing half-written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyogrio

from foncier.errors import LayerNotFoundError
from foncier.layers.cnig import site_eco_records, terrain_eco_records, write_cnig_csv
from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace

logger = logging.getLogger(__name__)


def _dates(ws: Workspace) -> tuple[str, str]:
    """(identified, updated): when the parcels were retrieved (provenance) and when the sites were computed."""
    prov = ws.provenance()
    today = pd.Timestamp.now(tz="UTC").date().isoformat()
    retrieved = prov.loc[prov["layer"] == "parcels", "retrieved"] if len(prov) else pd.Series(dtype=str)
    identified = str(retrieved.iloc[0])[:10] if len(retrieved) and str(retrieved.iloc[0]) else today
    updated = str(ws.metadata.get("criteria_computed", today))[:10]
    return identified, updated


def export_cnig(
    ws: Workspace, fmt: str, output: Path, *, profile: str = "default", include_excluded: bool = True
) -> str:
    """Write ``output`` (CSV) and ``output`` with suffix ``.gpkg``; return a one-line summary.

    Raises
    ------
    foncier.errors.LayerNotFoundError
        ``cnig-site-eco`` without a ``zones`` layer.
    """
    identified, updated = _dates(ws)
    if fmt == "cnig-terrain-eco":
        scored = scored_sites(ws, profile)
        sites = scored.sites.reset_index(drop=True)
        if not include_excluded:
            sites = sites[~sites["excluded"].astype(bool)].reset_index(drop=True)
        layers = set(ws.list_layers())
        availability = ws.read_table("parcel_availability") if "parcel_availability" in layers else None
        records = terrain_eco_records(
            sites,
            ws.read_table("site_parcels"),
            pd.DataFrame(ws.read_layer("parcels").drop(columns="geometry")),
            availability=availability,
            zones=ws.read_layer("zones") if "zones" in layers else None,
            identified=identified,
            updated=updated,
        )
        layer, what = "terrain_eco", f"{len(records)} candidate sites ({scored.profile.name}) as TERRAIN-ECO"
    elif fmt == "cnig-site-eco":
        if not ws.has_layer("zones"):
            raise LayerNotFoundError(f"workspace {ws.path} has no zones d'activité to export as SITE-ECO")
        communes = ws.read_layer("communes") if ws.has_layer("communes") else None
        zones = ws.read_layer("zones")
        if "insee" not in zones and communes is not None:
            zones = zones.sjoin(communes[["insee", "geometry"]], predicate="intersects", how="left")
            zones = zones[~zones.index.duplicated()].drop(columns="index_right")
        records = site_eco_records(zones, communes=communes, identified=identified, updated=updated)
        layer, what = (
            "site_eco",
            f"{len(records)} zones d'activité as SITE-ECO (distances by road not computed: left empty)",
        )
    else:  # pragma: no cover - click restricts the choices
        raise ValueError(fmt)
    output.parent.mkdir(parents=True, exist_ok=True)
    gpkg = output.with_suffix(".gpkg")
    tmp_csv = output.with_name(f".{output.name}.part")
    tmp_gpkg = gpkg.with_name(f".{gpkg.stem}.part.gpkg")
    for tmp in (tmp_csv, tmp_gpkg):
        tmp.unlink(missing_ok=True)
    try:
        write_cnig_csv(records, tmp_csv)
        gp = records.copy()
        if ws.synthetic:
            gp["notice"] = "synthetic sample: not real land"
        pyogrio.write_dataframe(gp, tmp_gpkg, layer=layer, driver="GPKG")
    except BaseException:
        for tmp in (tmp_csv, tmp_gpkg):
            tmp.unlink(missing_ok=True)
        raise
    tmp_csv.replace(output)
    tmp_gpkg.replace(gpkg)
    note = " [SYNTHETIC SAMPLE - not real land]" if ws.synthetic else ""
    return f"{what} written to {output} and {gpkg} (layer {layer}){note}"

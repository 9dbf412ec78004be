"""``foncier export``: the scored sites (and their parcels) in standard formats."""

from __future__ import annotations

import json
from pathlib import Path

import click
import geopandas as gpd
import pyogrio

from foncier.geo.crs import WGS84
from foncier.geo.validity import to_crs_valid, valid_polygons
from foncier.layers.privacy import public_frame
from foncier.layers.results import SYNTHETIC_NOTICE_EN, scored_sites
from foncier.layers.workspace import Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import profile_option, workspace_option
from foncier.scripts.score import ensure_criteria

FORMATS = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".csv": "csv"}


@click.command()
@workspace_option
@profile_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output file (.gpkg, .geojson or .csv).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["gpkg", "geojson", "csv", "cnig-terrain-eco", "cnig-site-eco"]),
    help="Output format (default: from the file extension).",
)
@click.option("--include-excluded/--eligible-only", default=True, show_default=True)
@handle_errors
def export(workspace: Path, profile: str, output: Path, output_format: str | None, include_excluded: bool) -> None:
    """Export the sites scored with PROFILE: GeoPackage (Lambert-93, with their parcels), GeoJSON (WGS84,
    RFC 7946) or CSV (one row per site, centroid lon/lat and outline as WKT in EPSG:4326). Every geometry
    written is valid (repaired after reprojection, polygonal parts kept). Every file says when the data are
    synthetic."""
    fmt = output_format or FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise click.UsageError(f"cannot tell the format of '{output.name}': use --format gpkg|geojson|csv")
    if fmt.startswith("cnig-"):
        from foncier.layers.cnig_export import export_cnig

        click.echo(export_cnig(Workspace.open(workspace), fmt, output, profile=profile,
                               include_excluded=include_excluded))  # fmt: skip
        return
    ws = Workspace.open(workspace)
    ensure_criteria(ws, quiet=True)
    scored = scored_sites(ws, profile)
    sites = scored.sites.reset_index(drop=True)
    if not include_excluded:
        sites = sites[~sites["excluded"].astype(bool)]
    sites.insert(0, "profile", scored.profile.name)
    if scored.synthetic:
        sites["notice"] = SYNTHETIC_NOTICE_EN
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.part{output.suffix}")
    tmp.unlink(missing_ok=True)
    # every geometry written is valid (after its last transformation: a reprojection can break validity)
    sites = sites.set_geometry(valid_polygons(sites.geometry))
    if fmt == "gpkg":
        pyogrio.write_dataframe(sites, tmp, layer="sites", driver="GPKG")
        parcels = public_frame("parcels", ws.read_layer("parcels"))
        links = ws.read_table("site_parcels")
        site_parcels = parcels.merge(links[links["site_id"].isin(sites["site_id"])], on="parcel_id")
        site_parcels = gpd.GeoDataFrame(site_parcels, geometry=parcels.geometry.name, crs=parcels.crs)
        site_parcels = site_parcels.set_geometry(valid_polygons(site_parcels.geometry))
        pyogrio.write_dataframe(site_parcels, tmp, layer="site_parcels", driver="GPKG")
    elif fmt == "geojson":
        doc = json.loads(to_crs_valid(sites, WGS84).to_json(drop_id=True, na="null"))
        doc["name"] = f"foncier sites - {scored.profile.name}"
        doc["synthetic"] = scored.synthetic
        tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    else:
        centroids = sites.geometry.representative_point().to_crs(WGS84)
        table = sites.drop(columns="geometry")
        table["lon"] = centroids.x.round(6)
        table["lat"] = centroids.y.round(6)
        table["wkt"] = to_crs_valid(sites, WGS84).geometry.to_wkt(
            rounding_precision=-1
        )  # the site's outline, EPSG:4326
        table.to_csv(tmp, index=False)
    tmp.replace(output)
    click.echo(f"{len(sites)} sites ({scored.profile.name}) written to {output}")

"""``foncier ingest``: validate one file and store it as a canonical layer of the workspace."""

from __future__ import annotations

from pathlib import Path

import click

from foncier.layers.ingest import store_layer
from foncier.layers.insee import INSEE_POPULATION, store_insee_population
from foncier.layers.readers import read_layer
from foncier.layers.schemas import SCHEMAS
from foncier.layers.workspace import GPKG_NAME, Workspace
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import workspace_option


@click.command()
@workspace_option
@click.argument("layer", type=click.Choice(sorted([*SCHEMAS, INSEE_POPULATION])))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sublayer", help="Layer to read inside a multi-layer file (GeoPackage).")
@click.option("--encoding", help="Text encoding of a Shapefile or CSV (e.g. latin1).")
@click.option("--crs", help="CRS of the coordinates when the file declares none (e.g. EPSG:2154).")
@click.option("--licence", help="Licence to record in the provenance (default: the publisher's).")
@click.option("--vintage", default="", help="Edition/date of the data, recorded in the provenance.")
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the whole stored layer (default for parcels, buildings, communes: merge by commune, the "
    "file's communes replacing their own features).",
)
@handle_errors
def ingest(
    workspace: Path,
    layer: str,
    file: Path,
    sublayer: str | None,
    encoding: str | None,
    crs: str | None,
    licence: str | None,
    vintage: str,
    replace: bool,
) -> None:
    """Validate FILE as LAYER and store it in the workspace.

    Reads any format GDAL reads (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, GeoParquet, CSV with lon/lat or
    WKT), maps the publisher's columns (Etalab cadastre, IGN, SNCF, Cartofriches, CNIG Sites économiques),
    reprojects to Lambert-93 and validates. On any problem, every problem is listed, the command exits
    non-zero and nothing is stored.

    Parcels, buildings and communes of some communes are merged by commune into the stored layer (the
    file's communes replace their own features, the other communes keep theirs); --replace replaces the
    whole layer and says how many features go. Officers' parcel statuses are kept by parcel id; parcels
    with a status that are no longer in the file are reported (their status history is kept).

    LAYER ``insee-population`` reads an INSEE census "base communale" table (CSV, CODGEO and the most recent
    P??_POP1564 column) and sets the working-age population (pop_15_64) of the stored labour_communes and
    communes by INSEE code; the labour pool counts it once every commune has a value.
    """
    if layer == INSEE_POPULATION:
        if not (workspace / GPKG_NAME).exists():
            raise click.UsageError(f"no workspace in {workspace}: fetch or ingest the communes first")
        ws = Workspace.open(workspace)
        pop = store_insee_population(ws, file, encoding=encoding, licence=licence, vintage=vintage)
        for line in pop.describe():
            click.echo(line)
        click.echo(f"{INSEE_POPULATION}: {pop.rows} communes in the table ({pop.column}, {pop.vintage}) in {ws.gpkg}")
        return
    gdf, report = read_layer(file, layer, sublayer=sublayer, encoding=encoding, crs=crs)
    if (workspace / GPKG_NAME).exists():
        ws = Workspace.open(workspace)
    else:
        ws = Workspace.create(workspace, territory="custom", synthetic=False)
    result = store_layer(ws, layer, gdf, file, licence=licence, vintage=vintage, replace=replace)
    for repair in report.repairs:
        click.echo(f"repaired: {repair}", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for note in result.notes:
        click.echo(f"{layer}: {note}", err=True)
    click.echo(f"{result.describe()} in {ws.gpkg}")

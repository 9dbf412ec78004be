"""``foncier map``: the interactive maps of a workspace as HTML files (online, or offline with local assets).

- ``foncier map -w ws -o sites.html``: the site map of a profile (sites coloured by score, best ones listed);
- ``foncier map -w ws --site S0123456789 -o sheet.html``: one site's sheet;
- ``foncier map -w ws --compare S1,S2,S3 -o compare.html``: two to six sites side by side (investors);
- ``foncier map -w ws --parcels -o parcels.html``: the land officers' parcel map (vector tiles of the API).

This module also holds the wiring the other commands reuse: reading what the builders of
:mod:`foncier.maps` need from a workspace (:func:`site_map_for`, :func:`sheet_for`, :func:`comparison_for`; the
context layers and a site's surroundings come from :mod:`foncier.maps.surroundings`)
and :func:`write_demo_maps`, which ``foncier demo`` calls.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import get_args

import click
import folium
import geopandas as gpd

from foncier.errors import NotFoundError
from foncier.layers.results import ScoredSites, scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.assets import inline_assets
from foncier.maps.compare import MAX_SITES, MIN_SITES, SURROUNDINGS, build_comparison, score_class_colors
from foncier.maps.export import save_html, save_map
from foncier.maps.parcel_map import SITES_TILES_URL, TILES_URL, ColorBy, build_parcel_map, color_by_help
from foncier.maps.site_facts import effective_weights, parcel_state_counts, with_site_facts
from foncier.maps.site_map import build_site_map
from foncier.maps.site_sheet import PARCEL_COLUMNS, SHEET_CONTEXT, build_site_sheet
from foncier.maps.style import class_colors, score_breaks, score_class
from foncier.maps.surroundings import commune_names, load_context, sheet_parcels, surroundings
from foncier.scripts._errors import handle_errors
from foncier.scripts.options import profile_option, workspace_option

logger = logging.getLogger(__name__)


def site_map_for(
    ws: Workspace,
    profile: str = "default",
    *,
    lang: str = "fr",
    offline: bool = False,
    top: int = 10,
    scored: ScoredSites | None = None,
    sheet_urls: dict[str, str] | None = None,
) -> folium.Map:
    """The site map of ``profile`` for workspace ``ws`` (with availability and rank groups when stored)."""
    scored = scored or scored_sites(ws, profile)
    return build_site_map(
        with_site_facts(ws, scored.sites, scored.profile.name),
        load_context(ws),
        profile=scored.profile,
        breakdown=scored.breakdown,
        lang=lang,
        offline=offline,
        synthetic=scored.synthetic,
        provenance=scored.provenance,
        top=top,
        sheet_urls=sheet_urls,
        availability_counts=parcel_state_counts(ws),
        effective_weights=effective_weights(ws, scored.profile.name),
    )


def _site_color(scored: ScoredSites, site_id: str) -> str:
    sites = scored.sites
    breaks = score_breaks(sites.loc[~sites["excluded"].astype(bool), "score"].to_numpy(dtype="float64"))
    return class_colors(len(breaks) - 1)[score_class(float(sites.loc[site_id, "score"]), breaks)]


def _scored_with(ws: Workspace, site_ids: list[str], profile: str, scored: ScoredSites | None) -> ScoredSites:
    """The scored sites of ``profile`` (``scored`` when given), once every one of ``site_ids`` is found among them.

    Raises
    ------
    foncier.errors.NotFoundError
        When some of ``site_ids`` are not sites of the workspace (all of them are named).
    """
    scored = scored or scored_sites(ws, profile)
    unknown = [s for s in site_ids if s not in scored.sites.index]
    if unknown:
        listed = ", ".join(f"'{s}'" for s in unknown)
        raise NotFoundError(f"no site {listed} in workspace {ws.path} (list them with 'foncier sites')")
    return scored


def sheet_for(
    ws: Workspace,
    site_id: str,
    profile: str = "default",
    *,
    lang: str = "fr",
    offline: bool = False,
    scored: ScoredSites | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """The HTML sheet of ``site_id``.

    Raises
    ------
    foncier.errors.NotFoundError
        When ``site_id`` is not a site of the workspace.
    """
    scored = _scored_with(ws, [site_id], profile, scored)
    site = with_site_facts(ws, scored.sites.loc[[site_id]], scored.profile.name)
    parcels = sheet_parcels(ws, site, site_id, PARCEL_COLUMNS)  # id checked above
    return build_site_sheet(
        site,
        parcels,
        scored.breakdown,
        profile=scored.profile,
        lang=lang,
        offline=offline,
        synthetic=scored.synthetic,
        n_sites=len(scored.sites),
        context=surroundings(ws, site, SHEET_CONTEXT),
        commune_names=names if names is not None else commune_names(ws),
        provenance=scored.provenance,
        color=_site_color(scored, site_id),
        effective_weights=effective_weights(ws, scored.profile.name),
    )


def comparison_for(
    ws: Workspace,
    site_ids: list[str],
    profile: str = "default",
    *,
    lang: str = "fr",
    offline: bool = False,
    scored: ScoredSites | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """The HTML page comparing ``site_ids`` (2 to 6 sites) side by side.

    Raises
    ------
    foncier.errors.NotFoundError
        When some of ``site_ids`` are not sites of the workspace (all of them are named).
    """
    scored = _scored_with(ws, site_ids, profile, scored)
    chosen = scored.sites.loc[site_ids]
    context = surroundings(ws, chosen, SURROUNDINGS)
    return build_comparison(
        with_site_facts(ws, chosen, scored.profile.name),
        scored.breakdown,
        context=context,
        profile=scored.profile,
        lang=lang,
        offline=offline,
        synthetic=scored.synthetic,
        n_sites=len(scored.sites),
        commune_names=names if names is not None else commune_names(ws),
        provenance=scored.provenance,
        score_colors=score_class_colors(scored.sites, site_ids),
    )


def parse_site_list(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> list[str] | None:
    """Click callback of ``--compare``: comma-separated site ids, 2 to 6 distinct ones."""
    if value is None:
        return None
    ids = [s.strip() for s in value.split(",")]
    if any(not s for s in ids):
        raise click.BadParameter(f"empty site id in {value!r} (give ids separated by commas)", ctx, param)
    if len(set(ids)) != len(ids):
        raise click.BadParameter(f"a site is listed twice in {value!r}", ctx, param)
    if not MIN_SITES <= len(ids) <= MAX_SITES:
        raise click.BadParameter(f"compare {MIN_SITES} to {MAX_SITES} sites, got {len(ids)}", ctx, param)
    return ids


def parcel_map_for(
    ws: Workspace,
    *,
    color_by: str = "availability",
    lang: str = "fr",
    offline: bool = False,
    tiles_url: str = TILES_URL,
    sites_tiles_url: str | None = SITES_TILES_URL,
) -> folium.Map:
    """The land officers' parcel map of ``ws`` (parcels from the API's vector tiles)."""
    communes = ws.read_layer("communes") if ws.has_layer("communes") else None
    # the tiles carry each parcel's zone type once the pipeline ran (parcel_zoning); else draw the PLU beneath
    inline_zoning = color_by == "zoning" and ws.has_layer("plu") and not ws.has_layer("parcel_zoning")
    zoning = ws.read_layer("plu", columns=["typezone"]) if inline_zoning else None
    extent: gpd.GeoDataFrame | list[list[float]]
    if communes is not None and not communes.empty:
        extent = communes
    elif ws.has_layer("parcels"):
        info = ws.read_layer("parcels", columns=["parcel_id"]).iloc[:1000]
        extent = info
    else:
        raise NotFoundError(f"workspace {ws.path} has neither communes nor parcels to map")
    return build_parcel_map(
        extent=extent,
        tiles_url=tiles_url,
        sites_tiles_url=sites_tiles_url,
        color_by=color_by,  # type: ignore[arg-type]
        zoning=zoning,
        communes=communes,
        lang=lang,
        offline=offline,
        synthetic=ws.synthetic,
        provenance=ws.provenance(),
    )


def write_demo_maps(
    ws_path: str | Path,
    out_dir: str | Path,
    *,
    profile: str = "default",
    top: int = 10,
    sheets: int = 10,
    lang: str = "fr",
    offline: bool = True,
) -> list[Path]:
    """Write the site map of ``profile`` and the sheets of its ``sheets`` best sites into ``out_dir``.

    Files: ``sites-PROFILE.html`` and ``sheet-RANK-SITE_ID.html``, with the shared ``assets/`` folder when
    offline. Returns the written paths, the site map first.
    """
    ws = Workspace.open(ws_path)
    out = Path(out_dir)
    scored = scored_sites(ws, profile)
    best = scored.sites[~scored.sites["excluded"].astype(bool)].head(sheets)
    sheet_files = {
        str(site_id): f"sheet-{int(rank):02d}-{site_id}.html"
        for site_id, rank in zip(best.index.astype(str), best["rank"], strict=True)
    }
    written = [
        save_map(
            site_map_for(ws, profile, lang=lang, offline=offline, top=top, scored=scored, sheet_urls=sheet_files),
            out / f"sites-{scored.profile.name}.html",
            offline=offline,
        )
    ]
    names = commune_names(ws)
    for site_id, file_name in sheet_files.items():
        html = sheet_for(ws, site_id, profile, lang=lang, offline=offline, scored=scored, names=names)
        written.append(save_html(html, out / file_name, offline=offline))
    return written


def _write_pdf(ws: Workspace, profile: str, site_id: str | None, compare_ids: list[str] | None, lang: str,
               output: Path) -> None:  # fmt: skip
    """Write the sheet (or comparison) offline into a temporary folder and print it to ``output``."""
    from foncier.maps.pdf import print_pdf

    with tempfile.TemporaryDirectory(prefix="foncier-pdf-") as tmp:
        page = Path(tmp) / "page.html"
        if compare_ids:
            save_html(comparison_for(ws, compare_ids, profile, lang=lang, offline=True), page, offline=True)
            what = f"comparison of sites {', '.join(compare_ids)}"
        else:
            assert site_id is not None
            save_html(sheet_for(ws, site_id, profile, lang=lang, offline=True), page, offline=True)
            what = f"sheet of site {site_id}"
        path = print_pdf(page, output)
    click.echo(f"Wrote the {what} as PDF: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    if ws.synthetic:
        click.echo("Note: synthetic sample - not real land (the PDF says so too).")


@click.command("map")
@workspace_option
@profile_option
@click.option("--site", "site_id", metavar="SITE_ID", help="Write this site's sheet instead of the site map.")
@click.option(
    "--compare",
    "compare_ids",
    metavar="S1,S2[,...]",
    callback=parse_site_list,
    help=f"Write a page comparing these {MIN_SITES} to {MAX_SITES} sites (comma-separated ids) side by side.",
)
@click.option(
    "--parcels",
    "parcel_map",
    is_flag=True,
    help="Write the land officers' parcel map (parcels drawn from the API's vector tiles).",
)
@click.option(
    "--color-by",
    type=click.Choice(get_args(ColorBy)),
    default="availability",
    show_default=True,
    help="Parcel colours of the parcel map, by " + color_by_help(),
)
@click.option(
    "--tiles-url",
    default=TILES_URL,
    show_default=True,
    help="Parcel vector tiles of the parcel map (e.g. http://127.0.0.1:8000/tiles/parcels/{z}/{x}/{y}.pbf "
    "for a map opened from disk).",
)
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Language of the labels."
)
@click.option(
    "--offline",
    is_flag=True,
    help="No basemap, Leaflet and plugins from a local assets/ folder written beside FILE (copies shipped "
    "with foncier): the file then opens without network.",
)
@click.option(
    "--single-file",
    is_flag=True,
    help="With --offline: one self-contained HTML file (Leaflet, styles and images inlined, no assets/ folder) "
    "that still opens when e-mailed.",
)
@click.option(
    "--pdf",
    "as_pdf",
    is_flag=True,
    help="With --site or --compare: print the page to a PDF (A4, one or two pages) with headless Chromium "
    "instead of writing HTML (FILE is the PDF).",
)
@click.option("--top", type=click.IntRange(1, 100), default=10, show_default=True, help="Number of best sites listed.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="HTML file to write.",
)
@handle_errors
def map_command(
    workspace: Path,
    profile: str,
    site_id: str | None,
    compare_ids: list[str] | None,
    parcel_map: bool,
    color_by: str,
    tiles_url: str,
    lang: str,
    offline: bool,
    single_file: bool,
    as_pdf: bool,
    top: int,
    output: Path,
) -> None:
    """Write an interactive map of WORKSPACE as an HTML file: the site map, a site's sheet, a comparison of
    sites or the parcel map."""
    if sum(bool(x) for x in (parcel_map, site_id, compare_ids)) > 1:
        raise click.UsageError("--site, --compare and --parcels make different maps: give one of them")
    if single_file and not offline:
        raise click.UsageError("--single-file inlines the offline assets: use it with --offline")
    if as_pdf:
        if not (site_id or compare_ids):
            raise click.UsageError("--pdf prints a site's sheet or a comparison: give --site or --compare")
        if single_file:
            raise click.UsageError("--pdf writes a PDF, not HTML: leave out --single-file")
        _write_pdf(Workspace.open(workspace), profile, site_id, compare_ids, lang, output)
        return
    ws = Workspace.open(workspace)
    final_output = output
    staging = tempfile.TemporaryDirectory(prefix="foncier-map-") if single_file else None
    if staging is not None:  # write the offline map and its assets aside, then inline them into one file
        output = Path(staging.name) / output.name
    allow: list[str] = []  # URL prefixes an offline map may use as data sources (the parcel map's tile server)
    if compare_ids:
        path = save_html(comparison_for(ws, compare_ids, profile, lang=lang, offline=offline), output, offline=offline)
        what = f"comparison of sites {', '.join(compare_ids)}"
    elif parcel_map:
        sites_url = tiles_url.replace("/parcels/", "/sites/") if "/parcels/" in tiles_url else None
        # the tile server is the parcel map's data source: an offline parcel map may (and must) refer to it
        allow = [u.split("{", 1)[0] for u in (tiles_url, sites_url) if u and re.match(r"^(https?:)?//", u)]
        path = save_map(
            parcel_map_for(
                ws, color_by=color_by, lang=lang, offline=offline, tiles_url=tiles_url, sites_tiles_url=sites_url
            ),
            output,
            offline=offline,
            allow=allow,
        )
        what = "parcel map"
        if offline and allow:
            click.echo(
                f"Parcels and sites come from {', '.join(allow)} (start it with 'foncier serve --cors \"*\"' "
                "when the map is opened from disk)."
            )
    elif site_id:
        path = save_html(sheet_for(ws, site_id, profile, lang=lang, offline=offline), output, offline=offline)
        what = f"sheet of site {site_id}"
    else:
        path = save_map(site_map_for(ws, profile, lang=lang, offline=offline, top=top), output, offline=offline)
        what = f"site map (profile {profile})"
    if staging is not None:
        with staging:
            inlined = inline_assets(path.read_text(encoding="utf-8"), path.parent)
            path = save_html(inlined, final_output, offline=True, allow=allow)
    size = path.stat().st_size / 1e6
    extra = f", assets in {path.parent / 'assets'}" if offline and not single_file else ""
    extra += ", one self-contained file" if single_file else ""
    click.echo(f"Wrote the {what}: {path} ({size:.2f} MB{extra})")
    if ws.synthetic:
        click.echo("Note: synthetic sample - not real land (the map says so too).")

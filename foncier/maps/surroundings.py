"""What the maps draw around the sites, read from a workspace: the context layers, and a site's surroundings.

- :func:`load_context`: the context layers the workspace holds (by default those of the site map), main roads
  only (:data:`LAYER_WHERE`);
- :func:`surroundings`: what a site sheet or a comparison draws around its sites: the context ``layers``
  within :data:`~foncier.maps.site_sheet.CONTEXT_MARGIN_M` of the sites' bounds, and the sheets' targets
  (:data:`~foncier.maps.site_sheet.SHEET_TARGETS`, whole: the nearest interchange may lie farther);
- :func:`sheet_parcels`: the parcels a site sheet lists;
- :func:`commune_names`: INSEE code to commune name.

Shared by ``foncier map`` (:mod:`foncier.scripts.map`) and the API's served pages (``/maps/sites/{site_id}``,
``/maps/compare``), so both draw the same surroundings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import geopandas as gpd

from foncier.layers.workspace import Workspace
from foncier.maps.site_map import CONTEXT_ORDER, ORIENTATION_LAYERS
from foncier.maps.site_sheet import CONTEXT_MARGIN_M, SHEET_TARGETS
from foncier.maps.style import ROAD_WEIGHTS

logger = logging.getLogger(__name__)

BBox = tuple[float, float, float, float]

#: Attribute filters applied when reading context layers (less to read, less to draw).
LAYER_WHERE = {
    "roads": "class IN ({})".format(", ".join(f"'{c}'" for c in ROAD_WEIGHTS)),
}


def _site_map_layers() -> tuple[str, ...]:
    return (*(name for name, _ in CONTEXT_ORDER), *ORIENTATION_LAYERS)


def load_context(ws: Workspace, names: Iterable[str] | None = None, *, bbox: BBox | None = None
                 ) -> dict[str, gpd.GeoDataFrame]:  # fmt: skip
    """The context layers ``names`` that ``ws`` holds (never the parcels).

    Parameters
    ----------
    ws
        The workspace.
    names
        Canonical layer names; when None or empty, those of the site map (its context and orientation layers).
        A name the workspace does not hold is left out.
    bbox
        Lambert-93 box ``(minx, miny, maxx, maxy)``: only the features whose envelope meets it are read (the
        whole layers when None).

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        The layers read, in the order of ``names``, with the filters of :data:`LAYER_WHERE`.
    """
    wanted = tuple(names or ()) or _site_map_layers()
    present = set(ws.list_layers())
    return {
        name: ws.read_layer(name, where=LAYER_WHERE.get(name), bbox=bbox)
        for name in wanted
        if name in present and name != "parcels"
    }


def margin_box(sites: gpd.GeoDataFrame, margin: float = CONTEXT_MARGIN_M) -> BBox:
    """The bounds of ``sites`` widened by ``margin`` metres on every side.

    ``(minx - m, miny - m, maxx + m, maxy + m)`` with ``m`` = ``margin``, in the CRS of ``sites`` (the
    workspace's, Lambert-93).
    """
    minx, miny, maxx, maxy = (float(v) for v in sites.total_bounds)
    m = float(margin)
    return (minx - m, miny - m, maxx + m, maxy + m)


def surroundings(ws: Workspace, sites: gpd.GeoDataFrame, layers: Iterable[str]) -> dict[str, gpd.GeoDataFrame]:
    """The context ``layers`` within :data:`~foncier.maps.site_sheet.CONTEXT_MARGIN_M` of ``sites``' bounds, and
    the sheets' targets (whole).

    Parameters
    ----------
    ws
        The workspace.
    sites
        The sites drawn (one for a sheet, two to six for a comparison), in the workspace's CRS.
    layers
        The context layers to read around them (``site_sheet.SHEET_CONTEXT``, ``compare.SURROUNDINGS``).

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        :func:`load_context` of ``layers`` within :func:`margin_box` of ``sites``, then of
        :data:`~foncier.maps.site_sheet.SHEET_TARGETS` without a box (a target also in ``layers`` is read whole).
    """
    return {**load_context(ws, layers, bbox=margin_box(sites)), **load_context(ws, SHEET_TARGETS)}


def commune_names(ws: Workspace) -> dict[str, str]:
    """INSEE code to commune name (empty when the workspace has no communes)."""
    if not ws.has_layer("communes"):
        return {}
    table = ws.read_table("communes")
    return dict(zip(table["insee"].astype(str), table["nom"].astype(str), strict=False))


def sheet_parcels(ws: Workspace, site: gpd.GeoDataFrame, site_id: str, columns: Iterable[str]) -> gpd.GeoDataFrame:
    """The parcels of the site ``site_id`` (one row of ``site``) for its sheet, with ``columns``.

    The site's ``parcel_ids`` (comma-separated) say which; a site without them is looked up in the
    ``site_parcels`` table.
    """
    ids = [p for p in str(site.iloc[0].get("parcel_ids") or "").split(",") if p]
    if not ids and ws.has_layer("site_parcels"):
        quoted = site_id.replace("'", "''")  # (ids are checked by the callers; quoted all the same)
        links = ws.read_table("site_parcels", where=f"site_id = '{quoted}'")
        ids = links["parcel_id"].astype(str).tolist()
    minx, miny, maxx, maxy = (float(v) for v in site.total_bounds)
    parcels = ws.read_layer("parcels", bbox=(minx, miny, maxx, maxy), columns=[c for c in columns if c != "geometry"])
    return parcels[parcels["parcel_id"].astype(str).isin(set(ids))] if ids else parcels.iloc[0:0]

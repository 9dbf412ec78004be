"""``foncier export``: every geometry written is valid, in every format (also after reprojection)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import shape

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.scripts.cli import cli


@pytest.fixture
def ws_path(scored_sample_workspace: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    shutil.copytree(scored_sample_workspace, path)
    return path


def test_reprojection_breaks_validity_in_the_sample(ws_path: Path) -> None:
    """The case the export must handle: sites valid in Lambert-93, invalid once in longitude/latitude."""
    sites = scored_sites(Workspace.open(ws_path), "default").sites
    assert sites.is_valid.all()
    assert (~sites.to_crs(4326).is_valid).sum() > 0


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "csv"])
def test_every_exported_geometry_is_valid(ws_path: Path, tmp_path: Path, ext: str) -> None:
    target = tmp_path / f"sites.{ext}"
    out = CliRunner().invoke(cli, ["export", "-w", str(ws_path), "-p", "default", "-o", str(target)])
    assert out.exit_code == 0, out.output
    sites = scored_sites(Workspace.open(ws_path), "default").sites
    if ext == "geojson":
        doc = json.loads(target.read_text("utf-8"))
        geoms = [shape(f["geometry"]) for f in doc["features"]]
        assert len(geoms) == len(sites)
        lon, lat = zip(*[g.representative_point().coords[0] for g in geoms], strict=True)
        assert min(lon) > 2 and max(lon) < 4 and min(lat) > 48.8 and max(lat) < 49.6  # EPSG:4326, lon/lat order
    elif ext == "gpkg":
        geoms = list(gpd.read_file(target, layer="sites").geometry) + list(
            gpd.read_file(target, layer="site_parcels").geometry
        )
    else:
        with target.open(encoding="utf-8") as fh:
            geoms = [shapely.from_wkt(row["wkt"]) for row in csv.DictReader(fh)]
        assert len(geoms) == len(sites)
    assert geoms and all(g.is_valid and g.geom_type in ("Polygon", "MultiPolygon") for g in geoms)
    # the repair keeps the sites' areas (within 0.1 %)
    if ext != "gpkg":
        areas = gpd.GeoSeries(geoms, crs=4326).to_crs(2154).area.to_numpy()
        assert abs(areas.sum() / sites.area.sum() - 1) < 1e-3

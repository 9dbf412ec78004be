"""The workspace GeoPackage: layers, tables, provenance, metadata, DEM, atomic writes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import affine
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from foncier.errors import LayerNotFoundError, WorkspaceError
from foncier.layers.readers import read_layer
from foncier.layers.workspace import Provenance, Workspace, file_checksum


@pytest.fixture
def parcels(real_data: Path) -> gpd.GeoDataFrame:
    return read_layer(real_data / "cadastre-02-parcelles-excerpt-retz.geojson", "parcels")[0]


def test_layers_tables_and_metadata_open_with_gdal(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    ws = Workspace.create(tmp_path / "ws", territory="Soissonnais et Valois", synthetic=False)
    ws.write_layers(
        {"parcels": parcels},
        [Provenance("parcels", "cadastre.json", "Licence Ouverte 2.0", feature_count=len(parcels), checksum="abc")],
    )
    layers = dict(pyogrio.list_layers(ws.gpkg))
    assert layers["parcels"] == "Polygon"
    assert layers["provenance"] is None and layers["metadata"] is None
    assert ws.metadata["territory"] == "Soissonnais et Valois" and ws.metadata["crs"] == "EPSG:2154"
    assert not ws.synthetic
    prov = ws.provenance()
    assert prov.loc[0, "licence"] == "Licence Ouverte 2.0" and prov.loc[0, "feature_count"] == 18
    assert prov.loc[0, "retrieved"]  # filled with the write date
    back = ws.read_layer("parcels")
    assert back["parcel_id"].tolist() == parcels["parcel_id"].tolist()
    # a GeoPackage with an R-tree index: what QGIS and the API use
    con = sqlite3.connect(ws.gpkg)
    assert (
        con.execute(
            "SELECT count(*) FROM gpkg_extensions WHERE table_name='parcels' AND extension_name='gpkg_rtree_index'"
        ).fetchone()[0]
        == 1
    )
    con.close()


def test_bbox_read_uses_the_spatial_filter(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    ws = Workspace.create(tmp_path, territory="t", synthetic=True)
    ws.write_layers({"parcels": parcels})
    first = parcels.geometry.iloc[0]
    got = ws.read_layer("parcels", bbox=tuple(first.buffer(-1).bounds))
    assert parcels["parcel_id"].iloc[0] in set(got["parcel_id"])
    assert 0 < len(got) < len(parcels)


def test_failed_write_keeps_previous_content(tmp_path: Path, parcels: gpd.GeoDataFrame) -> None:
    ws = Workspace.create(tmp_path, territory="t", synthetic=False)
    ws.write_layers({"parcels": parcels})
    before = file_checksum(ws.gpkg)
    wrong_crs = parcels.to_crs(4326)
    with pytest.raises(WorkspaceError, match="EPSG:2154"):
        ws.write_layers({"communes": parcels.iloc[:0], "parcels": wrong_crs})
    assert file_checksum(ws.gpkg) == before

    class InterruptedWriteError(RuntimeError):
        pass

    def interrupted_write() -> None:
        with ws.write_session() as session:
            session.stage("parcels", parcels.iloc[:3])
            raise InterruptedWriteError

    with pytest.raises(InterruptedWriteError):
        interrupted_write()
    assert len(ws.read_layer("parcels")) == 18
    assert sorted(ws.list_layers()) == ["metadata", "parcels"]
    con = sqlite3.connect(ws.gpkg)
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE name LIKE '%foncier_tmp%'")]
    con.close()
    assert names == [], "staged tables of a failed write are dropped"
    assert not list(tmp_path.glob(".foncier-*.gpkg")), "no file copies"


def test_missing_layer_and_workspace_messages(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="no workspace"):
        Workspace.open(tmp_path / "nowhere")
    ws = Workspace.create(tmp_path, territory="t", synthetic=False)
    with pytest.raises(LayerNotFoundError, match="layer 'parcels' is not in workspace"):
        ws.read_layer("parcels")


def test_dem_round_trip_and_tables(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path, territory="t", synthetic=True)
    dem = np.arange(12, dtype="float32").reshape(3, 4)
    dem[0, 0] = np.nan
    transform = affine.Affine(25, 0, 700000, 0, -25, 6900000)
    ws.write_dem(dem, transform, provenance=Provenance("dem", "synthetic"))
    back, t = ws.read_dem()
    assert np.isnan(back[0, 0]) and np.array_equal(back[1:], dem[1:])
    assert t == transform
    ws.write_tables({"scores": pd.DataFrame({"site_id": ["S1", "S2"], "score": [0.5, 0.25]})})
    assert ws.read_table("scores")["score"].tolist() == [0.5, 0.25]
    assert set(ws.summary()["layer"]) >= {"dem", "scores", "metadata", "provenance"}
    ws.delete_layers(["scores"])
    assert "scores" not in ws.list_layers()


def test_bool_and_nullable_columns_survive(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path, territory="t", synthetic=True)
    stations = gpd.GeoDataFrame(
        {"code_uic": ["87476002"], "nom": ["Soissons"], "fret": [True], "voyageurs": [True]},
        geometry=[shapely.Point(729000, 6920000)],
        crs=2154,
    )
    ws.write_layers({"rail_stations": stations})
    back = ws.read_layer("rail_stations")
    assert back["fret"].dtype == bool and bool(back["fret"].iloc[0])


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        ws = Workspace.create(tmp_path, territory="t", synthetic=True)
        ws.write_dem(np.zeros((2, 2), dtype="float32"), affine.Affine(25, 0, 700000, 0, -25, 6900000))
    finally:
        os.umask(old)
    assert stat.S_IMODE(ws.gpkg.stat().st_mode) == 0o644
    assert stat.S_IMODE(ws.dem_path.stat().st_mode) == 0o644

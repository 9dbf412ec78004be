"""Readers: real publishers' files, every format GDAL reads, CRS checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from foncier.errors import CRSError, DataFormatError, LayerValidationError
from foncier.layers.readers import read_layer
from foncier.layers.schemas import PARCEL_ID_RE

CADASTRE = "cadastre-02-parcelles-excerpt-retz.geojson"


def test_etalab_parcels_keep_ids_and_areas(real_data: Path) -> None:
    parcels, report = read_layer(real_data / CADASTRE, "parcels")
    source = json.loads((real_data / CADASTRE).read_text())
    assert len(parcels) == 18
    assert sorted(parcels["parcel_id"]) == sorted(f["id"] for f in source["features"])
    assert parcels["parcel_id"].str.fullmatch(PARCEL_ID_RE.pattern).all()
    assert parcels.crs.to_epsg() == 2154
    ratio = parcels.geometry.area / parcels["contenance_m2"]
    assert ((ratio - 1).abs() <= 0.03).all(), ratio.describe()
    assert report.repairs == []


@pytest.mark.parametrize(
    ("name", "layer", "count"),
    [
        ("territoire_communes_epci.geojson", "communes", 163),
        ("communes-02-aisne.geojson", "communes", 804),
        ("communes-60-oise.geojson", "communes", 686),
        ("sncf_gares_zone.geojson", "rail_stations", 183),
        ("sncf_lignes_zone.geojson", "rail_lines", 62),
        ("cartofriches_territoire.geojson", "friches", 23),
        ("cartofriches_02_60.geojson", "friches", 530),
        ("aerodromes_zone_airportsdata.geojson", "hubs", 13),
    ],
)
def test_real_files_ingest_with_their_counts(real_data: Path, name: str, layer: str, count: int) -> None:
    gdf, _ = read_layer(real_data / name, layer)
    assert len(gdf) == count
    assert gdf.crs.to_epsg() == 2154
    assert gdf.geometry.is_valid.all()


def test_stations_flags_become_booleans(real_data: Path) -> None:
    stations, _ = read_layer(real_data / "sncf_gares_zone.geojson", "rail_stations")
    soissons = stations[stations["nom"] == "Soissons"]
    assert len(soissons) >= 1
    assert stations["fret"].dtype == bool
    assert stations["fret"].sum() > 0


def test_cdg_becomes_the_roissy_hub(real_data: Path) -> None:
    hubs, _ = read_layer(real_data / "aerodromes_zone_airportsdata.geojson", "hubs")
    cdg = hubs[hubs["hub_id"] == "CDG"]
    assert len(cdg) == 1
    lonlat = cdg.to_crs(4326).geometry.iloc[0]
    assert lonlat.x == pytest.approx(2.55, abs=0.01)
    assert lonlat.y == pytest.approx(49.0128, abs=0.01)


def test_friches_drop_owner_fields(real_data: Path) -> None:
    friches, _ = read_layer(real_data / "cartofriches_territoire.geojson", "friches")
    assert not [c for c in friches.columns if c.startswith("proprio_")]


@pytest.mark.parametrize("driver_ext", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp"), ("FlatGeobuf", ".fgb")])
def test_gdal_formats_round_trip(real_data: Path, tmp_path: Path, driver_ext: tuple[str, str]) -> None:
    driver, ext = driver_ext
    raw = gpd.read_file(real_data / CADASTRE)
    out = tmp_path / f"parcels{ext}"
    pyogrio.write_dataframe(raw, out, driver=driver)
    parcels, _ = read_layer(out, "parcels")
    assert len(parcels) == 18
    assert set(parcels["parcel_id"]) == set(raw["id"])


def test_geoparquet_and_gzip(real_data: Path, tmp_path: Path) -> None:
    raw = gpd.read_file(real_data / CADASTRE)
    raw.to_parquet(tmp_path / "p.parquet")
    assert len(read_layer(tmp_path / "p.parquet", "parcels")[0]) == 18
    gz = tmp_path / "cadastre-02258-parcelles.json.gz"
    gz.write_bytes(gzip.compress((real_data / CADASTRE).read_bytes()))
    assert len(read_layer(gz, "parcels")[0]) == 18


def test_shapefile_latin1_encoding(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"zone_id": ["Z1"], "nom": ["Zone de l'Échelle"], "type": ["industrie"], "surface_m2": [1e4], "vacancy": [0.2]},
        geometry=[shapely.box(700000, 6900000, 700100, 6900100)],
        crs=2154,
    )
    path = tmp_path / "zones.shp"
    pyogrio.write_dataframe(gdf, path, encoding="latin1")
    (tmp_path / "zones.cpg").unlink(missing_ok=True)
    zones, _ = read_layer(path, "zones", encoding="latin1")
    assert zones["nom"].iloc[0] == "Zone de l'Échelle"


def test_csv_lonlat_and_wkt(tmp_path: Path) -> None:
    lonlat = tmp_path / "stations.csv"
    lonlat.write_text("code_uic,nom,fret,voyageurs,lon,lat\n87476002,Soissons,O,O,3.3161,49.3776\n")
    stations, _ = read_layer(lonlat, "rail_stations")
    assert stations.crs.to_epsg() == 2154
    assert 720_000 < stations.geometry.iloc[0].x < 740_000
    wkt = tmp_path / "flood.csv"
    wkt.write_text('level;wkt\nred;"POLYGON((730000 6920000,730100 6920000,730100 6920100,730000 6920000))"\n')
    flood, _ = read_layer(wkt, "flood", crs="EPSG:2154")
    assert flood["level"].tolist() == ["red"]


def test_truncated_geojson_is_named(real_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.geojson"
    bad.write_bytes((real_data / CADASTRE).read_bytes()[:3000])
    with pytest.raises(DataFormatError, match="truncated or malformed GeoJSON"):
        read_layer(bad, "parcels")


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text("")
    with pytest.raises(DataFormatError, match="empty"):
        read_layer(empty, "parcels")


def test_lambert93_coordinates_without_crs_declaration(real_data: Path, tmp_path: Path) -> None:
    raw = gpd.read_file(real_data / CADASTRE).to_crs(2154)
    raw = raw.drop(columns=["created", "updated"])
    doc = json.loads(raw.to_json())
    doc.pop("crs", None)
    path = tmp_path / "l93-no-crs.geojson"
    path.write_text(json.dumps(doc))
    with pytest.raises(CRSError, match=r"EPSG:4326.*look like EPSG:2154"):
        read_layer(path, "parcels")
    # and the user's remedy works: the shapefile without .prj plus --crs
    shp = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(raw, shp)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match=r"no coordinate reference system declared.*EPSG:2154"):
        read_layer(shp, "parcels")
    assert len(read_layer(shp, "parcels", crs="EPSG:2154")[0]) == 18


def test_duplicate_ids_and_self_intersection_all_reported(real_data: Path, tmp_path: Path) -> None:
    raw = gpd.read_file(real_data / CADASTRE)
    raw.loc[1, "id"] = raw.loc[0, "id"]
    bowtie = shapely.Polygon([(3.16, 49.15), (3.17, 49.16), (3.17, 49.15), (3.16, 49.16), (3.16, 49.15)])
    raw.loc[2, "geometry"] = bowtie
    raw.loc[3, "commune"] = None
    path = tmp_path / "bad.geojson"
    raw.to_file(path)
    with pytest.raises(LayerValidationError) as info:
        read_layer(path, "parcels")
    text = str(info.value)
    assert "duplicate id '022580000A0099'" in text
    assert "row 2" in text and "Self-intersection" in text
    assert "missing value" in text and "'commune'" in text
    assert len(info.value.problems) >= 4


def test_safe_repair_is_reported(tmp_path: Path) -> None:
    # a ring with a repeated spike vertex: make_valid removes a zero-area spike, area unchanged
    square = shapely.Polygon(
        [(700000, 6900000), (700100, 6900000), (700100, 6900100), (700100, 6900200), (700100, 6900100),
         (700000, 6900100), (700000, 6900000)]
    )  # fmt: skip
    assert not square.is_valid
    gdf = gpd.GeoDataFrame({"level": ["red"]}, geometry=[square], crs=2154)
    path = tmp_path / "flood.gpkg"
    pyogrio.write_dataframe(gdf, path)
    flood, report = read_layer(path, "flood")
    assert flood.geometry.is_valid.all()
    assert len(report.repairs) == 1 and "repaired" in str(report.repairs[0])
    assert flood.geometry.area.iloc[0] == pytest.approx(10_000)


def test_coordinates_outside_france_and_absurd_crs(tmp_path: Path) -> None:
    far = gpd.GeoDataFrame({"level": ["red"]}, geometry=[shapely.box(-74.1, 40.6, -73.9, 40.8)], crs=4326)
    path = tmp_path / "newyork.geojson"
    far.to_file(path)
    with pytest.raises(CRSError, match="not longitude/latitude over France"):
        read_layer(path, "flood")
    with pytest.raises(CRSError, match="unknown CRS 'EPSG:999999'"):
        read_layer(path, "flood", crs="EPSG:999999")


def test_missing_file_and_csv_without_geometry(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file"):
        read_layer(tmp_path / "nope.geojson", "parcels")
    csv = tmp_path / "nogeom.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="CSV has no geometry"):
        read_layer(csv, "flood")

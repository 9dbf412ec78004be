"""Every source's parser fed an answer in the shape the OFFICIAL service returns (not the file-export shape).

The answers are written here from what the services' own code and documentation say (../shared/SOURCES.md):

- API Carto ``gpu/*`` (IGNF/apicarto ``controllers/gpu``): a proxy of the Géoplateforme WFS
  (``data.geopf.fr/wfs/ows``, ``wfs_du:zone_urba``, ``wfs_sup:assiette_sup_s``) through geoportal-wfs-client,
  ``outputFormat=application/json``, ``srsName=CRS:84``, ``count=5000``: a GeoServer WFS 2.0 GeoJSON
  collection (``totalFeatures, numberMatched, numberReturned, timeStamp, links, crs, bbox``) whose features
  carry ``id`` = "<table>.<n>", ``geometry_name`` "the_geom", a ``bbox``, and the table's columns (the
  Géoplateforme tables have ``gpu_doc_id, gpu_status, gpu_timestamp`` and no ``gid``; nulls are ``null``);
  the ``links`` point to the WFS, not to API Carto.
- API Carto ``nature/*`` (``controllers/nature``): the same collection from ``patrinat_sic:sic``,
  ``patrinat_zps:zps``, ``patrinat_znieff1:znieff1``, ``patrinat_znieff2:znieff2``, ``patrinat_rnn:rnn``
  (ids "sic.12"...), properties renamed by API Carto (natura: ``sitecode, sitename, url``; others
  ``id_mnhn, nom, url``, appended after the WFS columns; ``url`` absent when the WFS had no ``url_fiche``),
  ``links`` rewritten to the caller's Referer (``http://localhost`` by default) with ``_start``.
- SNCF Opendatasoft v2.1 ``exports/geojson``: a plain FeatureCollection whose properties are every field of
  the dataset, the geo_point field as an object ``{"lon": .., "lat": ..}``, numbers as numbers.
- geo.api.gouv.fr ``format=geojson``: FeatureCollection, properties in the order of ``fields``, no feature
  id, absent keys for unknown values, Polygon or MultiPolygon outlines.
- Etalab cadastre: the real bulk file of one whole commune (``id`` at top level and in the properties).
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import MultiLineString, mapping, shape

from foncier.geo.crs import LAMBERT93, WGS84
from foncier.layers.fetch import fetch_territory
from foncier.layers.fetch.http import HttpClient
from foncier.layers.fetch.settings import FetchSettings
from foncier.layers.fetch.sources import (
    FetchContext,
    fetch_communes,
    fetch_flood,
    fetch_parcels,
    fetch_plu,
    fetch_protected,
    fetch_rail,
    query_tiles,
)
from foncier.layers.fetch.territory import load_territory
from foncier.layers.workspace import Workspace

from .conftest import CADASTRE_EDITION, TERRITORY_EPCI, Services

_TO_L93 = pyproj.Transformer.from_crs(WGS84, LAMBERT93, always_xy=True).transform
Answer = Callable[[dict[str, str]], tuple[int, Any]]


def _centres(ctx: FetchContext) -> dict[str, tuple[float, float]]:
    """A point inside each test commune (lon, lat)."""
    assert ctx.communes is not None
    lonlat = ctx.communes.to_crs(WGS84)
    return {str(i): (p.x, p.y) for i, p in zip(lonlat["insee"], lonlat.geometry.representative_point(), strict=True)}


def _square(lon: float, lat: float, half_deg: float = 0.002) -> shapely.Polygon:
    return shapely.box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)


def _bbox(geom: Any) -> list[float]:
    return [round(v, 7) for v in shape(geom).bounds]


def _geoserver_feature(fid: str, props: dict[str, Any], geom: Any, geometry_name: str) -> dict[str, Any]:
    """A feature as GeoServer writes it in GeoJSON (id, geometry, geometry_name, properties, bbox)."""
    g = mapping(shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom)
    return {"type": "Feature", "id": fid, "geometry": g, "geometry_name": geometry_name, "properties": props,
            "bbox": _bbox(g)}  # fmt: skip


def _geoserver_answer(features: list[dict[str, Any]], query: dict[str, str], *, typename: str,
                      nature: str | None = None, cap: int = 5000, counted: str = "yes") -> dict[str, Any]:  # fmt: skip
    """The WFS 2.0 GeoJSON collection GeoServer returns for a GetFeature over ``geom`` (CRS:84), as API Carto
    forwards it (GPU: as is, ``count=5000``; nature: ``_start``/``_limit`` paging, links rewritten)."""
    area = shape(json.loads(query["geom"]))
    hits = [f for f in features if shape(f["geometry"]).intersects(area)]
    start = int(query.get("_start", 0)) if nature else 0
    limit = int(query.get("_limit", 1000)) if nature else cap
    page = hits[start : start + limit]
    answer: dict[str, Any] = {
        "type": "FeatureCollection", "features": page, "totalFeatures": len(hits), "numberMatched": len(hits),
        "numberReturned": len(page), "timeStamp": "2026-11-30T10:00:00.123Z",
    }  # fmt: skip
    if counted != "yes":  # GeoServer skipped counting: "unknown" totals (numberMatched "unknown" or absent)
        answer["totalFeatures"] = "unknown"
        if counted == "absent":
            del answer["numberMatched"]
        else:
            answer["numberMatched"] = "unknown"
    if start + limit < len(hits):
        href = ("https://data.geopf.fr/wfs/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES="
                f"{typename}&OUTPUTFORMAT=application%2Fjson&SRSNAME=CRS%3A84&COUNT={limit}"
                f"&STARTINDEX={start + limit}")  # fmt: skip
        if nature:  # API Carto rewrites the WFS link to the caller's Referer (http://localhost by default)
            q = urllib.parse.urlencode({**query, "_start": start + limit})
            href = f"http://localhost/api/nature/{nature}?{q}"
        answer["links"] = [{"title": "next page", "type": "application/json", "rel": "next", "href": href}]
    answer["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    if page:
        bounds = shapely.union_all([shape(f["geometry"]) for f in page]).bounds
        answer["bbox"] = [round(v, 7) for v in bounds]
    return answer


def _serve(services: Services, path: str, answer: Answer) -> None:
    services.answers[path] = answer


def _l93(geom: Any) -> Any:
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_L93(xy[:, 0], xy[:, 1])))


# ---------------------------------------------------------------------------------------------- GPU zone-urba
def _zone_urba(centres: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """zone-urba features as the Géoplateforme table ``wfs_du:zone_urba`` serves them (no ``gid``)."""
    lon, lat = centres["02810"]
    base = {"gpu_doc_id": "2d6a0b1c8e5f4f0c9b7e3a1d2c4b6a8f", "gpu_status": "document.production",
            "gpu_timestamp": "2024-03-12T09:41:27.512Z", "partition": "DU_02810",
            "nomfic": "02810_reglement_20190625.pdf",
            "urlfic": "https://data.geopf.fr/annexes/gpu/documents/DU_02810/2d6a0b1c/02810_reglement_20190625.pdf",
            "insee": "02810", "datappro": "20190625", "datvalid": "20200101", "idurba": "02810_PLU_20190625",
            "idzone": None, "lib_idzone": None, "formdomi": None, "destoui": None, "destcdt": None,
            "destnon": None, "symbole": None}  # fmt: skip
    zones = [
        ("zone_urba.1285503", "UX", "Zone urbaine d'activités économiques", "U", "02", (-0.006, 0.0)),
        ("zone_urba.1285504", "1AUx", "Zone à urbaniser à vocation d'activités", "AUc", "02", (0.0, 0.0)),
        ("zone_urba.1285505", "2AU", "Zone à urbaniser fermée", "AUs", None, (0.006, 0.0)),
        ("zone_urba.1285506", "Ah", "Secteur de taille et de capacité d'accueil limitées", "A", "00", (0.0, 0.006)),
        ("zone_urba.1285507", "Nj", "Zone naturelle de jardins", "N", "00", (0.0, -0.006)),
    ]  # fmt: skip
    feats = [
        _geoserver_feature(fid, {**base, "libelle": libelle, "libelong": libelong, "typezone": typezone,
                                 "destdomi": destdomi}, _square(lon + dx, lat + dy), "the_geom")
        for fid, libelle, libelong, typezone, destdomi, (dx, dy) in zones
    ]  # fmt: skip
    # a PLUi zone of the EPCI: partition DU_{siren}, no single INSEE code
    lon, lat = centres["02258"]
    plui = {**base, "partition": f"DU_{TERRITORY_EPCI}", "insee": None, "idurba": f"{TERRITORY_EPCI}_PLUi_20220412",
            "datappro": "20220412", "datvalid": "20220601", "libelle": "UE", "libelong": "Zone d'équipements",
            "typezone": "U", "destdomi": "07"}  # fmt: skip
    feats.append(_geoserver_feature("zone_urba.2203118", plui, _square(lon, lat), "the_geom"))
    return feats


def test_gpu_zone_urba_in_the_geoplateforme_shape(ctx: FetchContext, services: Services) -> None:
    feats = _zone_urba(_centres(ctx))
    _serve(services, "/apicarto/gpu/zone-urba",
           lambda q: (200, _geoserver_answer(feats, q, typename="wfs_du:zone_urba")))  # fmt: skip
    services.data.gpu["secteur-cc"] = []  # this test's own copy (conftest): only the zone-urba answer counts
    services.data.gpu["municipality"] = []
    result = fetch_plu(ctx)
    assert result.complete, result.failures
    plu = result.layers["plu"]
    assert plu.crs.to_epsg() == 2154
    assert len(plu) == len(feats)  # every zone once, though several tiles returned some of them
    by_label = plu.set_index("libelle")
    assert by_label["typezone"].to_dict() == {"UX": "U", "1AUx": "AUc", "2AU": "AUs", "Ah": "A", "Nj": "N", "UE": "U"}
    assert by_label.loc["1AUx", "destdomi"] == "02" and by_label["destdomi"].isna().sum() == 1  # null stays null
    assert by_label.loc["UE", "partition"] == f"DU_{TERRITORY_EPCI}" and by_label["insee"].isna().sum() == 1
    assert by_label.loc["1AUx", "datappro"] == "20190625"
    assert by_label.loc["UX", "urlfic"].endswith("02810_reglement_20190625.pdf")
    # geometry: the answer's lon/lat (CRS:84) in Lambert-93, where it was
    src = {f["properties"]["libelle"]: _l93(shape(f["geometry"])) for f in feats}
    for label, geom in by_label.geometry.items():
        assert geom.symmetric_difference(src[label]).area < 1.0, label


@pytest.mark.parametrize("counted", ["yes", "unknown", "absent"])
def test_gpu_zone_urba_cap_in_the_geoplateforme_shape(ctx: FetchContext, services: Services, counted: str) -> None:
    """At the cap GeoServer answers ``numberMatched`` > ``numberReturned`` (or, when it skipped counting,
    "unknown" totals) with a ``next`` link to the WFS: the parser splits the query (it never follows the link)."""
    feats = _zone_urba(_centres(ctx))
    answer = functools.partial(_geoserver_answer, feats, typename="wfs_du:zone_urba", cap=4, counted=counted)
    _serve(services, "/apicarto/gpu/zone-urba", lambda q: (200, answer(q)))
    services.data.gpu["secteur-cc"] = []
    services.data.gpu["municipality"] = []
    result = fetch_plu(ctx)
    assert result.complete, result.failures
    assert sorted(result.layers["plu"]["libelle"]) == sorted(f["properties"]["libelle"] for f in feats)
    assert not [r for r in services.requests if "data.geopf.fr" in r.target]
    tiles = query_tiles(ctx.footprint_lonlat, ctx.settings.query_tile_deg)
    assert services.count("/apicarto/gpu/zone-urba") > len(tiles)  # the capped tile was split


# ---------------------------------------------------------------------------------------------- GPU SUP PM1
def _pm1(centres: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """``wfs_sup:assiette_sup_s`` features: a red and a blue PPRI zone (PM1) and a monument's surroundings (AC1)."""
    lon, lat = centres["02810"]
    base = {"gpu_doc_id": "9f1e2d3c4b5a69788796a5b4c3d2e1f0", "gpu_status": "document.production",
            "gpu_timestamp": "2023-06-02T14:02:11.000Z", "partition": "172014607_SUP_02_PM1", "suptype": "pm1",
            "idgen": "PM1_02_0001", "idass": None, "modegeoass": "Digitalisation", "srcgeoass": "PPRI",
            "datsrcgeo": "20150101", "fichier": None}  # fmt: skip
    return [
        _geoserver_feature("assiette_sup_s.40211", {**base, "nomass": "Zone rouge du PPRI de l'Automne",
                                                    "typeass": "Zone réglementée"}, _square(lon - 0.01, lat),
                           "the_geom"),
        _geoserver_feature("assiette_sup_s.40212", {**base, "nomass": "Zone bleue du PPRI de l'Automne",
                                                    "typeass": "Zone réglementée"}, _square(lon + 0.01, lat),
                           "the_geom"),
        _geoserver_feature("assiette_sup_s.40213", {**base, "suptype": "ac1", "nomass": "Abords du château",
                                                    "typeass": "Périmètre des abords"}, _square(lon, lat), "the_geom"),
    ]  # fmt: skip


def _serve_pm1(services: Services, feats: list[dict[str, Any]]) -> None:
    def answer(q: dict[str, str]) -> tuple[int, Any]:
        # API Carto turns categorie=PM1 into the WFS filter suptype='pm1'
        wanted = [f for f in feats if f["properties"]["suptype"] == q.get("categorie", "").lower()]
        return 200, _geoserver_answer(wanted, q, typename="wfs_sup:assiette_sup_s")

    _serve(services, "/apicarto/gpu/assiette-sup-s", answer)


def test_gpu_assiette_sup_s_pm1_in_the_geoplateforme_shape(ctx: FetchContext, services: Services) -> None:
    lon, lat = _centres(ctx)["02810"]
    _serve_pm1(services, _pm1(_centres(ctx)))
    result = fetch_flood(ctx)
    assert result.complete, result.failures
    flood = result.layers["flood"]
    assert flood.crs.to_epsg() == 2154
    assert sorted(flood["level"]) == ["blue", "red"]  # the AC1 easement is not a flood zone
    red = flood[flood["level"] == "red"].geometry.iloc[0]
    assert red.symmetric_difference(_l93(_square(lon - 0.01, lat))).area < 1.0


# ---------------------------------------------------------------------------------------------- nature
_WFS_NATURE = {"natura-habitat": ("patrinat_sic:sic", "sic"), "natura-oiseaux": ("patrinat_zps:zps", "zps"),
               "znieff1": ("patrinat_znieff1:znieff1", "znieff1"), "znieff2": ("patrinat_znieff2:znieff2", "znieff2"),
               "rnn": ("patrinat_rnn:rnn", "rnn")}  # fmt: skip


def _nature_feature(resource: str, n: int, code: str, name: str, geom: Any, *, url: bool = True) -> dict[str, Any]:
    """A nature feature as API Carto returns it: the WFS columns (``id_local`` ... ``territoire``), then
    ``url`` (from ``url_fiche``) and ``sitecode``/``sitename`` (natura) or ``nom`` (others)."""
    props: dict[str, Any] = {"id_local": None, "date_crea": "2014-04-14", "modif_adm": None, "modif_geo": None,
                             "surf_off": 12345.0, "acte_deb": "Arrêté du 14/04/2014", "acte_fin": None,
                             "gest_site": "DREAL Hauts-de-France", "operateur": "ONF", "precision": "1:25000",
                             "src_geom": "SCAN25", "src_annee": "2013", "marin": "N", "p1_nature": None,
                             "p4_geologi": None, "area_sig": 12401.77, "cd_sig": None,
                             "territoire": "METRO"}  # fmt: skip
    if url:
        props["url"] = f"https://inpn.mnhn.fr/site/{code}"
    if resource.startswith("natura"):
        props["sitecode"], props["sitename"] = code, name
    else:
        props["id_mnhn"], props["nom"] = code, name
    return _geoserver_feature(f"{_WFS_NATURE[resource][1]}.{n}", props, geom, "geom")


def _nature_tables(c: dict[str, tuple[float, float]]) -> dict[str, list[dict[str, Any]]]:
    (lon, lat), (lon2, lat2) = c["02810"], c["02258"]
    return {
        "natura-habitat": [_nature_feature("natura-habitat", 3122, "FR2200398", "Massif forestier de Retz",
                                           _square(lon, lat, 0.01))],
        "natura-oiseaux": [_nature_feature("natura-oiseaux", 88, "FR2212001", "Forêts picardes : massif de Retz",
                                           _square(lon2, lat2, 0.005))],
        "znieff1": [_nature_feature("znieff1", 15000 + i, f"22001482{i}", f"Bois de test {i}",
                                    _square(lon + 0.003 * i, lat + 0.004, 0.001), url=i != 1) for i in range(5)],
        "znieff2": [_nature_feature("znieff2", 977, "220120045", "Vallée de l'Ourcq", _square(lon2, lat2, 0.02))],
        "rnn": [_nature_feature("rnn", 41, "FR3600163", "Réserve naturelle test", _square(lon - 0.004, lat, 0.001))],
    }  # fmt: skip


_NATURE_CODES = sorted(
    [("natura2000_sic", "FR2200398"), ("natura2000_zps", "FR2212001"), ("znieff2", "220120045"),
     ("rnn", "FR3600163")] + [("znieff1", f"22001482{i}") for i in range(5)]
)  # fmt: skip


def _nature_answer(feats: list[dict[str, Any]], typename: str, resource: str) -> Answer:
    def answer(q: dict[str, str]) -> tuple[int, Any]:
        return 200, _geoserver_answer(feats, q, typename=typename, nature=resource)

    return answer


def _serve_nature(services: Services, tables: dict[str, list[dict[str, Any]]]) -> None:
    for resource, feats in tables.items():
        typename = _WFS_NATURE[resource][0]
        _serve(services, f"/apicarto/nature/{resource}", _nature_answer(feats, typename, resource))
    services.data.nature["pn"] = []


def test_nature_in_the_api_carto_shape(ctx: FetchContext, services: Services, fetch_settings: FetchSettings) -> None:
    lon, lat = _centres(ctx)["02810"]
    _serve_nature(services, _nature_tables(_centres(ctx)))
    page = 2  # znieff1 comes in three pages; the links to http://localhost are never followed
    ctx.client = HttpClient(fetch_settings.model_copy(update={"nature_page_size": page}), sleep=lambda _: None)
    result = fetch_protected(ctx)
    assert result.complete, result.failures
    gdf = result.layers["protected"]
    assert gdf.crs.to_epsg() == 2154
    assert sorted(zip(gdf["kind"], gdf["code"], strict=True)) == _NATURE_CODES
    names = dict(zip(gdf["code"], gdf["nom"], strict=True))
    assert names["FR2200398"] == "Massif forestier de Retz" and names["220120045"] == "Vallée de l'Ourcq"
    assert services.count("/apicarto/nature/znieff1") >= 3
    assert not [r for r in services.requests if r.headers.get("Host", "").startswith("localhost")]
    sic = gdf[gdf["kind"] == "natura2000_sic"].geometry.iloc[0]
    assert sic.symmetric_difference(_l93(_square(lon, lat, 0.01))).area < 1.0


# ---------------------------------------------------------------------------------------------- SNCF
def _ods_station(props: dict[str, Any], lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {**props, "c_geo": {"lon": lon, "lat": lat}}}  # fmt: skip


def _serve_sncf(services: Services, centres: dict[str, tuple[float, float]]) -> MultiLineString:
    """Serve both SNCF exports; returns the multi-part line (241000) for geometry checks."""
    lon, lat = centres["02810"]
    stations = [
        _ods_station({"code_uic": "87116210", "libelle": "Villers-Cotterêts", "fret": "O", "voyageurs": "O",
                      "code_ligne": "240000", "rg_troncon": 1, "pk": "078+452", "commune": "VILLERS-COTTERETS",
                      "departemen": "AISNE", "idreseau": 4521, "idgaia": "5d2b0bbe-dfbc-11e3-a2ff-01a464e0362d",
                      "x_l93": 709132.27, "y_l93": 6905032.57, "x_wgs84": lon, "y_wgs84": lat}, lon, lat),
        _ods_station({"code_uic": "87116582", "libelle": "Longpont", "fret": "N", "voyageurs": "O",
                      "code_ligne": "240000", "rg_troncon": 1, "pk": "086+101", "commune": "LONGPONT",
                      "departemen": "AISNE", "idreseau": 4533, "idgaia": None, "x_l93": None, "y_l93": None,
                      "x_wgs84": lon + 0.01, "y_wgs84": lat + 0.01}, lon + 0.01, lat + 0.01),
        _ods_station({"code_uic": "87001479", "libelle": "Aéroport CDG 2 TGV", "fret": "N", "voyageurs": "O",
                      "code_ligne": "752000", "rg_troncon": 1, "pk": "023+456", "commune": "TREMBLAY-EN-FRANCE",
                      "departemen": "SEINE-SAINT-DENIS", "idreseau": 1, "idgaia": None, "x_l93": 666820.0,
                      "y_l93": 6877350.0, "x_wgs84": 2.5709, "y_wgs84": 49.0037}, 2.5709, 49.0037),
    ]  # fmt: skip
    # a record without coordinates: Opendatasoft exports it with "geometry": null
    stations.append({"type": "Feature", "geometry": None,
                     "properties": {"code_uic": "87999999", "libelle": "Halte sans coordonnées", "fret": "N",
                                    "voyageurs": "N", "code_ligne": None, "rg_troncon": None, "pk": None,
                                    "commune": None, "departemen": "AISNE", "idreseau": None, "idgaia": None,
                                    "x_l93": None, "y_l93": None, "x_wgs84": None, "y_wgs84": None,
                                    "c_geo": None}})  # fmt: skip
    line = {"type": "LineString", "coordinates": [[lon - 0.05, lat - 0.02], [lon, lat], [lon + 0.05, lat + 0.03]]}
    multi = {"type": "MultiLineString", "coordinates": [[[lon - 0.02, lat + 0.05], [lon, lat + 0.01]],
                                                        [[lon, lat + 0.01], [lon + 0.02, lat - 0.04]]]}  # fmt: skip
    lines = [
        {"type": "Feature", "geometry": line,
         "properties": {"code_ligne": "240000", "lib_ligne": "Ligne de La Plaine à Hirson", "rg_troncon": 3,
                        "pkd": "070+000", "pkf": "095+210", "exploitati": "Double voie", "idgaia": "af88",
                        "geo_point_2d": {"lon": lon, "lat": lat}}},
        {"type": "Feature", "geometry": multi,
         "properties": {"code_ligne": "241000", "lib_ligne": "Ligne de Villers-Cotterêts à Port-aux-Perches",
                        "rg_troncon": 1, "pkd": "000+000", "pkf": "012+400",
                        "exploitati": "Voie unique à trafic restreint (consigne de ligne)", "idgaia": None,
                        "geo_point_2d": {"lon": lon, "lat": lat + 0.01}}},
    ]  # fmt: skip
    _serve(services, "/sncf/liste-des-gares/exports/geojson",
           lambda q: (200, {"type": "FeatureCollection", "features": copy.deepcopy(stations)}))  # fmt: skip
    _serve(services, "/sncf/regime-dexploitation-des-lignes/exports/geojson",
           lambda q: (200, {"type": "FeatureCollection", "features": copy.deepcopy(lines)}))  # fmt: skip
    return shape(multi)


def test_sncf_exports_in_the_opendatasoft_shape(ctx: FetchContext, services: Services) -> None:
    lon, lat = _centres(ctx)["02810"]
    multi = _serve_sncf(services, _centres(ctx))
    result = fetch_rail(ctx)
    assert result.complete, result.failures
    st = result.layers["rail_stations"].set_index("code_uic")
    assert st.crs.to_epsg() == 2154
    assert set(st.index) == {"87116210", "87116582"}  # CDG is far outside the rail buffer
    assert st.loc["87116210", "nom"] == "Villers-Cotterêts"
    assert bool(st.loc["87116210", "fret"]) is True and bool(st.loc["87116582", "fret"]) is False
    assert bool(st.loc["87116582", "voyageurs"]) is True
    assert st.loc["87116210"].geometry.distance(_l93(shapely.Point(lon, lat))) < 0.01
    ln = result.layers["rail_lines"].set_index("code_ligne")
    assert ln.crs.to_epsg() == 2154 and set(ln.index) == {"240000", "241000"}
    assert ln.loc["241000", "exploitation"].startswith("Voie unique")
    assert ln.loc["240000", "libelle"] == "Ligne de La Plaine à Hirson"
    assert abs(ln.loc["241000"].geometry.length - _l93(multi).length) < 1.0


# ---------------------------------------------------------------------------------------------- geo.api.gouv.fr
def test_geo_api_communes_in_the_official_shape(
    services: Services, fetch_settings: FetchSettings, served: Any, tmp_path: Path
) -> None:
    """``/epcis/{siren}/communes?fields=nom,code,population,codeEpci&format=geojson&geometry=contour`` and
    ``/communes?code=...``: properties in request order, a MultiPolygon outline, a commune without
    population (absent key), no feature id."""
    src = {f["properties"]["code"]: f for f in served.data.communes}
    dammard, passy = src["02258"], src["02594"]
    multi = shapely.MultiPolygon([shape(dammard["geometry"]), shape(passy["geometry"]).buffer(-0.001)])

    def epci(q: dict[str, str]) -> tuple[int, Any]:
        fields = q.get("fields", "nom,code").split(",")
        values: dict[str, dict[str, Any]] = {
            "02258": {"nom": "Dammard", "code": "02258", "population": 1543, "codeEpci": "200071991"},
            "02466": {"nom": "Marizy-Sainte-Geneviève", "code": "02466", "codeEpci": "200071991"},
        }
        geoms = {"02258": mapping(multi), "02466": src["02466"]["geometry"]}
        feats = [{"type": "Feature", "geometry": geoms[c],
                  "properties": {k: v[k] for k in fields if k in v}} for c, v in values.items()]  # fmt: skip
        return 200, {"type": "FeatureCollection", "features": feats}

    def commune(q: dict[str, str]) -> tuple[int, Any]:
        if q.get("code") != "02810":
            return 200, {"type": "FeatureCollection", "features": []}
        props = {"nom": "Villers-Cotterêts", "code": "02810", "population": 10992, "codeEpci": "200071991"}
        feat = {"type": "Feature", "geometry": src["02810"]["geometry"], "properties": props}
        return 200, {"type": "FeatureCollection", "features": [feat]}

    _serve(services, f"/geo/epcis/{TERRITORY_EPCI}/communes", epci)
    _serve(services, "/geo/communes", commune)
    path = tmp_path / "t.yaml"
    path.write_text(
        f"epcis: [{{siren: \"{TERRITORY_EPCI}\", nom: CC Retz-en-Valois}}]\ncommunes: ['02258', '02466', '02810']\n",
        "utf-8",
    )
    context = FetchContext(client=HttpClient(fetch_settings, sleep=lambda _: None), territory=load_territory(path))
    result = fetch_communes(context)
    assert result.complete, result.failures
    gdf = result.layers["communes"].set_index("insee")
    assert gdf.crs.to_epsg() == 2154 and sorted(gdf.index) == ["02258", "02466", "02810"]
    assert gdf.loc["02258", "population"] == 1543 and gdf["population"].isna().sum() == 1
    assert (gdf["epci_siren"] == TERRITORY_EPCI).all() and gdf.loc["02810", "nom"] == "Villers-Cotterêts"
    assert gdf.loc["02258"].geometry.geom_type == "MultiPolygon"
    assert abs(gdf.loc["02258"].geometry.area - _l93(multi).area) < 0.001 * _l93(multi).area
    epci_req = next(r for r in services.requests if r.path.endswith("/communes") and "/epcis/" in r.path)
    assert epci_req.query["geometry"] == "contour" and epci_req.query["format"] == "geojson"


# ---------------------------------------------------------------------------------------------- Etalab cadastre
def test_etalab_cadastre_bulk_file_of_a_whole_commune(
    services: Services, fetch_settings: FetchSettings, real_data: Path, tmp_path: Path
) -> None:
    """The real bulk file of Épinay-sur-Orge (``id`` at top level AND in the properties, one parcel without
    ``contenance``), gzipped at its official path, through the ``latest`` redirect."""
    raw = (real_data / "cadastre-91216-parcelles.json").read_bytes()
    official = f"/cadastre/{CADASTRE_EDITION}/geojson/communes/91/91216/cadastre-91216-parcelles.json.gz"
    body = gzip.compress(raw)
    _serve(services, official, lambda q: (200, body))
    features = json.loads(raw)["features"]
    path = tmp_path / "t.yaml"
    path.write_text("communes: ['91216']\n", "utf-8")
    settings = fetch_settings.model_copy(update={"read_timeout": 10.0})  # a 3 MB file on a shared machine
    context = FetchContext(client=HttpClient(settings, sleep=lambda _: None), territory=load_territory(path))
    result = fetch_parcels(context)
    assert result.complete, result.failures
    gdf = result.layers["parcels"]
    assert gdf.crs.to_epsg() == 2154 and len(gdf) == len(features) == 4241
    assert gdf["parcel_id"].is_unique and set(gdf["parcel_id"]) == {f["id"] for f in features}
    assert (gdf["commune"] == "91216").all() and gdf["contenance_m2"].isna().sum() == 1
    row = gdf.set_index("parcel_id").loc["91216000AB0037"]
    assert row["section"] == "AB" and row["numero"] == "37" and row["prefixe"] == "000"
    assert row["contenance_m2"] == 254881
    first = next(f for f in features if f["id"] == "91216000AB0037")
    assert row.geometry.symmetric_difference(_l93(shape(first["geometry"]))).area < 1.0
    assert result.provenance["parcels"].vintage == CADASTRE_EDITION


# ---------------------------------------------------------------------------------------------- end to end
def test_fetch_stores_the_official_answers_in_the_workspace(
    tmp_path: Path, services: Services, fetch_settings: FetchSettings, territory_file: Path, served: Any
) -> None:
    """``fetch`` with every API answered in its official shape stores each layer (object-valued properties
    such as Opendatasoft's ``geo_point_2d``, nulls and extra columns included) and reads back what was sent."""
    centres = {}
    for feat in served.data.communes:
        if feat["properties"]["code"] in ("02258", "02594", "02466", "02810"):
            p = shape(feat["geometry"]).representative_point()
            centres[feat["properties"]["code"]] = (p.x, p.y)
    zones = _zone_urba(centres)
    _serve(
        services, "/apicarto/gpu/zone-urba", lambda q: (200, _geoserver_answer(zones, q, typename="wfs_du:zone_urba"))
    )
    _serve_pm1(services, _pm1(centres))
    _serve_nature(services, _nature_tables(centres))
    _serve_sncf(services, centres)
    client = HttpClient(fetch_settings, sleep=lambda _: None)
    report = fetch_territory(tmp_path / "ws", territory_file, client=client, offline=False, progress=False)
    assert report.ok, report.render()
    ws = Workspace.open(tmp_path / "ws")
    plu = ws.read_layer("plu")
    assert {f["properties"]["libelle"] for f in zones} <= set(plu["libelle"])
    assert plu.crs.to_epsg() == 2154
    protected = ws.read_layer("protected")
    assert sorted(zip(protected["kind"], protected["code"], strict=True)) == _NATURE_CODES
    stations = ws.read_layer("rail_stations")
    assert sorted(stations["code_uic"]) == ["87116210", "87116582"]
    assert stations.set_index("code_uic").loc["87116210", "fret"] in (True, 1)
    assert sorted(ws.read_layer("rail_lines")["code_ligne"]) == ["240000", "241000"]
    assert sorted(ws.read_layer("flood")["level"]) == ["blue", "red"]

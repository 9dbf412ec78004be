"""A real HTTP server on 127.0.0.1 laid out like the official services, with fault injection.

The served tree is built once per session from the real extracts of ../shared/data/real (Etalab parcels
gzipped at their official path, the communes as geo.api.gouv.fr answers, the SNCF exports, Cartofriches as
``geofriches`` pages) and from small files written here (an .osm.pbf written with osmium, Copernicus-like
DEM tiles, and API Carto / Georisques answers in the services' response formats, see ../shared/SOURCES.md).
Each test gets a fresh server (fresh request log and faults) over that tree.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import json
import math
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import mapping, shape

from tests.fetch import gpu_answers

TERRITORY_EPCI = "200071991"  # CC Retz-en-Valois
TEST_COMMUNES = (
    "02258",
    "02594",
    "02466",
    "02810",
)  # Dammard, Passy-en-Valois, Marizy-Ste-Genevieve, Villers-Cotterets
CADASTRE_EDITION = "2025-10-01"
OSM_PATH = "europe/france/test-latest.osm.pbf"
OSM_TIMESTAMP = "2025-11-20T21:21:02Z"
DEM_RES = 1.0 / 360.0  # 10 arc-seconds: small Copernicus-like tiles


# ---------------------------------------------------------------------------------------------- the server
@dataclass
class Fault:
    """One injected fault: ``status`` (an HTTP error), ``truncate`` (half the body, full Content-Length),
    ``delay`` (answer after ``seconds``) or ``reset`` (close without answering); ``times`` < 0 = always."""

    kind: str
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    times: int = 1


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    target: str  # path and query as sent


@dataclass
class ServiceData:
    """What the dynamic routes serve."""

    communes: list[dict[str, Any]] = field(default_factory=list)
    gpu: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nature: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    friches: list[dict[str, Any]] = field(default_factory=list)
    georisques: list[dict[str, Any]] = field(default_factory=list)


class Services:
    """The running server: base URL, request log, faults and knobs of the dynamic routes."""

    def __init__(self, root: Path, data: ServiceData) -> None:
        self.root = root
        self.data = data
        self.requests: list[Request] = []
        self.faults: dict[str, list[Fault]] = {}
        self.lock = threading.Lock()
        self.gpu_cap = 5000
        self.outage_after: int | None = None
        self.redirect_latest = True
        self.answers: dict[str, Any] = {}
        """Per-test answers by path (without query), served before any other route: a JSON-able object, bytes
        (a file), or a callable ``query -> (status, object or bytes)``."""
        handler = type("Handler", (_Handler,), {"services": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def source_urls(self) -> dict[str, str]:
        """``--source-url`` overrides pointing every source at this server."""
        b = self.base
        return {
            "cadastre": f"{b}/cadastre",
            "geo": f"{b}/geo",
            "apicarto": f"{b}/apicarto",
            "georisques": f"{b}/georisques",
            "cartofriches": f"{b}/cartofriches",
            "sncf": f"{b}/sncf",
            "osm": f"{b}/osm",
            "dem": f"{b}/dem",
        }

    def fail(self, path: str, *faults: Fault) -> None:
        """Inject faults, consumed in order, on requests of ``path`` (without query)."""
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def count(self, contains: str = "", method: str = "GET") -> int:
        """Requests whose path contains ``contains``."""
        with self.lock:
            return sum(1 for r in self.requests if contains in r.path and r.method == method)

    def paths(self, contains: str = "") -> list[str]:
        with self.lock:
            return [r.path for r in self.requests if contains in r.path]

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    services: Services
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # ------------------------------------------------------------------ plumbing
    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"))

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        svc = self.services
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        with svc.lock:
            svc.requests.append(Request(self.command, path, query, dict(self.headers), self.path))
            n = len(svc.requests)
            fault = None
            queue = svc.faults.get(path)
            if queue:
                fault = queue[0]
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        queue.pop(0)
        if svc.outage_after is not None and n > svc.outage_after:
            self._json(503, {"message": "outage"})
            return
        if fault is not None:
            if fault.kind == "status":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                self._send(fault.status, b"Service Unavailable" if fault.status != 404 else b"Not Found",
                           "text/plain", headers)  # fmt: skip
                return
            if fault.kind == "reset":
                self.close_connection = True
                return
            if fault.kind == "delay":
                time.sleep(fault.seconds)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(path, query, truncate=fault is not None and fault.kind == "truncate")

    def _route(self, path: str, query: dict[str, str], *, truncate: bool) -> None:
        svc = self.services
        if path in svc.answers:
            return self._answer(svc.answers[path], query)
        if path.startswith("/apicarto/gpu/"):
            return self._gpu(path.rsplit("/", 1)[-1], query)
        if path.startswith("/apicarto/nature/"):
            return self._nature(path.rsplit("/", 1)[-1], query)
        if path.startswith("/cartofriches/geofriches"):
            return self._friches(path, query)
        if path == "/geo/communes":
            return self._geo_communes(query)
        if path == "/georisques":
            return self._georisques(query)
        if path.startswith("/cadastre/latest/") and svc.redirect_latest:
            target = path.replace("/latest/", f"/{CADASTRE_EDITION}/", 1)
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self._static(path, truncate=truncate)

    def _static(self, path: str, *, truncate: bool) -> None:
        file = (self.services.root / path.lstrip("/")).resolve()
        if not str(file).startswith(str(self.services.root.resolve())) or not file.is_file():
            return self._send(404, b"Not Found", "text/plain")
        body = file.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        ctype = "application/octet-stream" if file.suffix in (".gz", ".pbf", ".tif") else "application/json"
        headers = {"Accept-Ranges": "bytes", "ETag": etag, "Last-Modified": "Wed, 01 Oct 2025 00:00:00 GMT"}
        rng = self.headers.get("Range")
        single = rng is not None and rng.startswith("bytes=") and "," not in rng  # multi-range: answered in full
        if rng and single and self.headers.get("If-Range", etag) == etag:
            first, _, last = rng[6:].partition("-")
            start = int(first) if first else len(body) - int(last)
            end = int(last) if first and last else len(body) - 1
            if start >= len(body):
                return self._send(416, b"", ctype, {"Content-Range": f"bytes */{len(body)}"})
            end = min(end, len(body) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            return self._send(206, body[start : end + 1], ctype, headers)
        if truncate:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        return self._send(200, body, ctype, headers)

    def _answer(self, answer: Any, query: dict[str, str]) -> None:
        status = 200
        if callable(answer):
            status, answer = answer(query)
        if isinstance(answer, bytes):
            return self._send(status, answer, "application/octet-stream")
        return self._json(status, answer)

    # ------------------------------------------------------------------ dynamic routes
    def _geom(self, query: dict[str, str]) -> Any:
        try:
            return shape(json.loads(query["geom"]))
        except (KeyError, ValueError, TypeError, AttributeError):
            return None

    def _gpu(self, resource: str, query: dict[str, str]) -> None:
        geom = self._geom(query)
        if geom is None:
            return self._json(400, {"code": 400, "message": "geom: Invalid geometry"})
        feats = self.services.data.gpu.get(resource, [])
        if "categorie" in query:
            feats = [f for f in feats if f["properties"].get("suptype") == query["categorie"].lower()]
        hits = [f for f in feats if shape(f["geometry"]).intersects(geom)]
        returned = hits[: self.services.gpu_cap]  # _start/_limit ignored, capped
        self._json(200, {
            "type": "FeatureCollection", "features": returned, "totalFeatures": len(hits),
            "numberMatched": len(hits), "numberReturned": len(returned), "timeStamp": "2025-11-27T10:00:00.000Z",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
        })  # fmt: skip
        return None

    def _nature(self, resource: str, query: dict[str, str]) -> None:
        geom = self._geom(query)
        if geom is None:
            return self._json(400, {"code": 400, "message": "geom: Invalid geometry"})
        start, limit = int(query.get("_start", 0)), int(query.get("_limit", 1000))
        if not 1 <= limit <= 1000:
            return self._json(400, {"code": 400, "message": "_limit must be between 1 and 1000"})
        hits = [f for f in self.services.data.nature.get(resource, []) if shape(f["geometry"]).intersects(geom)]
        page = hits[start : start + limit]
        nxt = f"http://localhost/api/nature/{resource}?_start={start + limit}&_limit={limit}"
        self._json(200, {
            "type": "FeatureCollection", "features": page, "totalFeatures": len(hits), "numberMatched": len(hits),
            "numberReturned": len(page), "timeStamp": "2025-11-27T10:00:00.000Z",
            "links": [{"href": nxt, "rel": "next", "type": "application/json"}],
        })  # fmt: skip
        return None

    def _friches(self, path: str, query: dict[str, str]) -> None:
        if not path.endswith("/"):
            return self._send(404, b"Not Found", "text/plain")
        codes = [c for c in query.get("code_insee", "").split(",") if c]
        if len(codes) > 10:
            return self._json(400, {"detail": "10 codes INSEE au maximum"})
        size, page = int(query.get("page_size", 100)), int(query.get("page", 1))
        hits = [f for f in self.services.data.friches if not codes or f["properties"]["comm_insee"] in codes]
        pages = max(1, math.ceil(len(hits) / size))
        if page > pages:
            return self._json(404, {"detail": "Page non valide."})
        host = f"http://{self.headers.get('Host')}"

        def link(p: int) -> str:
            q = urllib.parse.urlencode({"code_insee": ",".join(codes), "page": p, "page_size": size})
            return f"{host}/cartofriches/geofriches/?{q}"

        self._json(200, {
            "type": "FeatureCollection", "count": len(hits), "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if page > 1 else None,
            "features": [_geofriches_feature(f) for f in hits[(page - 1) * size : page * size]],
        })  # fmt: skip
        return None

    def _geo_communes(self, query: dict[str, str]) -> None:
        code = query.get("code")
        feats = [f for f in self.services.data.communes if f["properties"]["code"] == code]
        if query.get("geometry") != "contour":
            feats = [{**f, "geometry": mapping(shape(f["geometry"]).representative_point())} for f in feats]
        self._json(200, {"type": "FeatureCollection", "features": feats})

    def _georisques(self, query: dict[str, str]) -> None:
        lat0, lon0, lat1, lon1 = (float(v) for v in query["BBOX"].split(",")[:4])
        box = shapely.box(lon0, lat0, lon1, lat1)
        count, start = int(query.get("COUNT", 1000)), int(query.get("STARTINDEX", 0))
        hits = [f for f in self.services.data.georisques if shape(f["geometry"]).intersects(box)]
        page = hits[start : start + count]
        self._json(200, {"type": "FeatureCollection", "numberMatched": len(hits), "numberReturned": len(page),
                         "features": page})  # fmt: skip


def _geofriches_feature(feat: dict[str, Any]) -> dict[str, Any]:
    """A Cartofriches file feature as the ``geofriches`` API serialises it (django-rest-framework-gis
    ``GeoFeatureModelSerializer`` with ``id_field = "site_id"``): the site id is the feature's ``id`` and is
    no longer among the properties."""
    props = dict(feat["properties"])
    site_id = props.pop("site_id")
    return {"id": site_id, "type": "Feature", "geometry": feat["geometry"], "properties": props}


# ---------------------------------------------------------------------------------------------- served tree
def _square(lon: float, lat: float, half_m: float) -> Any:
    dlat = half_m / 111_000.0
    dlon = half_m / (111_000.0 * math.cos(math.radians(lat)))
    return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def _etalab_file(features: list[dict[str, Any]]) -> bytes:
    """An Etalab cadastre file: a FeatureCollection written one feature per line, gzipped."""
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features)
    text = '{"type":"FeatureCollection","features":[\n' + lines + "\n]}\n"
    return gzip.compress(text.encode("utf-8"))


def _etalab_buildings(parcels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Etalab cadastre buildings (``type`` 01/02, ``nom``, ``commune``, ``created``, ``updated``): a small
    footprint around the representative point of every other parcel."""
    feats = []
    for i, parcel in enumerate(parcels[::2]):
        geom = shape(parcel["geometry"])
        pt = geom.representative_point()
        box = shapely.box(pt.x - 0.0001, pt.y - 0.00008, pt.x + 0.0001, pt.y + 0.00008).intersection(geom)
        props = {"type": "01" if i % 3 else "02", "nom": None, "commune": parcel["properties"]["commune"],
                 "created": "2009-03-17", "updated": "2024-05-02"}  # fmt: skip
        feats.append({"type": "Feature", "properties": props, "geometry": mapping(box)})
    return feats


def _villers_parcels() -> list[dict[str, Any]]:
    """A few test-made parcels in Villers-Cotterets (02810), Etalab format (no parcel extract there)."""
    feats = []
    for i in range(6):
        lon, lat = 3.0930 + 0.004 * (i % 3), 49.2330 + 0.004 * (i // 3)
        pid = f"02810000AB{i + 1:04d}"
        props = {"id": pid, "commune": "02810", "prefixe": "000", "section": "AB", "numero": str(i + 1),
                 "contenance": 12_000 + 1000 * i, "arpente": False, "created": "2014-01-24",
                 "updated": "2025-06-01"}  # fmt: skip
        if i == 5:
            props.pop("contenance")  # missing values are absent keys
        feats.append({"type": "Feature", "id": pid, "properties": {k: v for k, v in props.items() if k != "id"},
                      "geometry": mapping(_square(lon, lat, 50))})  # fmt: skip
    return feats


def _feature(fid: str | None, props: dict[str, Any], geom: Any) -> dict[str, Any]:
    feat: dict[str, Any] = {"type": "Feature", "geometry": mapping(shapely.MultiPolygon([geom])), "properties": props}
    if fid is not None:
        feat["id"] = fid
    return feat


def _gpu_zone_urba(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """zone-urba features (GPU properties) around each commune's centre: U, UX, AUc, AUs, A, N."""
    kinds = [("U", "UB", "01"), ("U", "UX", "02"), ("AUc", "1AUx", "02"), ("AUs", "2AU", "01"), ("A", "A", "00"),
             ("N", "N", "00")]  # fmt: skip
    feats, gid = [], 1000
    for insee, (lon, lat) in points.items():
        for k, (typezone, libelle, destdomi) in enumerate(kinds):
            gid += 1
            geom = _square(lon + 0.006 * (k % 3 - 1), lat + 0.006 * (k // 3 - 0.5), 200)
            props = {"gid": gid, "partition": f"DU_{insee}", "libelle": libelle, "libelong": f"Zone {libelle}",
                     "typezone": typezone, "destdomi": destdomi, "nomfic": f"{insee}_reglement.pdf",
                     "urlfic": f"https://www.geoportail-urbanisme.gouv.fr/{insee}.pdf", "insee": insee,
                     "datappro": "20190625", "datvalid": "20200101", "idurba": f"{insee}_PLU_20190625"}  # fmt: skip
            feats.append(_feature(f"zone_urba.{gid}", props, geom))
    # economic zones over the parcels, so that the scoring engine finds candidate sites
    for gid, insee, libelle, typezone, box in (
        (2001, "02258", "UX", "U", (3.158, 49.149, 3.192, 49.173)),
        (2002, "02810", "1AUx", "AUc", (3.090, 49.230, 3.104, 49.239)),
    ):
        props = {"gid": gid, "partition": f"DU_{insee}", "libelle": libelle, "libelong": "Zone d'activités",
                 "typezone": typezone, "destdomi": "02", "nomfic": f"{insee}_reglement.pdf",
                 "urlfic": f"https://www.geoportail-urbanisme.gouv.fr/{insee}.pdf", "insee": insee,
                 "datappro": "20190625", "datvalid": "20200101", "idurba": f"{insee}_PLU_20190625"}  # fmt: skip
        feats.append(_feature(f"zone_urba.{gid}", props, shapely.box(*box)))
    return feats


def _gpu_pm1(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    lon, lat = points["02810"]
    base = {"suptype": "pm1", "partition": "172014607_SUP_02_PM1", "idgen": "PM1_02_0001",
            "modegeoass": "Digitalisation", "srcgeoass": "PPRI", "datsrcgeo": "20150101"}  # fmt: skip
    return [
        _feature("assiette_sup_s.1", {**base, "gid": 1, "idass": "A1", "nomass": "Zone rouge du PPRI de l'Automne",
                                      "typeass": "Zone réglementée"}, _square(lon - 0.01, lat - 0.01, 300)),
        _feature("assiette_sup_s.2", {**base, "gid": 2, "idass": "A2", "nomass": "Zone bleue du PPRI de l'Automne",
                                      "typeass": "Zone réglementée"}, _square(lon + 0.01, lat - 0.01, 300)),
        _feature("assiette_sup_s.3", {**base, "gid": 3, "idass": "A3", "nomass": "Périmètre du PPRI",
                                      "typeass": "Périmètre"}, _square(lon, lat, 900)),
        _feature("assiette_sup_s.4", {**base, "suptype": "ac1", "gid": 4, "idass": "M1", "nomass": "Monument",
                                      "typeass": "Périmètre des abords"}, _square(lon, lat + 0.01, 300)),
    ]  # fmt: skip


def _nature(points: dict[str, tuple[float, float]]) -> dict[str, list[dict[str, Any]]]:
    lon, lat = points["02810"]
    retz = {"sitecode": "FR2200398", "sitename": "Massif forestier de Retz",
            "url": "https://inpn.mnhn.fr/site/natura2000/FR2200398"}  # fmt: skip
    ourcq = {"id_mnhn": "220120045", "nom": "Vallée de l'Ourcq", "url": "https://inpn.mnhn.fr/zone/znieff/220120045"}
    return {
        "natura-habitat": [_feature("natura_habitat.7", retz, _square(lon - 0.02, lat + 0.02, 1500))],
        "natura-oiseaux": [],
        "znieff1": [
            _feature(f"znieff1.{i}", {"id_mnhn": f"22002000{i}", "nom": f"ZNIEFF test {i}",
                                      "url": f"https://inpn.mnhn.fr/zone/znieff/22002000{i}"},
                     _square(lon + 0.01 * i, lat + 0.02, 250))
            for i in range(3)
        ],
        "znieff2": [_feature("znieff2.1", ourcq, _square(3.18, 49.15, 2500))],
    }  # fmt: skip


def _georisques(points: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    lon, lat = points["02810"]
    return [
        {"type": "Feature", "id": "PPRN_ZONE_INOND.1", "geometry": mapping(_square(lon - 0.01, lat, 300)),
         "properties": {"id_zone": "z1", "code_zone_reglement": "R1", "lib_zone_reglement": "Zone rouge"}},
        {"type": "Feature", "id": "PPRN_ZONE_INOND.2", "geometry": mapping(_square(lon + 0.01, lat, 300)),
         "properties": {"id_zone": "z2", "code_zone_reglement": "B2", "lib_zone_reglement": "Zone bleue"}},
    ]  # fmt: skip


def write_osm_network(path: Path) -> None:
    """A small routable network written with osmium: a trunk (N2) with a motorway_junction towards Roissy,
    links, primary/tertiary/residential roads sharing nodes, one-way variants, and roads that must be dropped."""
    import osmium
    from osmium.osm.mutable import Node, Way

    nodes = {
        # trunk N2 from the territory towards Roissy-CDG
        1: (3.110, 49.300), 2: (3.070, 49.260), 3: (3.000, 49.200), 4: (2.800, 49.100), 5: (2.600, 49.030),
        # motorway A1 near CDG (far outside the territory, kept as a main road)
        6: (2.560, 49.000), 7: (2.580, 49.060),
        # primary from the junction area east to Dammard, crossing a residential street at node 13
        11: (3.075, 49.255), 12: (3.100, 49.230), 13: (3.130, 49.200), 14: (3.160, 49.160),
        # residential crossing the primary at 13
        21: (3.125, 49.205), 22: (3.135, 49.195),
        # tertiary one-way, residential oneway=-1, roundabout
        31: (3.160, 49.160), 32: (3.180, 49.150), 33: (3.190, 49.170), 34: (3.170, 49.175),
        # a footway (dropped), a proposed road (dropped), a residential street near Paris (dropped)
        41: (3.160, 49.165), 42: (3.165, 49.168), 51: (2.300, 48.850), 52: (2.310, 48.860),
        # trunk_link from the untagged trunk junction at node 4 to a primary near it
        61: (2.810, 49.095), 62: (2.820, 49.090),
    }  # fmt: skip
    tagged = {2: {"highway": "motorway_junction", "ref": "12", "name": "Villers-Cotterêts"}}
    ways = [
        (100, [1, 2, 3, 4, 5], {"highway": "trunk", "ref": "N 2", "maxspeed": "110", "name": "Route nationale 2"}),
        (101, [6, 7, 5], {"highway": "motorway", "ref": "A 1"}),
        (102, [2, 11], {"highway": "trunk_link", "oneway": "yes"}),
        (103, [11, 12, 13, 14], {"highway": "primary", "maxspeed": "FR:rural", "ref": "D 936"}),
        (104, [21, 13, 22], {"highway": "residential", "maxspeed": "30 mph", "name": "Rue du test"}),
        (105, [14, 32], {"highway": "tertiary", "oneway": "yes", "maxspeed": "none"}),
        (106, [32, 33], {"highway": "residential", "oneway": "-1"}),
        (107, [33, 34, 14], {"highway": "tertiary", "junction": "roundabout"}),
        (108, [41, 42], {"highway": "footway"}),
        (109, [42, 33], {"highway": "proposed"}),
        (110, [51, 52], {"highway": "residential"}),
        (111, [4, 61, 62], {"highway": "trunk_link"}),
        (112, [62, 12], {"highway": "primary"}),
    ]
    if path.exists():
        path.unlink()
    header = osmium.io.Header()
    header.set("osmosis_replication_timestamp", OSM_TIMESTAMP)
    writer = osmium.SimpleWriter(str(path), header=header)
    try:
        for nid in sorted(nodes):
            writer.add_node(Node(id=nid, location=nodes[nid], tags=tagged.get(nid, {})))
        for wid, refs, tags in ways:
            writer.add_way(Way(id=wid, nodes=refs, tags=tags))
    finally:
        writer.close()


def dem_value(lon: np.ndarray | float, lat: np.ndarray | float) -> np.ndarray:
    """Elevation of the test DEM (metres): a smooth slope, known everywhere."""
    return np.asarray(50.0 + 100.0 * (np.asarray(lat) - 49.0) + 40.0 * (np.asarray(lon) - 3.0), dtype="float32")


def write_dem_tile(path: Path, lon0: int, lat0: int) -> None:
    """A Copernicus-like tile: EPSG:4326, float32, pixel centres on the degree lines (origin half a pixel off)."""
    import rasterio
    from affine import Affine

    n = round(1 / DEM_RES)
    transform = Affine(DEM_RES, 0.0, lon0 - DEM_RES / 2, 0.0, -DEM_RES, lat0 + 1 + DEM_RES / 2)
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    lon = lon0 + cols * DEM_RES
    lat = lat0 + 1 - rows * DEM_RES
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "float32", "crs": "EPSG:4326",
               "transform": transform, "tiled": True, "blockxsize": 128, "blockysize": 128,
               "compress": "deflate"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dem_value(lon, lat), 1)


@dataclass
class Served:
    root: Path
    data: ServiceData
    parcel_counts: dict[str, int]


def build_served(root: Path, real: Path) -> Served:
    """Lay out the official services under ``root`` from the real extracts and small written files."""
    # parcels: Etalab files per commune at their official path (dated edition; 'latest' redirects to it)
    excerpt = json.loads((real / "cadastre-02-parcelles-excerpt-retz.geojson").read_text("utf-8"))
    by_commune: dict[str, list[dict[str, Any]]] = {}
    for feat in excerpt["features"]:
        by_commune.setdefault(feat["properties"]["commune"], []).append(feat)
    by_commune["02810"] = _villers_parcels()
    counts = {}
    for insee, feats in by_commune.items():
        target = (
            root
            / "cadastre"
            / CADASTRE_EDITION
            / "geojson"
            / "communes"
            / insee[:2]
            / insee
            / f"cadastre-{insee}-parcelles.json.gz"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_etalab_file(feats))
        counts[insee] = len(feats)
        # buildings: the Etalab 'batiments' file of the same commune (a house on every other parcel)
        buildings = target.with_name(f"cadastre-{insee}-batiments.json.gz")
        buildings.write_bytes(_etalab_file(_etalab_buildings(feats)))

    # communes as geo.api.gouv.fr answers /epcis/{siren}/communes?format=geojson&geometry=contour
    population = {}
    with (real / "territoire_communes_epci_2026.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            population[row["insee"]] = int(row["population"])
    outlines = json.loads((real / "territoire_communes_epci.geojson").read_text("utf-8"))
    communes = []
    by_epci: dict[str, list[dict[str, Any]]] = {}
    for feat in outlines["features"]:
        p = feat["properties"]
        props = {
            "nom": p["nom"],
            "code": p["code"],
            "population": population.get(p["code"]),
            "codeEpci": p["epci_siren"],
        }
        out = {"type": "Feature", "geometry": feat["geometry"], "properties": props}
        communes.append(out)
        by_epci.setdefault(p["epci_siren"], []).append(out)
    for siren, feats in by_epci.items():
        target = root / "geo" / "epcis" / siren / "communes"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")

    # geo.api.gouv.fr /departements/{code}/communes?format=geojson&geometry=contour (labour pool, issue 12):
    # the real IGN outlines of the Aisne and the Oise (code, nom; the population only where the territory's
    # INSEE table gives it: the extracts carry none)
    for dep, name in (("02", "communes-02-aisne.geojson"), ("60", "communes-60-oise.geojson")):
        src = json.loads((real / name).read_text("utf-8"))["features"]
        feats = [
            {"type": "Feature", "geometry": f["geometry"],
             "properties": {"nom": f["properties"]["nom"], "code": f["properties"]["code"],
                            "population": population.get(f["properties"]["code"])}}
            for f in src
        ]  # fmt: skip
        target = root / "geo" / "departements" / dep / "communes"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), "utf-8")

    # SNCF Opendatasoft exports (plain FeatureCollections)
    for dataset, name in (
        ("liste-des-gares", "sncf_gares_zone.geojson"),
        ("regime-dexploitation-des-lignes", "sncf_lignes_zone.geojson"),
    ):
        src = json.loads((real / name).read_text("utf-8"))
        target = root / "sncf" / dataset / "exports" / "geojson"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"type": "FeatureCollection", "features": src["features"]}), "utf-8")

    # Cartofriches (served as geofriches pages)
    friches = json.loads((real / "cartofriches_territoire.geojson").read_text("utf-8"))["features"]

    # OSM extract and its .md5 (Geofabrik layout)
    pbf = root / "osm" / OSM_PATH
    pbf.parent.mkdir(parents=True, exist_ok=True)
    write_osm_network(pbf)
    md5 = hashlib.md5(pbf.read_bytes(), usedforsecurity=False).hexdigest()
    pbf.with_name(pbf.name + ".md5").write_text(f"{md5}  {pbf.name}\n", "ascii")

    # Copernicus-like DEM tiles
    from foncier.layers.fetch.dem import tile_name

    for lon0, lat0 in ((3, 49), (2, 49)):
        name = tile_name(lon0, lat0)
        write_dem_tile(root / "dem" / name / f"{name}.tif", lon0, lat0)

    centres = {}
    for feat in communes:
        if feat["properties"]["code"] in TEST_COMMUNES:
            pt = shape(feat["geometry"]).representative_point()
            centres[feat["properties"]["code"]] = (pt.x, pt.y)
    data = ServiceData(
        communes=communes,
        gpu={
            "zone-urba": _gpu_zone_urba(centres),
            "assiette-sup-s": _gpu_pm1(centres),
            "secteur-cc": gpu_answers.secteur_cc(centres),
            "municipality": gpu_answers.municipality(centres),
            "prescription-surf": gpu_answers.prescription_surf(centres),
        },
        nature={**_nature(centres), "rnn": gpu_answers.nature_reserves(centres)},
        friches=friches,
        georisques=_georisques(centres),
    )
    return Served(root=root, data=data, parcel_counts=counts)


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def served(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Served:
    """The served tree (built once per session from ../shared/data/real; skipped when it is absent)."""
    return build_served(tmp_path_factory.mktemp("services"), real_data)


@pytest.fixture
def services(served: Served) -> Iterator[Services]:
    """A fresh server on 127.0.0.1 (random port) over the served tree, with its own copy of the dynamic
    routes' tables (a test may replace a table, e.g. ``services.data.gpu["zone-urba"] = []``, without
    changing what the next tests are served)."""
    d = served.data
    data = ServiceData(communes=list(d.communes), gpu=dict(d.gpu), nature=dict(d.nature), friches=list(d.friches),
                       georisques=list(d.georisques))  # fmt: skip
    svc = Services(served.root, data)
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def fetch_settings(tmp_path: Path, services: Services) -> Any:
    """Settings pointing at the test server, with short timeouts and backoff."""
    from foncier.layers.fetch.settings import FetchSettings

    return FetchSettings(
        cache_dir=tmp_path / "cache",
        retries=2,
        backoff_base=0.001,
        backoff_max=0.01,
        retry_after_max=0.05,
        connect_timeout=2.0,
        read_timeout=0.25,
    ).with_source_urls(services.source_urls())


@pytest.fixture
def territory_file(tmp_path: Path) -> Path:
    """A test territory: four communes of CC Retz-en-Valois (three with real parcels)."""
    path = tmp_path / "test-retz.yaml"
    path.write_text(
        "name: test-retz\n"
        "title: Test Retz-en-Valois (4 communes)\n"
        f'epcis: [{{siren: "{TERRITORY_EPCI}", nom: CC Retz-en-Valois}}]\n'
        f"communes: [{', '.join(repr(c) for c in TEST_COMMUNES)}]\n"
        "labour_departments: ['02', '60']\n"
        "hubs:\n"
        "  - {hub_id: CDG, nom: Paris-Charles de Gaulle, kind: airport, lon: 2.55, lat: 49.0128}\n"
        f"osm_extracts: [{OSM_PATH}]\n",
        "utf-8",
    )
    return path


def cli_args(services: Services, ws: Path, territory: Path, cache: Path, *extra: str) -> list[str]:
    """Arguments of ``foncier fetch`` into ``ws`` for ``territory`` with the test ``services``' URLs, then ``extra``."""
    args = ["fetch", "--workspace", str(ws), "--territory", str(territory), "--cache-dir", str(cache), "--no-progress"]
    for name, url in services.source_urls().items():
        args += ["--source-url", f"{name}={url}"]
    return [*args, *extra]


@pytest.fixture
def fast_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """One retry, millisecond backoff and a 2 s read timeout for ``foncier fetch`` run from the CLI (environment)."""
    for key, value in {"RETRIES": "1", "BACKOFF_BASE": "0.001", "BACKOFF_MAX": "0.01", "READ_TIMEOUT": "2"}.items():
        monkeypatch.setenv(f"FONCIER_FETCH_{key}", value)


def cache_files(cache: Path) -> list[Path]:
    """Files of the cache's entries area (``files/``), sidecars excluded."""
    files = cache / "files"
    return (
        sorted(p for p in files.rglob("*") if p.is_file() and not p.name.endswith(".meta.json"))
        if files.exists()
        else []
    )


@pytest.fixture
def ctx(services: Services, fetch_settings: Any, territory_file: Path) -> Any:
    """A fetch context on the local test services, with the territory's communes already fetched."""
    from foncier.layers.fetch.http import HttpClient
    from foncier.layers.fetch.sources import FetchContext, fetch_communes
    from foncier.layers.fetch.territory import load_territory

    context = FetchContext(
        client=HttpClient(fetch_settings, sleep=lambda _: None), territory=load_territory(territory_file)
    )
    communes = fetch_communes(context)
    assert communes.complete, communes.failures
    context.communes = communes.layers["communes"]
    services.reset_log()
    return context

"""Benchmark of the foncier API against pygeoapi on the same GeoPackage, with the peerbench harness.

Usage (from the repository root; about 12 minutes with the defaults)::

    .venv/bin/python benchmarks/bench_api.py [--workspace DIR] [--pb-home /tmp/pb] [--out DIR]

What it does, on 127.0.0.1 only:

1. Builds the full synthetic sample (about 160,000 parcels) and runs the scoring pipeline into
   ``--workspace`` when it holds no GeoPackage yet (about 35 s).
2. Writes the query lists from the workspace (fixed seed): 200 bboxes of 300 m x 300 m (lon/lat) centred on
   random parcels, 200 random parcel ids, 200 z14 tiles (the first over Soissons).
3. Serves the workspace with ``uvicorn --factory foncier.api.app:create_app_from_env --workers 2`` (uvloop
   and httptools, as peerbench's RESULTS.md advises) and runs peerbench's ``bench.py run`` (wrk, 1 thread,
   closed loop, concurrency 1 and 16) on: OGC items by bbox (limit=100), OGC single item, ``/parcels`` bbox
   pages of 100, ``/parcels/{id}`` (the full detail: zoning, risks, site, score), z14 tiles, the Soissons
   z14 tile alone.
4. Serves the same ``foncier.gpkg`` with pygeoapi (OGR provider, ``storage_crs`` EPSG:2154, gunicorn with 2
   sync workers: peerbench's fastest setup) from the separate venv ``--pb-home``/venv (pygeoapi is never a
   dependency of foncier; see peerbench's setup.sh), and runs the same bbox and item lists.
5. Prints the table (``bench.py table``), writes it to ``--out``/summary.md, and exits 1 when a budget is
   missed: the Soissons z14 tile's median (1 client) must stay under 50 ms, and foncier must serve more
   requests per second than pygeoapi on every bbox and item run. Without pygeoapi's venv the comparison is
   skipped (with a message).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PEERBENCH = ROOT.parent / "shared" / "tools" / "peerbench"

PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  gzip: false
  languages: [en-US]
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 1000}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification:
    title: {{en: foncier benchmark peer}}
    description: {{en: the foncier workspace GeoPackage served by pygeoapi}}
    keywords: {{en: [cadastre]}}
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: http://127.0.0.1:{port}
  license: {{name: CC-BY 4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}}
  provider: {{name: foncier, url: 'http://127.0.0.1:{port}'}}
  contact: {{name: bench, position: bench, address: none, city: Soissons, stateorprovince: Aisne,
            postalcode: '02200', country: France, email: bench@example.org, url: 'http://127.0.0.1:{port}',
            role: pointOfContact}}
resources:
  parcels:
    type: collection
    title: Parcels (OGR provider over foncier.gpkg, EPSG:2154)
    description: parcels of the foncier workspace
    keywords: [parcels]
    links: []
    extents:
      spatial: {{bbox: [{bbox}], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: OGR
        data: {{source_type: GPKG, source: {gpkg}}}
        id_field: parcel_id
        layer: parcels
        storage_crs: http://www.opengis.net/def/crs/EPSG/0/2154
"""


def log(message: str) -> None:
    print(f"[bench_api {time.strftime('%H:%M:%S')}] {message}", flush=True)


def build_workspace(path: Path) -> None:
    """Build the full sample territory and score it into ``path``."""
    from foncier.layers.ingest import store_sample
    from foncier.layers.sample import build_sample_territory
    from foncier.layers.workspace import Workspace
    from foncier.pipeline import run_pipeline

    log(f"building the full sample territory into {path} ...")
    sample = build_sample_territory("full", seed=2023)
    ws = Workspace.create(path, territory=sample.territory, synthetic=True, extra_metadata={"seed": "2023"})
    store_sample(ws, sample)
    run_pipeline(Workspace.open(path))


def make_queries(gpkg: Path, qdir: Path, n: int = 200, seed: int = 20240601) -> dict[str, object]:
    """Query lists from the workspace (bboxes around random parcels, ids, z14 tiles)."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    from foncier.api.store import decode_geometries
    from foncier.api.tiles import tile_for_lonlat

    rng = random.Random(seed)
    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    (count,) = con.execute("SELECT max(fid) FROM parcels").fetchone()
    fids = rng.sample(range(1, count + 1), n)
    rows = [con.execute("SELECT parcel_id, geom FROM parcels WHERE fid = ?", (f,)).fetchone() for f in fids]
    ids = [r[0] for r in rng.sample(rows, n)]
    geoms = decode_geometries([r[1] for r in rows])
    con.close()
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    lon, lat = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True).transform(centres[:, 0], centres[:, 1])
    bboxes = []
    for x, y in zip(lon, lat, strict=True):
        dlat = 150.0 / 111320.0
        dlon = 150.0 / (111320.0 * math.cos(math.radians(y)))
        bboxes.append(f"{x - dlon:.6f},{y - dlat:.6f},{x + dlon:.6f},{y + dlat:.6f}")
    soissons = tile_for_lonlat(3.3236, 49.3817, 14)
    tiles = [soissons, *[tile_for_lonlat(float(a), float(b), 14) for a, b in zip(lon, lat, strict=True)][: n - 1]]
    qdir.mkdir(parents=True, exist_ok=True)
    (qdir / "bboxes.txt").write_text("\n".join(bboxes) + "\n")
    (qdir / "ids.txt").write_text("\n".join(ids) + "\n")
    (qdir / "tiles_z14.txt").write_text("\n".join(f"14/{x}/{y}" for x, y in tiles) + "\n")
    (qdir / "tile_soissons_z14.txt").write_text(f"14/{soissons[0]}/{soissons[1]}\n")
    all_lon = np.asarray(lon)
    all_lat = np.asarray(lat)
    return {"bbox": [float(all_lon.min()), float(all_lat.min()), float(all_lon.max()), float(all_lat.max())]}


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"server did not answer {url} in {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started here (its process group, by our own pid)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workspace",
        type=Path,
        default=Path(tempfile.gettempdir()) / "foncier-bench-full-ws",
        help="workspace with the full sample (built there when missing)",
    )
    ap.add_argument("--peerbench", type=Path, default=DEFAULT_PEERBENCH)
    ap.add_argument(
        "--pb-home",
        type=Path,
        default=Path(os.environ.get("PEERBENCH_HOME", "/tmp/pb")),
        help="peerbench home with venv/ holding pygeoapi and gunicorn (peerbench setup.sh)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "api")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--pygeoapi-port", type=int, default=5000)
    ap.add_argument("--skip-pygeoapi", action="store_true")
    a = ap.parse_args()

    gpkg = a.workspace / "foncier.gpkg"
    if not gpkg.exists():
        build_workspace(a.workspace)
    # peerbench's bench.py and wrk script, copied so that its query folder is ours
    harness = a.out / "harness"
    harness.mkdir(parents=True, exist_ok=True)
    for name in ("bench.py", "wrk_urls.lua"):
        shutil.copy(a.peerbench / name, harness / name)
    info = make_queries(gpkg, harness / "queries")
    results = a.out / "results"
    common = [
        "--duration",
        str(a.duration),
        "--warmup",
        str(a.warmup),
        "--repeat",
        str(a.repeat),
        "--concurrency",
        "1,16",
        "--out",
        str(results),
    ]
    bench = [sys.executable, str(harness / "bench.py"), "run"]

    # ---- foncier (prepare the indexes once, so that both workers start on a ready file)
    from foncier.api.store import GeoPackageStore

    log(f"serving indexes: {GeoPackageStore(a.workspace).index_status}")
    env = {**os.environ, "FONCIER_API_WORKSPACE": str(a.workspace)}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "foncier.api.app:create_app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(a.port),
        "--workers",
        "2",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log("starting foncier: " + " ".join(cmd))
    server = subprocess.Popen(cmd, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{a.port}"
    labels = []
    try:
        wait_up(f"{base}/health", server)
        runs = [
            ("foncier-ogc", ["--items-template", "/ogc/collections/parcels/items?bbox={bbox}&limit=100",
                             "--item-template", "/ogc/collections/parcels/items/{id}",
                             "--tile-template", "/tiles/parcels/{z}/{x}/{y}.pbf", "--scenarios", "bbox,item,tile"]),
            ("foncier-api", ["--items-template", "/parcels?bbox={bbox}&limit=100",
                             "--item-template", "/parcels/{id}", "--scenarios", "bbox,item"]),
            ("foncier-tile-soissons", ["--tile-template", "/tiles/parcels/{z}/{x}/{y}.pbf", "--scenarios", "tile",
                                       "--tiles-file", str(harness / "queries" / "tile_soissons_z14.txt")]),
        ]  # fmt: skip
        for label, extra in runs:
            log(f"run {label}")
            subprocess.run([*bench, "--base-url", base, "--label", label, *common, *extra,
                            "--note", "foncier API, uvicorn --workers 2 (uvloop, httptools), full sample"],
                           check=True)  # fmt: skip
            labels.append(label)
    finally:
        stop(server)

    # ---- pygeoapi on the same GeoPackage
    if not a.skip_pygeoapi:
        venv = a.pb_home / "venv" / "bin"
        if not (venv / "gunicorn").exists():
            log(f"no pygeoapi venv at {venv}: the comparison is skipped (install it with peerbench's setup.sh)")
            a.skip_pygeoapi = True
    if not a.skip_pygeoapi:
        conf_dir = a.out / "pygeoapi"
        conf_dir.mkdir(parents=True, exist_ok=True)
        bbox = ", ".join(f"{v:.4f}" for v in info["bbox"])  # type: ignore[union-attr]
        config = conf_dir / "pygeoapi-config.yml"
        config.write_text(PYGEOAPI_CONFIG.format(port=a.pygeoapi_port, gpkg=gpkg.resolve(), bbox=bbox))
        openapi = conf_dir / "pygeoapi-openapi.yml"
        penv = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        subprocess.run([str(venv / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
                       env=penv, check=True, capture_output=True)  # fmt: skip
        pcmd = [str(venv / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{a.pygeoapi_port}", "--backlog", "2048",
                "pygeoapi.flask_app:APP"]  # fmt: skip
        log("starting pygeoapi: " + " ".join(pcmd))
        peer_log = (conf_dir / "pygeoapi.log").open("wb")
        peer = subprocess.Popen(pcmd, env=penv, start_new_session=True, stdout=peer_log, stderr=subprocess.STDOUT)
        pbase = f"http://127.0.0.1:{a.pygeoapi_port}"
        try:
            wait_up(f"{pbase}/collections?f=json", peer)
            subprocess.run([*bench, "--base-url", pbase, "--label", "pygeoapi-ogr-l93", *common,
                            "--items-template", "/collections/parcels/items?f=json&bbox={bbox}&limit=100",
                            "--item-template", "/collections/parcels/items/{id}?f=json", "--scenarios", "bbox,item",
                            "--note", "pygeoapi OGR provider on the same foncier.gpkg (EPSG:2154 storage_crs), "
                                      "gunicorn -w 2 sync"], check=True)  # fmt: skip
            labels.append("pygeoapi-ogr-l93")
        finally:
            stop(peer)
    table = subprocess.run([sys.executable, str(harness / "bench.py"), "table", *labels, "--out", str(results)],
                           check=True, capture_output=True, text=True).stdout  # fmt: skip
    (a.out / "summary.md").write_text(table)
    print(table)
    raise SystemExit(check_budgets(results, with_peer=not a.skip_pygeoapi))


def _run(results: Path, label: str, scenario: str, conc: int) -> dict[str, float]:
    data = json.loads((results / label / "result.json").read_text())
    run: dict[str, float] = next(r for r in data["scenarios"][scenario]["runs"] if r["concurrency"] == conc)
    return run


def check_budgets(results: Path, *, with_peer: bool) -> int:
    """1 when a budget is missed: Soissons z14 tile median >= 50 ms, or pygeoapi as fast as foncier."""
    failures = []
    soissons = _run(results, "foncier-tile-soissons", "tile", 1)["p50_ms"]
    log(f"Soissons z14 tile, 1 client: median {soissons:.1f} ms (budget 50 ms)")
    if soissons >= 50:
        failures.append(f"Soissons tile median {soissons:.1f} ms >= 50 ms")
    if with_peer:
        for scenario in ("bbox", "item"):
            for conc in (1, 16):
                ours = _run(results, "foncier-ogc", scenario, conc)["rps"]
                peer = _run(results, "pygeoapi-ogr-l93", scenario, conc)["rps"]
                log(f"{scenario} c={conc}: foncier {ours:.0f} req/s, pygeoapi {peer:.0f} req/s ({ours / peer:.1f}x)")
                if ours <= peer:
                    failures.append(f"{scenario} c={conc}: foncier not faster than pygeoapi")
    for f in failures:
        log("BUDGET MISSED: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# foncier's vector tiles against tipg on peerbench's 200 z14 tiles (docs/BENCHMARKS.md, "Vector tiles at
# tile-server speed"). foncier is run as users run it (`foncier serve --workers 2`), with its tile cache on
# (the default) and off; tipg (2 uvicorn workers over PostGIS) right after, on the same data and machine.
#
# Usage (from the repository root; peerbench set up in $PEERBENCH_HOME by its own setup.sh, its parcels
# loaded in PostGIS by load_postgis.py, and copied as the workspace's GeoPackage):
#   mkdir -p /tmp/pbws && cp "$PEERBENCH_HOME/parcels.gpkg" /tmp/pbws/foncier.gpkg
#   PEERBENCH_HOME=/tmp/pb bash benchmarks/peer_tiles.sh [/tmp/pbws]
# Results: $PEERBENCH_HOME/results/<label>/result.json and the table printed at the end. PEER_ARGS adds options
# to every `bench.py run` (a quick check of the script: PEER_ARGS="--duration 3 --warmup 1 --repeat 1").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WS=${1:-/tmp/pbws}
PB=${PEERBENCH_HOME:?set PEERBENCH_HOME to the peerbench folder, see ../shared/tools/peerbench/README.md}
PORT=${FONCIER_PORT:-8090}
[ -f "$WS/foncier.gpkg" ] || { echo "no $WS/foncier.gpkg: copy peerbench's parcels.gpkg there" >&2; exit 2; }
cd "$PB"
wait_up() { for _ in $(seq 240); do curl -sf "$1" >/dev/null && return 0; sleep 0.5; done; echo "not up: $1" >&2; return 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

run_foncier() {  # label tile-cache-MB
  FONCIER_API_TILE_CACHE_MB=$2 "$ROOT/.venv/bin/foncier" serve -w "$WS" --workers 2 --port "$PORT" &
  local pid=$!
  wait_up "http://127.0.0.1:$PORT/health"
  sleep 6  # each worker builds its tile index in the background at start-up
  echo "== $1 $(date -u +%H:%M:%S) load $(load)"
  venv/bin/python bench.py run --base-url "http://127.0.0.1:$PORT" --label "$1" --scenarios tile \
      --tile-template "/tiles/parcels/{z}/{x}/{y}.pbf" ${PEER_ARGS:-}
  kill -TERM "$pid"; wait "$pid" || true
}

./start_pg.sh
run_foncier foncier-tiles-cached 128
run_foncier foncier-tiles-nocache 0
./start_tipg.sh 2
wait_up http://127.0.0.1:8081/collections
echo "== tipg $(date -u +%H:%M:%S) load $(load)"
venv/bin/python bench.py run --preset tipg --base-url http://127.0.0.1:8081 --label tipg --scenarios tile ${PEER_ARGS:-}
./stop_all.sh
venv/bin/python bench.py table foncier-tiles-cached foncier-tiles-nocache tipg

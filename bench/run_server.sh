#!/usr/bin/env bash
# make bench (server part): time from submitting a query with a syntax error to its FAILED state,
# through the HTTP API of `loch serve` on the 10M-event lake. Goal: p99 under 50 ms.
# Usage: bench/run_server.sh BUILD_DIR     Environment: BENCH_EVENTS (10000000)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
events=${BENCH_EVENTS:-10000000}
lake=$PWD/out/lake-$events
[[ -e $lake/.loch/catalog.sqlite ]] || { echo "run bench/run.sh first (it prepares $lake)" >&2; exit 1; }
"$build/src/cli/loch" init --lake "$lake" >/dev/null  # adds admin credentials to lakes made before they existed
port=$(( 20000 + RANDOM % 20000 ))
"$build/src/cli/loch" serve --lake "$lake" --http "127.0.0.1:$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
token=$(node -e "console.log(require('$lake/.loch/admin-credentials.json').token)")
{
  echo
  echo "## Fast failure through the HTTP API (ms)"
  echo
  echo "| case | p50 | p99 | max |"
  echo "|---|---:|---:|---:|"
  node fast_fail.mjs "http://127.0.0.1:$port" "$token" 500
} | tee "$PWD/out/results-server.md"

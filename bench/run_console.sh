#!/usr/bin/env bash
# make bench (console): the first paint of a 6-tile dashboard on a lake of BENCH_EVENTS (default
# 10,000,000) clickstream events, in headless Chromium; see console.mjs.
# Usage: bench/run_console.sh BUILD_DIR
set -euo pipefail
build=$(realpath "${1:-build}")
loch=$build/src/cli/loch
events=${BENCH_EVENTS:-10000000}
work=$(mktemp -d /tmp/loch-bench-console.XXXXXX)
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
lake=$work/lake
echo "console bench: generating and loading $events events (once)"
"$loch" init --lake "$lake" >/dev/null
"$loch" generate --out "$work/data" --events "$events" --seed 7 >/dev/null
"$loch" load "$work/data/events" --table shop.events --lake "$lake" >/dev/null
"$loch" load "$work/data/orders.json" --table shop.orders --lake "$lake" >/dev/null
# Dashboards read curated tables: the events as Parquet, as an ETL job would write them.
"$loch" sql "CREATE TABLE curated.events AS SELECT * FROM shop.events" --lake "$lake" >/dev/null
port=$((20000 + RANDOM % 20000))
"$loch" serve --lake "$lake" --http "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
node "$(dirname "$0")/console.mjs" "http://127.0.0.1:$port" "$lake" "${BENCH_ROUNDS:-7}"

#!/usr/bin/env bash
# make bench (S3 part): on loopback against s3rver (no proxy in between):
#   1. PUT and GET of a 64 MiB object through loch's S3 backend vs. plain curl (MiB/s, ratio);
#   2. a cold vs. a warm query over the 10M-event Parquet table on S3 (time and bytes fetched).
# Usage: bench/run_s3.sh BUILD_DIR     Environment: BENCH_EVENTS (10000000), BENCH_RUNS (5)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
root=$(cd .. && pwd)
loch=$build/src/cli/loch
events=${BENCH_EVENTS:-10000000}
runs=${BENCH_RUNS:-5}
out=$PWD/out
parquet=$out/parquet-$events
[[ -d $parquet ]] || { echo "run bench/run.sh first (it prepares $parquet)" >&2; exit 1; }

data=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
NODE_OPTIONS=--openssl-legacy-provider node "$root/node_modules/s3rver/bin/s3rver.js" \
  -d "$data" -a 127.0.0.1 -p "$port" --silent --configure-bucket bench >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port" >/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1

object=$out/object-64MiB.bin
[[ -f $object ]] || head -c $((64 << 20)) /dev/urandom >"$object"
{
  echo "## S3 backend vs curl (s3rver on loopback, 64 MiB object, median of $runs runs)"
  echo
  echo "| operation | loch MiB/s | curl MiB/s | ratio |"
  echo "|---|---:|---:|---:|"
  "$build/bench/s3_throughput" "$AWS_ENDPOINT_URL" bench "$object" "$runs"
  "$build/bench/s3_throughput" "$AWS_ENDPOINT_URL" bench "$object" "$runs" 128 | head -n 1  # single-PUT row
} | tee "$out/results-s3.md"

state=$out/s3-state-$events
rm -rf "$state"
"$loch" init --lake s3://bench/lake --state "$state" >/dev/null
"$loch" load "$parquet" --table bench.events --state "$state" >/dev/null
query="SELECT event_type, count(*) AS n FROM bench.events WHERE day = DATE '2026-10-15' GROUP BY event_type"
full="SELECT device, count(*) AS n FROM bench.events GROUP BY device"
time_ms() { local start end; start=$(date +%s%N); "$@" >/dev/null; end=$(date +%s%N); echo $(( (end - start) / 1000000 )); }
cache_bytes() { du -sb "$state/cache" 2>/dev/null | cut -f1; }
{
  echo
  echo "## Queries on S3: cold (empty cache) vs warm ($events events, Parquet by day)"
  echo
  echo "| query | cold ms | bytes fetched | warm ms | bytes fetched |"
  echo "|---|---:|---:|---:|---:|"
  for name in one_partition full_scan; do
    sql=$query; [[ $name == full_scan ]] && sql=$full
    rm -rf "$state/cache"
    cold=$(time_ms "$loch" sql "$sql" --state "$state" --format csv)
    fetched=$(cache_bytes)
    warm=$(time_ms "$loch" sql "$sql" --state "$state" --format csv)
    echo "| $name | $cold | $fetched | $warm | $(( $(cache_bytes) - fetched )) |"
  done
} | tee -a "$out/results-s3.md"

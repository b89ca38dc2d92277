#!/usr/bin/env bash
# make bench (ingestion): `loch serve` takes 1 KiB JSON records in batches of 500 from 8 keep-alive
# clients (native REST, durable: acknowledged after fsync) for BENCH_INGEST_SECONDS (60), three
# rounds, each next to a measurement of the disk's own fsync'd sequential write throughput
# (dd, 1 MiB blocks, O_DSYNC) on the filesystem of the write-ahead log. Then single-record
# Firehose PutRecord requests/s (SigV4-signed, keep-alive) and the acknowledgement latency at half
# the measured batch load. Goals: >= 100,000 records/s, >= 0.5 of the fsync'd disk ceiling,
# >= 10,000 single-record requests/s, p99 < 50 ms at half load.
# Usage: bench/run_ingest.sh BUILD_DIR
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
seconds=${BENCH_INGEST_SECONDS:-60}
single_seconds=${BENCH_SINGLE_SECONDS:-15}
rounds=${BENCH_ROUNDS:-3}
lake=$PWD/out/ingest-lake
loch=$build/src/cli/loch
load=$build/bench/ingest_load
mkdir -p out
rm -rf "$lake"
"$loch" init --lake "$lake" >/dev/null
port=$(( 20000 + RANDOM % 20000 ))
url=http://127.0.0.1:$port
"$loch" serve --lake "$lake" --http "127.0.0.1:$port" >"$PWD/out/ingest-serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$lake/.loch/dd-ceiling"' EXIT
for _ in $(seq 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
keys=$lake/.loch/admin-credentials.json
field() { node -e "console.log(require('$keys').$1)"; }
token=$(field token)
export LOCH_SERVER=$url
"$loch" stream create bench --buffer-mib 64 --lake "$lake" >/dev/null
"$loch" stream create single --buffer-mib 64 --lake "$lake" >/dev/null

json() { node -e "const r = JSON.parse(process.argv[1]); console.log(r.$2)" "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ceiling_mib() {  # MiB/s of 1 GiB written in 1 MiB blocks, each fsync'd (O_DSYNC)
  local out
  out=$(dd if=/dev/zero of="$lake/.loch/dd-ceiling" bs=1M count=1024 oflag=dsync 2>&1 | tail -1)
  rm -f "$lake/.loch/dd-ceiling"
  awk -v s="$(echo "$out" | sed -E 's/.* copied, ([0-9.]+) s.*/\1/')" 'BEGIN { printf "%.1f", 1024 / s }'
}

declare -a ceilings rates mibs p50s p99s reqs ratios
for round in $(seq "$rounds"); do
  "$loch" stream flush bench --lake "$lake" >/dev/null  # each round starts with nothing undelivered
  ceiling=$(ceiling_mib)
  result=$("$load" "$url" "$token" bench --clients 8 --batch 500 --record-bytes 1024 --seconds "$seconds")
  ceilings+=("$ceiling"); rates+=("$(json "$result" records_per_s)"); mibs+=("$(json "$result" mib_per_s)")
  p50s+=("$(json "$result" p50_ms)"); p99s+=("$(json "$result" p99_ms)"); reqs+=("$(json "$result" requests_per_s)")
  ratios+=("$(awk -v a="$(json "$result" mib_per_s)" -v b="$ceiling" 'BEGIN { printf "%.2f", a / b }')")
  echo "round $round: ceiling $ceiling MiB/s; $result" >&2
done
"$loch" stream flush bench --lake "$lake" >/dev/null  # the backlog of the full-load rounds
declare -a singles
for round in $(seq "$rounds"); do
  result=$("$load" "$url" "$token" single --mode single --clients 32 --seconds "$single_seconds" \
    --access-key "$(field access_key_id)" --secret "$(field secret_access_key)")
  singles+=("$(json "$result" requests_per_s)")
  echo "single round $round: $result" >&2
done
"$loch" stream flush single --lake "$lake" >/dev/null  # nothing left to deliver from those rounds
half_rate=$(awk -v r="$(median "${reqs[@]}")" 'BEGIN { printf "%.0f", r / 2 }')
half=$("$load" "$url" "$token" bench --clients 8 --batch 500 --record-bytes 1024 --seconds 30 --rate "$half_rate")
echo "half load ($half_rate requests/s): $half" >&2
{
  echo
  echo "## Ingestion (1 KiB JSON records, batches of 500, 8 keep-alive clients, durable; medians of $rounds x ${seconds} s)"
  echo
  echo "| measure | median | rounds |"
  echo "|---|---:|---|"
  echo "| records/s | $(median "${rates[@]}") | ${rates[*]} |"
  echo "| MiB/s | $(median "${mibs[@]}") | ${mibs[*]} |"
  echo "| fsync'd disk ceiling, MiB/s (dd, 1 MiB O_DSYNC) | $(median "${ceilings[@]}") | ${ceilings[*]} |"
  echo "| ingest / ceiling (same round) | $(median "${ratios[@]}") | ${ratios[*]} |"
  echo "| ack p50 / p99 at full load, ms | $(median "${p50s[@]}") / $(median "${p99s[@]}") | ${p99s[*]} |"
  echo "| single-record PutRecord requests/s (Firehose, SigV4, 32 clients, ${single_seconds} s) | $(median "${singles[@]}") | ${singles[*]} |"
  echo "| ack p50 / p99 at half load ($half_rate batches/s), ms | $(json "$half" p50_ms) / $(json "$half" p99_ms) | |"
} | tee "$PWD/out/results-ingest.md"

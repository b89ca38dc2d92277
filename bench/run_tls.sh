#!/usr/bin/env bash
# make bench (TLS): what HTTPS costs next to plain HTTP, side by side in one run. Two `loch serve`
# on two lakes of this machine, one plain, one with --tls-self-signed; each round measures both,
# alternating which goes first:
#  - puts: 1 KiB JSON records in batches of 500 from 8 keep-alive clients (durable) for
#    BENCH_TLS_SECONDS (15); goal: TLS/plain records/s >= 0.8;
#  - query latency: `SELECT 42` over the HTTP API, 2 keep-alive clients, p50 and p99;
#  - new connections: the same query with a new connection (and TLS handshake) per request,
#    4 clients, requests/s.
# Medians of BENCH_ROUNDS (3) rounds; the ratios are per round, then their median.
# Usage: bench/run_tls.sh BUILD_DIR
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
seconds=${BENCH_TLS_SECONDS:-15}
query_seconds=${BENCH_TLS_QUERY_SECONDS:-8}
rounds=${BENCH_ROUNDS:-3}
loch=$build/src/cli/loch
load=$build/bench/ingest_load
mkdir -p out
declare -A url token
servers=()
cleanup() { for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; }
trap cleanup EXIT
for mode in plain tls; do
  lake=$PWD/out/tls-$mode-lake
  rm -rf "$lake"
  "$loch" init --lake "$lake" >/dev/null
  port=$(( 20000 + RANDOM % 20000 ))
  flags=()
  scheme=http
  if [[ $mode == tls ]]; then flags=(--tls-self-signed); scheme=https; fi
  "$loch" serve --lake "$lake" --http "127.0.0.1:$port" "${flags[@]}" >"$PWD/out/tls-$mode-serve.log" 2>&1 &
  servers+=($!)
  url[$mode]=$scheme://localhost:$port
  for _ in $(seq 100); do curl -sf --cacert "$lake/.loch/tls/ca.pem" "${url[$mode]}/health" >/dev/null 2>&1 && break
                          curl -sf "${url[$mode]}/health" >/dev/null 2>&1 && break; sleep 0.1; done
  token[$mode]=$(node -e "console.log(require('$lake/.loch/admin-credentials.json').token)")
  LOCH_CA_FILE=$lake/.loch/tls/ca.pem "$loch" stream create bench --buffer-mib 64 --lake "$lake" \
    --server "${url[$mode]}" >/dev/null
done
ca=$PWD/out/tls-tls-lake/.loch/tls/ca.pem

json() { node -e "const r = JSON.parse(process.argv[1]); console.log(r.$2)" "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
run() {  # MODE ARGS...: one ingest_load run against that server
  local mode=$1; shift
  "$load" "${url[$mode]}" "${token[$mode]}" bench --ca-file "$ca" "$@"
}

declare -A puts p50 p99 connects
declare -a put_ratios p50_ratios connect_ratios
for round in $(seq "$rounds"); do
  order=(plain tls); (( round % 2 == 0 )) && order=(tls plain)
  for mode in "${order[@]}"; do
    result=$(run "$mode" --clients 8 --batch 500 --record-bytes 1024 --seconds "$seconds")
    puts[$mode]=$(json "$result" records_per_s)
    echo "round $round $mode puts: $result" >&2
    LOCH_CA_FILE=$ca "$loch" stream flush bench --lake "$PWD/out/tls-$mode-lake" --server "${url[$mode]}" >/dev/null
    result=$(run "$mode" --mode query --clients 2 --seconds "$query_seconds")
    p50[$mode]=$(json "$result" p50_ms); p99[$mode]=$(json "$result" p99_ms)
    echo "round $round $mode queries: $result" >&2
    result=$(run "$mode" --mode query --clients 4 --seconds "$query_seconds" --reconnect 1)
    connects[$mode]=$(json "$result" requests_per_s)
    echo "round $round $mode new connections: $result" >&2
  done
  put_ratios+=("$(ratio "${puts[tls]}" "${puts[plain]}")")
  p50_ratios+=("$(ratio "${p50[tls]}" "${p50[plain]}")")
  connect_ratios+=("$(ratio "${connects[tls]}" "${connects[plain]}")")
  all_puts+=("${puts[plain]}/${puts[tls]}"); all_p50+=("${p50[plain]}/${p50[tls]}")
  all_p99+=("${p99[plain]}/${p99[tls]}"); all_connects+=("${connects[plain]}/${connects[tls]}")
done
{
  echo
  echo "## TLS vs plain HTTP (same machine, side by side; medians of $rounds rounds)"
  echo
  echo "| measure | TLS / plain (median) | per round (plain/TLS) |"
  echo "|---|---:|---|"
  echo "| puts, records/s (1 KiB, batches of 500, 8 clients, ${seconds} s) | $(median "${put_ratios[@]}") | ${all_puts[*]} |"
  echo "| query p50 latency (SELECT 42, keep-alive, 2 clients) | $(median "${p50_ratios[@]}") | ${all_p50[*]} ms |"
  echo "| query p99 latency | | ${all_p99[*]} ms |"
  echo "| new connection per request, requests/s (4 clients) | $(median "${connect_ratios[@]}") | ${all_connects[*]} |"
} | tee "$PWD/out/results-tls.md"

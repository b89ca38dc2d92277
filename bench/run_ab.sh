#!/usr/bin/env bash
# A/B of two loch builds on the same data: queries on a local lake and on an S3 lake (s3rver on
# loopback, warm file cache), runs interleaved, medians, ratio B/A. For changes to the query path
# (pruning, views): "before" is A, "after" is B.
#
# Usage: bench/run_ab.sh LOCH_A LOCH_B     Environment: BENCH_EVENTS (2000000), BENCH_RUNS (7),
#        BENCH_BASELINE (build/bench/duckdb_baseline: prepares the Parquet files once)
# Results: bench/out/results-ab.md (and stdout).
set -euo pipefail
loch_a=$(realpath "$1")
loch_b=$(realpath "$2")
cd "$(dirname "$0")"
root=$(cd .. && pwd)
events=${BENCH_EVENTS:-2000000}
runs=${BENCH_RUNS:-7}
out=$PWD/out
parquet=$out/parquet-$events
if [[ ! -d $parquet ]]; then
  baseline=${BENCH_BASELINE:-$root/build/bench/duckdb_baseline}
  rm -rf "$out/json-$events"
  echo "preparing $events events as Parquet (once)..."
  "$loch_b" generate --out "$out/json-$events" --events "$events" --seed 1 >/dev/null
  "$baseline" --exec "COPY (SELECT * FROM read_json('$out/json-$events/events/*/*.json', hive_partitioning = true))
                      TO '$parquet' (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)"
  rm -rf "$out/json-$events"
fi

work=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
NODE_OPTIONS=--openssl-legacy-provider node "$root/node_modules/s3rver/bin/s3rver.js" \
  -d "$work/s3" -a 127.0.0.1 -p "$port" --silent --configure-bucket bench >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port" >/dev/null && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1

# Each build gets its own local lake and S3 lake, loaded from the same files.
for side in a b; do
  loch=$loch_a; [[ $side == b ]] && loch=$loch_b
  "$loch" init --lake "$work/local-$side" >/dev/null
  "$loch" load "$parquet" --table bench.events --lake "$work/local-$side" >/dev/null
  "$loch" init --lake "s3://bench/lake-$side" --state "$work/s3state-$side" >/dev/null
  "$loch" load "$parquet" --table bench.events --state "$work/s3state-$side" >/dev/null
done

declare -A sql
names=(one_day day_range user_point full_aggregate)
sql[one_day]="SELECT event_type, count(*) AS n FROM bench.events WHERE day = DATE '2026-10-15' GROUP BY event_type"
sql[day_range]="SELECT count(*) FROM bench.events WHERE day BETWEEN DATE '2026-10-10' AND DATE '2026-10-12' AND event_type = 'purchase'"
sql[user_point]="SELECT count(*), max(ts) FROM bench.events WHERE event_id = 424242"
sql[full_aggregate]="SELECT device, count(*) AS n FROM bench.events GROUP BY device"

# Wall time of one `loch sql` (the process, as a user waits for it), in ms.
time_ms() {
  local start end
  start=$(date +%s%N)
  "$@" --format csv >/dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000 ))e-3
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { printf "%.1f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A samples
for lake in local s3; do
  for name in "${names[@]}"; do  # warm the caches (and check both answer the same)
    for side in a b; do
      loch=$loch_a; [[ $side == b ]] && loch=$loch_b
      where=(--lake "$work/local-$side"); [[ $lake == s3 ]] && where=(--state "$work/s3state-$side")
      "$loch" sql "${sql[$name]}" "${where[@]}" --format csv | sort >"$work/answer-$side"  # (no ORDER BY)
    done
    cmp -s "$work/answer-a" "$work/answer-b" || { echo "A and B answer $name on $lake differently" >&2; exit 1; }
  done
done
for ((run = 1; run <= runs; run++)); do
  for lake in local s3; do
    for name in "${names[@]}"; do
      for side in a b; do
        loch=$loch_a; [[ $side == b ]] && loch=$loch_b
        where=(--lake "$work/local-$side"); [[ $lake == s3 ]] && where=(--state "$work/s3state-$side")
        samples[$lake.$name.$side]+="$(time_ms "$loch" sql "${sql[$name]}" "${where[@]}") "
      done
    done
  done
  echo "run $run/$runs done" >&2
done

{
  echo "## A/B ($events events, Parquet by day, warm caches, median of $runs interleaved runs, ms per \`loch sql\`)"
  echo
  echo "A: $loch_a, B: $loch_b"
  echo
  echo "| lake | query | A ms | B ms | B/A |"
  echo "|---|---|---:|---:|---:|"
  for lake in local s3; do
    for name in "${names[@]}"; do
      a=$(echo "${samples[$lake.$name.a]}" | median)
      b=$(echo "${samples[$lake.$name.b]}" | median)
      echo "| $lake | $name | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }') |"
    done
  done
} | tee "$out/results-ab.md"

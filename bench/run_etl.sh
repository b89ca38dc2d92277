#!/usr/bin/env bash
# make bench: an ETL job (`loch job run`: raw NDJSON clickstream -> Parquet partitioned by day,
# sorted by user_id) against plain DuckDB's COPY ... PARTITION_BY of the same NDJSON files (same
# libduckdb, default settings), interleaved runs, medians; then the job's incremental run after 1%
# more raw data against its full run.
#
# Usage: bench/run_etl.sh BUILD_DIR   Environment: BENCH_EVENTS (default 10000000), BENCH_RUNS (5)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
loch=$build/src/cli/loch
baseline=$build/bench/duckdb_baseline
events=${BENCH_EVENTS:-10000000}
runs=${BENCH_RUNS:-5}
out=$PWD/out
lake=$out/etl-lake-$events
data=$out/etl-data-$events

now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { print b - a }'; }

if [[ ! -e $lake/.loch/catalog.sqlite ]]; then
  echo "preparing $events raw NDJSON events (once)" >&2
  rm -rf "$lake" "$data"
  "$loch" generate --out "$data" --events "$events" --seed 11 >/dev/null
  "$loch" init --lake "$lake" >/dev/null
  "$loch" load "$data/events" --table raw.events --lake "$lake" >/dev/null
  # 1% more events, loaded between the full and the incremental run.
  "$loch" generate --out "$data-more" --events $((events / 100)) --seed 12 >/dev/null
fi
columns="event_id, session_id, user_id, deal_id, event_type, ts, device, referrer"
cat >"$out/etl-job.yaml" <<YAML
name: clicks_by_day
target: curated.clicks
partition_by: [day]
sort_by: [user_id]
incremental: true
sql: SELECT $columns, CAST(ts AS DATE) AS day FROM raw.events
YAML
# The same job with every row checked (quarantine): the cost of the checks against the plain job.
cat >"$out/etl-job-checked.yaml" <<YAML
name: clicks_checked
target: curated.clicks_checked
partition_by: [day]
sort_by: [user_id]
types: {user_id: BIGINT, ts: TIMESTAMP}
required: [event_id, session_id]
max_bad_fraction: 0.01
sql: SELECT $columns, CAST(ts AS DATE) AS day FROM raw.events
YAML
"$loch" job apply "$out/etl-job.yaml" --lake "$lake" >/dev/null
"$loch" job apply "$out/etl-job-checked.yaml" --lake "$lake" >/dev/null
json_files="$lake/raw/raw/events/*/*/*.json*"

job_ms="" duck_ms="" checked_ms=""
for ((run = 1; run <= runs; run++)); do
  "$loch" sql "DROP TABLE IF EXISTS curated.clicks PURGE" --lake "$lake" >/dev/null
  start=$(now_ms)
  "$loch" job run clicks_by_day --full --lake "$lake" >/dev/null
  job_ms+="$(elapsed "$start") "
  "$loch" sql "DROP TABLE IF EXISTS curated.clicks_checked PURGE" --lake "$lake" >/dev/null
  start=$(now_ms)
  "$loch" job run clicks_checked --full --lake "$lake" >/dev/null
  checked_ms+="$(elapsed "$start") "

  rm -rf "$out/etl-duckdb"
  start=$(now_ms)
  "$baseline" --exec "COPY (SELECT $columns, CAST(ts AS DATE) AS day FROM read_json('$json_files')
                      ORDER BY day, user_id) TO '$out/etl-duckdb' (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)"
  duck_ms+="$(elapsed "$start") "
  echo "run $run/$runs done" >&2
done
job_files=$(find "$lake/tables/curated/clicks" -name '*.parquet' | wc -l)
duck_files=$(find "$out/etl-duckdb" -name '*.parquet' | wc -l)
rm -rf "$out/etl-duckdb"

# Incremental: 1% more raw data, then the job reads only it (each run on its own copy of the lake
# state, so every run measures the same new files).
cp -a "$lake" "$out/etl-lake-before"
inc_ms=""
for ((run = 1; run <= runs; run++)); do
  rm -rf "$lake" && cp -a "$out/etl-lake-before" "$lake"
  "$loch" load "$data-more/events" --table raw.events --lake "$lake" >/dev/null
  start=$(now_ms)
  "$loch" job run clicks_by_day --lake "$lake" >/dev/null
  inc_ms+="$(elapsed "$start") "
done
rm -rf "$lake" && mv "$out/etl-lake-before" "$lake"

{
  echo "## ETL job vs DuckDB COPY ($events NDJSON events -> Parquet by day, sorted; median of $runs runs)"
  echo
  echo "| | loch job | DuckDB COPY | ratio |"
  echo "|---|---:|---:|---:|"
  jm=$(tr ' ' '\n' <<<"$job_ms" | grep . | median)
  dm=$(tr ' ' '\n' <<<"$duck_ms" | grep . | median)
  im=$(tr ' ' '\n' <<<"$inc_ms" | grep . | median)
  awk -v l="$jm" -v d="$dm" 'BEGIN { printf "| full run, process ms | %.0f | %.0f | %.2f |\n", l, d, l / d }'
  awk -v l="$job_files" -v d="$duck_files" 'BEGIN { printf "| files | %d | %d | %.2f |\n", l, d, l / d }'
  echo
  echo "| | job with every row checked (quarantine) | plain job | ratio |"
  echo "|---|---:|---:|---:|"
  cm=$(tr ' ' '\n' <<<"$checked_ms" | grep . | median)
  awk -v c="$cm" -v j="$jm" 'BEGIN { printf "| full run, process ms | %.0f | %.0f | %.2f |\n", c, j, c / j }'
  echo
  echo "| | incremental run (1% new) | full run | ratio |"
  echo "|---|---:|---:|---:|"
  awk -v i="$im" -v f="$jm" 'BEGIN { printf "| process ms | %.0f | %.0f | %.3f |\n", i, f, i / f }'
} | tee "$out/results-etl.md"

#!/usr/bin/env bash
# make bench: a partitioned CTAS through `loch sql` against plain DuckDB's COPY ... PARTITION_BY of the
# same Parquet files (same libduckdb, default settings), interleaved runs, medians; and the files each
# writes. Reuses the lake bench/run.sh prepares (10M clickstream events by default).
#
# Usage: bench/run_ctas.sh BUILD_DIR   Environment: BENCH_EVENTS (default 10000000), BENCH_RUNS (5),
#                                      BENCH_BUCKETS (partitions written, default 500)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
loch=$build/src/cli/loch
baseline=$build/bench/duckdb_baseline
events=${BENCH_EVENTS:-10000000}
runs=${BENCH_RUNS:-5}
buckets=${BENCH_BUCKETS:-500}
out=$PWD/out
lake=$out/lake-$events
[[ -e $lake/.loch/catalog.sqlite ]] || bash run.sh "$build" >/dev/null  # prepares the lake
files="$lake/raw/bench/events/*/*/*.parquet"
select="SELECT event_id, user_id, event_type, ts, user_id % $buckets AS bucket"

now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

loch_ms="" duck_ms="" loch_files=0 duck_files=0
for ((run = 1; run <= runs; run++)); do
  "$loch" sql "DROP TABLE IF EXISTS bench.bucketed PURGE" --lake "$lake" >/dev/null
  start=$(now_ms)
  "$loch" sql "CREATE TABLE bench.bucketed WITH (partitioned_by = ARRAY['bucket']) AS $select FROM bench.events" \
    --lake "$lake" >/dev/null
  loch_ms+="$(awk -v a="$start" -v b="$(now_ms)" 'BEGIN { print b - a }') "
  loch_files=$(find "$lake/tables/bench/bucketed" -name '*.parquet' | wc -l)

  rm -rf "$out/ctas-duckdb"
  start=$(now_ms)
  "$baseline" --exec "COPY ($select FROM read_parquet('$files', hive_partitioning = true))
                      TO '$out/ctas-duckdb' (FORMAT parquet, PARTITION_BY (bucket), COMPRESSION zstd)"
  duck_ms+="$(awk -v a="$start" -v b="$(now_ms)" 'BEGIN { print b - a }') "
  duck_files=$(find "$out/ctas-duckdb" -name '*.parquet' | wc -l)
  echo "run $run/$runs done" >&2
done
"$loch" sql "DROP TABLE IF EXISTS bench.bucketed PURGE" --lake "$lake" >/dev/null
rm -rf "$out/ctas-duckdb"

{
  echo "## partitioned CTAS vs DuckDB COPY ($events events into $buckets partitions, median of $runs runs)"
  echo
  echo "| | loch CTAS | DuckDB COPY | ratio |"
  echo "|---|---:|---:|---:|"
  lm=$(tr ' ' '\n' <<<"$loch_ms" | grep . | median)
  dm=$(tr ' ' '\n' <<<"$duck_ms" | grep . | median)
  awk -v l="$lm" -v d="$dm" 'BEGIN { printf "| process ms | %.0f | %.0f | %.2f |\n", l, d, l / d }'
  awk -v l="$loch_files" -v d="$duck_files" 'BEGIN { printf "| files | %d | %d | %.2f |\n", l, d, l / d }'
} | tee "$out/results-ctas.md"

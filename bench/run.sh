#!/usr/bin/env bash
# make bench: `loch sql` against plain DuckDB (bench/duckdb_baseline.cc, same libduckdb) on the same
# Parquet files: 10M clickstream events partitioned by day, three queries, interleaved runs, medians.
#
# Usage: bench/run.sh BUILD_DIR      Environment: BENCH_EVENTS (default 10000000), BENCH_RUNS (default 5)
# Data is prepared once under bench/out/ and reused. Results: bench/out/results.md (and stdout).
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
loch=$build/src/cli/loch
baseline=$build/bench/duckdb_baseline
events=${BENCH_EVENTS:-10000000}
runs=${BENCH_RUNS:-5}
out=$PWD/out
lake=$out/lake-$events

if [[ ! -e $lake/.loch/catalog.sqlite ]]; then
  echo "preparing $events events as Parquet (once)..."
  rm -rf "$out/json-$events" "$out/parquet-$events" "$lake"
  "$loch" generate --out "$out/json-$events" --events "$events" --seed 1 >/dev/null
  "$baseline" --exec "COPY (SELECT * FROM read_json('$out/json-$events/events/*/*.json', hive_partitioning = true))
                      TO '$out/parquet-$events' (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)"
  "$loch" init --lake "$lake" >/dev/null
  "$loch" load "$out/parquet-$events" --table bench.events --lake "$lake"
  rm -rf "$out/json-$events"
fi
files="$lake/raw/bench/events/*/*/*.parquet"

declare -A loch_sql duck_sql
names=(full_aggregate filtered_partition top_n)
loch_sql[full_aggregate]="SELECT event_type, device, count(*) AS n, min(ts) AS first, max(ts) AS last FROM bench.events GROUP BY ALL ORDER BY ALL"
loch_sql[filtered_partition]="SELECT event_type, count(*) AS n, count(DISTINCT user_id) AS users FROM bench.events WHERE day = DATE '2026-10-15' GROUP BY event_type ORDER BY event_type"
loch_sql[top_n]="SELECT user_id, count(*) AS n FROM bench.events GROUP BY user_id ORDER BY n DESC, user_id LIMIT 10"
for name in "${names[@]}"; do
  duck_sql[$name]=${loch_sql[$name]//bench.events/read_parquet(\'$files\', hive_partitioning = true)}
done

now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A samples
for ((run = 1; run <= runs; run++)); do
  for name in "${names[@]}"; do
    start=$(now_ms)
    engine=$("$loch" sql "${loch_sql[$name]}" --lake "$lake" --format csv --timing 2>&1 >/dev/null | sed -n 's/^time: \([0-9.]*\) ms.*/\1/p')
    end=$(now_ms)
    samples[$name.loch.engine]+="$engine "
    samples[$name.loch.process]+="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') "

    start=$(now_ms)
    engine=$("$baseline" "${duck_sql[$name]}" 2>&1 | sed -n 's/^engine_ms=\([0-9.]*\).*/\1/p')
    end=$(now_ms)
    samples[$name.duck.engine]+="$engine "
    samples[$name.duck.process]+="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') "
  done
  echo "run $run/$runs done" >&2
done

{
  echo "## loch sql vs plain DuckDB ($events events, Parquet by day, median of $runs runs, ms)"
  echo
  echo "| query | loch in-engine | DuckDB in-engine | ratio | loch process | DuckDB process | ratio | loch process - DuckDB process | loch process - loch in-engine |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for name in "${names[@]}"; do
    le=$(tr ' ' '\n' <<<"${samples[$name.loch.engine]}" | grep . | median)
    de=$(tr ' ' '\n' <<<"${samples[$name.duck.engine]}" | grep . | median)
    lp=$(tr ' ' '\n' <<<"${samples[$name.loch.process]}" | grep . | median)
    dp=$(tr ' ' '\n' <<<"${samples[$name.duck.process]}" | grep . | median)
    awk -v n="$name" -v le="$le" -v de="$de" -v lp="$lp" -v dp="$dp" \
      'BEGIN { printf "| %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f | %.1f |\n", n, le, de, le / de, lp, dp, lp / dp, lp - dp, lp - le }'
  done
} | tee "$out/results.md"

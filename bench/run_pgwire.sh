#!/usr/bin/env bash
# make bench (query service): loch's PostgreSQL protocol against a real PostgreSQL 15 server, and the
# 10M-event aggregate through HTTP and pgwire against plain DuckDB on the same files.
#
#   1. A point query and a small aggregate as named prepared statements, 4 clients back to back, on an
#      equivalent 100,000-row table in loch (Parquet, via CREATE TABLE AS) and in PostgreSQL (heap with
#      a primary key, ANALYZEd). Rounds alternate between the two; medians of the rounds.
#   2. The full aggregate of bench/run.sh over 10M events: plain DuckDB (duckdb_baseline, in process),
#      `POST /api/v1/query` (timed by curl) and pgwire (npm pg), interleaved, medians of BENCH_RUNS.
# Usage: bench/run_pgwire.sh BUILD_DIR   Environment: BENCH_EVENTS (10000000), BENCH_RUNS (5),
#        BENCH_SECONDS (5, per statement per round), BENCH_ROUNDS (3), BENCH_CLIENTS (4)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
events=${BENCH_EVENTS:-10000000}
runs=${BENCH_RUNS:-5}
seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
clients=${BENCH_CLIENTS:-4}
loch=$build/src/cli/loch
baseline=$build/bench/duckdb_baseline
lake=$PWD/out/lake-$events
[[ -e $lake/.loch/catalog.sqlite ]] || { echo "run bench/run.sh first (it prepares $lake)" >&2; exit 1; }
"$loch" init --lake "$lake" >/dev/null  # adds credentials (pg ones too) to older lakes
pgbin=/usr/lib/postgresql/15/bin
[[ -x $pgbin/initdb ]] || { echo "PostgreSQL 15 is missing: run scripts/setup.sh" >&2; exit 1; }

# --- a throwaway PostgreSQL 15 on loopback ---
pgdir=$(mktemp -d /tmp/loch-bench-pg.XXXXXX)
pg_port=$(( 30000 + RANDOM % 10000 ))
as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $EUID -eq 0 ]] && chown postgres:postgres "$pgdir"
as_postgres "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" \
  -o "-p $pg_port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null

# --- loch serve with --pg ---
http_port=$(( 20000 + RANDOM % 10000 ))
loch_pg_port=$(( 40000 + RANDOM % 10000 ))
"$loch" serve --lake "$lake" --http "127.0.0.1:$http_port" --pg "127.0.0.1:$loch_pg_port" >/dev/null &
server=$!
cleanup() {
  kill $server 2>/dev/null; wait $server 2>/dev/null || true
  as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/health" >/dev/null && break; sleep 0.1; done
credentials=$lake/.loch/admin-credentials.json
token=$(node -e "console.log(require('$credentials').token)")
loch_conn=$(node -e "const c = require('$credentials'); console.log(JSON.stringify({host: '127.0.0.1', port: $loch_pg_port, user: c.pg_user, password: c.pg_password, database: 'lake'}))")
pg_conn="{\"host\": \"127.0.0.1\", \"port\": $pg_port, \"user\": \"postgres\", \"database\": \"postgres\"}"

# --- the equivalent 100,000-row table in both ---
points_sql="SELECT g AS id, g % 1000 AS user_id, (g % 997) * 1.5 AS amount, DATE '2026-01-01' + CAST(g % 30 AS INTEGER) AS day"
node pg_bench.mjs once "$loch_conn" "CREATE TABLE IF NOT EXISTS bench.points AS $points_sql FROM range(100000) t(g)" >/dev/null
node pg_bench.mjs once "$pg_conn" "CREATE TABLE points AS $points_sql FROM generate_series(0, 99999) g; ALTER TABLE points ADD PRIMARY KEY (id); ANALYZE points" >/dev/null

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
field() { node -e "const r = JSON.parse(process.argv[1]); console.log(r.$2)" "$1"; }

declare -A samples
for ((round = 1; round <= rounds; round++)); do
  for system in postgres loch; do
    if [[ $system == loch ]]; then conn=$loch_conn table=bench.points; else conn=$pg_conn table=points; fi
    result=$(node pg_bench.mjs latency "$conn" "$seconds" "$clients" "$table")
    for statement in point aggregate; do
      for metric in p50 p99 qps; do
        samples[$system.$statement.$metric]+="$(field "$result" "$statement.$metric") "
      done
    done
  done
done

full_aggregate="SELECT event_type, device, count(*) AS n, min(ts) AS first, max(ts) AS last FROM bench.events GROUP BY ALL ORDER BY ALL"
files="$lake/raw/bench/events/*/*/*.parquet"
duck_sql=${full_aggregate//bench.events/read_parquet(\'$files\', hive_partitioning = true)}
for ((run = 1; run <= runs; run++)); do
  samples[agg.duckdb]+="$("$baseline" "$duck_sql" 2>&1 >/dev/null | sed -n 's/^engine_ms=\([0-9.]*\).*/\1/p') "
  samples[agg.http]+="$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
    --data-binary "{\"sql\": \"$full_aggregate\"}" "http://127.0.0.1:$http_port/api/v1/query" |
    awk '{ print $1 * 1000 }') "
  samples[agg.pgwire]+="$(node pg_bench.mjs once "$loch_conn" "$full_aggregate") "
done

m() { echo "${samples[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
  echo
  echo "## PostgreSQL protocol: loch vs PostgreSQL 15 ($clients clients, prepared statements, medians of $rounds rounds of ${seconds} s)"
  echo
  echo "| statement | system | p50 ms | p99 ms | queries/s |"
  echo "|---|---|---:|---:|---:|"
  for statement in point aggregate; do
    for system in postgres loch; do
      printf "| %s | %s | %.3f | %.3f | %.0f |\n" "$statement" "$system" \
        "$(m $system.$statement.p50)" "$(m $system.$statement.p99)" "$(m $system.$statement.qps)"
    done
    echo "| $statement | **loch / postgres** | $(ratio "$(m loch.$statement.p50)" "$(m postgres.$statement.p50)") | $(ratio "$(m loch.$statement.p99)" "$(m postgres.$statement.p99)") | $(ratio "$(m loch.$statement.qps)" "$(m postgres.$statement.qps)") |"
  done
  echo
  echo "## 10M-event aggregate: through the server vs plain DuckDB (ms, medians of $runs)"
  echo
  echo "| path | median ms | ratio to DuckDB |"
  echo "|---|---:|---:|"
  echo "| plain DuckDB (in process) | $(m agg.duckdb) | 1.00 |"
  echo "| HTTP POST /api/v1/query | $(m agg.http) | $(ratio "$(m agg.http)" "$(m agg.duckdb)") |"
  echo "| pgwire (npm pg) | $(m agg.pgwire) | $(ratio "$(m agg.pgwire)" "$(m agg.duckdb)") |"
} | tee "$PWD/out/results-pgwire.md"

#!/usr/bin/env bash
# A/B of two loch builds over the PostgreSQL protocol: the point query and the small aggregate of
# bench/pg_bench.mjs (named prepared statements with $1, 4 clients) on the same 100,000-row table,
# each build serving a lake of its own; rounds alternate A and B; medians of the rounds, ratio B/A.
#
# Usage: bench/run_pgwire_ab.sh LOCH_A LOCH_B
#        Environment: BENCH_SECONDS (5, per statement per round), BENCH_ROUNDS (5), BENCH_CLIENTS (4)
set -euo pipefail
loch_a=$(realpath "$1")
loch_b=$(realpath "$2")
cd "$(dirname "$0")"
seconds=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-5}
clients=${BENCH_CLIENTS:-4}
work=$(mktemp -d)
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

declare -A conn
points_sql="SELECT g AS id, g % 1000 AS user_id, (g % 997) * 1.5 AS amount, DATE '2026-01-01' + CAST(g % 30 AS INTEGER) AS day FROM range(100000) t(g)"
for side in a b; do
  loch=$loch_a; [[ $side == b ]] && loch=$loch_b
  lake=$work/lake-$side
  "$loch" init --lake "$lake" >/dev/null
  http_port=$(( 20000 + RANDOM % 10000 ))
  pg_port=$(( 40000 + RANDOM % 10000 ))
  "$loch" serve --lake "$lake" --http "127.0.0.1:$http_port" --pg "127.0.0.1:$pg_port" >/dev/null 2>&1 &
  servers+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/health" >/dev/null && break; sleep 0.1; done
  conn[$side]=$(node -e "const c = require('$lake/.loch/admin-credentials.json'); console.log(JSON.stringify({host: '127.0.0.1', port: $pg_port, user: c.pg_user, password: c.pg_password, database: 'lake'}))")
  node pg_bench.mjs once "${conn[$side]}" "CREATE TABLE bench.points AS $points_sql" >/dev/null
done

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
field() { node -e "const r = JSON.parse(process.argv[1]); console.log(r.$2)" "$1"; }
declare -A samples
for ((round = 1; round <= rounds; round++)); do
  for side in a b; do
    result=$(node pg_bench.mjs latency "${conn[$side]}" "$seconds" "$clients" bench.points)
    for statement in point aggregate; do
      for metric in p50 p99 qps; do
        samples[$side.$statement.$metric]+="$(field "$result" "$statement.$metric") "
      done
    done
  done
  echo "round $round/$rounds done" >&2
done

m() { echo "${samples[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
{
  echo "## pgwire A/B ($clients clients, prepared statements with \$1, medians of $rounds rounds of ${seconds} s)"
  echo
  echo "A: $loch_a, B: $loch_b"
  echo
  echo "| statement | A queries/s | B queries/s | B/A | A p50 ms | B p50 ms | A p99 ms | B p99 ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for statement in point aggregate; do
    printf "| %s | %.0f | %.0f | %.2f | %.3f | %.3f | %.3f | %.3f |\n" "$statement" \
      "$(m a.$statement.qps)" "$(m b.$statement.qps)" \
      "$(awk -v a="$(m a.$statement.qps)" -v b="$(m b.$statement.qps)" 'BEGIN { print b / a }')" \
      "$(m a.$statement.p50)" "$(m b.$statement.p50)" "$(m a.$statement.p99)" "$(m b.$statement.p99)"
  done
} | tee "$PWD/out/results-pgwire-ab.md"

#!/usr/bin/env bash
# loch's main job on the embedded default: a lake in ./lake, sample data for a one-deal-a-day store,
# loaded and queried. Usage: scripts/demo.sh PATH/TO/loch   (make run calls it)
# Environment: LOCH_DEMO_EVENTS (default 1000000), LOCH_DEMO_SEED (default 42).
set -euo pipefail
loch=$(realpath "$1")
cd "$(dirname "$0")/.."
events=${LOCH_DEMO_EVENTS:-1000000}
seed=${LOCH_DEMO_SEED:-42}
lake=./lake
data=$lake-sample-data

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Creating the lake in $lake"
if [[ -e $lake/.loch/catalog.sqlite ]]; then
  echo "(replacing the previous demo lake)"
  rm -rf "$lake"
fi
"$loch" init --lake "$lake"

step "Generating $events clickstream events for a one-deal-a-day store"
rm -rf "$data"
"$loch" generate --out "$data" --events "$events" --seed "$seed"

step "Loading deals, orders and events"
"$loch" load "$data/deals.json" --table shop.deals --lake "$lake"
"$loch" load "$data/orders.json" --table shop.orders --lake "$lake"
"$loch" load "$data/events" --table shop.events --lake "$lake"
"$loch" tables --lake "$lake"

for question in examples/questions/*.sql; do
  title=$(head -n 1 "$question" | sed 's/^-- //')
  step "$title"
  "$loch" sql "$(cat "$question")" --lake "$lake"
done

cat <<TXT

Try your own questions:
  $1 sql "SELECT device, count(*) FROM shop.events GROUP BY device" --lake $lake
  $1 describe shop.events --lake $lake
  $1 sql "CREATE TABLE mart.daily WITH (partitioned_by = ARRAY['day']) AS SELECT day, event_type, count(*) AS n FROM shop.events GROUP BY ALL" --lake $lake
  $1 serve --lake $lake --pg 127.0.0.1:5433   # HTTP + Athena APIs on 127.0.0.1:8080, PostgreSQL on 5433
                                            # (token, pg_user and pg_password in $lake/.loch/admin-credentials.json)
TXT

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

step "Starting the server: ingestion, the HTTP and Athena APIs, and PostgreSQL"
http=${LOCH_DEMO_HTTP:-127.0.0.1:8080}
pg=${LOCH_DEMO_PG:-127.0.0.1:5433}
"$loch" serve --lake "$lake" --http "$http" --pg "$pg" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
trap 'exit 0' INT TERM
for _ in $(seq 100); do
  curl -sf "http://$http/health" >/dev/null && break
  kill -0 $server 2>/dev/null || { echo "the server did not start (is $http or $pg in use? set LOCH_DEMO_HTTP / LOCH_DEMO_PG)" >&2; exit 1; }
  sleep 0.1
done
export LOCH_SERVER=http://$http

step "A delivery stream: records in, durable, queryable as raw.clicks"
"$loch" stream create clicks --buffer-seconds 1 --lake "$lake"
printf '%s\n' \
  '{"user": "ann", "page": "/deal/42", "ms": 120, "ts": "2026-11-27T09:00:00Z"}' \
  '{"user": "bob", "page": "/deal/42", "ms": 340, "ts": "2026-11-27T09:00:02Z"}' \
  '{"user": "ann", "page": "/checkout", "ms": 95, "ts": "2026-11-27T09:00:05Z", "coupon": "XMAS"}' |
  "$loch" put clicks - --lake "$lake"
"$loch" stream flush clicks --lake "$lake"
"$loch" sql "SELECT user, page, ms, ts, coupon FROM raw.clicks ORDER BY ts" --lake "$lake"

cat <<TXT

loch is serving $lake (Ctrl-C stops it; buffered records are delivered first).
The web console: open http://$http/ in a browser; sign in as user loch with the password
pg_password from $lake/.loch/admin-credentials.json.
Send records and query them (the API token is in $lake/.loch/admin-credentials.json):
  TOKEN=\$(sed -n 's/.*"token": *"\\([^"]*\\)".*/\\1/p' $lake/.loch/admin-credentials.json)
  $1 put clicks events.ndjson --lake $lake           # NDJSON or a JSON array, any size
  curl -H "Authorization: Bearer \$TOKEN" --data-binary @events.ndjson http://$http/api/v1/streams/clicks/records
  $1 sql "SELECT page, count(*) FROM raw.clicks GROUP BY page" --lake $lake
  curl -H "Authorization: Bearer \$TOKEN" -d '{"sql": "SELECT count(*) FROM raw.clicks"}' http://$http/api/v1/query
  AWS SDKs (Firehose, Athena): endpoint http://$http, keys access_key_id/secret_access_key in $lake/.loch/admin-credentials.json
  psql "host=${pg%:*} port=${pg##*:} user=loch dbname=lake"   # password: pg_password in the same file
  curl -H "Authorization: Bearer \$TOKEN" http://$http/metrics
More: $1 --help, $1 stream --help, docs/
TXT
wait $server

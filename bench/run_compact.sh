#!/usr/bin/env bash
# make bench: a day of stream deliveries (1,440 small zstd NDJSON objects, one a minute, laid out
# and named as a delivery stream writes them, registered by a crawl) queried before and after
# `loch compact`: the same four queries on a copy of the lake each, interleaved, medians.
#
# Usage: bench/run_compact.sh BUILD_DIR
# Environment: BENCH_RECORDS_PER_MINUTE (default 500), BENCH_RUNS (5)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
loch=$build/src/cli/loch
per_minute=${BENCH_RECORDS_PER_MINUTE:-500}
runs=${BENCH_RUNS:-5}
out=$PWD/out
before=$out/compact-before-$per_minute
after=$out/compact-after-$per_minute

now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

if [[ ! -e $before/.loch/catalog.sqlite ]]; then
  echo "preparing a day of deliveries: 1440 objects of $per_minute records (once)" >&2
  rm -rf "$before"
  "$loch" init --lake "$before" >/dev/null
  for ((hour = 0; hour < 24; hour++)); do
    folder=$(printf '%s/raw/clicks/2026/12/01/%02d' "$before" "$hour")
    mkdir -p "$folder"
    for ((minute = 0; minute < 60; minute++)); do
      first=$(((hour * 60 + minute) * per_minute + 1))
      file=$(printf '%s/clicks-%020d.json' "$folder" "$first")
      awk -v first="$first" -v n="$per_minute" -v hour="$hour" -v minute="$minute" 'BEGIN {
        split("view click cart buy", kinds, " ")
        split("ios android web", devices, " ")
        srand(first)
        for (i = 0; i < n; i++) {
          id = first + i
          printf "{\"id\": %d, \"user\": \"u%05d\", \"kind\": \"%s\", \"amount\": %.2f, ", id,
                 int(rand() * 50000), kinds[1 + id % 4], rand() * 200
          printf "\"ts\": \"2026-12-01T%02d:%02d:%02d.%03dZ\", \"device\": \"%s\", ", hour,
                 minute, int(i * 60 / n), id % 1000, devices[1 + id % 3]
          printf "\"url\": \"https://shop.example/p/%d?ref=campaign-%d\"}\n", id % 9973, id % 17
        }
      }' >"$file"
      zstd -q --rm "$file"
    done
  done
  "$loch" crawl raw/ --database raw --lake "$before" >/dev/null
fi
rm -rf "$after" && cp -a "$before" "$after"
start=$(now_ms)
"$loch" compact raw.clicks --sort-by ts --lake "$after" --json >"$out/compact-report.json"
compact_ms=$(awk -v a="$start" -v b="$(now_ms)" 'BEGIN { print b - a }')

declare -A sql=(
  [day_by_kind]="SELECT kind, count(*), round(sum(amount), 2) FROM raw.clicks GROUP BY kind ORDER BY kind"
  [one_hour]="SELECT count(*), round(sum(amount), 2) FROM raw.clicks WHERE hour = 13"
  [ten_minutes]="SELECT count(*), count(DISTINCT user) FROM raw.clicks WHERE ts >= TIMESTAMP '2026-12-01 10:00:00' AND ts < TIMESTAMP '2026-12-01 10:10:00'"
  [point_lookup]="SELECT user, kind, amount FROM raw.clicks WHERE id = 345678"
)
names=(day_by_kind one_hour ten_minutes point_lookup)
declare -A samples
for ((run = 1; run <= runs; run++)); do
  for name in "${names[@]}"; do
    for side in before after; do
      lake=$before
      [[ $side == after ]] && lake=$after
      start=$(now_ms)
      "$loch" sql "${sql[$name]}" --lake "$lake" --format csv --timing \
        2>"$out/compact-timing" >"$out/compact-answer-$side"
      end=$(now_ms)
      engine=$(sed -n 's/^time: \([0-9.]*\) ms.*/\1/p' "$out/compact-timing")
      samples[$name.$side.engine]+="$engine "
      samples[$name.$side.process]+="$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }') "
    done
    if ! cmp -s "$out/compact-answer-before" "$out/compact-answer-after"; then
      echo "ANSWERS DIFFER for $name:" >&2
      diff "$out/compact-answer-before" "$out/compact-answer-after" >&2 || true
      exit 1
    fi
  done
  echo "run $run/$runs done" >&2
done

{
  echo "## A day of stream deliveries before and after \`loch compact\` (1440 objects x $per_minute records; median of $runs runs)"
  echo
  echo "compaction: $(awk -v m="$compact_ms" 'BEGIN { printf "%.0f", m }') ms; report: $(tr -d ' \n' <"$out/compact-report.json")"
  echo
  echo "| query | before, in-engine ms | after, in-engine ms | before/after | before, process ms | after, process ms |"
  echo "|---|---:|---:|---:|---:|---:|"
  for name in "${names[@]}"; do
    be=$(tr ' ' '\n' <<<"${samples[$name.before.engine]}" | grep . | median)
    ae=$(tr ' ' '\n' <<<"${samples[$name.after.engine]}" | grep . | median)
    bp=$(tr ' ' '\n' <<<"${samples[$name.before.process]}" | grep . | median)
    ap=$(tr ' ' '\n' <<<"${samples[$name.after.process]}" | grep . | median)
    awk -v n="$name" -v be="$be" -v ae="$ae" -v bp="$bp" -v ap="$ap" \
      'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.0f | %.0f |\n", n, be, ae, be / ae, bp, ap }'
  done
} | tee "$out/results-compact.md"
rm -f "$out/compact-timing" "$out/compact-answer-before" "$out/compact-answer-after"

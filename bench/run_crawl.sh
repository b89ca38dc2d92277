#!/usr/bin/env bash
# make bench (crawlers): 10,000 small NDJSON files across 1,000 hourly date partitions
# (raw/events/yyyy/mm/dd/hh/), crawled into a fresh lake, then re-crawled with nothing new, then
# re-crawled after one more partition (10 files) appeared. Goals: first crawl under 30 s, nothing
# new under 1 s, one new partition proportional to that partition (not to the table).
# Usage: bench/run_crawl.sh BUILD_DIR   Environment: BENCH_RUNS (3), BENCH_CRAWL_FILES (10000)
set -euo pipefail
build=$(realpath "${1:-build}")
cd "$(dirname "$0")"
runs=${BENCH_RUNS:-3}
files=${BENCH_CRAWL_FILES:-10000}
partitions=$(( files / 10 ))
loch=$build/src/cli/loch
data=$PWD/out/crawl-$files
if [[ ! -d $data/raw/events ]]; then
  echo "preparing $files NDJSON files in $partitions partitions (once)..."
  node crawl_data.mjs "$data/raw/events" "$partitions" "$files" 20
fi
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
seconds() { local start=$(date +%s%N); "$@" >/dev/null; echo "$(( $(date +%s%N) - start ))" | awk '{ printf "%.3f", $1 / 1e9 }'; }

declare -A samples
for ((run = 1; run <= runs; run++)); do
  lake=$(mktemp -d /tmp/loch-bench-crawl.XXXXXX)
  "$loch" init --lake "$lake" >/dev/null
  cp -r "$data/raw" "$lake/raw"
  samples[first]+="$(seconds "$loch" crawl raw/events/ --database bench --lake "$lake") "
  samples[nothing]+="$(seconds "$loch" crawl raw/events/ --database bench --lake "$lake") "
  node crawl_data.mjs "$lake/raw/events" 1 10 20 "$partitions"  # one more hour, 10 files
  samples[one]+="$(seconds "$loch" crawl raw/events/ --database bench --lake "$lake") "
  rows=$("$loch" sql "SELECT count(*) FROM bench.events" --lake "$lake" --format csv | tail -1)
  [[ $rows == $(( (files + 10) * 20 )) ]] || { echo "expected $(( (files + 10) * 20 )) rows, got $rows" >&2; exit 1; }
  rm -rf "$lake"
done
m() { echo "${samples[$1]}" | tr ' ' '\n' | grep -v '^$' | median; }
{
  echo
  echo "## Crawling $files NDJSON files in $partitions date partitions (seconds, medians of $runs)"
  echo
  echo "| crawl | seconds | goal |"
  echo "|---|---:|---|"
  echo "| first (everything new) | $(m first) | < 30 |"
  echo "| again, nothing new | $(m nothing) | < 1 |"
  echo "| again, one new partition (10 files) | $(m one) | ~ nothing new + 10 files' share of the first |"
  awk -v f="$(m first)" -v n="$(m nothing)" -v o="$(m one)" -v files="$files" 'BEGIN {
    printf "\nOne new partition costs %.3f s over a crawl with nothing new; 10 files of the first crawl cost %.3f s.\n", o - n, f * 10 / files }'
} | tee "$PWD/out/results-crawl.md"

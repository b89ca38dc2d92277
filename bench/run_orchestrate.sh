#!/usr/bin/env bash
# make bench (orchestrate): queued runs drained by `loch serve`'s worker processes vs one `loch job
# run` after another, and the time from a commit to the dependent job's start; see orchestrate.mjs.
# Usage: bench/run_orchestrate.sh BUILD_DIR
set -euo pipefail
build=$(realpath "${1:-build}")
work=$(mktemp -d /tmp/loch-bench-orchestrate.XXXXXX)
trap 'rm -rf "$work"' EXIT
node "$(dirname "$0")/orchestrate.mjs" "$build/src/cli/loch" "$work" "${BENCH_RUNS:-1000}" "${BENCH_ROUNDS:-3}"

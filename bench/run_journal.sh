#!/usr/bin/env bash
# make bench (journal): catalog commits/s without a journal, with the journal in a local lake and
# in an S3 bucket (s3rver on this machine), side by side; see journal_commits.cc.
# Usage: bench/run_journal.sh BUILD_DIR
set -euo pipefail
build=$(realpath "${1:-build}")
"$build/bench/journal_commits" "${BENCH_JOURNAL_COMMITS:-200}" "${BENCH_ROUNDS:-5}"

#!/usr/bin/env bash
# make sanitize: the tests under sanitizers, as CI runs them (clang-14).
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer over the unit and end-to-end tests, built in
#         build-fuzz/: the same instrumented libraries the fuzz targets use (scripts/fuzz.sh), so
#         one build serves both. Leaks are findings too.
#   tsan  ThreadSanitizer over the concurrent parts: the write-ahead log, the delivery batcher and
#         ingest service, the front door, the query service, the file cache (their unit tests), and
#         `loch serve` under concurrent producers and queries (ingest_e2e_test, server_test) and its
#         orchestrator with its worker processes, webhooks and event streams (orchestrate_e2e_test), built
#         in build-tsan/. DuckDB is prebuilt without TSan: reports inside it are suppressed
#         (scripts/tsan.supp).
# Usage: scripts/sanitize.sh [asan] [tsan]   (both by default)   Environment: SANITIZE_JOBS
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=${SANITIZE_JOBS:-$(nproc)}

configure() {
  local dir=$1
  shift
  if [[ ! -f $dir/build.ninja ]]; then
    CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      "$@" >/dev/null
  fi
}

asan() {
  echo "sanitize: ASan + UBSan, unit and end-to-end tests (build-fuzz/)"
  configure build-fuzz -DLOCH_FUZZ=ON
  cmake --build build-fuzz -j "$jobs"
  (cd build-fuzz &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$jobs" -L 'unit|e2e' --no-tests=error --timeout 900)
}

tsan() {
  echo "sanitize: TSan, the concurrent parts (build-tsan/)"
  configure build-tsan -DLOCH_TSAN=ON
  cmake --build build-tsan -j "$jobs" --target ingest_test front_door_test file_cache_test \
    query_test loch ingest_e2e_test server_test orchestrate_e2e_test
  local tests='^(WalTest|DeliveryBatcherTest|IngestServiceTest|StreamConfigTest|FrontDoorTest'
  tests+='|QueryServiceTest|FileCacheTest|IngestE2eTest|OrchestrateE2eTest)\.|^server_test$'
  (cd build-tsan &&
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../scripts/tsan.supp" \
    ctest --output-on-failure -j "$jobs" -R "$tests" --no-tests=error --timeout 900)
}

modes=("$@")
((${#modes[@]})) || modes=(asan tsan)
for mode in "${modes[@]}"; do
  case $mode in
    asan | tsan) "$mode" ;;
    *) echo "usage: scripts/sanitize.sh [asan] [tsan]" >&2; exit 2 ;;
  esac
done

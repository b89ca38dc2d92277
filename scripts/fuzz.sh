#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets (fuzz/, clang-14, ASan + UBSan) in build-fuzz/ and runs
# each for FUZZ_SECONDS (default 60), starting from its corpus in fuzz/corpus/<target>/ (new
# interesting inputs go to build-fuzz/corpus/<target>/; copy the good ones back by hand).
# A crash, sanitizer report, leak or timeout stops with the reproducer's path; exit status 1.
# Usage: scripts/fuzz.sh [TARGET...]     Environment: FUZZ_SECONDS, FUZZ_JOBS (build jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
seconds=${FUZZ_SECONDS:-60}
build=build-fuzz
if [[ ! -f $build/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLOCH_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j "${FUZZ_JOBS:-$(nproc)}" --target fuzz_targets
targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in fuzz/fuzz_*.cc; do targets+=("$(basename "$source" .cc)"); done
fi
failed=0
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus" fuzz/corpus/"$target" "$build/findings/$target"
  echo "fuzz: $target for ${seconds} s"
  if ! "$build/fuzz/$target" "$corpus" fuzz/corpus/"$target" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$build/findings/$target/" 2>"$build/$target.log"; then
    echo "fuzz: $target FAILED; reproducer and log:" >&2
    ls "$build/findings/$target/" >&2
    tail -40 "$build/$target.log" >&2
    failed=1
  else
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$build/$target.log" | tr '\n' ' '
    echo
  fi
done
exit $failed

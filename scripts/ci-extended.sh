#!/usr/bin/env bash
# Extended CI: builds everything with AddressSanitizer + UndefinedBehaviorSanitizer in its own build
# directory and runs every test through ctest; --tsan adds a ThreadSanitizer build and run;
# --file-by-file builds without unity batches, which also proves every file includes what it uses
# (several times slower).
# Prints one summary line; exits non-zero when a configure, build or test step fails.
set -uo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/ci-extended.sh [--tsan] [--tsan-only] [--file-by-file] [--jobs N] [--lock FILE] [--build-root DIR] [-- CTEST_ARGS...]

  (default)         build-asan/: -DENABLE_ASAN=ON -DENABLE_UBSAN=ON, build, ctest
  --tsan            also build-tsan/: -DENABLE_TSAN=ON, build, ctest
  --tsan-only       only the ThreadSanitizer build
  --file-by-file    -DCMAKE_UNITY_BUILD=OFF: every file compiled on its own (checks its includes)
  --jobs N          parallel build and test jobs (default: nproc)
  --lock FILE       run each build under flock FILE (shared machines: one build at a time)
  --build-root DIR  where build-asan/ and build-tsan/ go (default: the repository root)
  -- ARGS           passed to ctest (e.g. -R Store)
EOF
}

here=$(cd "$(dirname "$0")/.." && pwd)
build_root=$here
jobs=$(nproc 2>/dev/null || echo 2)
lock=""
run_asan=1
run_tsan=0
unity=ON
ctest_args=()

while [ $# -gt 0 ]; do
  case "$1" in
    --tsan) run_tsan=1 ;;
    --tsan-only) run_tsan=1; run_asan=0 ;;
    --file-by-file) unity=OFF ;;
    --jobs|-j) jobs=${2:?--jobs needs a number}; shift ;;
    --lock) lock=${2:?--lock needs a file}; shift ;;
    --build-root) build_root=${2:?--build-root needs a directory}; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "ci-extended: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$jobs" in ''|*[!0-9]*|0) echo "ci-extended: --jobs needs a positive number" >&2; exit 2 ;; esac

# Sanitizer reports fail the test that triggers them instead of scrolling past.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

build_cmd() {
  if [ -n "$lock" ]; then
    flock "$lock" "$@"
  else
    "$@"
  fi
}

results=()
failed=0

# Configures, builds and tests one variant; records "name: PASS (n tests)" or the failing step.
run_variant() {
  local name=$1 dir=$2
  shift 2
  local log="$dir/ci-extended.log"
  mkdir -p "$dir"
  echo "ci-extended: [$name] configure $dir"
  local generator=()
  [ -f "$dir/CMakeCache.txt" ] || ! command -v ninja >/dev/null || generator=(-G Ninja)
  if ! cmake -S "$here" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD="$unity" -DWARNINGS_AS_ERRORS=ON "$@" >"$log" 2>&1; then
    tail -n 30 "$log"
    results+=("$name: FAIL (configure; $log)")
    failed=1
    return
  fi
  echo "ci-extended: [$name] build (-j$jobs)"
  if ! build_cmd cmake --build "$dir" -j"$jobs" >>"$log" 2>&1; then
    grep -E 'error|Error' "$log" | head -n 30
    results+=("$name: FAIL (build; $log)")
    failed=1
    return
  fi
  echo "ci-extended: [$name] ctest"
  local out
  out=$(cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 900 "${ctest_args[@]}" 2>&1)
  local rc=$?
  printf '%s\n' "$out" >>"$log"
  local summary
  summary=$(grep -E 'tests passed|No tests were found' <<<"$out" | tail -n 1)
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | grep -E 'Failed|\*\*\*|ERROR: (Address|Undefined|Thread)Sanitizer|runtime error:' | head -n 40
    results+=("$name: FAIL (${summary:-ctest exit $rc}; $log)")
    failed=1
  else
    results+=("$name: PASS (${summary:-ok})")
  fi
}

[ "$run_asan" = 1 ] && run_variant "asan+ubsan" "$build_root/build-asan" -DENABLE_ASAN=ON -DENABLE_UBSAN=ON -DENABLE_TSAN=OFF
[ "$run_tsan" = 1 ] && run_variant "tsan" "$build_root/build-tsan" -DENABLE_TSAN=ON -DENABLE_ASAN=OFF -DENABLE_UBSAN=OFF
[ "$run_tsan" = 0 ] && results+=("tsan: skipped (--tsan)")

verdict=PASS
[ "$failed" = 0 ] || verdict=FAIL
line="ci-extended: $verdict"
for r in "${results[@]}"; do line+=" | $r"; done
echo "$line"
exit "$failed"

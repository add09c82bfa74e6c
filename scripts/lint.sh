#!/usr/bin/env bash
# Lint: clang-format (--dry-run -Werror, never rewrites a file) on src/ tools/ tests/, and clang-tidy
# (.clang-tidy, build-lint/compile_commands.json) on the changed files or on all of them.
# Exits 0 when clean, 1 on findings, 2 on a usage or set-up error.
set -uo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/lint.sh [--all] [--base REF] [--build-dir DIR] [--jobs N] [--no-format] [--no-tidy]

  (default)        clang-format on every C++ file of src/ tools/ tests/; clang-tidy on the .cpp files
                   changed against REF (default HEAD: staged, unstaged and untracked files)
  --all            clang-tidy on every .cpp file of src/ tools/ tests/ in compile_commands.json
  --base REF       what "changed" is measured against (e.g. origin/main)
  --build-dir DIR  where compile_commands.json is (default: build-lint, configured here file by file
                   with -DCMAKE_UNITY_BUILD=OFF: a unity build's database lists batches, not files)
  --jobs N         clang-tidy processes in parallel (default 1)
  --no-format      skip clang-format
  --no-tidy        skip clang-tidy
Environment: CLANG_FORMAT, CLANG_TIDY name other binaries.
EOF
}

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir="$here/build-lint"
own_build_dir=1
base=HEAD
all=0
jobs=1
do_format=1
do_tidy=1

while [ $# -gt 0 ]; do
  case "$1" in
    --all) all=1 ;;
    --base) base=${2:?--base needs a ref}; shift ;;
    --build-dir) build_dir=${2:?--build-dir needs a directory}; own_build_dir=0; shift ;;
    --jobs|-j) jobs=${2:?--jobs needs a number}; shift ;;
    --no-format) do_format=0 ;;
    --no-tidy) do_tidy=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "lint: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$jobs" in ''|*[!0-9]*|0) echo "lint: --jobs needs a positive number" >&2; exit 2 ;; esac
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac

clang_format=${CLANG_FORMAT:-clang-format}
clang_tidy=${CLANG_TIDY:-clang-tidy}
cd "$here" || exit 2

# Every C++ file under the linted folders, relative to the repository root.
all_sources() {
  find src tools tests -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cc' \) 2>/dev/null | sort
}

# Files changed against $base (tracked, staged or not) plus untracked ones, under the linted folders.
changed_sources() {
  {
    git diff --name-only --diff-filter=d "$base" -- src tools tests
    git ls-files --others --exclude-standard -- src tools tests
  } | grep -E '\.(cpp|hpp|h|cc)$' | sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done
}

format_findings=0
format_files=0
if [ "$do_format" = 1 ]; then
  if ! command -v "$clang_format" >/dev/null 2>&1; then
    echo "lint: $clang_format not found (Debian: apt-get install clang-format)" >&2
    exit 2
  fi
  mapfile -t files < <(all_sources)
  format_files=${#files[@]}
  bad_files=()
  for f in "${files[@]}"; do
    if ! out=$("$clang_format" --dry-run -Werror --style=file "$f" 2>&1); then
      n=$(grep -c 'clang-format-violations' <<<"$out")
      [ "$n" -eq 0 ] && n=1
      format_findings=$((format_findings + n))
      bad_files+=("$f ($n)")
      printf '%s\n' "$out" | head -n 12
    fi
  done
  if [ ${#bad_files[@]} -gt 0 ]; then
    echo
    echo "lint: clang-format: ${#bad_files[@]} of $format_files files differ from .clang-format ($format_findings places):"
    printf '  %s\n' "${bad_files[@]}"
    echo "  (show one: $clang_format FILE | diff FILE -; fix your own files with: $clang_format -i FILE)"
  else
    echo "lint: clang-format: $format_files files clean"
  fi
fi

tidy_findings=0
tidy_files=0
if [ "$do_tidy" = 1 ]; then
  if ! command -v "$clang_tidy" >/dev/null 2>&1; then
    echo "lint: $clang_tidy not found (Debian: apt-get install clang-tidy)" >&2
    exit 2
  fi
  db="$build_dir/compile_commands.json"
  if [ "$own_build_dir" = 1 ]; then
    # Configure only (no build): clang-tidy needs the compile commands, one per file.
    if ! cmake -S "$here" -B "$build_dir" -DCMAKE_UNITY_BUILD=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null; then
      echo "lint: cannot configure $build_dir" >&2
      exit 2
    fi
  fi
  if [ ! -f "$db" ]; then
    echo "lint: $db missing: configure first (cmake -S . -B build; CMAKE_EXPORT_COMPILE_COMMANDS is on)" >&2
    exit 2
  fi
  if [ "$all" = 1 ]; then
    mapfile -t candidates < <(all_sources)
  else
    mapfile -t candidates < <(changed_sources)
  fi
  # clang-tidy needs a compile command: .cpp files in the database; headers are checked through them.
  units=()
  skipped=()
  for f in "${candidates[@]}"; do
    case "$f" in *.cpp|*.cc) ;; *) continue ;; esac
    if grep -qF "\"$here/$f\"" "$db"; then
      units+=("$f")
    else
      skipped+=("$f")
    fi
  done
  [ ${#skipped[@]} -gt 0 ] &&
    echo "lint: clang-tidy: not in $db (re-run cmake; a unity build lists batches, not files): ${skipped[*]}"
  tidy_files=${#units[@]}
  if [ "$tidy_files" -eq 0 ]; then
    echo "lint: clang-tidy: no files to check"
  else
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    printf '%s\0' "${units[@]}" |
      xargs -0 -n 1 -P "$jobs" "$clang_tidy" -p "$build_dir" --quiet \
        --extra-arg=-Wno-unknown-warning-option >"$log" 2>&1
    grep -vE '^[0-9]+ warnings?( and [0-9]+ errors?)? generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' "$log"
    # One finding per diagnostic line (file:line:col: warning|error: ... [check]), each counted once.
    tidy_findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log" | sort -u | wc -l)
    echo "lint: clang-tidy: $tidy_findings finding(s) in $tidy_files file(s)"
  fi
fi

total=$((format_findings + tidy_findings))
echo "lint: summary: clang-format $format_findings, clang-tidy $tidy_findings ($([ "$total" -eq 0 ] && echo clean || echo FINDINGS))"
[ "$total" -eq 0 ]

#!/usr/bin/env bash
# Fuzzes the pure core with cargo-fuzz: builds every target in fuzz/, runs
# each in turn for SECONDS (default 600) on one core, and prints per target
# the execs, exec/s, coverage (cov/ft), corpus size and crashes.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 20 (CI smoke)
# Exits non-zero if any target crashed; the input is left in fuzz/artifacts/.
# The working corpus, fuzz/corpus-gen/ (not committed), grows across runs and
# is topped up from the committed seeds (fuzz/corpus/) and crash inputs
# (fuzz/regressions/) each time. Logs: fuzz/target/logs/.
set -euo pipefail
. "$(dirname "$0")/env.sh"

secs=${1:-600}
shift || true
"$ROOT/scripts/bootstrap.sh" fuzz
cd "$ROOT/fuzz"

# Release with debug assertions and overflow checks. No sanitizer: the crate
# and the code it fuzzes are safe Rust, so ASan would only halve the execs.
flags=(-O -a -s none)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)

say "building ${#targets[@]} fuzz targets"
build_start=$SECONDS
cargo +nightly fuzz build "${flags[@]}"
say "built in $((SECONDS - build_start)) s"

# Outcome headers are refused past 8 KiB: let the fuzzer reach that edge.
max_len() {
  case $1 in
    outcome_*) echo 9000 ;;
    batch_body) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

mkdir -p target/logs
summary=()
failed=0
for t in "${targets[@]}"; do
  work=corpus-gen/$t
  mkdir -p "$work" "artifacts/$t"
  for seeds in "corpus/$t" "regressions/$t"; do
    [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  done
  crashes_before=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  log=target/logs/$t.log
  say "fuzzing $t for $secs s"
  start=$SECONDS
  rc=0
  cargo +nightly fuzz run "${flags[@]}" "$t" "$work" -- \
    -max_total_time="$secs" -max_len="$(max_len "$t")" -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  took=$((SECONDS - start))
  crashes=$(($(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l) - crashes_before))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  # The last status line: "#N  DONE  cov: C ft: F corp: N/SIZE ...". grep -a: a
  # log can hold non-text bytes (a panic quoting input, two runs sharing it).
  status=$(grep -aE '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$status")
  files=$(find "$work" -type f | wc -l)
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    failed=1
    [ "$crashes" != 0 ] || crashes="exit $rc"
    grep -aE 'panicked at|^Test unit written to|ERROR:' "$log" | head -5 >&2 || true
  fi
  summary+=("$(printf '%-14s %12s %9s %6s %7s %12s %7s %7s %6ss' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$files" "$crashes" "$took")")
done

printf '\n%-14s %12s %9s %6s %7s %12s %7s %7s %7s\n' \
  target execs exec/s cov ft corp files crashes time
printf '%s\n' "${summary[@]}"
if [ "$failed" != 0 ]; then
  say "a fuzz target crashed: inputs in fuzz/artifacts/, logs in fuzz/target/logs/"
  exit 1
fi

#!/usr/bin/env bash
# Runs every test tier; installs what it needs first (idempotent).
#   check:          scripts/check.sh: cargo fmt/clippy, wrangler's reading of the configs
#   1. host:        cargo test (unit, property and contract tests of the pure core)
#   2. browser:     the same unit and contract tests as wasm, in headless
#                   Chromium (wasm-pack test)
#   3. deploy:      after scripts/build.sh: wrangler's reading of wrangler.jsonc and
#                   the README's configs, what `wrangler deploy` uploads from here
#                   and from the package (scripts/package.sh) on a PATH without
#                   Rust, build.sh's check of its tools
#   4. integration: the built worker in workerd (wrangler dev) with a local
#                   origin and the strict Google API stand-in
#   5. e2e:         headless Chromium drives the demo site (www/) through the
#                   worker and watches the annotations arrive
#   6. fuzz smoke:  every cargo-fuzz target for 20 s (scripts/fuzz.sh; the
#                   10-minute runs are `scripts/fuzz.sh` alone)
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh" test

logs="$ROOT/target/test-logs"
mkdir -p "$logs"
count() { # count PATTERN-SUMMING-AWK LOG
  awk "$1" "$2"
}

"$ROOT/scripts/check.sh"

say "tier 1/6 host: cargo test"
cargo test --no-default-features 2>&1 | tee "$logs/host.log"
host=$(count '/^test result:/ { n += $4 } END { print n + 0 }' "$logs/host.log")

say "tier 2/6 browser: the core's unit and contract tests as wasm (wasm-pack test --headless --chrome)"
"$CARGO_BIN/wasm-pack" test --headless --chrome --mode no-install --no-default-features --lib --test contract 2>&1 | tee "$logs/browser.log"
browser=$(count '/^test result:/ { n += $4 } END { print n + 0 }' "$logs/browser.log")

say "build: scripts/build.sh"
sh "$ROOT/scripts/build.sh"

say "tier 3/6 deploy: the configs as wrangler reads them, the upload, the package without Rust"
node --test --test-reporter=spec --test-concurrency=1 tests/deploy/ 2>&1 | tee "$logs/deploy.log"
deploy=$(count '/^ℹ pass / { print $3 }' "$logs/deploy.log")

say "tier 4/6 integration: the worker in workerd"
node --test --test-reporter=spec --test-concurrency=1 tests/integration/ 2>&1 | tee "$logs/integration.log"
integration=$(count '/^ℹ pass / { print $3 }' "$logs/integration.log")

say "tier 5/6 e2e: headless Chromium on the demo (screenshot: tests/artifacts/demo.png)"
node --test --test-reporter=spec tests/e2e/ 2>&1 | tee "$logs/e2e.log"
e2e=$(count '/^ℹ pass / { print $3 }' "$logs/e2e.log")

say "tier 6/6 fuzz smoke: each cargo-fuzz target for ${FUZZ_SECONDS:=20} s"
"$ROOT/scripts/fuzz.sh" "$FUZZ_SECONDS" 2>&1 | tee "$logs/fuzz.log"
fuzz=$(awk '/^target +execs/ { on = 1; next } on && NF >= 9 && $8 == 0 { n++ } END { print n + 0 }' "$logs/fuzz.log")

wasm="$ROOT/build/index_bg.wasm"
echo
say "summary"
printf '  %-12s %4s tests passed\n' host "$host" browser "$browser" deploy "$deploy" integration "$integration" e2e "$e2e"
printf '  %-12s %4s targets ran without a crash\n' fuzz "$fuzz"
printf '  %-12s %s bytes raw, %s bytes gzip\n' wasm "$(wc -c < "$wasm")" "$(gzip -9c "$wasm" | wc -c)"
for n in "$host" "$browser" "$deploy" "$integration" "$e2e" "$fuzz"; do
  if [ "${n:-0}" -le 0 ]; then echo "a tier ran no tests" >&2; exit 1; fi
done

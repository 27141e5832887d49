#!/usr/bin/env sh
# Builds the worker into build/ (wrangler's [build] command runs this).
# Skips the build when build/ is newer than every input; FORCE_BUILD=1 rebuilds.
set -eu
. "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ -z "${FORCE_BUILD:-}" ] && [ -f build/index.js ] && [ -f build/index_bg.wasm ] &&
  [ -z "$(find src Cargo.toml Cargo.lock scripts/build.sh -newer build/index_bg.wasm -print -quit)" ]; then
  say "build/ is up to date (FORCE_BUILD=1 rebuilds)"
  exit 0
fi
"$CARGO_BIN/worker-build" --release

# worker-build always keeps the name section (~100 KB, a quarter of the
# module) for symbolised stack traces. Our panics abort and
# console_error_panic_hook still logs the message and source line, so the
# names buy little and cost every cold start: strip them. The feature list is
# worker-build's own, so wasm-opt emits nothing workerd cannot load.
"$WASM_OPT_BIN" build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling

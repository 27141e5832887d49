#!/usr/bin/env sh
# Builds the worker into build/ (wrangler's [build] command runs this).
# Skips the build when build/ is newer than every input; FORCE_BUILD=1 rebuilds.
set -eu
. "$(dirname "$0")/env.sh"
cd "$ROOT"
if [ -z "${FORCE_BUILD:-}" ] && [ -f build/index.js ] && [ -f build/index_bg.wasm ] &&
  [ -z "$(find src Cargo.toml Cargo.lock -newer build/index_bg.wasm -print -quit)" ]; then
  say "build/ is up to date (FORCE_BUILD=1 rebuilds)"
  exit 0
fi
exec "$CARGO_BIN/worker-build" --release

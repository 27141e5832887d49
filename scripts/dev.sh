#!/usr/bin/env bash
# Runs the worker locally in workerd with the demo origin and the Google API
# stand-in; installs and builds what it needs first (idempotent).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
say "building the worker"
sh "$ROOT/scripts/build.sh"
exec node "$ROOT/local/dev.mjs"

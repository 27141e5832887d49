#!/usr/bin/env sh
# Builds the worker into build/ (wrangler's [build] command runs this).
set -eu
. "$(dirname "$0")/env.sh"
cd "$ROOT"
exec worker-build --release

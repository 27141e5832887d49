#!/usr/bin/env bash
# The benchmark: this worker against a plain JavaScript pass-through Worker,
# and in front of the reCAPTCHA WAF worker against that Worker alone,
# all in workerd on this machine (method: bench/METHOD.md). Never part of the
# test command.
#   scripts/bench.sh            full run (about 22 min), writes BENCHMARKS.md and .svg
#   scripts/bench.sh --quick    short run for checking the harness; prints only
#   scripts/bench.sh --only c,jc   those contenders and their baselines (an A/B
#                               experiment); prints only unless --out FILE
#   JS_PEER=FILE scripts/bench.sh   also measures FILE, a third party's plain-JS
#                               Worker doing the same job (as --peer FILE)
# Other options go to bench/run.mjs (--rounds N, --seconds S, --connections C,
# --cold-runs N, --out FILE, --json FILE). RUNTIME_CPU / CLIENT_CPU pick the two cores.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
scripts/bootstrap.sh bench   # build tools, plus wrk and nginx from Debian
scripts/build.sh
BENCH_COMMAND="scripts/bench.sh${*:+ $*}" exec node bench/run.mjs "$@"

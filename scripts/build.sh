#!/usr/bin/env sh
# Builds the worker into build/ (wrangler's [build] command runs this):
# build/index_bg.wasm, and build/index.js (src/runtime/entry.js bundled with
# wasm-bindgen's glue). Skips the build when build/ is newer than every input;
# FORCE_BUILD=1 rebuilds.
#
# The steps are worker-build's (cargo, wasm-bindgen, wasm-opt, esbuild) with
# our own entry module in place of its generated one, and the name section
# stripped, which worker-build always keeps.
set -eu
. "$(dirname "$0")/env.sh"
cd "$ROOT"

up_to_date() {
  [ -z "${FORCE_BUILD:-}" ] && [ -f build/index.js ] && [ -f build/index_bg.wasm ] &&
    [ -z "$(find src Cargo.toml Cargo.lock scripts/build.sh -newer build/index_bg.wasm -print -quit)" ]
}
if up_to_date; then
  say "build/ is up to date (FORCE_BUILD=1 rebuilds)"
  exit 0
fi
# Test stacks may start several `wrangler dev` at once, each running this.
mkdir -p target
exec 9>target/.build.lock
flock 9
if up_to_date; then exit 0; fi

# wasm-bindgen's macro uses js_sys' futures, as worker-build has it do.
WASM_BINDGEN_USE_JS_SYS=1 cargo build --lib --release --target wasm32-unknown-unknown

gen=target/worker-glue
rm -rf "$gen" build.tmp
mkdir -p "$gen" build.tmp
"$WASM_BINDGEN_BIN" target/wasm32-unknown-unknown/release/recaptcha_annotate_edge.wasm \
  --out-dir "$gen" --out-name index --target module --no-typescript \
  --experimental-reset-state-function --force-enable-abort-handler
# esbuild does not parse source-phase imports; wrangler loads the module the same way.
sed -i 's/^import source /import /' "$gen/index.js"
cp src/runtime/entry.js "$gen/entry.js"
esbuild "$gen/entry.js" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm --external:'cloudflare:*' --outfile=build.tmp/index.js

# -Oz, without the name section (~100 KB: a quarter of the module) or
# producers: our panics abort and console_error_panic_hook still logs the
# message and source line. The feature list is worker-build's, so wasm-opt
# emits nothing workerd cannot load.
"$WASM_OPT_BIN" "$gen/index_bg.wasm" -o build.tmp/index_bg.wasm -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling

rm -rf build
mv build.tmp build

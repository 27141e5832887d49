#!/usr/bin/env sh
# Builds the worker into build/ (wrangler's [build] command runs this):
# build/index_bg.wasm, and build/index.js (src/runtime/entry.js bundled with
# wasm-bindgen's glue). Skips the build when build/ is newer than every input;
# FORCE_BUILD=1 rebuilds.
#
# For profiling, KEEP_NAMES=1 keeps the wasm's name section (Rust function
# names in a CPU profile), in target/build-names unless BUILD_DIR says where.
#
# The steps are worker-build's (cargo, wasm-bindgen, wasm-opt, esbuild) with
# our own entry module in place of its generated one, and the name section
# stripped, which worker-build always keeps.
set -eu
. "$(dirname "$0")/env.sh"
cd "$ROOT"
out=build
strip="--strip-debug --strip-producers"
if [ -n "${KEEP_NAMES:-}" ]; then
  out=target/build-names
  strip="--debuginfo"
fi
out=${BUILD_DIR:-$out}
out=${out%/}
# The wasm is read from here below, wherever the caller's cargo would build.
export CARGO_TARGET_DIR="$ROOT/target"

up_to_date() {
  [ -z "${FORCE_BUILD:-}" ] && [ -f "$out/index.js" ] && [ -f "$out/index_bg.wasm" ] &&
    [ -z "$(find src Cargo.toml Cargo.lock package-lock.json scripts/build.sh -newer "$out/index_bg.wasm" -print -quit)" ]
}
if up_to_date; then
  say "$out/ is up to date (FORCE_BUILD=1 rebuilds)"
  exit 0
fi

# Every tool is checked before cargo starts, so a machine without them learns
# at once what is missing and the one command that installs it, rather than
# after minutes of compiling.
missing=""
need() { missing="$missing
  - $1"; }
# Linux's: no installer here brings them to another system.
command -v flock >/dev/null 2>&1 || need "flock (util-linux)"
sed --version >/dev/null 2>&1 || need "GNU sed"
if [ -n "$missing" ]; then
  say "cannot build: missing$missing"
  echo "scripts/build.sh needs Linux's shell tools (README \"Building\")." >&2
  exit 1
fi
if ! command -v cargo >/dev/null 2>&1 || ! command -v rustc >/dev/null 2>&1; then
  need "cargo and rustc (rustup with the stable toolchain)"
elif ! [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
  need "the wasm32-unknown-unknown Rust target"
fi
"$WASM_BINDGEN_BIN" --version 2>/dev/null | grep -qw -- "$WASM_BINDGEN_VERSION" ||
  need "wasm-bindgen $WASM_BINDGEN_VERSION (as Cargo.lock pins it) at $WASM_BINDGEN_BIN"
command -v node >/dev/null 2>&1 || need "node (20 or later) and npm"
"$ROOT/node_modules/.bin/esbuild" --version >/dev/null 2>&1 || need "esbuild in node_modules"
[ -f "$WASM_OPT_BIN" ] || need "wasm-opt in node_modules (npm package binaryen)"
if [ -n "$missing" ]; then
  say "cannot build: missing$missing"
  case $missing in
    *"cargo and rustc"*) echo "Install rustup (stable toolchain) first, then run:" >&2 ;;
    *) echo "Install them with:" >&2 ;;
  esac
  echo "  scripts/bootstrap.sh" >&2
  exit 1
fi

# Test stacks may start several `wrangler dev` at once, each running this.
mkdir -p target
exec 9>target/.build.lock
flock -w 900 9
if up_to_date; then exit 0; fi
# The output gets the time the build started: a source edited during the
# build is newer, so the next run builds again.
started=target/.build-started
touch "$started"

# Source paths in panic locations are written relative to the crate
# (`serde_json-1.0.x/src/de.rs`), so the deployed wasm names no directory of
# the machine that built it; shorter paths are also fewer bytes. The sources
# are fetched first, so even a first build on a fresh machine knows where
# they are. Passed as CARGO_ENCODED_RUSTFLAGS (one flag per \037-separated
# field, so a path with spaces stays one argument), which replaces RUSTFLAGS:
# any RUSTFLAGS of the caller's are carried over.
cargo fetch --quiet --target wasm32-unknown-unknown 9>&-
sep=$(printf '\037')
flags="--remap-path-prefix=$ROOT/="
for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  [ -d "$dir" ] && flags="$flags$sep--remap-path-prefix=$dir="
done
for flag in ${RUSTFLAGS:-}; do
  flags="$flags$sep$flag"
done
# wasm-bindgen's macro uses js_sys' futures, as worker-build has it do. The
# lock's descriptor is closed for cargo, so no daemon it starts can hold it.
CARGO_ENCODED_RUSTFLAGS="$flags" WASM_BINDGEN_USE_JS_SYS=1 \
  cargo build --lib --release --target wasm32-unknown-unknown 9>&-

gen=target/worker-glue
rm -rf "$gen" "$out.tmp"
mkdir -p "$gen" "$out.tmp"
"$WASM_BINDGEN_BIN" target/wasm32-unknown-unknown/release/recaptcha_annotate_edge.wasm \
  --out-dir "$gen" --out-name index --target module --no-typescript \
  --experimental-reset-state-function --force-enable-abort-handler
# esbuild does not parse source-phase imports; wrangler loads the module the same way.
sed -i 's/^import source /import /' "$gen/index.js"
cp src/runtime/entry.js "$gen/entry.js"
esbuild "$gen/entry.js" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm --external:'cloudflare:*' --outfile="$out.tmp/index.js"

# -Oz, without the name section (~100 KB: a quarter of the module) or
# producers: our panics abort and console_error_panic_hook still logs the
# message and source line. The feature list is worker-build's, so wasm-opt
# emits nothing workerd cannot load.
# shellcheck disable=SC2086 # $strip is two flags or one
"$WASM_OPT_BIN" "$gen/index_bg.wasm" -o "$out.tmp/index_bg.wasm" -Oz $strip \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling

touch -r "$started" "$out.tmp/index.js" "$out.tmp/index_bg.wasm"
rm -rf "$out"
mv "$out.tmp" "$out"

#!/usr/bin/env bash
# Installs what the project needs, idempotently; fast when already done.
#   scripts/bootstrap.sh         build + run tools (Rust target, wasm-bindgen, wrangler, esbuild, wasm-opt)
#   scripts/bootstrap.sh test    also the test tools (wasm-pack, Chromium, ChromeDriver)
#   scripts/bootstrap.sh bench   also the benchmark's load generator and origin (wrk, nginx)
#   scripts/bootstrap.sh fuzz    only the fuzzing tools (cargo-fuzz; checks for nightly)
set -euo pipefail
. "$(dirname "$0")/env.sh"

# cargo_tool CRATE VERSION BINARY: install CRATE at exactly VERSION into
# $CARGO_BIN unless the BINARY there already reports it (another copy elsewhere
# on PATH does not count: the build points at this one). The crates.io mirror
# can lag behind a lockfile, so a failed --locked install is retried without
# it (the version stays pinned).
cargo_tool() {
  local crate=$1 version=$2 bin=$3
  if "$CARGO_BIN/$bin" --version 2>/dev/null | grep -qw -- "$version"; then return; fi
  say "installing $crate $version"
  cargo install --locked "$crate" --version "=$version" ||
    cargo install "$crate" --version "=$version"
}

if [ "${1:-}" = fuzz ]; then
  # cargo-fuzz needs nightly (sanitizer-coverage flags); no toolchain can be
  # fetched on the project's machines, so a missing one is an error, not an install.
  if ! cargo +nightly --version >/dev/null 2>&1; then
    say "the nightly toolchain is missing: cargo fuzz needs it (rustup toolchain install nightly)"
    exit 1
  fi
  cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz
  exit 0
fi

# rustup and Node are the two things this script cannot install (README "Building").
for tool in rustup cargo node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool is missing: install rustup with the stable toolchain, and Node.js 20 or later with npm (README \"Building\")"
    exit 1
  fi
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen

# node_modules is reinstalled only when package-lock.json changed.
stamp="$ROOT/node_modules/.package-lock.sha"
want=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing npm packages (wrangler, binaryen)"
  (cd "$ROOT" && npm ci --no-audit --no-fund)
  echo "$want" > "$stamp"
fi

if [ "${1:-}" = test ]; then
  cargo_tool wasm-pack "$WASM_PACK_VERSION" wasm-pack
  if ! command -v chromium >/dev/null || ! [ -x /usr/bin/chromedriver ]; then
    say "installing Debian's chromium and chromium-driver"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get install -y chromium chromium-driver ||
      { $sudo_ apt-get update && $sudo_ apt-get install -y chromium chromium-driver; }
  fi
fi

if [ "${1:-}" = bench ]; then
  # wrk: the load generator; nginx-light: the origin (the service it may
  # start is not used: the benchmark runs its own nginx on a free port).
  if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
    say "installing Debian's wrk and nginx-light"
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get install -y wrk nginx-light ||
      { $sudo_ apt-get update && $sudo_ apt-get install -y wrk nginx-light; }
  fi
fi

#!/usr/bin/env bash
# The quick checks, no build: rustfmt, clippy for the host and wasm32, and
# wrangler's own reading of wrangler.jsonc and of the README's configs
# (tests/deploy/config.test.mjs), and CONTRIBUTING's layout against the tree
# (tests/deploy/layout.test.mjs). scripts/test.sh starts with these.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"

say "check: cargo fmt --check, cargo clippy -D warnings, wrangler's reading of the configs"
cargo fmt --all -- --check
cargo clippy --quiet --no-default-features --all-targets -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown --lib -- -D warnings
node --test --test-reporter=spec tests/deploy/config.test.mjs tests/deploy/layout.test.mjs

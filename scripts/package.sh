#!/usr/bin/env bash
# Packs the built worker for a machine without Rust: a folder that deploys
# with Node alone, and the same as a tarball.
#   target/package/recaptcha-annotate-edge/         build/index.js, build/index_bg.wasm,
#                                                   wrangler.jsonc, package.json,
#                                                   .dev.vars.example, README.md
#   target/package/recaptcha-annotate-edge.tar.gz
# Its wrangler.jsonc is the repository's less the build step, so vars, queues
# and observability stay as configured here, and wrangler uploads build/ as
# built (no_bundle). Installs the tools and builds first (both idempotent).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
sh "$ROOT/scripts/build.sh"

name=recaptcha-annotate-edge
dest=target/package
dir=$dest/$name
rm -rf "$dir" "$dest/$name.tar.gz"
mkdir -p "$dir/build"
cp build/index.js build/index_bg.wasm "$dir/build/"
cp .dev.vars.example "$dir/"
cp deploy/README.md "$dir/README.md"

# The build block is three lines at the top level (wrangler.jsonc keeps it so).
sed '/^  "build": {$/,/^  },$/d' wrangler.jsonc > "$dir/wrangler.jsonc"
if grep -q '"build"' "$dir/wrangler.jsonc"; then
  say "wrangler.jsonc's build block is no longer where scripts/package.sh looks for it"
  exit 1
fi

# The wrangler this repository tests with, pinned.
node -e '
  const fs = require("fs");
  const [root, out] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(root, "utf8"));
  fs.writeFileSync(out, JSON.stringify({
    name: pkg.name + "-deploy",
    private: true,
    description: "The built recaptcha-annotate-edge worker and its wrangler config: deploys with Node alone",
    scripts: { deploy: "wrangler deploy", dev: "wrangler dev" },
    engines: pkg.engines,
    devDependencies: { wrangler: pkg.devDependencies.wrangler },
  }, null, 2) + "\n");
' package.json "$dir/package.json"

tar --sort=name --owner=0 --group=0 --numeric-owner -C "$dest" -cf - "$name" |
  gzip -9n > "$dest/$name.tar.gz"
say "packaged: $dir/ and $dest/$name.tar.gz ($(wc -c < "$dest/$name.tar.gz") bytes)"

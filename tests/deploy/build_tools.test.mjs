// scripts/build.sh on a machine without its tools: it names what is missing
// and the command that installs it, before cargo starts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../../local/worker.mjs';

const WASM_BINDGEN_VERSION = /name = "wasm-bindgen"\nversion = "([^"]+)"/
  .exec(fs.readFileSync(path.join(ROOT, 'Cargo.lock'), 'utf8'))[1];

/** The PATH less every directory holding one of `tools`. */
function pathWithout(tools) {
  return process.env.PATH.split(path.delimiter)
    .filter((dir) => !tools.some((t) => fs.existsSync(path.join(dir, t))))
    .join(path.delimiter);
}

/** Runs build.sh into a fresh BUILD_DIR with CARGO_HOME = `cargoHome`. */
function build(cargoHome, extraPath = '') {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-build-'));
  const out = path.join(tmp, 'out');
  const r = spawnSync('sh', [path.join(ROOT, 'scripts', 'build.sh')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PATH: [extraPath, pathWithout(['cargo', 'rustc', 'rustup', 'wasm-bindgen'])].filter(Boolean).join(path.delimiter),
      CARGO_HOME: cargoHome,
      BUILD_DIR: out,
      NO_COLOR: '1',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const result = { ...r, built: fs.existsSync(out) || fs.existsSync(`${out}.tmp`) };
  fs.rmSync(tmp, { recursive: true, force: true });
  return result;
}

test('without Rust, build.sh names cargo and wasm-bindgen and the bootstrap command, and compiles nothing', () => {
  const cargoHome = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-cargo-'));
  const r = build(cargoHome);
  fs.rmSync(cargoHome, { recursive: true, force: true });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /missing/);
  assert.match(r.stderr, /cargo and rustc \(rustup with the stable toolchain\)/);
  assert.match(r.stderr, new RegExp(`wasm-bindgen ${WASM_BINDGEN_VERSION.replaceAll('.', '\\.')}`));
  assert.match(r.stderr, /^ {2}scripts\/bootstrap\.sh$/m);
  assert.equal(r.built, false, 'nothing was written');
  assert.doesNotMatch(r.stderr, /Compiling|Finished/, 'cargo did not start');
});

test('with a wasm-bindgen of another version, build.sh names the pinned one before cargo starts', () => {
  const cargoHome = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-cargo-'));
  const bin = path.join(cargoHome, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'wasm-bindgen'), '#!/bin/sh\necho "wasm-bindgen 0.0.1"\n', { mode: 0o755 });
  // The real toolchain, through rustup's proxies (they find the toolchain in RUSTUP_HOME).
  const realBin = process.env.PATH.split(path.delimiter).find((d) => fs.existsSync(path.join(d, 'cargo')));
  assert.ok(realBin, 'cargo is on the test run\'s PATH');
  const r = build(cargoHome, realBin);
  fs.rmSync(cargoHome, { recursive: true, force: true });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`missing\\n {2}- wasm-bindgen ${WASM_BINDGEN_VERSION.replaceAll('.', '\\.')} \\(as Cargo\\.lock pins it\\)`));
  assert.doesNotMatch(r.stderr, /cargo and rustc/);
  assert.match(r.stderr, /Install them with:\n {2}scripts\/bootstrap\.sh/);
  assert.equal(r.built, false, 'nothing was written');
  assert.doesNotMatch(r.stderr, /Compiling|Finished/, 'cargo did not start');
});

// What `wrangler deploy` uploads: from the repository and from the package
// (scripts/package.sh), whose machine has Node but no Rust. Both must upload
// build/ byte for byte: wrangler bundles nothing again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT, dryRun, listFiles, readConfig } from './wrangler.mjs';

const NAME = 'recaptcha-annotate-edge';
const TARBALL = path.join(ROOT, 'target', 'package', `${NAME}.tar.gz`);
const BUILT = ['index.js', 'index_bg.wasm'];
// wrangler writes a README.md of its own beside the upload in --outdir.
const OUTDIR_EXTRA = ['README.md'];

/** Asserts the dry run's upload in `outdir` is build/'s files, unchanged. */
function assertUploadIsBuild(outdir) {
  assert.deepEqual(listFiles(outdir), [...OUTDIR_EXTRA, ...BUILT].sort());
  for (const f of BUILT) {
    const sent = fs.readFileSync(path.join(outdir, f));
    const built = fs.readFileSync(path.join(ROOT, 'build', f));
    assert.ok(sent.equals(built), `${f}: uploaded ${sent.length} bytes differ from build/'s ${built.length}`);
  }
}

function totalUpload(output) {
  return /Total Upload: [^\n]*/.exec(output)?.[0];
}

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-upload-'));
  // Builds only if build/ is out of date (scripts/test.sh has just built it).
  execFileSync(path.join(ROOT, 'scripts', 'package.sh'), { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("the repository's wrangler deploy uploads build/ as built", () => {
  const outdir = path.join(tmp, 'repo-dry-run');
  const r = dryRun({ cwd: ROOT, outdir });
  assert.equal(r.status, 0, r.output);
  console.log(`repository: ${totalUpload(r.output)}`);
  assertUploadIsBuild(outdir);
});

test('the tarball holds the built worker, its config, package.json, .dev.vars.example and a README', () => {
  const entries = execFileSync('tar', ['tzf', TARBALL], { encoding: 'utf8' })
    .split('\n').filter((e) => e && !e.endsWith('/')).sort();
  assert.deepEqual(entries, [
    '.dev.vars.example', 'README.md', 'build/index.js', 'build/index_bg.wasm', 'package.json', 'wrangler.jsonc',
  ].map((f) => `${NAME}/${f}`).sort());
});

test("the package's config is the repository's less the build step", () => {
  const pkg = readConfig(path.join(ROOT, 'target', 'package', NAME, 'wrangler.jsonc'));
  const repo = readConfig(path.join(ROOT, 'wrangler.jsonc'));
  assert.deepEqual(pkg.printed, [], pkg.printed.join('\n'));
  assert.equal(pkg.config.build.command, undefined, 'no build step');
  const comparable = ({ config }, dir) => {
    const { build, configPath, userConfigPath, main, ...rest } = config;
    return { ...rest, main: path.relative(dir, main) };
  };
  assert.deepEqual(comparable(pkg, path.join(ROOT, 'target', 'package', NAME)), comparable(repo, ROOT));
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'target', 'package', NAME, 'package.json'), 'utf8'));
  const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(manifest.devDependencies.wrangler, ours.devDependencies.wrangler, 'the wrangler these tests ran');
});

test('the package deploys (dry run) on a PATH with node and no Rust toolchain, uploading build/ unchanged', () => {
  const unpacked = path.join(tmp, 'unpacked');
  fs.mkdirSync(unpacked);
  execFileSync('tar', ['xzf', TARBALL, '-C', unpacked]);
  const dir = path.join(unpacked, NAME);
  // `npm install` there would fetch this same wrangler; the tests reuse ours.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const bin = path.join(tmp, 'bin');
  const home = path.join(tmp, 'home');
  fs.mkdirSync(bin);
  fs.mkdirSync(home);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  const env = { PATH: bin, HOME: home, CARGO_HOME: path.join(home, '.cargo'), RUSTUP_HOME: path.join(home, '.rustup') };
  for (const tool of ['cargo', 'rustc', 'rustup', 'wasm-bindgen', 'sh']) {
    assert.equal(spawnSync(tool, ['--version'], { env }).error?.code, 'ENOENT', `${tool} is not on the PATH`);
  }

  const outdir = path.join(tmp, 'package-dry-run');
  const r = dryRun({ cwd: dir, outdir, env, wrangler: path.join(dir, 'node_modules', '.bin', 'wrangler') });
  assert.equal(r.status, 0, r.output);
  console.log(`package: ${totalUpload(r.output)}`);
  assert.doesNotMatch(r.output, /custom build/, 'no build step ran');
  assertUploadIsBuild(outdir);
});

// What `wrangler deploy` uploads from the repository: build/ byte for byte,
// wrangler bundles nothing again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT, dryRun, listFiles } from './wrangler.mjs';

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
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("the repository's wrangler deploy uploads build/ as built", () => {
  const outdir = path.join(tmp, 'repo-dry-run');
  const r = dryRun({ cwd: ROOT, outdir });
  assert.equal(r.status, 0, r.output);
  console.log(`repository: ${totalUpload(r.output)}`);
  assertUploadIsBuild(outdir);
});

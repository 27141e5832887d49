// The size budget: every byte of the module is paid at each cold start.
// Deterministic (bytes, not time). The budget is today's size plus under
// 1 KB, a ratchet: lower it when the module shrinks. The benchmark's goal is lower
// (GOALS in bench/goals.mjs; BENCHMARKS.md has the last measured sizes).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ROOT } from '../../local/worker.mjs';

const BUDGET = {
  'build/index_bg.wasm': { raw: 437_000, gzip: 187_500 },
  'build/index.js': { raw: 28_000, gzip: 7_600 },
};

for (const [file, budget] of Object.entries(BUDGET)) {
  test(`${file} fits its size budget (${budget.raw} bytes raw, ${budget.gzip} gzip)`, () => {
    const bytes = fs.readFileSync(path.join(ROOT, file));
    const gzip = zlib.gzipSync(bytes, { level: 9 }).length;
    console.log(`${file}: ${bytes.length} bytes raw, ${gzip} gzip`);
    assert.ok(bytes.length <= budget.raw, `${bytes.length} bytes raw > ${budget.raw}`);
    assert.ok(gzip <= budget.gzip, `${gzip} bytes gzip > ${budget.gzip}`);
  });
}

/** The names of a wasm module's custom sections. */
function customSections(bytes) {
  const names = [];
  let i = 8; // magic and version
  const leb = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++];
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
  };
  while (i < bytes.length) {
    const id = bytes[i++];
    const size = leb();
    const end = i + size;
    if (id === 0) {
      const len = leb();
      names.push(bytes.subarray(i, i + len).toString('utf8'));
    }
    i = end;
  }
  return names;
}

test('the module carries no name section (scripts/build.sh strips it)', () => {
  const sections = customSections(fs.readFileSync(path.join(ROOT, 'build/index_bg.wasm')));
  assert.ok(sections.includes('target_features'), `sections parsed: ${sections}`);
  assert.ok(!sections.includes('name'), `custom sections: ${sections}`);
});

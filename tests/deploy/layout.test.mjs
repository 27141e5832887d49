// CONTRIBUTING.md's layout drawing names real paths: every file or folder it
// lists exists, and every source file under src/ is listed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The paths the drawing names: each entry's indentation gives its folder,
 * and a folder's description may name its files (`mod.rs; api.rs (…)`).
 */
function layoutPaths() {
  const text = fs.readFileSync(path.join(ROOT, 'CONTRIBUTING.md'), 'utf8');
  const section = text.slice(text.indexOf('## Layout'));
  const open = section.indexOf('```\n') + 4;
  const block = section.slice(open, section.indexOf('\n```', open));
  const paths = [];
  const stack = [];
  let folder = null; // the folder whose description is being read
  for (const line of block.split('\n')) {
    const m = /^( *)(\S+(?:, \S+)*)(.*)$/.exec(line);
    if (!m) continue;
    let description = m[3];
    if (m[1].length >= 25) {
      description = line; // a continuation line
    } else {
      const depth = m[1].length / 2;
      stack.length = depth;
      folder = null;
      for (const name of m[2].split(',').map((n) => n.trim()).filter(Boolean)) {
        const full = [...stack, name].join('');
        paths.push(full);
        if (name.endsWith('/')) {
          stack[depth] = name;
          folder = full;
        }
      }
    }
    if (folder) {
      for (const [file] of description.matchAll(/(?<![\w./*-])\w[\w.-]*\.(?:rs|mjs|js)\b/g)) paths.push(folder + file);
    }
  }
  return paths;
}

test("every path CONTRIBUTING.md's layout names exists", () => {
  const paths = layoutPaths();
  assert.ok(paths.length > 30, `only ${paths.length} paths read from the layout`);
  const missing = paths.filter((p) => !fs.existsSync(path.join(ROOT, p)));
  assert.deepEqual(missing, []);
});

test("every source file under src/ is in CONTRIBUTING.md's layout", () => {
  const listed = new Set(layoutPaths());
  const unlisted = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (!listed.has(rel) && !(entry.name === 'mod.rs' && listed.has(`${dir}/`))) unlisted.push(rel);
    }
  };
  walk('src');
  assert.deepEqual(unlisted, []);
});

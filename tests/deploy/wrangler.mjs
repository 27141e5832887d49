// What the deploy tests share: wrangler's own config reader with every
// diagnostic it prints captured, `wrangler deploy --dry-run`, and the README's
// code, read from README.md itself so the tests and the text cannot drift.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT } from '../../local/worker.mjs';

export { ROOT };
export const WRANGLER = path.join(ROOT, 'node_modules', '.bin', 'wrangler');

// Warnings must print for the reader to catch them, whatever the caller's setting.
process.env.WRANGLER_LOG = 'log';
process.env.WRANGLER_SEND_METRICS = 'false';
const { unstable_readConfig, experimental_readRawConfig } = await import('wrangler');
export { experimental_readRawConfig };

/**
 * The config at `file` as wrangler reads it for `wrangler deploy`, and every
 * line wrangler printed while reading it (warnings such as "Unexpected fields
 * found in build field"). A config wrangler refuses throws.
 */
export function readConfig(file) {
  const printed = [];
  const saved = {};
  for (const m of ['debug', 'info', 'log', 'warn', 'error']) {
    saved[m] = console[m];
    console[m] = (...args) => printed.push(args.join(' ').replace(/\x1b\[[0-9;]*m/g, ''));
  }
  try {
    return { config: unstable_readConfig({ config: file }), printed };
  } finally {
    Object.assign(console, saved);
  }
}

/** The config wrangler reads from `text`, written as `name` in a new directory. */
export function readConfigText(name, text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-config-'));
  try {
    fs.writeFileSync(path.join(dir, name), text);
    return readConfig(path.join(dir, name));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `wrangler deploy --dry-run --outdir <outdir>` in `cwd`; `env` replaces the
 * environment (wrangler's telemetry off). Returns spawnSync's result with
 * `output`: stdout and stderr, uncoloured.
 */
export function dryRun({ cwd, outdir, env = process.env, wrangler = WRANGLER }) {
  const r = spawnSync(wrangler, ['deploy', '--dry-run', '--outdir', outdir], {
    cwd,
    env: { ...env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  r.output = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '');
  return r;
}

/** The files of a directory, recursively, as sorted relative paths. */
export function listFiles(dir) {
  return fs.readdirSync(dir, { recursive: true })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

export const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The text of the README section under `## <title>`, up to the next `## `. */
export function readmeSection(title) {
  const start = README.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${title}"`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of `text` in language `lang`, in order. */
export function codeBlocks(text, lang) {
  return [...text.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]);
}

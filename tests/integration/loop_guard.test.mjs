// The loop guard: with ORIGIN_URL unset the worker fetches the request's own
// URL, which under `wrangler dev` is the worker itself. Its own request
// coming back (it carries the isolate's nonce in X-Annotate-Edge-Loop) gets
// a 508 naming ORIGIN_URL instead of being fetched again, and the log says
// why once per isolate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, parseEvent, ROOT, startWorker } from '../../local/worker.mjs';
import { wafChain } from '../../local/waf.mjs';
import { sleep } from './figures.mjs';
import { startStack } from './fixtures.mjs';

const REQUESTS = 20;

/** What the config_invalid events say of ORIGIN_URL, one entry per event. */
const loopLines = (logs) => logs.map(parseEvent)
  .filter((e) => e?.event === 'config_invalid' && e.errors.some((x) => x.startsWith('ORIGIN_URL:')))
  .map((e) => e.errors.find((x) => x.startsWith('ORIGIN_URL:')));

/** The same, from plain `wrangler dev`'s output, which prints a logged event
 *  object in its inspect form: the error is a line of its own. */
const inspectedLoopLines = (logs) => logs.filter((l) => /ORIGIN_URL: is unset, .*came back to it/.test(l));

/**
 * The first request to a worker with nothing configured, timed, then
 * REQUESTS more: each must be a 508 naming ORIGIN_URL. Returns the timings.
 */
async function answersLoops(url) {
  const one = async (p) => {
    const res = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    assert.equal(res.status, 508, body);
    assert.match(body, /ORIGIN_URL/);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  };
  let t0 = performance.now();
  await one('/');
  const first_ms = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < REQUESTS; i += 1) await one(`/page/${i}?q=${i}`);
  return { first_ms: Math.round(first_ms), more_ms: Math.round(performance.now() - t0) };
}

/** After the requests, once the log has caught up: exactly one line says why, and nothing recursed. */
async function loggedOnce(logs, read = loopLines) {
  await sleep(500);
  const lines = read(logs);
  assert.equal(lines.length, 1, logs.join('\n'));
  assert.match(lines[0], /ORIGIN_URL: is unset, .*came back to it/);
  assert.equal(logs.filter((l) => l.includes('origin_unreachable')).length, 0, 'the worker fetched itself until it failed');
  return lines.length;
}

test('plain wrangler dev with nothing configured answers 508 naming ORIGIN_URL within a second, and keeps answering', async () => {
  const w = await startWorker({});
  try {
    const times = await answersLoops(w.url);
    assert.ok(times.first_ms < 1000, `first answer after ${times.first_ms} ms`);
    assert.ok(times.more_ms < REQUESTS * 500, `${REQUESTS} answers took ${times.more_ms} ms`);
    const lines = await loggedOnce(w.logs);
    console.log(`figure ${JSON.stringify({ loop_guard: { ...times, requests: REQUESTS + 1, log_lines: lines } })}`);
  } finally {
    await w.stop();
  }
});

test('wrangler dev in the repository, with its own config and nothing else, answers 508 naming ORIGIN_URL', async () => {
  // Whatever the config file is called, wrangler finds it in the repository;
  // an empty env file keeps a developer's own .dev.vars or .env out of it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-repo-'));
  const envFile = path.join(dir, 'empty.env');
  fs.writeFileSync(envFile, '');
  const [port, inspector] = [await freePort(), await freePort()];
  const { CLOUDFLARE_INCLUDE_PROCESS_ENV, ...env } = process.env;
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'wrangler'), [
    'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--env-file', envFile, '--persist-to', path.join(dir, 'state'),
    '--show-interactive-dev-session=false', '--log-level', 'log',
  ], { cwd: ROOT, env: { ...env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  let exited = false;
  const exit = new Promise((resolve) => child.on('exit', () => { exited = true; resolve(); }));
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    let buf = '';
    stream.on('data', (chunk) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop();
      logs.push(...lines.map((l) => l.replace(/\x1b\[[0-9;]*m/g, '')));
    });
  }
  try {
    // Its build step may rebuild the worker first.
    const deadline = Date.now() + 300_000;
    while (!logs.some((l) => l.includes('Ready on'))) {
      assert.ok(!exited, `wrangler dev exited:\n${logs.join('\n')}`);
      assert.ok(Date.now() < deadline, `wrangler dev not ready:\n${logs.slice(-20).join('\n')}`);
      await sleep(100);
    }
    const times = await answersLoops(`http://127.0.0.1:${port}`);
    assert.ok(times.first_ms < 1000, `first answer after ${times.first_ms} ms`);
    await loggedOnce(logs, inspectedLoopLines);
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exit, sleep(5000)]);
    if (!exited) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a loop through the UPSTREAM Worker is stopped too', async () => {
  // The WAF worker fetches its request's own URL, as on a route: without
  // ORIGIN_URL that is this worker again, and the mark travels with it.
  const chain = wafChain({ project: 'p', key: 'k', apiUrl: 'http://127.0.0.1:9' });
  const w = await startWorker(chain);
  try {
    const res = await fetch(`${w.url}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 508);
    assert.match(await res.text(), /ORIGIN_URL/);
    await sleep(500);
    const lines = loopLines(w.logs);
    assert.equal(lines.length, 1, w.logs.join('\n'));
    assert.match(lines[0], /through the UPSTREAM Worker/);
  } finally {
    await w.stop();
  }
});

test('a client that forges the loop header gets a 508 for its own request only', async () => {
  const s = await startStack();
  try {
    const echo = async (headers = {}) => {
      const res = await s.fetch('/echo', { headers });
      assert.equal(res.status, 200, res.body.toString());
      return JSON.parse(res.body).headers['x-annotate-edge-loop'];
    };
    // The origin sees the isolate's nonce: 128 random bits, the same on every request.
    const nonce = await echo();
    assert.match(nonce, /^[0-9a-f]{32}$/);
    assert.equal(await echo(), nonce);
    // A value the client sent is kept, the nonce appended.
    assert.equal(await echo({ 'x-annotate-edge-loop': 'client' }), `client, ${nonce}`);
    for (const forged of [nonce, `a, ${nonce}`, 'a, b, c, d']) {
      const res = await s.fetch('/echo', { headers: { 'x-annotate-edge-loop': forged } });
      assert.equal(res.status, 508, forged);
    }
    // Everyone else is served as before.
    assert.equal(await echo(), nonce);
  } finally {
    await s.stop();
  }
});

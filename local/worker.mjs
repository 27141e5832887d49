// Runs the built worker (build/) in workerd through `wrangler dev`, with a
// generated config so each caller picks its own vars and secrets.
// Used by the local stack (local/stack.mjs); freePort and ROOT by the benchmark too.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseJsonc } from './jsonc.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The compatibility date the project deploys with, as wrangler.jsonc sets it. */
export const COMPATIBILITY_DATE = parseJsonc(fs.readFileSync(path.join(ROOT, 'wrangler.jsonc'), 'utf8'))
  .compatibility_date;

/** The Tail Worker that writes each event the worker logged as one JSON line. */
const LOG_TAIL = { name: 'annotate-edge-log-tail', main: path.join(ROOT, 'local', 'log-tail.js') };
/** What that Tail Worker prints for an event logged as a string, not an object. */
export const STRING_EVENT = 'log-tail: an event was logged as a string, not as an object';

/** The worker's JSON log event in a wrangler output line (as the Tail
 *  Worker local/log-tail.js writes it), as text, or null. */
export function eventText(line) {
  const i = line.indexOf('{"level"');
  return i < 0 ? null : line.slice(i);
}

/** The worker's JSON log event in a wrangler output line, parsed, or null. */
export function parseEvent(line) {
  const text = eventText(line);
  if (text === null) return null;
  try { return JSON.parse(text); } catch { return null; }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev` on the already built worker (or another script: `main`).
 * vars: [vars] values; secrets: written to .dev.vars (wrangler prints them as hidden);
 * config: more wrangler config (queues, ...);
 * extraWorkers: [{ name, main, config }] run in the same session (`-c` each),
 * e.g. a queue consumer that observes what this worker sends. The worker's
 * log events reach `logs` through a Tail Worker (local/log-tail.js).
 * Returns { url, logs, lines(), waitForLog(pred), stop() }.
 */
export async function startWorker({ vars = {}, secrets = {}, port, onLine, main = path.join(ROOT, 'build', 'index.js'), config = {}, extraWorkers = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-'));
  if (!fs.existsSync(main)) throw new Error('build/index.js is missing: run scripts/build.sh first');
  fs.writeFileSync(path.join(dir, 'wrangler.json'), JSON.stringify({
    name: 'annotate-edge-local',
    main,
    compatibility_date: COMPATIBILITY_DATE,
    vars,
    ...config,
    tail_consumers: [{ service: LOG_TAIL.name }, ...(config.tail_consumers ?? [])],
  }, null, 2));
  fs.writeFileSync(path.join(dir, '.dev.vars'),
    Object.entries(secrets).map(([k, v]) => `${k}=${JSON.stringify(v)}\n`).join(''));

  const extraConfigs = [LOG_TAIL, ...extraWorkers].flatMap((w) => {
    const file = path.join(dir, `${w.name}.json`);
    fs.writeFileSync(file, JSON.stringify({ compatibility_date: COMPATIBILITY_DATE, ...w }, null, 2));
    return ['-c', file];
  });

  port ??= await freePort();
  const inspector = await freePort();
  const wrangler = path.join(ROOT, 'node_modules', '.bin', 'wrangler');
  const child = spawn(wrangler, [
    'dev', '--config', path.join(dir, 'wrangler.json'), ...extraConfigs,
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--show-interactive-dev-session=false', '--log-level', 'log',
  ], {
    cwd: dir,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const logs = [];
  const waiters = new Set();
  const consume = (stream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        // Strip ANSI colours: wrangler colours warnings and errors.
        const line = buf.slice(0, i).replace(/\x1b\[[0-9;]*m/g, '');
        buf = buf.slice(i + 1);
        logs.push(line);
        onLine?.(line);
        for (const w of waiters) w();
      }
    });
  };
  consume(child.stdout);
  consume(child.stderr);

  const waitForLog = (pred, timeoutMs = 30_000, from = 0) => new Promise((resolve, reject) => {
    const check = () => {
      const hit = logs.slice(from).find(pred);
      if (hit !== undefined) {
        waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      }
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out waiting for a log line; last lines:\n${logs.slice(-15).join('\n')}`));
    }, timeoutMs);
    waiters.add(check);
    check();
  });

  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    await Promise.race([
      waitForLog((l) => l.includes('Ready on'), 60_000),
      exited.then((code) => { throw new Error(`wrangler dev exited (${code}):\n${logs.join('\n')}`); }),
    ]);
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  }

  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    /** Worker log lines that are JSON events, parsed. */
    events: () => logs.map(parseEvent).filter(Boolean),
    waitForLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The processes bench/run.mjs and bench/profile.mjs measure and measure
// with: workerd (`workerd serve` on a generated config), the nginx origin,
// wrk, the two cores they run on, and the CPU accounting that says which of
// them was the limit. Each process is pinned with taskset, which execs the
// program, so a child's pid is the program's.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { OUTCOME } from '../local/origin.mjs';
import { COMPATIBILITY_DATE, freePort, ROOT } from '../local/worker.mjs';

export { ROOT };
export const WORKERD = path.join(ROOT, 'node_modules', '.bin', 'workerd');
export const LOAD_SCRIPT = path.join(ROOT, 'bench', 'load.lua');

/** The cores: workerd alone on `runtime`; wrk, nginx and the runner (with the stand-in) on `client`. */
export const CPU = { runtime: Number(process.env.RUNTIME_CPU ?? 0), client: Number(process.env.CLIENT_CPU ?? 1) };

/** Pins this process, all its threads, to one core. */
export function pinSelf(cpu) {
  spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** A new temporary directory, removed when this process exits. */
export function scratchDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const children = new Set();
// Whatever happens to the runner, none of its servers outlive it.
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function track(child) {
  children.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { children.delete(child); resolve(code ?? signal); }));
  return {
    child,
    pid: child.pid,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One GET; resolves { status, body } or rejects (connection refused while starting...). */
export function get(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Polls `url` every millisecond until it answers 200; resolves the time (ms, monotonic) it did. */
export async function firstResponse(url, proc, timeoutMs = 30_000, headers = {}) {
  const deadline = performance.now() + timeoutMs;
  let exitCode;
  proc.exited.then((c) => { exitCode = c; });
  for (;;) {
    try {
      const r = await get(url, headers);
      if (r.status === 200) return performance.now();
      throw new Error(`${url} answered ${r.status}: ${r.body.slice(0, 200)}`);
    } catch (e) {
      if (!['ECONNREFUSED', 'ECONNRESET'].includes(e.code)) throw e;
    }
    if (exitCode !== undefined) throw new Error(`process exited (${exitCode}) before answering ${url}`);
    if (performance.now() > deadline) throw new Error(`${url} not up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

// ---------------------------------------------------------------------------
// workerd

/**
 * Writes a workerd config for one worker into `dir` and returns a starter.
 * modules: [{ name, file, type: 'esModule' | 'wasm' }] (copied into dir, so a
 * rebuild of build/ during the run changes nothing); bindings: text vars.
 * Outbound fetches go to a network service that allows loopback: the origin
 * and the stand-in are on 127.0.0.1. v8Flags (e.g. --trace-gc) are for
 * investigations, never for the measured runs. upstream: { modules, bindings }
 * of a second worker in the same process, bound to this one as the service
 * UPSTREAM. readyHeaders: the headers of `ready`'s GETs.
 */
export function workerdService({ name, dir, modules, bindings, cpu, v8Flags = [], upstream, readyHeaders = {} }) {
  const capnpString = (s) => JSON.stringify(String(s)); // plain ASCII here: JSON's escaping is capnp's
  const embedded = (sub, list) => {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
    return list.map((m) => {
      fs.copyFileSync(m.file, path.join(dir, sub, m.name));
      return `(name = ${capnpString(m.name)}, ${m.type} = embed ${capnpString(`${sub}/${m.name}`)})`;
    }).join(',\n    ');
  };
  const texts = (vars) => Object.entries(vars).map(([k, v]) => `(name = ${capnpString(k)}, text = ${capnpString(v)})`);
  const workerDef = (constName, sub, list, binds) => `const ${constName} :Workerd.Worker = (
  modules = [
    ${embedded(sub, list)},
  ],
  compatibilityDate = ${capnpString(COMPATIBILITY_DATE)},
  globalOutbound = "loopback",
  bindings = [
    ${binds.join(',\n    ')},
  ],
);
`;
  // Written now: the files are copied at once, so a rebuild during the run changes nothing.
  const workers = workerDef('worker', name, modules, [...texts(bindings), ...(upstream ? ['(name = "UPSTREAM", service = "upstream")'] : [])])
    + (upstream ? workerDef('upstream', `${name}-upstream`, upstream.modules, texts(upstream.bindings)) : '');
  const config = path.join(dir, `${name}.capnp`);
  const log = path.join(dir, `${name}.log`);
  const write = (port) => fs.writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  v8Flags = [${v8Flags.map(capnpString).join(', ')}],
  services = [
    (name = "main", worker = .worker),${upstream ? '\n    (name = "upstream", worker = .upstream),' : ''}
    (name = "loopback", network = (allow = ["local", "private", "public"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
${workers}`);
  return {
    name,
    /**
     * Starts workerd (`args`: more command-line options, e.g. an inspector
     * address); `ready` waits for the first 200 on GET /.
     * Returns { url, pid, stop, started, ready }.
     */
    async start(args = []) {
      const port = await freePort();
      write(port);
      const out = fs.openSync(log, 'a');
      const started = performance.now();
      const proc = track(spawn('taskset', ['-c', String(cpu), WORKERD, 'serve', config, ...args], { cwd: dir, stdio: ['ignore', out, out] }));
      fs.closeSync(out);
      const url = `http://127.0.0.1:${port}`;
      return { ...proc, url, started, ready: () => firstResponse(`${url}/`, proc, undefined, readyHeaders) };
    },
    log,
  };
}

/** Worker events (console output) at warn or error level, and uncaught
 *  exceptions, for the report. workerd prints a logged event object in its
 *  inspect form, a field per line: `level: 'warn',` then `event: '…',`. */
export function problemLines(logFile) {
  if (!fs.existsSync(logFile)) return [];
  const lines = fs.readFileSync(logFile, 'utf8').split('\n');
  return lines.flatMap((l, i) => {
    if (/^\s*level: '(warn|error)',/.test(l)) return [`${l.trim()} ${(lines[i + 1] ?? '').trim()}`];
    return /Uncaught|exception/i.test(l) ? [l] : [];
  });
}

// ---------------------------------------------------------------------------
// nginx: the origin

/**
 * nginx in one process (no master), access log off, long keep-alive, so it
 * records nothing per request and stays far from being the bottleneck.
 *   GET /          200 "ok\n"
 *   GET /outcome   the same plus the outcome header, and X-Bench-Id: the
 *                  assessment ID at the end of X-Recaptcha-Token, echoed
 *                  so wrk can tell which request each response answers.
 *   GET /sign-in   the same without the outcome header: an outcome rule
 *                  makes the outcome.
 */
export async function startNginx({ dir, cpu }) {
  const port = await freePort();
  const root = path.join(dir, 'nginx');
  fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
  const conf = path.join(root, 'nginx.conf');
  fs.writeFileSync(conf, `daemon off;
master_process off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path ${root}/tmp;
  proxy_temp_path ${root}/tmp;
  fastcgi_temp_path ${root}/tmp;
  uwsgi_temp_path ${root}/tmp;
  scgi_temp_path ${root}/tmp;
  default_type text/plain;
  map $http_x_recaptcha_token $bench_id {
    "~:U=(?<id>[A-Za-z0-9]{16})$" $id;
    default "";
  }
  server {
    listen 127.0.0.1:${port};
    location = / { return 200 "ok\\n"; }
    location = /outcome {
      add_header ${OUTCOME} "FRAUDULENT; reasons=INCORRECT_PASSWORD";
      add_header X-Bench-Id $bench_id;
      return 200 "ok\\n";
    }
    location = /sign-in {
      add_header X-Bench-Id $bench_id;
      return 200 "ok\\n";
    }
  }
}
`);
  const proc = track(spawn('taskset', ['-c', String(cpu), 'nginx', '-c', conf, '-p', `${root}/`, '-e', `${root}/error.log`], { stdio: 'ignore' }));
  const url = `http://127.0.0.1:${port}`;
  await firstResponse(`${url}/`, proc);
  return { ...proc, url };
}

// ---------------------------------------------------------------------------
// wrk

/**
 * One wrk run with bench/load.lua on `cpu`: `env` configures the script
 * (BENCH_MODE, BENCH_PATH, BENCH_RATE, BENCH_TAG, BENCH_RECORD...).
 * Resolves the script's BENCH_RESULT object.
 */
export function runWrk({ url, cpu, connections, seconds, env }) {
  return new Promise((resolve, reject) => {
    const args = ['-c', String(cpu), 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', LOAD_SCRIPT, url];
    const child = track(spawn('taskset', args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })).child;
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (${code}):\n${out}`));
      resolve(JSON.parse(line.slice('BENCH_RESULT '.length)));
    });
  });
}

// ---------------------------------------------------------------------------
// CPU accounting: which core, and which process on it, was busy.

const TICKS_PER_S = 100; // USER_HZ: /proc reports times in 1/100 s on Linux

/** CPU ticks of a process (all threads); with `children`, of its exited and reaped children instead. */
function processTicks(pid, children = false) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return children ? Number(f[13]) + Number(f[14]) : Number(f[11]) + Number(f[12]); // cutime + cstime : utime + stime
  } catch {
    return NaN;
  }
}

function coreTicks() {
  const cores = {};
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
    cores[m[1]] = { busy: total - v[3] - v[4], total };
  }
  return cores;
}

/**
 * Starts a CPU sample; `end()` returns, over the interval, each watched
 * process's CPU as a fraction of one core ({ name: 0..1 }), the CPU of this
 * process's children that exited in it ({ children }: wrk, once reaped), and
 * each core's busy fraction ({ cores: { 0: 0..1, 1: ... } }).
 */
export function cpuSample(pids) {
  const t0 = performance.now();
  const p0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processTicks(pid)]));
  const k0 = processTicks(process.pid, true);
  const c0 = coreTicks();
  return {
    end() {
      const seconds = (performance.now() - t0) / 1000;
      const c1 = coreTicks();
      const out = { seconds, cores: {}, children: (processTicks(process.pid, true) - k0) / TICKS_PER_S / seconds };
      for (const [k, pid] of Object.entries(pids)) out[k] = (processTicks(pid) - p0[k]) / TICKS_PER_S / seconds;
      for (const [n, c] of Object.entries(c1)) {
        const d = c.total - c0[n].total;
        out.cores[n] = d > 0 ? (c.busy - c0[n].busy) / d : 0;
      }
      return out;
    },
  };
}

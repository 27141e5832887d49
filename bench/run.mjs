// The benchmark: this worker against the simplest possible Worker, in one
// run on this machine. Run it through scripts/bench.sh (which installs wrk
// and nginx and builds the worker first); it is never part of the test
// command. What it measures and how: bench/METHOD.md (the contenders are in
// bench/contenders.mjs, the processes in bench/processes.mjs).
//
//   node bench/run.mjs [--quick] [--rounds N] [--seconds S] [--connections C]
//                      [--cold-runs N] [--only KEY,KEY,...] [--peer FILE]
//                      [--out FILE] [--json FILE]
//
// Phases: a warm-up, fixed concurrency, fixed rate, cold starts, sizes.
// Prints the tables, and writes BENCHMARKS.md (bench/report.mjs) with its
// chart, BENCHMARKS.svg (bench/chart.mjs), on a full run.

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createGoogleApi } from '../local/google-api.mjs';
import { OUTCOME } from '../local/origin.mjs';
import { arg } from '../local/serve.mjs';
import { CPU, cpuSample, get, pinSelf, problemLines, ROOT, runWrk, scratchDir, startNginx, WORKERD } from './processes.mjs';
import { API, contendersWith, COOKIE, loadEnv, select, SERVICE_ACCOUNT, services as makeServices, snapshotBuild, TOKEN_BODY, WORKER_SERVERS } from './contenders.mjs';
import { createOAuth } from '../local/google-oauth.mjs';
import { chart } from './chart.mjs';
import { fmt, markdown, median, pct, printSummary, table } from './report.mjs';
import { codeAndData, NAMES_BUILD, sizeProfile } from './size.mjs';

// ---------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
// --only: some contenders (and their baselines), for an A/B experiment.
const only = arg('only', null)?.split(',').map((k) => k.trim()).filter(Boolean) ?? null;
// A third party's plain-JS Worker doing the same job, measured beside ours.
const peer = arg('peer', process.env.JS_PEER || null);
const PROFILE_SECONDS = 6;
if (peer && !fs.existsSync(peer)) {
  console.error(`--peer ${peer}: no such file`);
  process.exit(2);
}
const O = {
  quick,
  only,
  rounds: Number(arg('rounds', quick ? 1 : 3)),
  seconds: Number(arg('seconds', quick ? 3 : 10)),
  warmupSeconds: quick ? 1 : 3,
  connections: Number(arg('connections', 8)),
  coldRuns: Number(arg('cold-runs', quick ? 3 : 7)),
  out: arg('out', quick || only ? null : path.join(ROOT, 'BENCHMARKS.md')),
  runtimeCpu: CPU.runtime,
  clientCpu: CPU.client,
  // As printed in BENCHMARKS.md: without --json/--out FILE (a local path, not
  // how to rerun), and the peer by its file's name, wherever it lies here.
  command: [
    process.env.JS_PEER && !arg('peer') ? `JS_PEER=${path.basename(process.env.JS_PEER)}` : '',
    (process.env.BENCH_COMMAND ?? `node bench/run.mjs ${argv.join(' ')}`)
      .replace(/ --(json|out) \S+/g, '').replace(/ --peer (\S+)/, (_, f) => ` --peer ${path.basename(f)}`),
  ].join(' ').trim(),
  peer: peer && { file: path.basename(peer), bytes: fs.statSync(peer).size, sha256: crypto.createHash('sha256').update(fs.readFileSync(peer)).digest('hex') },
};

// ---------------------------------------------------------------------------
// Setup

const log = (...a) => console.log(...a);
const dir = scratchDir('annotate-bench-');

// This process hosts the stand-in: it belongs on the client core.
pinSelf(O.clientCpu);

let CHOSEN;
let GROUPS;
try {
  ({ contenders: CHOSEN, groups: GROUPS } = select(contendersWith(peer), only));
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
// Cold starts of the kinds the chosen rows run: the JS pass-through, the
// same job in plain JS, and this worker.
const COLD = [
  ['base1', CHOSEN.some((c) => c.server === 'base1')],
  ['samework', CHOSEN.some((c) => c.server === 'samework')],
  ['worker', CHOSEN.some((c) => WORKER_SERVERS.has(c.server))],
].filter(([, measured]) => measured).map(([k]) => k);
// This worker's build, copied, when a chosen row runs it.
const snap = CHOSEN.some((c) => WORKER_SERVERS.has(c.server)) ? snapshotBuild(dir) : null;

const background = await backgroundLoad();
log(`background load before start: ${Object.entries(background).map(([c, v]) => `cpu${c} ${pct(v)}`).join(', ')}`);

// The stand-in records, per assessment ID, when each call arrived
// (CLOCK_MONOTONIC µs, the clock bench/load.lua stamps responses with).
const arrivals = new Map();
const perTag = new Map();
const standInErrors = []; // { status, assessment, reply } of calls it refused
const oauth = createOAuth({ account: SERVICE_ACCOUNT });
const api = createGoogleApi({
  ...API,
  oauth,
  log: (call) => {
    const t = Number(process.hrtime.bigint() / 1000n);
    if (call.status !== 200) standInErrors.push({ status: call.status, assessment: call.assessment, reply: JSON.stringify(call.response).slice(0, 200) });
    const id = call.assessment ?? '';
    const a = arrivals.get(id);
    if (a) a.push(t); else arrivals.set(id, [t]);
    const tag = id.slice(0, 4);
    perTag.set(tag, (perTag.get(tag) ?? 0) + 1);
  },
});
const apiPort = await api.listen();
const standIn = `http://127.0.0.1:${apiPort}`;
oauth.tokenUri = `${standIn}/token`;
oauth.apiAudience = `${standIn}/`;
const origin = await startNginx({ dir, cpu: O.clientCpu });
const originHost = new URL(origin.url).host;
log(`origin (nginx) ${origin.url}, stand-in ${standIn}, runtime on cpu${O.runtimeCpu}, load generator, origin and stand-in on cpu${O.clientCpu}`);

const kinds = makeServices({ dir, cpu: O.runtimeCpu, originUrl: origin.url, standIn, snap, peer });
const services = Object.fromEntries(CHOSEN.map((c) => [c.key, kinds[c.server](c.key)]));
const running = {}; // one workerd process per contender
for (const [k, s] of Object.entries(services)) {
  running[k] = await s.start();
  await running[k].ready();
}

await smokeTest();

// ---------------------------------------------------------------------------
// One run

let runCount = 0;

/** Runs one contender once; returns wrk's numbers, CPU use and, for recorded runs, delivery. */
async function runOnce(c, { seconds, rate = 0, phase }) {
  runCount++;
  const tag = `r${String(runCount).padStart(3, '0')}`; // IDs: tag + 12 digits = 16 letters/digits
  const record = c.record ? path.join(dir, `${tag}.rec`) : '';
  const target = c.server ? running[c.key] : origin; // no server: the origin alone
  const sample = cpuSample({ workerd: target.pid, nginx: origin.pid, runner: process.pid });
  const r = await runWrk({
    url: target.url, cpu: O.clientCpu, connections: O.connections, seconds,
    env: loadEnv(c, { tag, rate, record, originHost }),
  });
  const cpu = sample.end();
  const res = {
    key: c.key, phase, tag, rate,
    rps: r.requests / (r.duration_us / 1e6),
    requests: r.requests,
    p50: r.p50_us / 1000, p90: r.p90_us / 1000, p99: r.p99_us / 1000, max: r.max_us / 1000,
    errors: Object.values(r.errors).reduce((a, b) => a + b, 0),
    errorDetail: r.errors,
    late: r.late, lateMax: r.late_max_us / 1000,
    cpu,
    cpuPerRequestUs: (cpu.workerd * cpu.seconds * 1e6) / r.requests,
  };
  if (c.record) Object.assign(res, await delivery(tag, record, r.requests));
  api.reset(); // the stand-in's own call log: not needed, and it grows
  const d = res.calls !== undefined ? `, ${res.calls}/${res.responses} calls, lag p50 ${fmt(res.lags[Math.floor(res.lags.length / 2)])} ms` : '';
  log(`  ${phase.padEnd(6)} ${c.key.padEnd(5)} ${res.rps.toFixed(0).padStart(6)} req/s  p50 ${fmt(res.p50)}  p99 ${fmt(res.p99)} ms  workerd ${pct(cpu.workerd)} (cpu${O.runtimeCpu} ${pct(cpu.cores[O.runtimeCpu])})  client ${pct(cpu.nginx + cpu.runner + cpu.children)} (cpu${O.clientCpu} ${pct(cpu.cores[O.clientCpu])})${res.errors ? `  ERRORS ${JSON.stringify(r.errors)}` : ''}${d}`);
  return res;
}

/**
 * Matches the responses wrk recorded (ID, arrival time) with the calls the
 * stand-in received: calls per response, and the delivery lag of each
 * (stand-in received the call − client received the response).
 */
async function delivery(tag, recordFile, requests) {
  // Annotations run after the responses: wait until no more arrive.
  let last = -1;
  let stableSince = performance.now();
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const n = perTag.get(tag) ?? 0;
    if (n !== last) { last = n; stableSince = performance.now(); }
    else if (performance.now() - stableSince > 750) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const lines = fs.readFileSync(recordFile, 'utf8').split('\n').filter(Boolean);
  let calls = 0; let without = 0; let repeated = 0;
  const lags = [];
  for (const line of lines) {
    const [id, t] = line.split(' ');
    const a = arrivals.get(id);
    if (!a) { without++; continue; }
    calls += a.length;
    if (a.length > 1) repeated++;
    lags.push((a[0] - Number(t)) / 1000);
  }
  // Calls for requests still in flight when wrk stopped: annotated, but no
  // response was counted for them. Reported, not counted per response.
  const inFlight = (perTag.get(tag) ?? 0) - calls;
  for (const id of [...arrivals.keys()]) if (id.startsWith(tag)) arrivals.delete(id);
  fs.rmSync(recordFile, { force: true });
  lags.sort((x, y) => x - y);
  return { responses: lines.length, wrkResponses: requests, calls, without, repeated, inFlight, lags };
}

// ---------------------------------------------------------------------------
// The run

const results = [];
const startedAt = new Date();
const t0 = performance.now();

log(`\norigin alone (wrk on cpu${O.clientCpu} straight to nginx, same core as in every run)`);
const originAlone = await runOnce({ key: 'origin', server: null, mode: 'none', path: '/' }, { seconds: O.seconds, phase: 'origin' });

log('\nwarm-up');
for (const c of CHOSEN) await runOnce(c, { seconds: O.warmupSeconds, phase: 'warmup' });

const order = (round) => CHOSEN.slice(round % CHOSEN.length).concat(CHOSEN.slice(0, round % CHOSEN.length));

log(`\nphase 1: fixed concurrency, ${O.connections} connections, ${O.rounds} round(s) of ${O.seconds} s`);
for (let round = 0; round < O.rounds; round++) {
  for (const c of order(round)) results.push(await runOnce(c, { seconds: O.seconds, phase: 'conc' }));
}

// 50% of the slowest saturating rate in each group, so every contender of a
// group runs at the same offered load and none is near its limit. The
// peer's rows take their group's rate without setting it, so that a run
// with --peer judges the other rows at the load of a run without.
const saturating = (key) => median(results.filter((r) => r.phase === 'conc' && r.key === key).map((r) => r.rps));
const setsRate = (key) => !CHOSEN.find((c) => c.key === key)?.peer;
const rates = {};
for (const group of GROUPS) {
  const rate = Math.max(1, Math.round(0.5 * Math.min(...group.filter(setsRate).map(saturating))));
  for (const k of group) rates[k] = rate;
}

log(`\nphase 2: fixed rate (${GROUPS.map((g) => `${g.join(', ')}: ${rates[g[0]]} req/s`).join('; ')}), ${O.rounds} round(s) of ${O.seconds} s`);
for (let round = 0; round < O.rounds; round++) {
  for (const c of order(round)) results.push(await runOnce(c, { seconds: O.seconds, rate: rates[c.key], phase: 'rate' }));
}

for (const r of Object.values(running)) await r.stop();

log(`\ncold start: fresh workerd process to first response, ${O.coldRuns} runs each, interleaved`);
const cold = Object.fromEntries(COLD.map((k) => [k, []]));
for (let i = -1; i < O.coldRuns && COLD.length; i++) { // run -1 warms the page cache and is dropped
  for (const k of i % 2 ? COLD : [...COLD].reverse()) {
    const p = await kinds[k](`cold-${k}`).start();
    const ms = (await p.ready()) - p.started;
    await p.stop();
    if (i >= 0) cold[k].push(ms);
  }
}
if (O.coldRuns > 0) log(`  ${COLD.map((k) => `${k} median ${fmt(median(cold[k]))} ms`).join(', ')}`);

const sizes = snap ? sizeReport(snap) : [];
// Where the bytes go, for BENCHMARKS.md: only when a file is written.
const size = snap && O.out ? namesProfile(snap) : null;
// Where each request's CPU goes, by category (bench/profile.mjs), this
// worker's names build beside the plain-JS rows: only when a file is written.
const cpuProfile = size?.file ? profiles() : null;
const problems = CHOSEN.filter((c) => c.server.startsWith('worker')).flatMap((c) => problemLines(services[c.key].log));
const elapsedMin = (performance.now() - t0) / 60000;

await api.close();
await origin.stop();

const report = {
  options: O, startedAt, elapsedMin, background, machine: machine(), versions: versions(),
  contenders: CHOSEN, groups: GROUPS, rates, results, originAlone, cold, sizes, size, cpuProfile, problems,
  standInErrors, token: { length: TOKEN_BODY.length + 3 + 16 }, cookieLength: COOKIE.length,
  // Each signing process fetches one token and keeps it for the whole run.
  tokenExchanges: oauth.exchanges.length,
};
printSummary(report);
if (arg('json')) fs.writeFileSync(arg('json'), JSON.stringify(report)); // raw runs, to re-render or compare
if (O.out) {
  // The chart beside the file, which shows it at its top.
  const svg = `${O.out.replace(/\.md$/, '')}.svg`;
  fs.writeFileSync(svg, chart(report, table(report)));
  fs.writeFileSync(O.out, markdown(report, { chart: path.basename(svg) }));
  log(`\nwrote ${path.relative(process.cwd(), O.out) || O.out} and ${path.relative(process.cwd(), svg) || svg}`);
}

// ---------------------------------------------------------------------------
// Helpers

/** Checks every contender answers as expected, and (c) and baseline 2 call the stand-in once. */
async function smokeTest() {
  for (const [k, r] of Object.entries(running)) {
    const host = CHOSEN.find((c) => c.key === k).siteHost ? { host: originHost } : {};
    const plain = await get(`${r.url}/`, { cookie: COOKIE, ...host });
    if (plain.status !== 200 || plain.body !== 'ok\n') throw new Error(`${k}: GET / answered ${plain.status} ${plain.body}`);
  }
  for (const k of CHOSEN.filter((c) => c.record).map((c) => c.key)) {
    const before = api.calls.length;
    const id = `smoke${k.padEnd(11, '0')}`; // 16 letters and digits
    const res = await get(`${running[k].url}/outcome`, { 'x-recaptcha-token': `${TOKEN_BODY}:U=${id}` });
    if (res.headers['x-bench-id'] !== id) throw new Error(`${k}: the origin did not echo the ID (${res.headers['x-bench-id']})`);
    if (res.status !== 200) throw new Error(`${k}: /outcome answered ${res.status}`);
    if (k !== 'base2' && res.headers[OUTCOME]) throw new Error(`${k} let the outcome header through`);
    // Calls for this ID only: a contender that calls for every response
    // (baseline 2) may still be sending the ones for the GETs above.
    const mine = () => api.calls.slice(before).filter((c) => c.path?.includes(`/assessments/${id}:`));
    const deadline = performance.now() + 5000;
    while (!mine().length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 200)); // a second call would come now
    const calls = mine();
    if (calls.length !== 1 || calls[0].status !== 200) throw new Error(`${k}: not one accepted annotate call (${JSON.stringify(calls)})`);
  }
  // Forget the smoke test's calls, and the ones baseline 2 made for the
  // token-less GETs above (it calls for every response: an empty ID, a 404).
  api.reset();
  arrivals.clear();
  perTag.clear();
  standInErrors.length = 0;
}

/** Busy fraction of each core over one second before anything starts. */
async function backgroundLoad() {
  const s = cpuSample({});
  await new Promise((r) => setTimeout(r, 1000));
  return s.end().cores;
}

/**
 * bench/profile.mjs, once per scenario of (a), (b), (c) for this worker
 * (its names build, which has the same code) and for the plain-JS rows run.
 */
function profiles() {
  const keys = ['a', 'ja', 'pa', 'b', 'jb', 'pb', 'c', 'jc', 'pc'].filter((k) => CHOSEN.some((c) => c.key === k));
  log(`\nCPU profiles (${keys.join(', ')}), ${PROFILE_SECONDS} s each`);
  const out = [];
  for (const key of keys) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'profile.mjs'), '--scenario', key, '--seconds', String(PROFILE_SECONDS), '--json', ...(peer ? ['--peer', peer] : [])], {
      encoding: 'utf8', env: { ...process.env, BENCH_BUILD: path.join(ROOT, size.file, '..') },
    });
    const line = r.stdout.trim().split('\n').pop();
    try {
      out.push(JSON.parse(line));
      log(`  ${key.padEnd(5)} ${fmt(out.at(-1).total)} µs per request under the profiler`);
    } catch {
      log(`  ${key}: profile failed: ${(r.stderr || line).slice(0, 300)}`);
    }
  }
  return out;
}

function sizeReport(dirPath) {
  const one = (rel) => {
    const file = path.join(dirPath, rel);
    if (!fs.existsSync(file)) return null;
    const bytes = fs.readFileSync(file);
    return { file: `build/${rel}`, raw: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length };
  };
  return ['index_bg.wasm', 'index.js'].map(one).filter(Boolean);
}

/**
 * The size profile (bench/size.mjs) of the build with its name section,
 * target/build-names/, built first if absent or older than build/; and
 * whether its code and data are those of the build measured.
 */
function namesProfile(snapDir) {
  if (process.env.BENCH_BUILD) return { skipped: 'BENCH_BUILD names another build: run `node bench/size.mjs` on that build\'s names build' };
  const built = path.join(ROOT, 'build', 'index_bg.wasm');
  if (!fs.existsSync(NAMES_BUILD) || fs.statSync(NAMES_BUILD).mtimeMs < fs.statSync(built).mtimeMs) {
    log('\nsize profile: building target/build-names (KEEP_NAMES=1 scripts/build.sh)');
    const r = spawnSync('sh', [path.join(ROOT, 'scripts', 'build.sh')], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, KEEP_NAMES: '1', FORCE_BUILD: '1' } });
    if (r.status !== 0) return { skipped: `KEEP_NAMES=1 scripts/build.sh failed (${r.status})` };
  }
  const names = fs.readFileSync(NAMES_BUILD);
  const a = codeAndData(names);
  const b = codeAndData(fs.readFileSync(path.join(snapDir, 'index_bg.wasm')));
  return { file: path.relative(ROOT, NAMES_BUILD), profile: sizeProfile(names), sameCode: a.sha256 === b.sha256, code: a, measured: b };
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  // --all: this process is pinned to one core, which plain nproc would count.
  return { nproc: Number(execFileSync('nproc', ['--all'], { encoding: 'utf8' }).trim()), model, kernel: os.release(), memGiB: os.totalmem() / 2 ** 30 };
}

function versions() {
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find(Boolean)?.trim() ?? 'unknown';
  };
  const cargoBin = path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo'), 'bin');
  return {
    workerd: run(WORKERD, ['--version']),
    wrangler: JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/wrangler/package.json'), 'utf8')).version,
    node: process.version,
    wrk: run('wrk', ['-v']).replace(/ Copyright.*/, ''),
    nginx: run('nginx', ['-v']),
    rustc: run('rustc', ['--version']),
    wasmBindgen: run(path.join(cargoBin, 'wasm-bindgen'), ['--version']),
    esbuild: run(path.join(ROOT, 'node_modules/.bin/esbuild'), ['--version']),
  };
}

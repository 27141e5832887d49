// Where a contender's CPU goes: runs it in workerd (same setup as
// bench/run.mjs) with the V8 inspector on, samples it with the DevTools
// CPU profiler while wrk drives it at fixed concurrency, and prints the
// functions by self time and by inclusive time (JS and wasm alike; Rust
// functions show by name with a build that keeps the name section):
//
//   KEEP_NAMES=1 sh scripts/build.sh           # into target/build-names
//   BENCH_BUILD=target/build-names node bench/profile.mjs [--scenario a|b|c|base1|base2] \
//     [--seconds 10] [--top 25] [--interval-us 100] [--peer FILE] [--json]
//
// --json prints one line instead: CPU per request by category (bench/run.mjs
// puts it in BENCHMARKS.md).
//
// Any contender key of bench/run.mjs is a scenario (ja, jc...; pa, pb, pc
// with --peer FILE or JS_PEER, the plain-JS peer).
//
// The inspector slows workerd down; compare shares between contenders, not
// the absolute rates. Needs node's WebSocket (--experimental-websocket on
// node 20; this script re-executes itself with it when missing).

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createGoogleApi } from '../local/google-api.mjs';
import { arg } from '../local/serve.mjs';
import { freePort } from '../local/worker.mjs';
import { API, contendersWith, loadEnv, services as makeServices, snapshotBuild, WORKER_SERVERS } from './contenders.mjs';
import { CPU, pinSelf, runWrk, scratchDir, startNginx } from './processes.mjs';

if (typeof WebSocket === 'undefined') {
  const r = spawnSync(process.execPath, ['--experimental-websocket', '--no-warnings', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const scenario = arg('scenario', 'a');
const seconds = Number(arg('seconds', 10));
const top = Number(arg('top', 25));
const intervalUs = Number(arg('interval-us', 100));
const peer = arg('peer', process.env.JS_PEER || null);
const all = contendersWith(peer);
const c = all.find((x) => x.key === scenario);
if (!c) throw new Error(`unknown scenario ${scenario}: one of ${all.map((x) => x.key).join(', ')}`);

const dir = scratchDir('annotate-profile-');
pinSelf(CPU.client);

const api = createGoogleApi(API);
const standIn = `http://127.0.0.1:${await api.listen()}`;
const origin = await startNginx({ dir, cpu: CPU.client });
const snap = WORKER_SERVERS.has(c.server) ? snapshotBuild(dir) : null;
const svc = makeServices({ dir, cpu: CPU.runtime, originUrl: origin.url, standIn, snap, peer })[c.server](c.key);
const inspectorPort = await freePort();
const server = await svc.start([`--inspector-addr=127.0.0.1:${inspectorPort}`]);
await server.ready();

let n = 0;
const load = (secs) => runWrk({ url: server.url, cpu: CPU.client, connections: 8, seconds: secs, env: loadEnv(c, { tag: `p${String(++n).padStart(3, '0')}` }) });
await load(3); // warm-up: JIT tiers, connection pools

// The DevTools protocol over the inspector's WebSocket.
const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json();
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
let nextId = 0;
const pending = new Map();
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id !== undefined && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
};
const send = (method, params = {}) => new Promise((resolve, reject) => {
  const id = ++nextId;
  pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
  ws.send(JSON.stringify({ id, method, params }));
});

await send('Profiler.enable');
await send('Profiler.setSamplingInterval', { interval: intervalUs });
await send('Profiler.start');
const r = await load(seconds);
const { profile } = await send('Profiler.stop');
ws.close();
await server.stop();
await origin.stop();
await api.close();

// Self and inclusive samples per function (a function counted once per
// sample however deep it recurs).
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const ch of node.children ?? []) parent.set(ch, node.id);
const name = (node) => {
  const f = node.callFrame;
  const where = f.url ? (f.url.startsWith('wasm') ? ' [wasm]' : ` [${path.basename(f.url)}]`) : '';
  return `${f.functionName || '(anonymous)'}${where}`;
};
const self = new Map();
const inclusive = new Map();
for (const id of profile.samples) {
  let node = byId.get(id);
  const nm = name(node);
  self.set(nm, (self.get(nm) ?? 0) + 1);
  const seen = new Set();
  while (node) {
    const k = name(node);
    if (!seen.has(k)) { seen.add(k); inclusive.set(k, (inclusive.get(k) ?? 0) + 1); }
    node = byId.get(parent.get(node.id));
  }
}
const total = profile.samples.length;
const idle = (self.get('(idle)') ?? 0);
const busy = total - idle;
const show = (title, map) => {
  console.log(`\n${title} (% of busy samples)`);
  for (const [k, v] of [...map].filter(([k]) => k !== '(idle)' && k !== '(root)').sort((x, y) => y[1] - x[1]).slice(0, top)) {
    console.log(`${(100 * v / busy).toFixed(1).padStart(6)}%  ${k.length > 140 ? `${k.slice(0, 137)}...` : k}`);
  }
};
// Where each sample's self time belongs, by the frame's script: the
// worker's Rust (wasm functions but wasm-bindgen's shims), wasm-bindgen's JS
// glue and the crossings (index.js, the shims, js-to-wasm and wasm-to-js),
// a JS worker's own code, console formatting (workerd serve prints each
// logged object in inspect form), the runtime's native calls (fetch,
// Headers, Response...), V8 and workerd outside JS ("(program)"), and GC.
const category = (node) => {
  const f = node.callFrame;
  const fn = f.functionName;
  if (fn === '(idle)' || fn === '(root)') return null;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8 and workerd outside JS';
  if (fn === 'js-to-wasm' || fn === 'wasm-to-js' || fn.startsWith('js-to-wasm:') || fn.startsWith('wasm-to-js:')) return 'wasm-bindgen glue and crossings';
  if (f.url.startsWith('wasm')) return /shim|^__wbindgen|^__externref/.test(fn) ? 'wasm-bindgen glue and crossings' : 'Rust (wasm)';
  if (f.url.endsWith('index.js')) return 'wasm-bindgen glue and crossings';
  if (f.url.includes('internal_inspect') || f.url.includes('node-internal')) return 'console formatting';
  if (f.url) return 'the JS worker\'s own code';
  return 'runtime calls (fetch, Headers, Response, ...)';
};
const perCategory = new Map();
for (const id of profile.samples) {
  const k = category(byId.get(id));
  if (k) perCategory.set(k, (perCategory.get(k) ?? 0) + 1);
}
const usPerRequest = (count) => (count * intervalUs) / r.requests;

if (process.argv.includes('--json')) {
  // One line for bench/run.mjs: µs of CPU per request by category.
  const categories = Object.fromEntries([...perCategory].map(([k, v]) => [k, usPerRequest(v)]));
  console.log(JSON.stringify({ key: c.key, rps: r.requests / (r.duration_us / 1e6), categories, total: usPerRequest(busy) }));
  process.exit(0);
}
console.log(`scenario ${c.key} (${c.label}): ${(r.requests / (r.duration_us / 1e6)).toFixed(0)} req/s under the profiler, ` +
  `${total} samples every ${intervalUs} µs, ${(100 * busy / total).toFixed(0)}% busy`);
show('self time', self);
show('inclusive time', inclusive);
console.log('\nby category (µs of CPU per request under the profiler, self time)');
for (const [k, v] of [...perCategory].sort((x, y) => y[1] - x[1])) {
  console.log(`${usPerRequest(v).toFixed(1).padStart(8)} µs  ${(100 * v / busy).toFixed(1).padStart(5)}%  ${k}`);
}
console.log(`${usPerRequest(busy).toFixed(1).padStart(8)} µs  100.0%  all`);

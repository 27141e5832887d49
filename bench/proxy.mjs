// Proxy overhead benchmark. The same requests go (a) straight to the origin,
// (b) through a plain-JS passthrough worker (bench/passthrough.js) and
// (c) through this project's worker, both in wrangler dev/workerd, without and
// with an annotation per request. The ratio that matters is (c) / (b): the
// local wrangler dev proxy chain dominates both. Prints latency percentiles,
// throughput and ratios, and checks every expected annotate call arrived.
//
//   node bench/proxy.mjs [requests=2000] [concurrency=8]     (after scripts/build.sh)

import { createGoogleApi } from '../local/google-api.mjs';
import { createOrigin } from '../local/origin.mjs';
import { startWorker } from '../local/worker.mjs';

const N = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 8);

const api = createGoogleApi({ project: 'bench', key: 'bench-key' });
const apiPort = await api.listen();
const origin = createOrigin();
const originPort = await origin.listen();
const baseline = await startWorker({
  main: new URL('./passthrough.js', import.meta.url).pathname,
  vars: { ORIGIN_URL: `http://127.0.0.1:${originPort}` },
});
const worker = await startWorker({
  vars: { RECAPTCHA_PROJECT_ID: 'bench', RECAPTCHA_API_BASE: `http://127.0.0.1:${apiPort}`, ORIGIN_URL: `http://127.0.0.1:${originPort}` },
  secrets: { RECAPTCHA_API_KEY: 'bench-key' },
});

const OUTCOME = encodeURIComponent('FRAUDULENT; reasons=INCORRECT_PASSWORD');
const idFor = (i) => `bench${String(i).padStart(11, '0')}`;

async function run(name, base, path, headersFor, concurrency) {
  const latencies = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < N) {
      const i = next++;
      const start = performance.now();
      const res = await fetch(base + path, { headers: headersFor(i) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${name}: status ${res.status}`);
      latencies.push(performance.now() - start);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { name, concurrency, p50: pct(0.5), p99: pct(0.99), rps: N / seconds };
}

const none = () => ({});
const token = (offset) => (i) => ({ 'x-recaptcha-token': `bench-token:U=${idFor(offset + i)}` });
const results = [];
for (const c of [1, CONCURRENCY]) {
  // Warm both paths so the worker's isolate and connections are up.
  await run('warmup', worker.url, '/respond?body=ok', none, c);
  await run('warmup', baseline.url, '/respond?body=ok', none, c);
  await run('warmup', `http://127.0.0.1:${originPort}`, '/respond?body=ok', none, c);
  results.push(await run('origin direct', `http://127.0.0.1:${originPort}`, '/respond?body=ok', none, c));
  results.push(await run('passthrough JS worker', baseline.url, '/respond?body=ok', token(0), c));
  results.push(await run('this worker, no outcome', worker.url, '/respond?body=ok', token(0), c));
  const before = api.calls.length;
  results.push(await run('this worker + annotate', worker.url, `/respond?body=ok&outcome=${OUTCOME}`, token(c * N), c));
  // Annotations finish after the responses; wait for all of them.
  const deadline = Date.now() + 30_000;
  while (api.calls.length - before < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const delivered = api.calls.slice(before).filter((x) => x.status === 200).length;
  results.at(-1).annotations = `${delivered}/${N}`;
}

const base = Object.fromEntries(results.filter((r) => r.name === 'passthrough JS worker').map((r) => [r.concurrency, r]));
console.log(`\n${N} requests per row; latencies in ms; ratios against the passthrough JS worker\n`);
console.log('scenario                  conc    p50     p99    req/s   p50 ratio  req/s ratio  annotations');
for (const r of results) {
  const b = base[r.concurrency];
  console.log(`${r.name.padEnd(25)} ${String(r.concurrency).padStart(4)} ${r.p50.toFixed(2).padStart(6)}  ${r.p99.toFixed(2).padStart(6)}  ${r.rps.toFixed(0).padStart(7)}   ${(r.p50 / b.p50).toFixed(2).padStart(6)}x   ${(r.rps / b.rps).toFixed(2).padStart(6)}x     ${r.annotations ?? ''}`);
}

await worker.stop();
await baseline.stop();
await api.close();
await origin.close();

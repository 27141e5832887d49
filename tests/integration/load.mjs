// The load scenario shared by load.test.mjs (direct and queue mode) and
// waf_chain.test.mjs (in front of the WAF worker): 2,000 outcome-bearing
// requests at concurrency 100, each with its own assessment ID. Every ID must
// be annotated exactly once and every client must get the origin's own
// answer; the figures are printed as one `figure` line, never asserted.

import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { respondWith, newId, OUTCOME } from './fixtures.mjs';
import { figure, pool, tally, until } from './figures.mjs';

export const REQUESTS = 2000;
const CONCURRENCY = 100;
const token = (id) => `03AFcWeA-load:U=${id}`;

/** Runs the load through stack `s`; `mode` names its figure line. Returns the IDs. */
export async function load(s, mode) {
  const ids = Array.from({ length: REQUESTS }, () => newId());
  const idSet = new Set(ids);
  assert.equal(idSet.size, REQUESTS);
  const started = performance.now();
  const results = await pool(REQUESTS, CONCURRENCY, async (i) => {
    const t = performance.now();
    try {
      // Status 201 and the ID as body: a response is the origin's answer to
      // this very request, not a generic one or another request's.
      const res = await fetch(`${s.worker.url}${respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD', `&status=201&body=${ids[i]}`)}`, {
        headers: { 'x-recaptcha-token': token(ids[i]) },
        // A response held this long is an error, not something to wait 300 s for.
        signal: AbortSignal.timeout(60_000),
      });
      const body = await res.text();
      return { status: res.status, body, leaked: res.headers.get(OUTCOME) !== null, ms: performance.now() - t };
    } catch (e) {
      return { error: `${e.message} (${e.cause?.code ?? e.cause?.message ?? 'no cause'})`, ms: performance.now() - t };
    }
  });
  const requestsMs = performance.now() - started;

  const mine = () => s.api.calls.filter((c) => idSet.has(c.assessment)).length;
  await until(() => mine() >= REQUESTS, 120_000);
  const annotatedMs = performance.now() - started;
  // Late duplicates would arrive after this pause.
  await new Promise((r) => setTimeout(r, 3000));

  const calls = s.api.calls.filter((c) => idSet.has(c.assessment));
  const perId = new Map();
  for (const c of calls) perId.set(c.assessment, (perId.get(c.assessment) ?? 0) + 1);
  const t = tally(s.worker.events(), idSet);
  const errors = results.filter((r, i) => r.error || r.status !== 201 || r.body !== ids[i] || r.leaked);
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  const fig = {
    mode,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    client_201: results.filter((r) => r.status === 201).length,
    client_errors: errors.length,
    calls_received: calls.length,
    distinct_ids_called: perId.size,
    delivered: t.delivered,
    retried: t.retried,
    gave_up: t.gave_up,
    dead_lettered: t.dead_lettered,
    requests_s: +(requestsMs / 1000).toFixed(1),
    req_per_s: Math.round(REQUESTS / (requestsMs / 1000)),
    p50_ms: +latencies[Math.floor(REQUESTS * 0.5)].toFixed(1),
    p99_ms: +latencies[Math.floor(REQUESTS * 0.99)].toFixed(1),
    all_annotated_s: +(annotatedMs / 1000).toFixed(1),
    annotations_per_s: Math.round(REQUESTS / (annotatedMs / 1000)),
  };
  figure(`load ${mode}`, fig);

  assert.deepEqual(errors.slice(0, 3), [], `${errors.length} client-visible errors`);
  assert.equal(calls.length, REQUESTS, 'annotate calls at the stand-in');
  assert.equal(perId.size, REQUESTS, 'distinct IDs annotated');
  assert.ok([...perId.values()].every((n) => n === 1), 'an ID was annotated more than once');
  assert.ok(calls.every((c) => c.status === 200 && c.body === '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}'));
  assert.deepEqual([t.ended, t.delivered, t.rejected, t.gave_up, t.dead_lettered], [REQUESTS, REQUESTS, 0, 0, 0]);
  return { ids, idSet };
}

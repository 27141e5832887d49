// Faults: the Google API failing at random, hanging, refusing connections or
// answering garbage, and the origin being slow or resetting connections.
// One stack in direct mode and one in queue mode run side by side; where a
// fault concerns the annotate call, both get it at once. For each scenario:
// what the client saw, and how many annotations were delivered, retried,
// given up and dead-lettered (from the worker's own log events), printed as
// one `figure` line. Queue mode must lose nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startStack, respondWith, newId, API_KEY, OUTCOME } from './fixtures.mjs';
import { figure, pool, queueMode, tally, until } from './figures.mjs';

const token = (id) => `03AFcWeA-fault:U=${id}`;
let direct;
let queued;

before(async () => {
  // Enough attempts that 30% random failures or a 25 s outage never exhaust them.
  const q = queueMode({ maxAttempts: 40 });
  // One after the other: free ports are picked before wrangler binds them,
  // and two stacks starting at once can be handed the same one.
  direct = await startStack();
  queued = await startStack({ vars: q.vars, config: q.config });
});

after(async () => {
  try {
    for (const s of [direct, queued]) {
      for (const r of s.responses) assert.equal(r.headers.get(OUTCOME), null, 'an outcome header reached the client');
      for (const line of s.worker.logs) {
        assert.ok(!line.includes(API_KEY) && !line.includes(encodeURIComponent(API_KEY)), `key in log: ${line}`);
        // A Rust panic reaches the log as "panicked at" and resets the isolate.
        assert.doesNotMatch(line, /panicked at|RuntimeError|Uncaught/, 'the worker crashed');
      }
    }
  } finally {
    await Promise.all([direct?.stop(), queued?.stop()]);
  }
});

/**
 * One outcome-bearing request for `id` through stack `s`. A client waiting
 * 30 s is a failure in itself (no fault here may hold a response), reported
 * with the worker's last log lines rather than after undici's 300 s.
 */
async function send(s, id, outcome = 'LEGITIMATE; reasons=CORRECT_PASSWORD', extra = '') {
  try {
    return await s.fetch(respondWith(outcome, extra), { headers: { 'x-recaptcha-token': token(id) }, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new Error(`request for ${id} failed: ${e.message} (${e.cause?.code ?? e.name}); worker log:\n${s.worker.logs.slice(-40).join('\n')}`);
  }
}

/** Waits until every ID in `ids` has its final `annotation` event. */
async function settled(s, ids, ms = 90_000) {
  const ok = await until(() => tally(s.worker.events(), ids).ended >= ids.size, ms, 200);
  assert.ok(ok, `only ${tally(s.worker.events(), ids).ended} of ${ids.size} annotations ended`);
  return tally(s.worker.events(), ids);
}

const statuses = (responses) => responses.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
const callsFor = (s, ids) => s.api.calls.filter((c) => ids.has(c.assessment));
const seconds = (t0) => +((performance.now() - t0) / 1000).toFixed(1);

/** Every ID delivered has exactly one 200 at the stand-in, and it came last. */
function assertDeliveredOnce(s, ids) {
  for (const id of ids) {
    const calls = s.api.callsFor(id);
    assert.equal(calls.filter((c) => c.status === 200).length, 1, `${id}: ${calls.map((c) => c.status)}`);
    assert.equal(calls.at(-1).status, 200);
  }
}

/**
 * Five outcome-bearing requests through stack `s` while the stand-in refuses
 * connections for `ms`; every client must still get its 200. Returns the IDs,
 * the annotation tallies and the calls that reached the stand-in.
 */
async function duringRefusal(s, mode, ms) {
  const ids = new Set(Array.from({ length: 5 }, () => newId()));
  const t0 = performance.now();
  const back = s.api.refuseFor(ms);
  await new Promise((r) => setTimeout(r, 100)); // the port is closed
  const responses = await Promise.all([...ids].map((id) => send(s, id)));
  await back;
  const t = await settled(s, ids);
  const calls = callsFor(s, ids);
  figure(`API refuses connections for ${ms / 1000} s`, {
    mode, requests: ids.size, client: statuses(responses), calls_received: calls.length,
    delivered: t.delivered, retried: t.retried, extra_attempts: t.extra_attempts, requeued: t.requeued,
    gave_up: t.gave_up, dead_lettered: t.dead_lettered, duration_s: seconds(t0),
  });
  assert.deepEqual(statuses(responses), { 200: ids.size });
  return { ids, t, calls };
}

// The long outage runs first, on fresh stacks: after the scenarios below it
// has, in about one run in four, seen some of its client requests reach the
// worker only when the API port reopened (under wrangler dev's local runtime;
// see RELIABILITY.md, "Open"), which would defeat the point of it.
test('API refusing connections for 25 s: direct mode gives up at its 20 s budget, queue mode delivers every one afterwards', async () => {
  const [d, q] = await Promise.all([duringRefusal(direct, 'direct', 25_000), duringRefusal(queued, 'queue', 25_000)]);
  const given = direct.worker.events().filter((e) => e.event === 'annotation' && d.ids.has(e.assessment));
  assert.deepEqual([d.t.delivered, d.t.gave_up], [0, d.ids.size]);
  for (const e of given) {
    assert.ok(e.attempts >= 2 && e.ms <= 20_000, JSON.stringify(e));
    assert.equal(e.status, undefined);
    assert.ok(e.network_error, 'the network error is logged');
  }
  assert.equal(d.calls.length, 0);
  assert.deepEqual([q.t.delivered, q.t.gave_up, q.t.dead_lettered], [q.ids.size, 0, 0]);
  assertDeliveredOnce(queued, q.ids);
});

test('API refusing connections for 2 s: retried, then delivered, in both modes', async () => {
  const check = async (s, mode) => {
    const { ids, t, calls } = await duringRefusal(s, mode, 2000);
    // Refused attempts never reach the stand-in: one call each, the 200.
    assert.deepEqual([t.delivered, t.retried, t.gave_up, t.dead_lettered], [ids.size, ids.size, 0, 0]);
    assert.equal(calls.length, ids.size);
    assertDeliveredOnce(s, ids);
  };
  await Promise.all([check(direct, 'direct'), check(queued, 'queue')]);
});

test('API answering 503 to 30% of calls at random (seeded): direct mode accounts for every annotation, queue mode delivers every one', async () => {
  const N = 200;
  const run = async (s, mode) => {
    const ids = new Set(Array.from({ length: N }, () => newId()));
    const list = [...ids];
    // The same seed in both modes: the same sequence of answers.
    s.api.failRandomly(0.3, 20261122);
    const t0 = performance.now();
    const responses = await pool(N, 20, (i) => send(s, list[i]));
    const t = await settled(s, ids);
    s.api.failRandomly(0);
    const calls = callsFor(s, ids);
    const failed = calls.filter((c) => c.status === 503).length;
    figure('API 503 on 30% of calls (seed 20261122)', {
      mode, requests: N, client: statuses(responses), calls_received: calls.length, calls_503: failed,
      delivered: t.delivered, retried: t.retried, extra_attempts: t.extra_attempts, requeued: t.requeued,
      gave_up: t.gave_up, dead_lettered: t.dead_lettered, duration_s: seconds(t0),
    });
    assert.deepEqual(statuses(responses), { 200: N });
    // Only 503s and 200s: nothing but the injected fault failed.
    assert.equal(calls.filter((c) => c.status === 200).length + failed, calls.length);
    assert.ok(failed / calls.length > 0.2 && failed / calls.length < 0.4, `503 share ${failed}/${calls.length}`);
    assert.ok(t.retried > 0);
    // Each 503 was retried once, except the last of an annotation given up on.
    assert.equal(t.extra_attempts, failed - t.gave_up);
    return { ids, t, calls };
  };
  const [d, q] = await Promise.all([run(direct, 'direct'), run(queued, 'queue')]);

  // Direct mode is best effort within 20 s: each annotation ended exactly
  // once, delivered (one 200) or given up after its last attempt failed.
  assert.equal(d.t.ended, N);
  assert.equal(d.t.delivered + d.t.gave_up, N);
  const deliveredIds = new Set(direct.worker.events().filter((e) => e.event === 'annotation' && d.ids.has(e.assessment) && e.result === 'delivered').map((e) => e.assessment));
  assertDeliveredOnce(direct, deliveredIds);

  // Queue mode: every one delivered, each 503 answered by one re-enqueue.
  assert.deepEqual([q.t.ended, q.t.delivered, q.t.gave_up, q.t.dead_lettered], [N, N, 0, 0]);
  assertDeliveredOnce(queued, q.ids);
  assert.equal(q.t.requeued, q.calls.filter((c) => c.status === 503).length);
});

test('API hanging (accepts, never answers): the 10 s attempt timeout fires, the hung call is abandoned and the retry delivers', async () => {
  const run = async (s, mode, n, hangs) => {
    const ids = new Set(Array.from({ length: n }, () => newId()));
    s.api.hangNext(hangs);
    const t0 = performance.now();
    const responses = [];
    for (const id of ids) {
      const t = performance.now();
      const r = await send(s, id);
      responses.push({ ...r, ms: performance.now() - t });
    }
    const t = await settled(s, ids);
    const calls = callsFor(s, ids);
    figure('API hangs', {
      mode, requests: n, client: statuses(responses), calls_received: calls.length, calls_hung: calls.filter((c) => c.hung).length,
      delivered: t.delivered, retried: t.retried, requeued: t.requeued, gave_up: t.gave_up, dead_lettered: t.dead_lettered, duration_s: seconds(t0),
    });
    assert.deepEqual(statuses(responses), { 200: n });
    // The client's response never waits for the annotate call.
    for (const r of responses) assert.ok(r.ms < 9000, `client waited ${r.ms} ms`);
    const hung = calls.filter((c) => c.hung);
    assert.equal(hung.length, hangs);
    // The worker gave up on each hung call: its connection was closed...
    assert.ok(await until(() => hung.every((c) => c.aborted), 5000), 'a hung call was never abandoned');
    // ...after the attempt timeout (10 s), not later and not much sooner.
    for (const h of hung) {
      const retry = s.api.callsFor(h.assessment).find((c) => c.status === 200);
      const gap = Date.parse(retry.at) - Date.parse(h.at);
      assert.ok(gap >= 9500 && gap < 20_000, `retried ${gap} ms after the hung call`);
    }
    assert.deepEqual([t.delivered, t.retried, t.gave_up, t.dead_lettered], [n, hangs, 0, 0]);
    assertDeliveredOnce(s, ids);
    return t;
  };
  const [, q] = await Promise.all([run(direct, 'direct', 1, 1), run(queued, 'queue', 6, 3)]);
  assert.equal(q.requeued, 3);
});

// What counts as delivered is the status alone (delivery.rs decides on it; a
// success body is read and discarded, or cancelled, never parsed); an error body is only read (up to 16 KiB)
// for Google's message, so garbage there changes the log line, never the decision.
const GARBAGE = [
  { name: '200 with a non-JSON body', status: 200, body: '<html>OK</html>', calls: [200], result: 'delivered' },
  { name: '500 with an HTML body', status: 500, body: '<html><h1>Internal Server Error</h1>', calls: [500, 200], result: 'delivered' },
  { name: '503 with a 1 MB body', status: 503, body: 'x'.repeat(1024 * 1024), calls: [503, 200], result: 'delivered' },
  { name: '503 with invalid UTF-8', status: 503, body: Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00, 0x7b]), calls: [503, 200], result: 'delivered' },
  { name: '502 with truncated JSON', status: 502, body: '{"error":{"code":502,"mess', calls: [502, 200], result: 'delivered' },
  { name: '400 with an HTML body', status: 400, body: '<html>Bad Request</html>', calls: [400], result: 'rejected' },
];

test('API answering garbage bodies: the status decides (2xx delivered, 5xx retried, 4xx final), the body never does', async () => {
  const run = async (s, mode) => {
    const t0 = performance.now();
    const rows = [];
    for (const g of GARBAGE) {
      const id = newId();
      const m = s.mark();
      s.api.failNext(g.status, 1, undefined, g.body);
      const res = await send(s, id);
      const e = await m.waitFor('annotation', (x) => x.assessment === id, 60_000);
      rows.push({ g, id, res, e });
    }
    const ids = new Set(rows.map((r) => r.id));
    const t = tally(s.worker.events(), ids);
    figure('API answers garbage bodies', {
      mode, requests: rows.length, client: statuses(rows.map((r) => r.res)), calls_received: callsFor(s, ids).length,
      delivered: t.delivered, retried: t.retried, rejected: t.rejected, gave_up: t.gave_up, dead_lettered: t.dead_lettered,
      duration_s: seconds(t0),
    });
    for (const { g, id, res, e } of rows) {
      assert.equal(res.status, 200, g.name);
      assert.deepEqual(s.api.callsFor(id).map((c) => c.status), g.calls, g.name);
      assert.equal(e.result, g.result, g.name);
      assert.equal(e.attempts, g.calls.length, g.name);
      // Not Google's envelope: no `error` object is made up from it.
      assert.equal(e.error, undefined, g.name);
      // A final refusal in queue mode is kept in the DLQ for a replay.
      assert.equal(e.dead_lettered === true, mode === 'queue' && g.result === 'rejected', g.name);
    }
  };
  await Promise.all([run(direct, 'direct'), run(queued, 'queue')]);
});

// The origin faults below are the same in both modes up to the point where
// an annotation is handed over, which the API scenarios above cover; they run
// in direct mode.

test('origin slow (5 s): the client gets the full response, other requests are not held up, the annotation is still sent', async () => {
  const id = newId();
  const m = direct.mark();
  const t0 = performance.now();
  const slow = send(direct, id, 'FRAUDULENT; reasons=INCORRECT_PASSWORD', '&delay=5000&body=slow-but-complete');
  // While it waits, another request is answered at once.
  const fast = await direct.fetch('/echo');
  const fastMs = performance.now() - t0;
  const res = await slow;
  const ms = performance.now() - t0;
  const e = await m.waitFor('annotation', (x) => x.assessment === id);
  figure('origin slow (5 s)', {
    mode: 'direct', requests: 1, client: statuses([res]), client_ms: Math.round(ms), other_request_ms: Math.round(fastMs),
    calls_received: direct.api.callsFor(id).length, delivered: e.result === 'delivered' ? 1 : 0, retried: e.attempts - 1,
    gave_up: e.result === 'gave_up' ? 1 : 0, dead_lettered: 0,
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'slow-but-complete');
  assert.ok(ms >= 4900, `answered after ${ms} ms`);
  assert.equal(fast.status, 200);
  assert.ok(fastMs < 4900, `the other request took ${fastMs} ms`);
  assert.deepEqual([e.result, e.attempts], ['delivered', 1]);
  assert.equal(direct.api.callsFor(id).length, 1);
});

/** A GET through the worker with node:http, reporting a truncated body rather than throwing. */
function rawGet(url, headers) {
  return new Promise((resolve) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      let received = 0;
      res.on('data', (d) => { received += d.length; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, received, complete: true }));
      res.on('error', (e) => resolve({ status: res.statusCode, headers: res.headers, received, complete: false, error: e.code }));
      res.on('close', () => resolve({ status: res.statusCode, headers: res.headers, received, complete: res.complete }));
    });
    req.on('error', (e) => resolve({ status: null, error: e.code }));
  });
}

test('origin resetting the connection before its headers: the client gets a 502, the reason is logged, nothing is annotated', async () => {
  const id = newId();
  const m = direct.mark();
  const res = await send(direct, id, 'LEGITIMATE', '&reset=before');
  const logged = await m.waitFor('origin_unreachable');
  const after = await direct.fetch('/echo');
  await new Promise((r) => setTimeout(r, 1000));
  figure('origin resets before headers', {
    mode: 'direct', requests: 1, client: statuses([res]), calls_received: direct.api.callsFor(id).length,
    delivered: 0, retried: 0, gave_up: 0, dead_lettered: 0, logged: logged.event,
  });
  assert.equal(res.status, 502);
  assert.equal(res.body.toString(), 'Bad gateway: origin unreachable\n');
  assert.equal(direct.api.callsFor(id).length, 0);
  // The isolate is healthy afterwards.
  assert.equal(after.status, 200);
});

test('origin resetting the connection mid-body: the client sees the status and a truncated stream, no outcome header, and the outcome the origin sent is annotated once', async () => {
  const id = newId();
  const m = direct.mark();
  const size = 200_000;
  const res = await rawGet(`${direct.worker.url}${respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD', `&reset=mid&bytes=${size}`)}`, { 'x-recaptcha-token': token(id) });
  const e = await m.waitFor('annotation', (x) => x.assessment === id);
  const after = await direct.fetch('/echo');
  figure('origin resets mid-body', {
    mode: 'direct', requests: 1, client: { [res.status]: 1 }, client_bytes: `${res.received}/${size}`, client_error: res.error,
    calls_received: direct.api.callsFor(id).length, delivered: e.result === 'delivered' ? 1 : 0, retried: e.attempts - 1, gave_up: 0, dead_lettered: 0,
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers[OUTCOME], undefined);
  assert.equal(res.headers['content-length'], String(size));
  // The stream ends early with an error: never passed off as complete.
  assert.equal(res.complete, false);
  assert.ok(res.received < size, `${res.received} bytes`);
  // The headers, outcome included, had arrived: the origin's verdict stands.
  assert.equal(e.result, 'delivered');
  assert.equal(direct.api.callsFor(id).length, 1);
  assert.equal(after.status, 200);
});

// Queue mode in workerd: wrangler dev simulates Cloudflare Queues locally.
// Short retry delays stand in for the production schedule (30 s doubling).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, respondWith, newId, API_KEY, ADMIN_TOKEN, ADMIN_PATH as PATH } from './fixtures.mjs';

/** wrangler config for the annotations queue, its DLQ, and (to observe the
 *  DLQ) this worker consuming the DLQ too, as the README's replay does. */
const queues = {
  queues: {
    producers: [
      { binding: 'ANNOTATIONS', queue: 'annotations' },
      { binding: 'ANNOTATIONS_DLQ', queue: 'annotations-dlq' },
    ],
    consumers: [
      { queue: 'annotations', max_batch_size: 100, max_batch_timeout: 1, max_retries: 3, dead_letter_queue: 'annotations-dlq', max_concurrency: 2 },
      { queue: 'annotations-dlq', max_batch_size: 100, max_batch_timeout: 1, max_retries: 1 },
    ],
  },
};

let s;
const stats = { sent: 0 };

before(async () => {
  s = await startStack({
    // debug: the tests and figures read annotation_enqueued and annotation_retrying lines.
    vars: { QUEUE_RETRY_BASE_SECONDS: '2', QUEUE_RETRY_MAX_SECONDS: '4', QUEUE_MAX_ATTEMPTS: '12', DEAD_LETTER_QUEUE: 'annotations-dlq', LOG_LEVEL: 'debug' },
    secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN },
    config: queues,
  });
});
after(async () => {
  try {
    const events = s.worker.events();
    const count = (pred) => events.filter(pred).length;
    // Figures for the closing note.
    console.log(`queue figures: outcomes/items sent ${stats.sent}, enqueued ${count((e) => e.event === 'annotation_enqueued')}, ` +
      `delivered ${count((e) => e.event === 'annotation' && e.result === 'delivered')}, retried ${count((e) => e.event === 'annotation_retrying')}, ` +
      `dead-lettered ${count((e) => e.event === 'annotation' && e.dead_lettered)}, stand-in calls ${s.api.calls.length}`);
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(API_KEY) && !line.includes(ADMIN_TOKEN), `secret in log: ${line}`);
      assert.ok(!line.includes(':U='), `token in log: ${line}`);
    }
  } finally {
    await s.stop();
  }
});

const token = (id) => `03AFcWeA-queue:U=${id}`;
const waitFor = (m, pred, ms = 60_000) => m.waitFor('annotation', pred, ms);

test('with a healthy API an outcome is enqueued, then delivered exactly once', async () => {
  const id = newId();
  const m = s.mark();
  stats.sent += 1;
  const res = await s.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: { 'x-recaptcha-token': token(id) } });
  assert.equal(res.status, 200);
  const enqueued = await m.waitFor('annotation_enqueued', (e) => e.assessment === id);
  assert.match(enqueued.idempotency_key, /^[0-9a-f]{16}$/);
  const event = await waitFor(m, (e) => e.assessment === id);
  assert.deepEqual([event.result, event.mode, event.attempts], ['delivered', 'queue', 1]);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(s.api.callsFor(id).length, 1);
  assert.equal(s.api.callsFor(id)[0].body, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}');
});

test('an account ID holding U+FFFD, escaped in an outcome header or raw in a batch item, is delivered through the queue, not refused by the consumer', async () => {
  const [fromHeader, fromBatch] = [newId(), newId()];
  const m = s.mark();
  stats.sent += 2;
  const res = await s.fetch(respondWith('{"annotation":"LEGITIMATE","accountId":"u\\ufffd"}'), { headers: { 'x-recaptcha-token': token(fromHeader) } });
  assert.equal(res.status, 200);
  const batch = await s.fetch(PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify([{ assessment: fromBatch, annotation: 'LEGITIMATE', accountId: 'v\ufffd' }]),
  });
  assert.deepEqual([batch.status, JSON.parse(batch.body)], [202, { accepted: 1, rejected: [] }]);
  for (const [id, account] of [[fromHeader, 'u\ufffd'], [fromBatch, 'v\ufffd']]) {
    const event = await waitFor(m, (e) => e.assessment === id);
    assert.deepEqual([event.result, event.mode], ['delivered', 'queue']);
    assert.deepEqual(JSON.parse(s.api.callsFor(id)[0].body), { annotation: 'LEGITIMATE', accountId: account });
  }
  assert.equal(s.worker.events().filter((e) => e.event === 'queue_message_invalid').length, 0);
});

test('an outcome whose annotate body would outgrow 8 KiB is refused at the door, never enqueued; one that fits is delivered through the queue', async () => {
  // 8,160 letters fit the 8 KiB header, not the JSON body they become.
  const [tooLong, fits] = [newId(), newId()];
  const m = s.mark();
  stats.sent += 1;
  await s.fetch(respondWith(`LEGITIMATE; account-id=${'a'.repeat(8_160)}`), { headers: { 'x-recaptcha-token': token(tooLong) } });
  const rejected = await m.waitFor('outcome_rejected', () => true, 10_000);
  assert.match(rejected.reason, /^the annotate body would be 8\d{3} bytes, more than the 8192 allowed$/);
  await s.fetch(respondWith(`LEGITIMATE; account-id=${'a'.repeat(8_100)}`), { headers: { 'x-recaptcha-token': token(fits) } });
  const event = await waitFor(m, (e) => e.assessment === fits);
  assert.deepEqual([event.result, event.mode], ['delivered', 'queue']);
  assert.equal(JSON.parse(s.api.callsFor(fits)[0].body).accountId.length, 8_100);
  const about = (id) => s.worker.events().filter((e) => e.assessment === id).map((e) => e.event);
  assert.deepEqual(about(tooLong), []);
  assert.equal(s.api.callsFor(tooLong).length, 0);
  assert.equal(s.worker.events().filter((e) => e.event === 'queue_message_invalid').length, 0);
});

test('an API outage longer than direct mode\'s 20 s budget is retried through the queue, then delivered', async () => {
  const id = newId();
  s.api.failFor(22_000, 503);
  const m = s.mark();
  stats.sent += 1;
  await s.fetch(respondWith('LEGITIMATE; reasons=PASSED_TWO_FACTOR'), { headers: { 'x-recaptcha-token': token(id) } });
  const event = await waitFor(m, (e) => e.assessment === id, 90_000);
  assert.equal(event.result, 'delivered');
  const calls = s.api.callsFor(id);
  assert.deepEqual(calls.map((c) => c.status), [...Array(calls.length - 1).fill(503), 200]);
  const span = Date.parse(calls.at(-1).at) - Date.parse(calls[0].at);
  assert.ok(span > 20_000, `delivered ${span} ms after the first attempt`);
  assert.equal(event.attempts, calls.length);
  // At most ~5 s per hop (4 s delay + 1 s batch timeout): at least 4 failed attempts in 22 s.
  assert.ok(event.attempts >= 5, `attempts: ${event.attempts}`);
});

test('a poisoned message does not block its batch; it is dead-lettered, replayed once and dropped', async () => {
  const ids = Array.from({ length: 20 }, () => newId());
  const poisoned = ids[7];
  s.api.poison(poisoned, 400);
  const m = s.mark();
  stats.sent += ids.length;
  const res = await s.fetch(PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(ids.map((assessment) => ({ assessment, annotation: 'FRAUDULENT', reasons: ['CHARGEBACK'] }))),
  });
  assert.equal(res.status, 202);
  for (const id of ids.filter((i) => i !== poisoned)) {
    const e = await waitFor(m, (x) => x.assessment === id);
    assert.equal(e.result, 'delivered');
  }
  const first = await waitFor(m, (e) => e.assessment === poisoned && e.dead_lettered === true);
  assert.deepEqual([first.result, first.status, first.error.status], ['rejected', 400, 'INVALID_ARGUMENT']);
  // The DLQ consumer replays it once; refused again, it is acknowledged, not looped.
  const replay = await waitFor(m, (e) => e.assessment === poisoned && !e.dead_lettered);
  assert.equal(replay.result, 'rejected');
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(s.api.callsFor(poisoned).length, 2);
  for (const id of ids.filter((i) => i !== poisoned)) assert.equal(s.api.callsFor(id).length, 1);
});

test('a 1,000-item batch goes through the queue and is delivered exactly once per item', async () => {
  const ids = Array.from({ length: 1000 }, () => newId());
  assert.equal(new Set(ids).size, 1000);
  const before = s.api.calls.length;
  stats.sent += ids.length;
  const res = await s.fetch(PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(ids.map((assessment) => ({ assessment, reasons: ['REFUND_FRAUD'] }))),
  });
  assert.equal(res.status, 202);
  assert.deepEqual(JSON.parse(res.body), { accepted: 1000, rejected: [] });
  const deadline = Date.now() + 60_000;
  while (s.api.calls.length < before + 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(s.api.calls.length - before, 1000);
  for (const id of ids) assert.equal(s.api.callsFor(id).length, 1, id);
});

test('a message still failing after QUEUE_MAX_ATTEMPTS is given up on and dead-lettered', async () => {
  const q = await startStack({
    vars: { QUEUE_RETRY_BASE_SECONDS: '1', QUEUE_RETRY_MAX_SECONDS: '1', QUEUE_MAX_ATTEMPTS: '2', DEAD_LETTER_QUEUE: 'annotations-dlq' },
    config: { queues: { producers: queues.queues.producers, consumers: [queues.queues.consumers[0]] } },
  });
  try {
    const id = newId();
    q.api.poison(id, 503);
    const m = q.mark();
    await q.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(id) } });
    const event = await m.waitFor('annotation', (e) => e.assessment === id, 30_000);
    assert.deepEqual([event.result, event.attempts, event.status, event.dead_lettered], ['gave_up', 2, 503, true]);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(q.api.callsFor(id).length, 2);
  } finally {
    await q.stop();
  }
});

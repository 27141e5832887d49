// Queue mode when the queue refuses (tests/integration/queue-refusing.js):
// an outcome goes directly instead, and the batch endpoint's reply names
// every accepted item to send again, since accepted means enqueued.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, respondWith, newId, API_KEY, ADMIN_TOKEN, ADMIN_PATH } from './fixtures.mjs';
import { sleep } from './figures.mjs';

const STAND_IN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'queue-refusing.js');
const token = (id) => `03AFcWeA-refused:U=${id}`;

let s;
before(async () => {
  s = await startStack({ main: STAND_IN, secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN } });
});
after(async () => {
  try {
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(API_KEY) && !line.includes(ADMIN_TOKEN), `secret in log: ${line}`);
      assert.ok(!line.includes(':U='), `token in log: ${line}`);
    }
  } finally {
    await s.stop();
  }
});

/** The messages the stand-in queue was offered, by assessment. */
async function offered(id) {
  const res = await fetch(`${s.worker.url}/__stand-in/queue`);
  return (await res.json()).filter((m) => m.assessment === id);
}

test('an outcome the queue refuses is logged and delivered directly, once', async () => {
  const id = newId();
  const m = s.mark();
  const res = await s.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: { 'x-recaptcha-token': token(id) } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-recaptcha-outcome'), null);
  const failed = await m.waitFor('enqueue_failed');
  assert.match(failed.error, /refuses every message/);
  const event = await m.waitFor('annotation', (e) => e.assessment === id);
  assert.deepEqual([event.result, event.mode, event.attempts], ['delivered', 'direct', 1]);
  assert.equal((await offered(id)).length, 1);
  await sleep(1000);
  assert.equal(s.api.callsFor(id).length, 1);
  assert.equal(s.api.callsFor(id)[0].body, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}');
});

test('a batch the queue refuses gets a 503 naming every accepted item to send again, and nothing is delivered', async () => {
  const [first, second] = [newId(), newId()];
  const m = s.mark();
  const res = await s.fetch(ADMIN_PATH, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify([
      { assessment: first, annotation: 'LEGITIMATE' },
      { assessment: 'short', annotation: 'LEGITIMATE' },
      { assessment: second, annotation: 'FRAUDULENT' },
    ]),
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = JSON.parse(res.body);
  assert.deepEqual([body.accepted, body.not_enqueued, body.rejected.map((r) => r.index)], [0, [0, 2], [1]]);
  assert.match(body.error, /send the items in not_enqueued again/);
  const received = await m.waitFor('batch_received');
  assert.deepEqual([received.accepted, received.rejected, received.mode], [2, 1, 'queue']);
  await m.waitFor('enqueue_failed');
  assert.equal((await offered(first)).length + (await offered(second)).length, 2);
  await sleep(1000);
  assert.equal(s.api.callsFor(first).length + s.api.callsFor(second).length, 0);
});

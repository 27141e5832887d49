// Queue mode with a DEAD_LETTER_QUEUE that does not name the real dead-letter
// queue, while the worker consumes that queue too (the README's replay, with
// a typo): the worker takes every dead-letter batch for a main-queue batch.
// Whatever it sends to the dead-letter queue comes back to it, and must
// still stop: a final failure is dead-lettered at most 3 times, a message
// that is not an annotation is set aside once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, respondWith, newId } from './fixtures.mjs';
import { sleep, until } from './figures.mjs';

const INJECT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'queue-inject.js');
const token = (id) => `03AFcWeA-replay:U=${id}`;

let s;
before(async () => {
  s = await startStack({
    vars: {
      QUEUE_RETRY_BASE_SECONDS: '1',
      QUEUE_RETRY_MAX_SECONDS: '1',
      QUEUE_MAX_ATTEMPTS: '2',
      DEAD_LETTER_QUEUE: 'recaptcha-annotations-dlq', // the real one is annotations-dlq
    },
    config: {
      queues: {
        producers: [
          { binding: 'ANNOTATIONS', queue: 'annotations' },
          { binding: 'ANNOTATIONS_DLQ', queue: 'annotations-dlq' },
        ],
        consumers: [
          { queue: 'annotations', max_batch_timeout: 1, max_retries: 3, dead_letter_queue: 'annotations-dlq' },
          { queue: 'annotations-dlq', max_batch_timeout: 1, max_retries: 1 },
        ],
      },
      tail_consumers: [{ service: 'queue-inject' }],
    },
    extraWorkers: [{ name: 'queue-inject', main: INJECT, queues: { producers: [{ binding: 'TARGET', queue: 'annotations' }] } }],
  });
});
after(async () => { await s.stop(); });

const events = (name, pred = () => true) => s.worker.events().filter((e) => e.event === name && pred(e));

test('with a misnamed DEAD_LETTER_QUEUE a final failure is dead-lettered at most 3 times, then dropped with dead_letter_limit', async () => {
  const id = newId();
  s.api.poison(id, 400);
  const m = s.mark();
  await s.fetch(respondWith('FRAUDULENT; reasons=CHARGEBACK'), { headers: { 'x-recaptcha-token': token(id) } });
  const limit = await m.waitFor('dead_letter_limit', (e) => e.assessment === id, 20_000)
    .catch(() => assert.fail(`no dead_letter_limit; ${s.api.callsFor(id).length} calls so far`));
  assert.deepEqual([limit.level, limit.dead_letters], ['error', 3]);
  // Time for another round trip through the dead-letter queue, were there one.
  await sleep(3000);
  assert.equal(s.api.callsFor(id).length, 1 + 3);
  const ended = events('annotation', (e) => e.assessment === id);
  assert.deepEqual(ended.map((e) => [e.result, e.dead_lettered ?? false]), [
    ['rejected', true], ['rejected', true], ['rejected', true], ['rejected', false],
  ]);
});

test('with a misnamed DEAD_LETTER_QUEUE a message that is not an annotation is set aside once, and acknowledged when it comes back', async () => {
  // Over the attempts cap: a message no policy of this worker's would send.
  const poisoned = { v: 1, assessment: newId(), annotation: { annotation: 'LEGITIMATE' }, idempotency_key: '0123456789abcdef', attempts: 5000, first_seen_ms: 0 };
  // One the worker set aside before, arriving on the main queue.
  const wrapped = { set_aside: 'garbage', error: 'message body is not JSON' };
  const before = s.api.calls.length;
  for (const message of [poisoned, wrapped]) {
    const res = await s.fetch(`/echo?inject=${encodeURIComponent(JSON.stringify(message))}`);
    assert.equal(res.status, 200);
  }
  assert.ok(await until(() => events('queue_message_invalid').length >= 3, 15_000), 'the messages were not consumed');
  // Time for another round trip through the dead-letter queue, were there one.
  await sleep(3000);
  const invalid = events('queue_message_invalid');
  assert.equal(invalid.length, 3, JSON.stringify(invalid));
  const setAside = invalid.filter((e) => e.dead_lettered);
  assert.equal(setAside.length, 1);
  assert.match(setAside[0].error, /attempts 5000/);
  for (const e of invalid.filter((x) => !x.dead_lettered)) assert.match(e.error, /set aside before/);
  assert.equal(s.api.calls.length, before);
});

// What the worker makes of the annotate API's answers beyond their status:
// Google's error text is scrubbed of the key before it is shortened, a
// redirect is a final answer that is never followed, and a success's body is
// read (direct mode's first attempt) or cancelled, never held past its attempt. Direct mode, and queue mode for the
// dead-letter queue's last_error.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, respondWith, newId, API_KEY, PROJECT, ADMIN_TOKEN, ADMIN_PATH } from './fixtures.mjs';
import { figure, queueMode, sleep, until } from './figures.mjs';
import { lifecycle } from '../../local/serve.mjs';

const TAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'queue-tap.js');
const token = (id) => `03AFcWeA-answers:U=${id}`;
const ENCODED_KEY = encodeURIComponent(API_KEY);
/** Every 8-character piece of the key, raw and percent-encoded. */
const KEY_PIECES = [API_KEY, ENCODED_KEY].flatMap((k) => Array.from({ length: k.length - 7 }, (_, i) => k.slice(i, i + 8)));
const keyPiecesIn = (text) => KEY_PIECES.filter((piece) => text.includes(piece));

/**
 * Error answers whose message puts the key (raw or percent-encoded, as an
 * API echoing the request URL would) across the 300-character cut, and
 * whose status holds it whole.
 */
const KEY_ECHOES = [[API_KEY, 292], [API_KEY, 299], [ENCODED_KEY, 295]].map(([key, pad]) => ({
  message: `${'m'.repeat(pad)}${key} was used`,
  errorStatus: `BAD_${key}`,
}));

let s;
before(async () => { s = await startStack({ secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN } }); });
after(async () => { await s.stop(); });

/** Sends a request whose response carries `outcome`; resolves with its `annotation` event. */
async function annotation(stack, outcome, id) {
  const m = stack.mark();
  await stack.fetch(respondWith(outcome), { headers: { 'x-recaptcha-token': token(id) } });
  return m.waitFor('annotation', (e) => e.assessment === id);
}

test('Google\'s error text is scrubbed of the key before it is shortened, status included: no piece of the key is logged', async () => {
  for (const echo of KEY_ECHOES) {
    const id = newId();
    s.api.failNext(400, 1, undefined, undefined, echo);
    const event = await annotation(s, 'LEGITIMATE', id);
    assert.deepEqual([event.result, event.error.code, event.error.status], ['rejected', 400, 'BAD_[redacted]']);
    // The message is kept, up to the cut.
    assert.ok(event.error.message.startsWith(echo.message.slice(0, 290)), event.error.message);
  }
  for (const line of s.worker.logs) assert.deepEqual(keyPiecesIn(line), [], line);
});

test('the dead-letter queue\'s last_error holds no piece of the key either', async () => {
  const { vars, config } = queueMode();
  const q = await startStack({
    vars,
    config,
    // Prints each dead-lettered message as it was sent.
    extraWorkers: [{ name: 'dlq-tap', main: TAP, queues: { consumers: [{ queue: 'annotations-dlq', max_batch_timeout: 0 }] } }],
  });
  try {
    const tapped = (id) => q.worker.events().find((e) => e.event === 'queue_tap' && e.message.assessment === id)?.message;
    for (const echo of KEY_ECHOES) {
      const id = newId();
      q.api.failNext(400, 1, undefined, undefined, echo);
      const event = await annotation(q, 'LEGITIMATE', id);
      assert.deepEqual([event.result, event.dead_lettered, event.error.status], ['rejected', true, 'BAD_[redacted]']);
      assert.ok(await until(() => tapped(id), 15_000), 'not dead-lettered');
      assert.match(tapped(id).last_error, /^400 BAD_\[redacted\]: m{290}/);
    }
    for (const line of q.worker.logs) assert.deepEqual(keyPiecesIn(line), [], line);
  } finally {
    await q.stop();
  }
});

test('an annotate call answered with a redirect is not followed: a final answer, logged as REDIRECT_NOT_FOLLOWED', async () => {
  // Where the redirects point: it must never be sent the body.
  const reached = [];
  const elsewhere = http.createServer((req, res) => {
    reached.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  const life = lifecycle(elsewhere);
  const port = await life.listen();
  try {
    for (const status of [307, 308]) {
      const id = newId();
      const location = `http://127.0.0.1:${port}/v1/projects/${PROJECT}/assessments/${id}:annotate`;
      s.api.failNext(status, 1, undefined, undefined, { location });
      const event = await annotation(s, 'LEGITIMATE; account-id=u-42', id);
      assert.deepEqual([event.result, event.status, event.attempts], ['rejected', status, 1]);
      assert.deepEqual([event.error.code, event.error.status], [status, 'REDIRECT_NOT_FOLLOWED']);
      assert.deepEqual(s.api.callsFor(id).map((c) => [c.status, c.location]), [[status, location]]);
    }
    assert.deepEqual(reached, [], 'a redirect was followed');
  } finally {
    await life.close();
  }
});

test('a successful annotate response\'s body is cancelled at once in a batch, not held until the invocation ends', async () => {
  // Each success's body takes 20 s to arrive. The first call is told to retry
  // after 2 s, so the batch's invocation lasts over 2 s: a body left unread
  // would stay open until then.
  const ids = Array.from({ length: 30 }, () => newId());
  s.api.dripSuccesses(1000, 20);
  s.api.failNext(503, 1, 2);
  try {
    const m = s.mark();
    const started = Date.now();
    const res = await s.fetch(ADMIN_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify(ids.map((assessment) => ({ assessment, annotation: 'LEGITIMATE' }))),
    });
    assert.equal(res.status, 202);
    const events = await Promise.all(ids.map((id) => m.waitFor('annotation', (e) => e.assessment === id, 15_000)));
    const tookMs = Date.now() - started;
    assert.deepEqual(new Set(events.map((e) => e.result)), new Set(['delivered']));
    assert.ok(tookMs > 2000 && tookMs < 8000, `all delivered after ${tookMs} ms`);
    const successes = ids.flatMap((id) => s.api.callsFor(id)).filter((c) => c.status === 200);
    assert.equal(successes.length, 30);
    assert.ok(await until(() => successes.every((c) => c.closedEarlyMs !== undefined), 5000), 'a body was read to its end or never closed');
    const heldMs = Math.max(...successes.map((c) => c.closedEarlyMs));
    figure('success bodies', { items: 30, delivered_ms: tookMs, longest_held_ms: heldMs });
    assert.ok(heldMs < 1000, `a success's body was held open ${heldMs} ms`);
  } finally {
    s.api.dripSuccesses(0);
  }
});

test('direct mode reads a success\'s small body to its end, so the next annotate call reuses its connection', async () => {
  const first = newId();
  assert.equal((await annotation(s, 'LEGITIMATE', first)).result, 'delivered');
  await sleep(200); // the body read, the connection back in the pool
  const second = newId();
  assert.equal((await annotation(s, 'LEGITIMATE', second)).result, 'delivered');
  const [a, b] = [first, second].map((id) => s.api.callsFor(id)[0].connection);
  assert.equal(b, a, 'the second call came on a new connection');
});

test('direct mode abandons a success\'s body that never ends with its attempt, quietly', async () => {
  s.api.dripSuccesses(1000, 20);
  try {
    const id = newId();
    const from = s.worker.logs.length;
    assert.equal((await annotation(s, 'LEGITIMATE', id)).result, 'delivered');
    const [call] = s.api.callsFor(id);
    assert.ok(await until(() => call.closedEarlyMs !== undefined, 15_000), 'the body was never abandoned');
    figure('direct success body held', { held_ms: call.closedEarlyMs });
    assert.ok(call.closedEarlyMs < 11_000, `held ${call.closedEarlyMs} ms`);
    await sleep(300);
    assert.deepEqual(s.worker.logs.slice(from).filter((l) => /uncaught|unhandled|TimeoutError|AbortError/i.test(l)), []);
  } finally {
    s.api.dripSuccesses(0);
  }
});

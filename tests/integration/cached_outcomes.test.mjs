// An outcome on a response served from a cache was written for the request
// that filled the cache: it never reaches the client and is never annotated
// (outcome_from_cache says so). The origin stand-in sends the cache headers
// Cloudflare's cache (CF-Cache-Status) or any HTTP cache (Age) would add.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, respondWith, newId, OUTCOME } from './fixtures.mjs';
import { figure } from './figures.mjs';

let s;
before(async () => { s = await startStack(); });
after(async () => {
  try {
    for (const r of s.responses) assert.equal(r.headers.get(OUTCOME), null, 'an outcome header reached the client');
  } finally {
    await s.stop();
  }
});

const token = (id) => ({ 'x-recaptcha-token': `03AFcWeA-cache:U=${id}` });
/** The origin's response: an outcome and these headers. */
const responding = (headers) => respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD',
  headers.map((h) => `&header=${encodeURIComponent(h)}`).join(''));

/** One more annotated request, waited for: what the worker had started before it has ended. */
async function settled() {
  const id = newId();
  const m = s.mark();
  await s.fetch(respondWith('LEGITIMATE'), { headers: token(id) });
  await m.waitFor('annotation', (e) => e.assessment === id);
}

/** The outcome came with `headers`: the client's status and the worker's log line. */
async function cachedReply(headers) {
  const id = newId();
  const m = s.mark();
  const res = await s.fetch(responding(headers), { headers: token(id) });
  const event = await m.waitFor('outcome_from_cache');
  await settled();
  assert.deepEqual(s.api.callsFor(id), [], `${headers}: annotated`);
  return { res, event };
}

test('an outcome on a response Cloudflare served from its cache (HIT, STALE, UPDATING, REVALIDATED) is removed and never annotated; outcome_from_cache says so', async () => {
  const rows = {};
  for (const status of ['HIT', 'STALE', 'UPDATING', 'REVALIDATED', 'hit']) {
    const { res, event } = await cachedReply([`CF-Cache-Status: ${status}`]);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cf-cache-status'), status);
    assert.deepEqual([event.level, event.cache_status, event.age], ['warn', status, undefined]);
    rows[status] = `${res.status}, ${event.event}`;
  }
  figure('outcomes on cached responses', rows);
});

test('an Age other than 0 says a cache served the response, whatever CF-Cache-Status says: not annotated', async () => {
  for (const headers of [['Age: 120'], ['CF-Cache-Status: MISS', 'Age: 3'], ['Age: junk']]) {
    const { event } = await cachedReply(headers);
    assert.equal(event.age, headers.at(-1).slice('Age: '.length));
  }
});

test('an outcome fetched from the origin (MISS, EXPIRED, DYNAMIC, BYPASS, no status, Age: 0) is annotated as ever', async () => {
  for (const headers of [['CF-Cache-Status: MISS'], ['CF-Cache-Status: EXPIRED'], ['CF-Cache-Status: DYNAMIC'], ['CF-Cache-Status: BYPASS'], [], ['CF-Cache-Status: MISS', 'Age: 0']]) {
    const id = newId();
    const m = s.mark();
    const res = await s.fetch(responding(headers), { headers: token(id) });
    assert.equal(res.status, 200);
    const event = await m.waitFor('annotation', (e) => e.assessment === id);
    assert.equal(event.result, 'delivered', `${headers}`);
    assert.equal(s.api.callsFor(id)[0].body, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}');
  }
  assert.ok(!s.worker.events().some((e) => e.event === 'outcome_from_cache' && e.cache_status === 'MISS' && e.age === '0'));
});

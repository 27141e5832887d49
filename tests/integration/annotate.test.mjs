// The contract, proven against the built worker running in workerd
// (wrangler dev), a local origin and the strict Google API stand-in.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { startStack, respondWith, newId, API_KEY, PROJECT, OUTCOME } from './fixtures.mjs';

let s;

// debug: the duplicate-suppression test reads the annotation_suppressed line.
before(async () => { s = await startStack({ vars: { LOG_LEVEL: 'debug' } }); });
after(async () => {
  // Whatever happened above, these hold for every response and log line.
  try {
    for (const r of s.responses) {
      assert.equal(r.headers.get(OUTCOME), null, 'an outcome header reached the client');
      assert.ok(!r.body.toString('latin1').includes(API_KEY));
      assert.ok(![...r.headers.values()].some((v) => v.includes(API_KEY)));
    }
    const encodedKey = encodeURIComponent(API_KEY);
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(API_KEY) && !line.includes(encodedKey), `key in log: ${line}`);
      assert.ok(!line.includes(':U='), `token in log: ${line}`);
    }
  } finally {
    await s.stop();
  }
});

/** Sends a request whose origin response carries `outcome`, waits for its annotation log line. */
async function annotated(outcome, init = {}, id = undefined) {
  const m = s.mark();
  const res = await s.fetch(respondWith(outcome), init);
  const event = await m.waitFor('annotation', (e) => id === undefined || e.assessment === id);
  return { res, event };
}

/** Sends a request that must not be annotated; waits for the log line saying why. */
async function notAnnotated(expectedEvent, outcome, init = {}, extraQuery = '') {
  const callsBefore = s.api.calls.length;
  const m = s.mark();
  const res = await s.fetch(respondWith(outcome, extraQuery), init);
  const event = await m.waitFor(expectedEvent);
  assert.equal(s.api.calls.length, callsBefore, 'an annotate call was made');
  return { res, event };
}

const token = (id) => `03AFcWeA${crypto.randomBytes(24).toString('base64url')}:U=${id}`;

test('an action token in X-Recaptcha-Token is annotated with the outcome', async () => {
  const id = newId();
  const { res, event } = await annotated('FRAUDULENT; reasons=INCORRECT_PASSWORD', { headers: { 'x-recaptcha-token': token(id) } }, id);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get(OUTCOME), null);
  const [call] = s.api.callsFor(id);
  assert.equal(call.path, `/v1/projects/${PROJECT}/assessments/${id}:annotate`);
  assert.equal(call.keyValid, true);
  assert.equal(call.contentType, 'application/json; charset=utf-8');
  assert.equal(call.body, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}');
  assert.equal(call.status, 200);
  assert.deepEqual(
    { assessment: event.assessment, label: event.label, reasons: event.reasons, result: event.result, status: event.status, attempts: event.attempts },
    { assessment: id, label: 'FRAUDULENT', reasons: ['INCORRECT_PASSWORD'], result: 'delivered', status: 200, attempts: 1 },
  );
  assert.equal(typeof event.ms, 'number');
});

for (const cookie of ['recaptcha-cf-t', 'recaptcha-ca-e', 'recaptcha-fastly-t', 'recaptcha-akam-e', 'recaptcha-gxlb-t']) {
  test(`a token in the ${cookie} cookie is annotated`, async () => {
    const id = newId();
    await annotated('LEGITIMATE', { headers: { cookie: `other=1; ${cookie}=${token(id)}; more=2` } }, id);
    assert.equal(s.api.callsFor(id).length, 1);
  });
}

test('a percent-encoded cookie token is decoded once', async () => {
  const id = newId();
  const encoded = token(id).replace(':U=', '%3AU%3D');
  await annotated('LEGITIMATE', { headers: { cookie: `recaptcha-cf-t=${encoded}` } }, id);
  assert.equal(s.api.callsFor(id).length, 1);
});

test('without the WAF\'s site keys, different tokens name no assessment (which one the WAF read is unknown); the same token twice does', async () => {
  const [h, e, t] = [newId(), newId(), newId()];
  const cookie = `recaptcha-cf-t=${token(t)}; recaptcha-cf-e=${token(e)}`;
  for (const headers of [{ 'x-recaptcha-token': token(h), cookie }, { cookie }, { cookie: `recaptcha-cf-t=x%3AU%3D${e}; recaptcha-cf-t=${token(t)}` }]) {
    const { event } = await notAnnotated('outcome_dropped', 'LEGITIMATE', { headers });
    assert.match(event.reason, /several different tokens/);
    assert.ok(event.tokens_rejected.length >= 2 && event.tokens_rejected.every((r) => r.problem === 'ambiguous'), JSON.stringify(event));
  }
  const same = token(h);
  await annotated('LEGITIMATE', { headers: { 'x-recaptcha-token': same, cookie: `recaptcha-cf-t=${same}` } }, h);
  assert.deepEqual([h, e, t].map((id) => s.api.callsFor(id).length), [1, 0, 0]);
});

test('malformed and hostile assessment IDs make no call', async () => {
  const good = 'abcdefgh01234567';
  const hostile = [
    good.slice(1), // 15
    `${good}8`, // 17
    '../../../../etc/', // traversal
    'abcdefgh0123456?',
    'abcdefgh0123456#',
    'abcdefgh012%2F45',
    'abcdefgh012345é6',
  ];
  for (const id of hostile) {
    const { event } = await notAnnotated('outcome_dropped', 'LEGITIMATE', { headers: { 'x-recaptcha-token': `tok:U=${id}` } });
    assert.deepEqual(event.tokens_rejected, [{ source: { kind: 'header', name: 'X-Recaptcha-Token' }, problem: 'no_assessment_id' }]);
  }
  for (const value of ['tok%3AU%3Dabcdefgh012%252F45', 'tok%3AU%3Dabcdefgh01234%C3%A96', 'tok:U=../abcdefgh0123']) {
    await notAnnotated('outcome_dropped', 'LEGITIMATE', { headers: { cookie: `recaptcha-cf-t=${value}` } });
  }
});

test('the short form carries label, reasons and account ID', async () => {
  const id = newId();
  await annotated('legitimate;reasons=correct_password,passed_two_factor;account-id=u-42', { headers: { 'x-recaptcha-token': token(id) } }, id);
  assert.equal(s.api.callsFor(id)[0].body, '{"annotation":"LEGITIMATE","reasons":["CORRECT_PASSWORD","PASSED_TWO_FACTOR"],"accountId":"u-42"}');
});

test('the JSON form is sent as Google\'s body, without assessment', async () => {
  const id = newId();
  const outcome = JSON.stringify({
    annotation: 'FRAUDULENT',
    reasons: ['CHARGEBACK_FRAUD'],
    hashedAccountId: 'c2VjcmV0LWhhc2g',
    transactionEvent: { eventType: 'CHARGEBACK', reason: '6005', value: 42.5, eventTime: '2026-11-20T08:00:00Z' },
    phoneAuthenticationEvent: { phoneNumber: '+15551234567' },
  });
  await annotated(outcome, { headers: { 'x-recaptcha-token': token(id) } }, id);
  const [call] = s.api.callsFor(id);
  assert.equal(call.status, 200);
  assert.deepEqual(JSON.parse(call.body), { ...JSON.parse(outcome), hashedAccountId: 'c2VjcmV0LWhhc2g=' });
});

test('assessment= in the outcome overrides the request\'s token, and works without one', async () => {
  const [fromToken, override] = [newId(), newId()];
  await annotated(`LEGITIMATE; assessment=${override}`, { headers: { 'x-recaptcha-token': token(fromToken) } }, override);
  assert.equal(s.api.callsFor(override).length, 1);
  assert.equal(s.api.callsFor(fromToken).length, 0);
  const late = newId();
  await annotated(JSON.stringify({ reasons: ['REFUND'], assessment: late }), {}, late);
  assert.equal(s.api.callsFor(late)[0].body, '{"reasons":["REFUND"]}');
});

test('an outcome without any token is dropped with a logged reason', async () => {
  const { res, event } = await notAnnotated('outcome_dropped', 'LEGITIMATE');
  assert.equal(res.status, 200);
  assert.match(event.reason, /no assessment ID/);
});

test('invalid outcomes are rejected whole, logged, and still stripped', async () => {
  const cases = [
    ['MAYBE', /unknown label/],
    ['PASSWORD_CORRECT', /deprecated.*reasons=CORRECT_PASSWORD/],
    ['LEGITIMATE; reasons=CORRECT_PASSWORD,NOPE', /unknown reason "NOPE"/],
    ['LEGITIMATE; reason=CHARGEBACK', /unknown parameter "reason"/],
    ['{"annotation":"LEGITIMATE","reason":"X"}', /unknown field `reason`/],
    ['{"annotation":"legitimate"}', /unknown label/],
    ['assessment=abcdefgh01234567', /nothing to send/],
    ['LEGITIMATE; assessment=../x', /assessment must be exactly 16/],
    // Fits the header's 8 KiB, not as the body it becomes.
    [`LEGITIMATE; account-id=${'a'.repeat(8_160)}`, /annotate body would be \d+ bytes, more than the 8192 allowed/],
  ];
  for (const [outcome, why] of cases) {
    const { res, event } = await notAnnotated('outcome_rejected', outcome, { headers: { 'x-recaptcha-token': token(newId()) } });
    assert.equal(res.headers.get(OUTCOME), null);
    assert.equal(event.header, 'X-Recaptcha-Outcome');
    assert.match(event.reason, why, outcome);
  }
});

test('client-sent control headers never reach the origin', async () => {
  const res = await s.fetch('/echo', { headers: { [OUTCOME]: 'LEGITIMATE', 'x-recaptcha-assessment-id': 'forgedforgedforg' } });
  const seen = JSON.parse(res.body).headers;
  assert.equal(seen[OUTCOME], undefined);
  assert.equal(seen['x-recaptcha-assessment-id'], undefined);
});

test('the assessment ID is forwarded to the origin in X-Recaptcha-Assessment-Id', async () => {
  const id = newId();
  const res = await s.fetch('/echo?a=1&b=%2F', {
    headers: { 'x-recaptcha-token': token(id), 'x-recaptcha-assessment-id': 'forgedforgedforg', 'x-custom': 'kept' },
  });
  const seen = JSON.parse(res.body);
  assert.equal(seen.headers['x-recaptcha-assessment-id'], id);
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(seen.query, '?a=1&b=%2F');
});

test('request and response bodies and multiple Set-Cookie pass intact', async () => {
  const body = crypto.randomBytes(3 * 1024 * 1024);
  const res = await s.fetch('/echo', { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  const seen = JSON.parse(res.body);
  assert.equal(seen.method, 'PUT');
  assert.equal(seen.bodyLength, body.length);
  assert.equal(seen.bodySha256, crypto.createHash('sha256').update(body).digest('hex'));

  const chunk = 'ünïcode body ✓ ';
  const r2 = await s.fetch(`${respondWith('LEGITIMATE')}&status=201&cookie=${encodeURIComponent('a=1; Path=/; HttpOnly')}&cookie=${encodeURIComponent('b=2; Secure')}&body=${encodeURIComponent(chunk)}&repeat=100000`);
  assert.equal(r2.status, 201);
  assert.deepEqual(r2.headers.getSetCookie(), ['a=1; Path=/; HttpOnly', 'b=2; Secure']);
  assert.equal(r2.body.toString('utf8'), chunk.repeat(100000));
});

test('redirects are passed back, not followed', async () => {
  const res = await s.fetch(`${respondWith('LEGITIMATE')}&status=302&location=${encodeURIComponent('/elsewhere')}`);
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/elsewhere');
  assert.equal(res.headers.get(OUTCOME), null);
});

test('a 503 from the API is retried until delivered', async () => {
  const id = newId();
  s.api.failNext(503, 2);
  const { event } = await annotated('LEGITIMATE', { headers: { 'x-recaptcha-token': token(id) } }, id);
  assert.deepEqual(s.api.callsFor(id).map((c) => c.status), [503, 503, 200]);
  assert.equal(event.result, 'delivered');
  assert.equal(event.attempts, 3);
});

test('a 400 from the API is final: one call, Google\'s error logged', async () => {
  const id = newId();
  s.api.failNext(400, 1);
  const { event } = await annotated('LEGITIMATE', { headers: { 'x-recaptcha-token': token(id) } }, id);
  assert.deepEqual(s.api.callsFor(id).map((c) => c.status), [400]);
  assert.equal(event.result, 'rejected');
  assert.equal(event.status, 400);
  assert.deepEqual(event.error, { code: 400, status: 'INVALID_ARGUMENT', message: 'Injected failure 400' });
});

test('a 429 with Retry-After waits at least that long before retrying', async () => {
  const id = newId();
  s.api.failNext(429, 1, 2);
  const { event } = await annotated('LEGITIMATE', { headers: { 'x-recaptcha-token': token(id) } }, id);
  const [first, second] = s.api.callsFor(id);
  assert.deepEqual([first.status, second.status], [429, 200]);
  const waited = Date.parse(second.at) - Date.parse(first.at);
  assert.ok(waited >= 2000, `retried after ${waited} ms`);
  assert.equal(event.attempts, 2);
});

test('an identical annotation within 10 minutes is suppressed; a different one is sent', async () => {
  const id = newId();
  const headers = { 'x-recaptcha-token': token(id) };
  await annotated('LEGITIMATE; reasons=CORRECT_PASSWORD', { headers }, id);
  // The same annotation, spelled differently, as session cookies would repeat it.
  const m = s.mark();
  await s.fetch(respondWith('legitimate;reasons=correct_password'), { headers });
  const suppressed = await m.waitFor('annotation_suppressed', (e) => e.assessment === id);
  assert.equal(suppressed.level, 'debug');
  assert.match(suppressed.idempotency_key, /^[0-9a-f]{16}$/);
  await annotated('FRAUDULENT; reasons=INCORRECT_PASSWORD', { headers }, id);
  assert.deepEqual(s.api.callsFor(id).map((c) => c.body), [
    '{"annotation":"LEGITIMATE","reasons":["CORRECT_PASSWORD"]}',
    '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}',
  ]);
});

test('without ADMIN_TOKEN the batch path is just proxied to the origin', async () => {
  const res = await s.fetch('/.well-known/recaptcha-annotations', { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 404);
  assert.equal(res.body.toString(), 'not found\n');
});

test('an origin status no response can carry becomes a 502, not a crash', async () => {
  const m = s.mark();
  const res = await s.fetch(`${respondWith('LEGITIMATE')}&status=600`, { headers: { 'x-recaptcha-token': token(newId()) } });
  assert.equal(res.status, 502);
  assert.equal((await m.waitFor('origin_invalid_status')).status, 600);
  // The isolate is still healthy.
  const after = await s.fetch('/echo');
  assert.equal(after.status, 200);
});

test('an outcome header sent twice is rejected, not merged', async () => {
  const second = encodeURIComponent('X-Recaptcha-Outcome: FRAUDULENT');
  const { res, event } = await notAnnotated('outcome_rejected', 'LEGITIMATE; account-id=u-42', {
    headers: { 'x-recaptcha-token': token(newId()) },
  }, `&header=${second}`);
  assert.equal(res.headers.get(OUTCOME), null);
  assert.match(event.reason, /comma/);
});

test('a WebSocket upgrade passes through, without the outcome header', async () => {
  const { port } = new URL(s.worker.url);
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.write(['GET /ws HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n'));
  let received = Buffer.alloc(0);
  const frame = Buffer.from([0x81, 5, ...Buffer.from('hello')]);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${JSON.stringify(received.toString('latin1'))}`)), 10_000);
    socket.on('data', (d) => {
      received = Buffer.concat([received, d]);
      if (received.includes(frame)) { clearTimeout(timer); resolve(); }
    });
  });
  socket.destroy();
  const head = received.toString('latin1').split('\r\n\r\n')[0];
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.doesNotMatch(head, /x-recaptcha-outcome/i);
});

// SECURITY.md's guarantees, each proven against the worker in workerd.
// Requests that must reach the worker byte for byte (repeated headers, odd
// request targets) are written to the socket by hand: fetch would normalise
// them first.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, respondWith, newId, API_KEY, PROJECT, OUTCOME, ADMIN_TOKEN, ADMIN_PATH } from './fixtures.mjs';
import { parseEvent } from '../../local/worker.mjs';
import { sleep } from './figures.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const token = (id) => `03AFcWeA-security:U=${id}`;
const ENCODED_KEY = encodeURIComponent(API_KEY);
const secrets = { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN };

let s;
before(async () => { s = await startStack({ secrets }); });
after(async () => { await s.stop(); });

/** One raw HTTP/1.1 exchange; resolves with the response's head and body as text. */
function raw(url, request) {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = text.slice(0, end);
      let body = text.slice(end + 4);
      if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunk(body);
      resolve({ head, body, status: Number(text.split(' ')[1]) });
    });
  });
}

function dechunk(text) {
  let out = '';
  for (let i = 0; ;) {
    const eol = text.indexOf('\r\n', i);
    const size = parseInt(text.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/** No line anywhere in this worker's output holds a secret or a token. */
function assertLogsClean(worker) {
  for (const line of worker.logs) {
    for (const secret of [API_KEY, ENCODED_KEY, ADMIN_TOKEN]) {
      assert.ok(!line.includes(secret), `secret in log: ${line}`);
    }
    assert.ok(!line.includes(':U='), `token in log: ${line}`);
  }
}

test('the API key never appears in a response, a log line or a queue message', async () => {
  // Queue mode whose consumer is a tap: every message this worker enqueues,
  // from the proxy and from the batch endpoint, is printed as it was sent.
  const q = await startStack({
    secrets,
    config: { queues: { producers: [{ binding: 'ANNOTATIONS', queue: 'annotations' }] } },
    extraWorkers: [{
      name: 'queue-tap',
      main: path.join(HERE, 'queue-tap.js'),
      queues: { consumers: [{ queue: 'annotations', max_batch_timeout: 0 }] },
    }],
  });
  // Direct mode against an API that is down: error messages quote URLs.
  const down = await startStack({ secrets, apiDown: true });
  try {
    const ids = [newId(), newId()];
    await q.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: { 'x-recaptcha-token': token(ids[0]) } });
    const receipt = await q.fetch(ADMIN_PATH, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify([{ assessment: ids[1], annotation: 'LEGITIMATE' }]),
    });
    assert.equal(receipt.status, 202, receipt.body.toString());
    const taps = () => q.worker.events().filter((e) => e.event === 'queue_tap').map((e) => e.message);
    await q.worker.waitForLog(() => taps().length >= 2);
    const tapped = taps();
    assert.deepEqual(tapped.map((m) => m.assessment).sort(), [...ids].sort());
    for (const m of tapped) {
      const text = JSON.stringify(m);
      assert.ok(!text.includes(API_KEY) && !text.includes(ENCODED_KEY) && !text.includes('key='), text);
      assert.ok(!text.includes(':U='), `token in queue message: ${text}`);
    }

    const m = down.mark();
    await down.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(newId()) } });
    // Given up after direct mode's 20 s budget, with the fetch error logged.
    const gaveUp = await m.waitFor('annotation', () => true, 40_000);
    assert.equal(gaveUp.result, 'gave_up');
    assert.ok(gaveUp.network_error, 'the fetch error is logged');

    for (const stack of [q, down, s]) {
      assertLogsClean(stack.worker);
      for (const r of stack.responses) {
        assert.ok(!r.body.toString('latin1').includes(API_KEY));
        assert.ok(![...r.headers.values()].some((v) => v.includes(API_KEY) || v.includes(ENCODED_KEY)));
      }
    }
  } finally {
    await q.stop();
    await down.stop();
  }
});

test('an outcome header never reaches a client, whatever the response', async () => {
  const id = newId();
  const cookie = `recaptcha-cf-t=${token(id)}`;
  const shapes = [
    respondWith('LEGITIMATE', '&status=200'),
    respondWith('LEGITIMATE', '&status=204'),
    respondWith('LEGITIMATE', '&status=304'),
    respondWith('LEGITIMATE', '&status=302&location=/elsewhere'),
    respondWith('LEGITIMATE', '&status=404&body=missing'),
    respondWith('LEGITIMATE', '&status=503'),
    respondWith('not an outcome at all', '&status=200'),
    respondWith('LEGITIMATE', `&header=${encodeURIComponent('X-RECAPTCHA-OUTCOME:FRAUDULENT')}`),
    // Header-name case and a repeated header, as bytes no header API sends.
    `/respond?raw=${Buffer.from('HTTP/1.1 200 OK\r\nX-ReCaptcha-OUTCOME: LEGITIMATE\r\nx-recaptcha-outcome: FRAUDULENT\r\nContent-Length: 2\r\n\r\nok').toString('base64url')}`,
    `/respond?raw=${Buffer.from('HTTP/1.1 200 OK\r\nX-Recaptcha-Outcome: \x01\x7f\xff\r\nContent-Length: 2\r\n\r\nok').toString('base64url')}`,
  ];
  for (const target of shapes) {
    for (const method of ['GET', 'HEAD', 'POST']) {
      const res = await raw(s.worker.url, `${method} ${target} HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      assert.ok(res.status > 0, `${method} ${target}: no response`);
      assert.doesNotMatch(res.head, /recaptcha-outcome/i, `${method} ${target}`);
      assert.doesNotMatch(res.body, /recaptcha-outcome/i, `${method} ${target}`);
    }
  }
});

test('client-sent control headers never reach the origin, in any case or number', async () => {
  const id = newId();
  const res = await raw(s.worker.url, [
    'GET /echo HTTP/1.1', 'Host: x',
    `X-Recaptcha-Token: ${token(id)}`,
    'X-RECAPTCHA-ASSESSMENT-ID: forgedforgedforg',
    'x-recaptcha-assessment-id: forged2forged2fo',
    'X-Recaptcha-Outcome: LEGITIMATE',
    'x-ReCaptcha-outcome: FRAUDULENT',
    'Connection: close', '', '',
  ].join('\r\n'));
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.body).headers;
  assert.equal(seen[OUTCOME], undefined);
  // The only assessment ID the origin hears of is the one the worker found.
  assert.equal(seen['x-recaptcha-assessment-id'], id);

  const anonymous = await raw(s.worker.url, 'GET /echo HTTP/1.1\r\nHost: x\r\nX-Recaptcha-Assessment-Id: forgedforgedforg\r\nConnection: close\r\n\r\n');
  assert.equal(JSON.parse(anonymous.body).headers['x-recaptcha-assessment-id'], undefined);
});

/**
 * Sends the given header lines to /echo on a raw socket (names exactly as
 * written) and returns the headers the origin received.
 */
async function echoedHeaders(url, lines) {
  const res = await raw(url, ['GET /echo HTTP/1.1', 'Host: x', ...lines, 'Connection: close', '', ''].join('\r\n'));
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).headers;
}

/** Header names that a CGI-style origin (PHP: lower case aside, `-`, `_` and `.` alike) reads as one of `names`. */
const foldingTo = (headers, names) => Object.keys(headers).filter((n) => names.includes(n.toLowerCase().replace(/[_.]/g, '-')));

test('control headers in underscore spellings never reach the origin, with or without a valid token', async () => {
  const id = newId();
  const aliases = [
    'X_Recaptcha_Assessment_Id: VICTIM0000000000',
    'x_recaptcha_assessment_id: VICTIM0000000001',
    'X-Recaptcha_Assessment-Id: VICTIM0000000002',
    'x_recaptcha_outcome: LEGITIMATE',
    'X_RECAPTCHA-OUTCOME: FRAUDULENT; reasons=CHARGEBACK',
    'X_Unrelated_Header: kept',
  ];
  for (const tokenLines of [[`X-Recaptcha-Token: ${token(id)}`], []]) {
    const seen = await echoedHeaders(s.worker.url, [...tokenLines, ...aliases]);
    // A CGI-style origin reads all of these as the worker's own headers.
    const control = foldingTo(seen, ['x-recaptcha-assessment-id', OUTCOME]);
    assert.deepEqual(control, tokenLines.length ? ['x-recaptcha-assessment-id'] : [], JSON.stringify(seen));
    assert.equal(seen['x-recaptcha-assessment-id'], tokenLines.length ? id : undefined);
    assert.equal(seen.x_unrelated_header, 'kept');
  }
});

test('control headers in dotted spellings, which PHP reads as underscores, never reach the origin, with or without a valid token', async () => {
  const id = newId();
  const aliases = [
    'X.Recaptcha.Assessment.Id: VICTIM0000000000',
    'x-recaptcha.assessment_id: VICTIM0000000001',
    'X.RECAPTCHA.OUTCOME: FRAUDULENT; reasons=CHARGEBACK',
    'X.Unrelated.Header: kept',
  ];
  for (const tokenLines of [[`X-Recaptcha-Token: ${token(id)}`], []]) {
    const seen = await echoedHeaders(s.worker.url, [...tokenLines, ...aliases]);
    const control = foldingTo(seen, ['x-recaptcha-assessment-id', OUTCOME]);
    assert.deepEqual(control, tokenLines.length ? ['x-recaptcha-assessment-id'] : [], JSON.stringify(seen));
    assert.equal(seen['x-recaptcha-assessment-id'], tokenLines.length ? id : undefined);
    assert.equal(seen['x.unrelated.header'], 'kept');
  }
});

for (const [outcome, assessment] of [['X-Fraud-Verdict', 'X-Risk-Assessment'], ['X_Fraud_Verdict', 'X_Risk_Assessment']]) {
  test(`every spelling of configured OUTCOME_HEADER=${outcome} and ASSESSMENT_ID_HEADER=${assessment} a CGI-style origin folds to them is removed`, async () => {
    const c = await startStack({ vars: { OUTCOME_HEADER: outcome, ASSESSMENT_ID_HEADER: assessment } });
    try {
      const id = newId();
      const aliases = ['X_Fraud_Verdict: LEGITIMATE', 'x-fraud_verdict: FRAUDULENT', 'X-Fraud-Verdict: LEGITIMATE',
        'X_RISK_ASSESSMENT: VICTIM0000000000', 'x_risk-assessment: VICTIM0000000001', 'X-Risk-Assessment: VICTIM0000000002',
        'X.Fraud.Verdict: LEGITIMATE', 'x.risk_assessment: VICTIM0000000003',
        'X_Unrelated_Header: kept', 'X-Risk-Assessment-Note: kept'];
      const own = assessment.toLowerCase();
      for (const tokenLines of [[`X-Recaptcha-Token: ${token(id)}`], []]) {
        const seen = await echoedHeaders(c.worker.url, [...tokenLines, ...aliases]);
        const control = foldingTo(seen, ['x-risk-assessment', 'x-fraud-verdict']);
        // Only the worker's own header, spelled as configured, holding the ID it found.
        assert.deepEqual(control, tokenLines.length ? [own] : [], JSON.stringify(seen));
        assert.equal(seen[own], tokenLines.length ? id : undefined);
        assert.deepEqual([seen.x_unrelated_header, seen['x-risk-assessment-note']], ['kept', 'kept']);
      }
    } finally {
      await c.stop();
    }
  });
}

test('with TOKEN_SOURCES=cookies the token header names no assessment (no replay of a victim\'s ID); a cookie token still does', async () => {
  const c = await startStack({ vars: { TOKEN_SOURCES: 'cookies' } });
  try {
    const [victim, own] = [newId(), newId()];
    // All a replay takes: the victim's 16-character ID behind any prefix.
    const replay = { 'x-recaptcha-token': `x:U=${victim}` };
    const m = c.mark();
    await c.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: replay });
    assert.match((await m.waitFor('outcome_dropped')).reason, /no assessment ID/);
    const echo = await c.fetch('/echo', { headers: replay });
    assert.equal(JSON.parse(echo.body).headers['x-recaptcha-assessment-id'], undefined);

    await c.fetch(respondWith('LEGITIMATE'), { headers: { ...replay, cookie: `recaptcha-cf-t=${token(own)}` } });
    assert.equal((await m.waitFor('annotation', (e) => e.assessment === own)).result, 'delivered');
    const echoCookie = await c.fetch('/echo', { headers: { ...replay, cookie: `recaptcha-cf-t=${token(own)}` } });
    assert.equal(JSON.parse(echoCookie.body).headers['x-recaptcha-assessment-id'], own);
    assert.equal(c.api.callsFor(victim).length, 0);
  } finally {
    await c.stop();
  }
});

test('nothing from a client reaches the API URL but a validated ID', async () => {
  const valid = [newId(), newId(), newId()];
  const hostileIds = [
    '../../v1/projects', 'abcdefgh01234567/../../x', 'abcdefgh01234567?key=x', 'abcdefgh01234567#',
    'abcdefgh0123456%', 'abcdefgh012345\u00e96', 'abcdefgh0123456\u0000', `${PROJECT}/assessments/x`,
    'ABCDEFGH01234567:annotate', 'abcdefgh01234567&key=stolen',
  ];
  const before = s.api.calls.length;
  const m = s.mark();
  for (const h of hostileIds) {
    await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': `t:U=${encodeURIComponent(h)}` } });
    await s.fetch(respondWith('LEGITIMATE'), { headers: { cookie: `recaptcha-cf-t=t%3AU%3D${encodeURIComponent(h)}` } });
    // (The origin's header API refuses a NUL; the bad-input tests send raw ones.)
    if (h.includes('\u0000')) continue;
    await s.fetch(respondWith(`LEGITIMATE; assessment=${h}`));
    await s.fetch(respondWith(JSON.stringify({ annotation: 'LEGITIMATE', assessment: h })));
  }
  const batch = await s.fetch(ADMIN_PATH, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify([
      ...hostileIds.map((h) => ({ assessment: h, annotation: 'LEGITIMATE' })),
      ...hostileIds.map((h) => ({ token: `t:U=${h}`, annotation: 'LEGITIMATE' })),
      { assessment: valid[2], annotation: 'FRAUDULENT' },
    ]),
  });
  assert.equal(JSON.parse(batch.body).accepted, 1);
  await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(valid[0]) } });
  await s.fetch(respondWith(`LEGITIMATE; assessment=${valid[1]}`));
  for (const id of valid) await m.waitFor('annotation', (e) => e.assessment === id);
  await sleep(300);

  const calls = s.api.calls.slice(before);
  assert.deepEqual(calls.map((c) => c.assessment).sort(), [...valid].sort());
  const exact = new RegExp(`^/v1/projects/${PROJECT}/assessments/[A-Za-z0-9]{16}:annotate\\?key=${ENCODED_KEY.replace(/[%+]/g, '\\$&')}$`);
  for (const c of calls) assert.match(c.target, exact);
});

test('a user-supplied account ID cannot move an annotation to another assessment: written raw its separators are refused, percent-encoded it is the account ID', async () => {
  const [own, victim] = [newId(), newId()];
  const username = `x; assessment=${victim}`;
  const headers = { 'x-recaptcha-token': token(own) };
  // An origin writing `account-id=${username}` as it came.
  for (const written of [username, `x, FRAUDULENT; assessment=${victim}`, 'x=y', '100%']) {
    const m = s.mark();
    await s.fetch(respondWith(`LEGITIMATE; reasons=CORRECT_PASSWORD; account-id=${written}`), { headers });
    const e = await Promise.any([m.waitFor('outcome_rejected'), m.waitFor('annotation')]);
    assert.equal(e.event, 'outcome_rejected', `${written}: ${JSON.stringify(e)}`);
  }
  // The README's one line: encodeURIComponent. The account is the user's text.
  const m = s.mark();
  await s.fetch(respondWith(`LEGITIMATE; reasons=CORRECT_PASSWORD; account-id=${encodeURIComponent(username)}`), { headers });
  assert.equal((await m.waitFor('annotation', (e) => e.assessment === own)).result, 'delivered');
  await sleep(300);
  assert.deepEqual(s.api.callsFor(victim), []);
  assert.deepEqual(s.api.callsFor(own).map((c) => JSON.parse(c.body).accountId), [username]);
});

test('the batch endpoint has no bypass via path tricks', async () => {
  const body = (id) => JSON.stringify([{ assessment: id, annotation: 'LEGITIMATE' }]);
  const post = (target, id, auth) => raw(s.worker.url, [
    `POST ${target} HTTP/1.1`, 'Host: x', 'Content-Type: application/json',
    ...(auth ? [`Authorization: ${auth}`] : []),
    `Content-Length: ${Buffer.byteLength(body(id))}`, 'Connection: close', '', body(id),
  ].join('\r\n'));
  const variants = [
    `/${ADMIN_PATH}`, // //.well-known/...
    ADMIN_PATH.replace('/recaptcha', '%2Frecaptcha'),
    ADMIN_PATH.replace('/recaptcha', '%2frecaptcha'),
    ADMIN_PATH.toUpperCase(),
    `${ADMIN_PATH}/`,
    `${ADMIN_PATH}/.`,
    `${ADMIN_PATH}%20`,
    `${ADMIN_PATH};x`,
    `${ADMIN_PATH}%00`,
    ADMIN_PATH.replace('.well', '%2ewell'),
    `/x/..${ADMIN_PATH}`,
    `/.${ADMIN_PATH}`,
    `http://x${ADMIN_PATH}`, // absolute-form request target
  ];
  const before = s.api.calls.length;
  const wrongAuth = [null, 'Bearer wrong', `Bearer ${ADMIN_TOKEN}x`, `bearer ${ADMIN_TOKEN.toUpperCase()}`, `Basic ${ADMIN_TOKEN}`];
  for (const target of [ADMIN_PATH, `${ADMIN_PATH}?x=1`, ...variants]) {
    for (const auth of wrongAuth) {
      const res = await post(target, newId(), auth);
      // Either the endpoint refuses it, or it is not the endpoint at all and
      // the origin answers: never an accepted batch.
      assert.ok(res.status === 401 || !/"accepted"/.test(res.body), `${target} with ${auth}: ${res.status} ${res.body}`);
    }
  }
  await sleep(500);
  assert.equal(s.api.calls.length, before, 'a batch without the right token was sent');

  // With the right token, only the endpoint's own path (as the URL parser
  // resolves it) takes a batch; every look-alike goes to the origin.
  const m = s.mark();
  const handled = [];
  for (const target of variants) {
    const id = newId();
    const res = await post(target, id, `Bearer ${ADMIN_TOKEN}`);
    if (/"accepted":1/.test(res.body)) handled.push(target);
  }
  for (const t of handled) assert.equal(new URL(t, 'http://x').pathname, ADMIN_PATH, t);
  console.log(`batch path variants: ${variants.length}, taken as the endpoint with the right token: ${handled.join(' ')}`);
  const id = newId();
  const exact = await post(ADMIN_PATH, id, `Bearer ${ADMIN_TOKEN}`);
  assert.equal(exact.status, 202, exact.body);
  await m.waitFor('annotation', (e) => e.assessment === id);
});

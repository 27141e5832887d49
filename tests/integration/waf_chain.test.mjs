// The deployment in front of reCAPTCHA WAF, in workerd (wrangler dev): this
// worker owns the route and hands every request through its UPSTREAM service
// binding to the WAF worker (local/waf-worker.js, a double of Google's
// recaptcha-waf), which assesses it with the Google stand-in, applies the
// policy's actions and fetches the origin. The stand-in runs in strict-loop
// mode: annotating an assessment the WAF never created is Google's 404, so
// every delivered annotation is proven to belong to the WAF's assessment.
// WAF_WORKER=<a built worker> runs the same tests against another WAF build,
// such as Google's own.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startChain, startStack, respondWith, newId, OUTCOME, PROJECT } from './fixtures.mjs';
import { parseResponse, rawExchange, sleep } from './figures.mjs';
import { load, REQUESTS } from './load.mjs';

const PAGE = '/respond/page'; // SESSION_JS_INSTALL_PATH: the WAF injects enterprise.js here
const SCRIPT = '<script src="https://www.google.com/recaptcha/enterprise.js?render=session-site-key&waf=session" async defer></script>';
let s;

before(async () => { s = await startChain({ waf: { vars: { SESSION_JS_INSTALL_PATH: PAGE } } }); });
after(async () => {
  try {
    for (const r of s.responses) assert.equal(r.headers.get(OUTCOME), null, 'an outcome header reached the client');
  } finally {
    await s.stop();
  }
});

const actionToken = (id) => ({ 'x-recaptcha-token': `03AFcWeA-chain:U=${id}` });
const sessionToken = (id) => ({ cookie: `recaptcha-cf-t=03AFcWeA-session:U=${id}` });
/** The assessments the WAF created for this ID. */
const assessed = (id, stack = s) => stack.api.assessments.filter((a) => a.id === id);

/** One more annotated request, waited for: what the worker had started before it has ended. */
async function settled(stack = s, token = actionToken) {
  const id = newId();
  const m = stack.mark();
  await stack.fetch(respondWith('LEGITIMATE'), { headers: token(id) });
  await m.waitFor('annotation', (e) => e.assessment === id);
}

/** The victim's own visit: the WAF assesses their session token, so Google knows the ID. */
async function victimVisits(stack) {
  const victim = newId();
  await stack.fetch('/echo', { headers: sessionToken(victim) });
  assert.equal(assessed(victim, stack).length, 1);
  return victim;
}

/** The assessment-ID header the origin got for a request with these headers. */
async function idSeenByOrigin(stack, headers, init = {}) {
  return JSON.parse((await stack.fetch('/echo', { headers, ...init })).body).headers['x-recaptcha-assessment-id'];
}

/** A WebSocket upgrade for the origin's /ws as a client sends it. */
function upgrade(port, headers = {}) {
  return [`GET /ws HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

test('an allowed request whose response carries an outcome is annotated once, for the assessment the WAF created', async () => {
  const id = newId();
  const m = s.mark();
  const res = await s.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD', `&status=201&body=${id}`), { headers: actionToken(id) });
  assert.deepEqual([res.status, res.body.toString()], [201, id]);
  const event = await m.waitFor('annotation', (e) => e.assessment === id);
  assert.equal(event.result, 'delivered');

  const [assessment, ...again] = assessed(id);
  assert.deepEqual(again, []);
  assert.equal(assessment.name, `projects/${PROJECT}/assessments/${id}`);
  const { token, siteKey, wafTokenAssessment, firewallPolicyEvaluation } = assessment.event;
  assert.deepEqual({ token, siteKey, wafTokenAssessment, firewallPolicyEvaluation },
    { token: actionToken(id)['x-recaptcha-token'], siteKey: 'action-site-key', wafTokenAssessment: true, firewallPolicyEvaluation: true });
  const calls = s.api.callsFor(id);
  assert.deepEqual(calls.map((c) => [c.status, c.body]), [[200, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}']]);
  assert.ok(calls[0].at >= assessment.at);
});

test('a request the WAF blocks gets its 403; the origin never sees it and nothing is annotated', async () => {
  const id = newId();
  s.api.steer(id, { score: 0.1 }); // under the stand-in's policy threshold of 0.5: block
  const res = await s.fetch(respondWith('FRAUDULENT', `&body=${id}`), { headers: actionToken(id) });
  assert.deepEqual([res.status, res.body.length], [403, 0]);
  assert.deepEqual(assessed(id).map((a) => [a.score, a.actions]), [[0.1, [{ block: {} }]]]);
  await settled();
  assert.ok(!s.origin.received.some((target) => target.includes(id)), 'the origin was asked');
  assert.deepEqual(s.api.callsFor(id), []);
  assert.ok(!s.worker.logs.some((line) => line.includes(id)));
});

test('an HTML page gets the WAF\'s session script, arrives rewritten without the outcome header, and is annotated', async () => {
  const id = newId();
  const html = '<!doctype html><html><head><title>Acme Tea</title></head><body>Welcome back.</body></html>';
  const m = s.mark();
  const res = await s.fetch(`${PAGE}?type=${encodeURIComponent('text/html; charset=utf-8')}&body=${encodeURIComponent(html)}`
    + `&outcome=${encodeURIComponent('LEGITIMATE; reasons=CORRECT_PASSWORD')}`, {
    headers: { cookie: `theme=dark; recaptcha-cf-t=${encodeURIComponent(`03AFcWeA-session:U=${id}`)}` },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), html.replace('</head>', `${SCRIPT}</head>`));
  const event = await m.waitFor('annotation', (e) => e.assessment === id);
  assert.deepEqual([event.result, event.label], ['delivered', 'LEGITIMATE']);
  assert.deepEqual(assessed(id).map((a) => a.siteKey), ['session-site-key']);
});

test('the WAF\'s setHeader reaches the origin; a client\'s assessment-ID and outcome headers reach neither the WAF nor the origin', async () => {
  const id = newId();
  s.api.steer(id, { actions: [{ setHeader: { key: 'X-Waf-Verdict', value: 'human' } }] });
  const forged = { 'x-recaptcha-assessment-id': 'forgedforged0000', [OUTCOME]: 'LEGITIMATE' };
  const origin = JSON.parse((await s.fetch('/echo', { headers: { ...actionToken(id), ...forged } })).body).headers;
  assert.deepEqual([origin['x-waf-verdict'], origin['x-recaptcha-assessment-id'], origin[OUTCOME]], ['human', id, undefined]);
  // Google's worker sends every request header with the assessment: what it saw.
  const waf = assessed(id)[0].event.headers;
  assert.ok(waf.includes(`x-recaptcha-assessment-id:${id}`), waf.join('\n'));
  assert.ok(!waf.some((h) => h.includes('forgedforged0000') || h.startsWith(`${OUTCOME}:`)), waf.join('\n'));

  const untokened = JSON.parse((await s.fetch('/echo', { headers: forged })).body).headers;
  assert.deepEqual([untokened['x-recaptcha-assessment-id'], untokened[OUTCOME]], [undefined, undefined]);
});

test('a response without an outcome comes back untouched: status, headers and a 256 KiB body', async () => {
  const id = newId();
  const res = await s.fetch(`/respond?status=203&bytes=262144&header=${encodeURIComponent('X-Shop: tea')}`, { headers: actionToken(id) });
  assert.deepEqual([res.status, res.headers.get('x-shop'), res.body.length], [203, 'tea', 262144]);
  assert.equal(crypto.createHash('sha256').update(res.body).digest('hex'), res.headers.get('x-body-sha256'));
  assert.equal(assessed(id).length, 1);
  await settled();
  assert.deepEqual(s.api.callsFor(id), []);
});

test('a session cookie is read whole, as by Google\'s parser: a raw `:U=` and a later `=` stay in the token the WAF assesses and the worker annotates', async () => {
  const id = newId();
  const token = `03AFcWeA=raw=${id}:U=${id}`;
  const m = s.mark();
  await s.fetch(respondWith('LEGITIMATE'), { headers: { cookie: `recaptcha-cf-t=${token}` } });
  const event = await m.waitFor('annotation', (e) => e.assessment === id);
  assert.deepEqual([event.result, event.status], ['delivered', 200]);
  assert.deepEqual(assessed(id).map((a) => [a.event.token, a.siteKey]), [[token, 'session-site-key']]);
});

describe('a client cannot steer the annotation to an assessment the WAF did not make for its request', () => {
  test('two session cookies, a forged one naming a victim first: the WAF assesses the last, and the worker annotates that one', async () => {
    const [victim, attacker] = [await victimVisits(s), newId()];
    const real = `03AFcWeA-attacker:U=${attacker}`;
    const cookie = `recaptcha-cf-t=forged%3AU%3D${victim}; recaptcha-cf-t=${real}`;
    const m = s.mark();
    const res = await s.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: { cookie } });
    assert.equal(res.status, 200);
    assert.deepEqual(assessed(attacker).map((a) => a.event.token), [real], 'the WAF assessed the last cookie');
    const event = await m.waitFor('annotation', (e) => e.assessment === attacker);
    assert.equal(event.result, 'delivered');
    assert.equal(await idSeenByOrigin(s, { cookie }), attacker);
    await settled();
    assert.deepEqual(s.api.callsFor(victim), []);
  });

  describe('a WAF with session and enterprise site keys only, and the worker told the same', () => {
    let w;
    before(async () => {
      w = await startChain({ waf: { vars: { ACTION_SITE_KEY: '', CHALLENGE_PAGE_SITE_KEY: '', ENTERPRISE_SITE_KEY: 'enterprise-site-key' } } });
    });
    after(async () => {
      try {
        for (const r of w.responses) assert.equal(r.headers.get(OUTCOME), null, 'an outcome header reached the client');
      } finally {
        await w?.stop();
      }
    });

    test('a forged challenge cookie beside a real session cookie: the WAF has no challenge key and assesses the session token; so does the worker', async () => {
      const [victim, attacker] = [await victimVisits(w), newId()];
      const cookie = `recaptcha-cf-e=forged:U=${victim}; recaptcha-cf-t=03AFcWeA-attacker:U=${attacker}`;
      const m = w.mark();
      await w.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: { cookie } });
      assert.deepEqual(assessed(attacker, w).map((a) => a.siteKey), ['session-site-key']);
      assert.equal((await m.waitFor('annotation', (e) => e.assessment === attacker)).result, 'delivered');
      assert.equal(await idSeenByOrigin(w, { cookie }), attacker);
      await settled(w, sessionToken);
      assert.deepEqual(w.api.callsFor(victim), []);
    });

    test('a forged action-token header beside a real session cookie: the WAF has no action key and ignores the header; so does the worker', async () => {
      const [victim, attacker] = [await victimVisits(w), newId()];
      const headers = { 'x-recaptcha-token': `x:U=${victim}`, ...sessionToken(attacker) };
      const m = w.mark();
      await w.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers });
      assert.equal((await m.waitFor('annotation', (e) => e.assessment === attacker)).result, 'delivered');
      assert.equal(await idSeenByOrigin(w, headers), attacker);
      await settled(w, sessionToken);
      assert.deepEqual(w.api.callsFor(victim), []);
    });

    test('a forged action-token header alone: the WAF assesses nothing, the worker annotates nothing and logs why', async () => {
      const victim = await victimVisits(w);
      const headers = { 'x-recaptcha-token': `x:U=${victim}` };
      const assessments = w.api.assessments.length;
      const m = w.mark();
      await w.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers });
      const dropped = await m.waitFor('outcome_dropped');
      assert.match(dropped.reason, /^no assessment ID: the request has no token the WAF reads/);
      assert.deepEqual(dropped.tokens_rejected, [{ source: { kind: 'header', name: 'X-Recaptcha-Token' }, problem: 'no_site_key' }]);
      assert.equal(w.api.assessments.length, assessments, 'the WAF assessed something');
      assert.equal(await idSeenByOrigin(w, headers), undefined);
      await settled(w, sessionToken);
      assert.deepEqual(w.api.callsFor(victim), []);
      assert.ok(!w.worker.logs.some((line) => line.includes(`x:U=${victim}`)), 'a token was logged');
    });

    test('a POST with ENTERPRISE_SITE_KEY: the WAF assesses the body\'s g-recaptcha-response, which the worker does not read: nothing annotated, the log says why', async () => {
      const [fromCookie, fromBody] = [newId(), newId()];
      const init = {
        method: 'POST',
        headers: { ...sessionToken(fromCookie), 'content-type': 'application/x-www-form-urlencoded' },
        body: `user=a&g-recaptcha-response=${encodeURIComponent(`03AFcWeA-form:U=${fromBody}`)}`,
      };
      const m = w.mark();
      const res = await w.fetch(respondWith('LEGITIMATE; reasons=CORRECT_PASSWORD'), init);
      assert.equal(res.status, 200);
      assert.deepEqual(assessed(fromBody, w).map((a) => [a.siteKey, a.event.wafTokenAssessment]), [['enterprise-site-key', false]]);
      assert.deepEqual(assessed(fromCookie, w), []);
      const dropped = await m.waitFor('outcome_dropped');
      assert.match(dropped.reason, /ENTERPRISE_SITE_KEY/);
      assert.equal(await idSeenByOrigin(w, init.headers, { method: 'POST', body: init.body }), undefined);
      // A GET is assessed by its session cookie again.
      assert.equal(await idSeenByOrigin(w, init.headers), fromCookie);
      await settled(w, sessionToken);
      assert.deepEqual([w.api.callsFor(fromCookie), w.api.callsFor(fromBody)], [[], []]);
    });
  });
});

// Under wrangler dev, the dev middleware around the WAF worker turns its
// exception into a 500 response, which this worker relays; where the
// exception itself reaches this worker, it answers 502 and logs
// origin_unreachable with "via":"UPSTREAM".
test('the WAF worker throws (its fetch to the origin is reset): the client gets its 500 or a 502, nothing is annotated', async () => {
  const id = newId();
  const res = await s.fetch(respondWith('FRAUDULENT', '&reset=before'), { headers: actionToken(id) });
  assert.ok([500, 502].includes(res.status), `status ${res.status}`);
  assert.equal(assessed(id).length, 1);
  await settled();
  assert.deepEqual(s.api.callsFor(id), []);
});

describe('a bound Worker that is not the WAF double', () => {
  // Hands back the origin's response as it is (a 101 with its webSocket
  // included), or answers 503 itself on /busy.
  const source = `export default {
  fetch: (request) => (new URL(request.url).pathname === '/busy' ? new Response('busy', { status: 503 }) : fetch(request)),
};
`;
  let dir;
  let p;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bound-worker-'));
    fs.writeFileSync(path.join(dir, 'bound.js'), source);
    p = await startStack({
      config: { services: [{ binding: 'UPSTREAM', service: 'bound' }] },
      extraWorkers: [{ name: 'bound', main: path.join(dir, 'bound.js') }],
    });
  });
  after(async () => {
    await p?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a WebSocket upgrade passes through both Workers, and the 101\'s outcome is annotated', async () => {
    const id = newId();
    const { port } = new URL(p.worker.url);
    const frame = Buffer.from([0x81, 5, ...Buffer.from('hello')]);
    const m = p.mark();
    const raw = await rawExchange(Number(port), upgrade(port, actionToken(id)), { until: (buf) => buf.includes(frame) });
    const head = raw.split('\r\n\r\n')[0];
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.ok(Buffer.from(raw, 'latin1').includes(frame), 'no frame from the origin');
    assert.doesNotMatch(head, /x-recaptcha-outcome/i);
    const event = await m.waitFor('annotation', (e) => e.assessment === id);
    assert.deepEqual([event.result, event.label], ['delivered', 'LEGITIMATE']);
  });

  test('a 503 the bound Worker answers itself reaches the client as it is; the origin is not asked, nothing is annotated', async () => {
    const id = newId();
    const res = await p.fetch(`/busy?id=${id}`, { headers: actionToken(id) });
    assert.deepEqual([res.status, res.body.toString()], [503, 'busy']);
    await settled(p);
    assert.ok(!p.origin.received.some((target) => target.includes(id)));
    assert.deepEqual(p.api.callsFor(id), []);
  });
});

test('UPSTREAM bound to a var, not a service: every request gets a 502 and config_invalid names UPSTREAM once', async () => {
  const b = await startStack({ vars: { UPSTREAM: 'recaptcha-waf' } });
  try {
    const m = b.mark();
    for (const target of ['/echo?first', respondWith('LEGITIMATE', '&second')]) {
      const res = await b.fetch(target, { headers: actionToken(newId()) });
      assert.deepEqual([res.status, res.body.toString()], [502, 'Bad gateway: UPSTREAM is not a service binding\n']);
    }
    const event = await m.waitFor('config_invalid');
    assert.equal(event.errors.length, 1);
    assert.match(event.errors[0], /^UPSTREAM: .*not a service binding/);
    assert.equal(b.worker.events().filter((e) => e.event === 'config_invalid').length, 1);
    assert.deepEqual(b.origin.received, []);
    assert.deepEqual(b.api.calls, []);
  } finally {
    await b.stop();
  }
});

test('2,000 outcomes at concurrency 100 through the WAF worker: each assessed once and annotated exactly once, no client error', async () => {
  const { idSet } = await load(s, 'chained');
  const perId = new Map();
  for (const a of s.api.assessments) if (idSet.has(a.id)) perId.set(a.id, (perId.get(a.id) ?? 0) + 1);
  assert.equal(perId.size, REQUESTS);
  assert.ok([...perId.values()].every((n) => n === 1), 'an ID was assessed more than once');
});

// Last: under wrangler dev, a failed upgrade can leave the dev proxy's
// connection stuck for minutes, so no request of this stack comes after it.
test('a WebSocket upgrade fails in the WAF worker, as in Google\'s (a 101 cannot be rebuilt): a 5xx, nothing annotated', async () => {
  const id = newId();
  const { port } = new URL(s.worker.url);
  const reply = parseResponse(await rawExchange(Number(port), upgrade(port, actionToken(id))));
  assert.ok([500, 502].includes(reply.status), `status ${reply.status}`);
  assert.deepEqual(reply.header(OUTCOME), []);
  assert.equal(assessed(id).length, 1);
  await sleep(2000);
  assert.deepEqual(s.api.callsFor(id), []);
  assert.ok(!s.worker.logs.some((line) => line.includes(id)));
});

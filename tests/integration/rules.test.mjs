// Outcome rules (README "Outcome rules"): each ready-made set, read from the
// README itself, against an origin that behaves that way and sends no
// outcome header (local/sign-in.mjs), gives exactly the promised annotate
// bodies; an explicit header beats a rule; a cached response fires none; an
// invalid set is config_invalid and the site is served; a rule that reads a
// form field still streams a large upload whole.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack, respondWith, newId, API_KEY, OUTCOME } from './fixtures.mjs';
import { parseEvent } from '../../local/worker.mjs';
import { DEMO_PASSWORD } from '../../local/origin.mjs';
import { TWO_FACTOR_CODE, readmeRuleSets } from '../../local/sign-in.mjs';

const SETS = readmeRuleSets();
const HASH_KEY = 'rules-test-hash-key-0123456789abcdef';
const token = (id) => `03AFcWeA${crypto.randomBytes(12).toString('base64url')}:U=${id}`;

/** Rules the tests below add after the README's, on the origin's test routes. */
const EXTRA = [
  { name: 'respond-any', method: ['GET', 'POST'], path: '/respond', status: '2xx', outcome: 'FRAUDULENT; reasons=INCORRECT_PASSWORD' },
  { name: 'upload', method: 'POST', path: '/echo', status: 200, outcome: 'reasons=SOCIAL_SPAM', account: { form: 'username' } },
  { name: 'hashed', method: 'GET', path: '/respond/hashed', status: 200, outcome: 'reasons=CORRECT_PASSWORD', account: { header: 'X-User', hash: true, lowercase: true } },
];

/** A stack with these rules (a JSON value in [vars], or that JSON as a string). */
function startRules(rules) {
  return startStack({
    vars: { OUTCOME_RULES: rules },
    secrets: { RECAPTCHA_API_KEY: API_KEY, OUTCOME_RULES_HASH_KEY: HASH_KEY },
  });
}

/** What holds for every response and log line, then the stack stops. */
async function checkAndStop(s) {
  try {
    for (const r of s.responses) assert.equal(r.headers.get(OUTCOME), null);
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(API_KEY) && !line.includes(HASH_KEY), `secret in log: ${line}`);
      assert.ok(!line.includes(':U='), `token in log: ${line}`);
    }
  } finally {
    await s.stop();
  }
}

/** One stack for one test. */
async function withRules(rules, fn) {
  const s = await startRules(rules);
  try {
    await fn(s);
  } finally {
    await checkAndStop(s);
  }
}

/** Sends a request with a fresh token; returns the response, the rule event
 *  and the annotate body sent for it (or null, after the rule's own event). */
async function send(s, pathname, { method = 'POST', headers = {}, body, expectRule = true } = {}) {
  const id = newId();
  const m = s.mark();
  const res = await s.fetch(pathname, { method, headers: { 'x-recaptcha-token': token(id), ...headers }, body });
  if (!expectRule) return { res, id };
  const fired = await m.waitFor('outcome_from_rule');
  assert.equal(fired.assessment, id, 'the rule annotates the request\'s own assessment');
  await m.waitFor('annotation', (e) => e.assessment === id);
  const calls = s.api.callsFor(id);
  assert.equal(calls.length, 1, `${pathname}: one annotate call`);
  return { res, id, fired, body: calls[0].body };
}

/** A request no rule fires on: the origin answers, nothing is annotated. */
async function nothingFor(s, pathname, init) {
  const from = s.worker.logs.length;
  const { res, id } = await send(s, pathname, { ...init, expectRule: false });
  await sleep(500);
  assert.equal(s.api.callsFor(id).length, 0, `${pathname} was annotated`);
  assert.deepEqual(eventsSince(s, from, 'outcome_from_rule'), []);
  return res;
}

/** The worker's events of this kind logged since line `from`. */
function eventsSince(s, from, event) {
  return s.worker.logs.slice(from).map(parseEvent).filter((e) => e?.event === event);
}

/** A form post with a fresh token. */
function postForm(s, pathname, fields) {
  const body = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
  return send(s, pathname, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('the README has the three ready-made rule sets', () => {
  assert.deepEqual(Object.keys(SETS), [
    'A JSON API that answers 401 or 200',
    'An HTML form: re-rendered on failure, a redirect on success',
    'Two factors: the password, then a code',
  ]);
});

describe('the JSON API set, with rules on the test routes after it', () => {
  let s;
  // As a string holding JSON here; the other sets are JSON values in [vars].
  before(async () => { s = await startRules(JSON.stringify([...SETS['A JSON API that answers 401 or 200'], ...EXTRA])); });
  after(() => checkAndStop(s));

  test('401 and 200 give exactly the promised annotations', async () => {
    const json = (password) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'Ann@Shop.example', password }) });
    const wrong = await send(s, '/api/session', json('nope'));
    assert.equal(wrong.res.status, 401);
    assert.equal(wrong.body, '{"reasons":["INCORRECT_PASSWORD"],"accountId":"ann@shop.example"}');
    assert.deepEqual([wrong.fired.rule, wrong.fired.status, wrong.fired.account], ['api-password-wrong', 401, 'json']);
    const right = await send(s, '/api/session', json(DEMO_PASSWORD));
    assert.equal(right.res.status, 200);
    assert.equal(right.body, '{"reasons":["CORRECT_PASSWORD"],"accountId":"ann@shop.example"}');
    assert.equal(right.fired.rule, 'api-password-right');
    await nothingFor(s, '/api/session', { method: 'GET' });
  });

  test('an explicit outcome header beats every rule', async () => {
    const from = s.worker.logs.length;
    const m = s.mark();
    // respond-any matches this request and response.
    const explicit = await send(s, respondWith('LEGITIMATE; reasons=CORRECT_PASSWORD'), { method: 'GET', expectRule: false });
    await m.waitFor('annotation', (e) => e.assessment === explicit.id);
    assert.deepEqual(s.api.callsFor(explicit.id).map((c) => c.body), ['{"annotation":"LEGITIMATE","reasons":["CORRECT_PASSWORD"]}']);
    assert.deepEqual(eventsSince(s, from, 'outcome_from_rule'), []);
  });

  test('a rule on a response served from a cache annotates nothing', async () => {
    for (const cached of ['CF-Cache-Status: HIT', 'CF-Cache-Status: STALE', 'CF-Cache-Status: REVALIDATED', 'Age: 30']) {
      const c = s.mark();
      const { id } = await send(s, `/respond?header=${encodeURIComponent(cached)}`, { method: 'GET', expectRule: false });
      const skipped = await c.waitFor('rule_not_applied');
      assert.deepEqual([skipped.rule, skipped.reason], ['respond-any', 'the response was served from a cache']);
      await sleep(300);
      assert.equal(s.api.callsFor(id).length, 0, cached);
    }
    // A MISS is the origin's own answer: the rule fires.
    const miss = await send(s, `/respond?header=${encodeURIComponent('CF-Cache-Status: MISS')}`, { method: 'GET' });
    assert.equal(miss.body, '{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}');
  });

  test('a hashed account is HMAC-SHA256 of the value under OUTCOME_RULES_HASH_KEY', async () => {
    const hashed = await send(s, '/respond/hashed', { method: 'GET', headers: { 'x-user': ' Ann@Shop.example ' } });
    const mac = crypto.createHmac('sha256', HASH_KEY).update('ann@shop.example').digest('base64');
    assert.equal(hashed.body, JSON.stringify({ reasons: ['CORRECT_PASSWORD'], hashedAccountId: mac }));
    assert.equal(hashed.fired.account, 'header');
  });

  test('a rule reading a form field streams a 1 MiB upload whole to the origin, annotated', async () => {
    const filler = 'x'.repeat(1024 * 1024);
    for (const [body, account, missing] of [
      [`username=ann&data=${filler}`, 'ann', undefined],
      [`data=${filler}&username=ann`, undefined, 'the field is not in the first 65536 bytes of the body'],
    ]) {
      const sent = await send(s, '/echo', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      const seen = JSON.parse(sent.res.body);
      assert.equal(seen.bodyLength, Buffer.byteLength(body));
      assert.equal(seen.bodySha256, crypto.createHash('sha256').update(body).digest('hex'));
      // Teeing keeps the length: the origin gets Content-Length, not chunks.
      assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
      assert.equal(sent.body, JSON.stringify({ reasons: ['SOCIAL_SPAM'], ...(account ? { accountId: account } : {}) }));
      assert.equal(sent.fired.account_missing, missing);
    }
  });
});

test('HTML form set: a marked re-render and a redirect to the account give the promised annotations', async () => {
  await withRules(SETS['An HTML form: re-rendered on failure, a redirect on success'], async (s) => {
    const wrong = await postForm(s, '/account/login', 'username=Ann%40shop.example&password=nope');
    assert.equal(wrong.res.status, 200);
    assert.equal(wrong.res.headers.get('x-login-failed'), '1');
    assert.equal(wrong.body, '{"reasons":["INCORRECT_PASSWORD"],"accountId":"ann@shop.example"}');
    assert.deepEqual([wrong.fired.rule, wrong.fired.account], ['form-password-wrong', 'form']);
    const right = await postForm(s, '/account/login', { username: 'Ann@shop.example', password: DEMO_PASSWORD });
    assert.deepEqual([right.res.status, right.res.headers.get('location')], [303, '/account']);
    assert.equal(right.body, '{"reasons":["CORRECT_PASSWORD"],"accountId":"ann@shop.example"}');
    assert.equal(right.fired.rule, 'form-password-right');
    // A redirect elsewhere (a two-factor account's) is not success for this set.
    const bob = new URLSearchParams({ username: 'bob@shop.example', password: DEMO_PASSWORD }).toString();
    await nothingFor(s, '/account/login', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: bob });
  });
});

test('two-factor set: each step gives the promised annotation', async () => {
  await withRules(SETS['Two factors: the password, then a code'], async (s) => {
    const post = (pathname, fields) => postForm(s, pathname, fields);
    const steps = [
      [await post('/account/login', { username: 'Bob@shop.example', password: 'nope' }), '2fa-password-wrong', '{"reasons":["INCORRECT_PASSWORD"],"accountId":"bob@shop.example"}'],
      [await post('/account/login', { username: 'Bob@shop.example', password: DEMO_PASSWORD }), '2fa-password-right', '{"reasons":["CORRECT_PASSWORD"],"accountId":"bob@shop.example"}'],
      [await post('/account/2fa/send', {}), '2fa-sent', '{"reasons":["INITIATED_TWO_FACTOR"]}'],
      [await post('/account/2fa/verify', { code: '000000' }), '2fa-failed', '{"reasons":["FAILED_TWO_FACTOR"]}'],
      [await post('/account/2fa/verify', { code: TWO_FACTOR_CODE }), '2fa-passed', '{"annotation":"LEGITIMATE","reasons":["PASSED_TWO_FACTOR"]}'],
    ];
    for (const [step, rule, body] of steps) assert.deepEqual([step.fired.rule, step.body], [rule, body]);
    assert.equal(steps[1][0].res.headers.get('location'), '/account/2fa');
  });
});

test('an invalid rule set is config_invalid naming the rule and field; no rule applies, the site is served', async () => {
  const rules = [
    { name: 'ok', method: 'POST', path: '/api/session', status: 401, outcome: 'reasons=INCORRECT_PASSWORD' },
    { name: 'typo', method: 'POST', path: '/api/session', status: '2oo', outcome: 'reasons=CORRECT_PASSWORD' },
  ];
  await withRules(rules, async (s) => {
    const m = s.mark();
    const res = await nothingFor(s, '/api/session', { headers: { 'content-type': 'application/json' }, body: '{"password":"nope"}' });
    assert.equal(res.status, 401);
    const config = await m.waitFor('config_invalid');
    assert.equal(config.annotate_enabled, true);
    assert.deepEqual(config.errors.filter((e) => e.startsWith('OUTCOME_RULES:')), [
      'OUTCOME_RULES: rule 1 ("typo"): status: "2oo" is not a status (401), a class ("4xx") or a range ("300-399") within 100-599; no rule applies',
    ]);
    // The header still works.
    const header = s.mark();
    const { id } = await send(s, respondWith('LEGITIMATE'), { method: 'GET', expectRule: false });
    await header.waitFor('annotation', (e) => e.assessment === id);
    assert.equal(s.api.callsFor(id).length, 1);
  });
});

// Configuration and failure modes, each in its own worker instance.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, respondWith, newId, API_KEY } from './fixtures.mjs';
import { sleep, until } from './figures.mjs';

const token = (id) => `tok-${id}:U=${id}`;

/** Runs `fn` against a fresh stack, then checks no response or log line leaked the key. */
async function withStack(options, fn) {
  const s = await startStack(options);
  try {
    await fn(s);
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(API_KEY) && !line.includes(encodeURIComponent(API_KEY)), `key in log: ${line}`);
    }
    for (const r of s.responses) assert.ok(!r.body.toString('latin1').includes(API_KEY));
  } finally {
    await s.stop();
  }
}

test('missing required config: the site is still served, nothing is sent, the log names the variables', async () => {
  await withStack({ vars: { RECAPTCHA_PROJECT_ID: '' }, secrets: {} }, async (s) => {
    const m = s.mark();
    const res = await s.fetch(respondWith('LEGITIMATE', '&body=hello'), { headers: { 'x-recaptcha-token': token(newId()) } });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'hello');
    assert.equal(res.headers.get('x-recaptcha-outcome'), null);
    const config = await m.waitFor('config_invalid');
    assert.equal(config.annotate_enabled, false);
    assert.ok(config.errors.some((e) => e.startsWith('RECAPTCHA_PROJECT_ID:')), config.errors);
    assert.ok(config.errors.some((e) => e.startsWith('RECAPTCHA_API_KEY: required secret not set')), config.errors);
    const dropped = await m.waitFor('outcome_dropped');
    assert.match(dropped.reason, /configuration invalid/);
    // Header hygiene still applies without an API config.
    const echo = await s.fetch('/echo', { headers: { 'x-recaptcha-outcome': 'LEGITIMATE', 'x-recaptcha-token': token('abcdefgh01234567') } });
    assert.equal(JSON.parse(echo.body).headers['x-recaptcha-outcome'], undefined);
    assert.equal(JSON.parse(echo.body).headers['x-recaptcha-assessment-id'], 'abcdefgh01234567');
    assert.equal(s.api.calls.length, 0);
  });
});

test('custom header and cookie names are honoured, and an empty ASSESSMENT_ID_HEADER disables it', async () => {
  const vars = { OUTCOME_HEADER: 'X-Fraud-Verdict', TOKEN_HEADER: 'X-Action-Token', TOKEN_COOKIES: 'my-session', ASSESSMENT_ID_HEADER: '' };
  await withStack({ vars }, async (s) => {
    const [fromCookie, fromHeader] = [newId(), newId()];
    const verdict = (v) => `/respond?header=${encodeURIComponent(`X-Fraud-Verdict: ${v}`)}&outcome=passes-through`;
    const m = s.mark();
    const res = await s.fetch(verdict('FRAUDULENT; reasons=SOCIAL_SPAM'), { headers: { cookie: `recaptcha-cf-t=${token(newId())}; my-session=${token(fromCookie)}` } });
    assert.equal(res.headers.get('x-fraud-verdict'), null);
    // The default name is no longer special once another is configured.
    assert.equal(res.headers.get('x-recaptcha-outcome'), 'passes-through');
    const event = await m.waitFor('annotation', (e) => e.assessment === fromCookie);
    assert.deepEqual([event.label, event.reasons], ['FRAUDULENT', ['SOCIAL_SPAM']]);

    await s.fetch(verdict('LEGITIMATE'), { headers: { 'x-action-token': token(fromHeader), 'x-recaptcha-token': token(newId()) } });
    await m.waitFor('annotation', (e) => e.assessment === fromHeader);
    assert.equal(s.api.calls.length, 2);

    const echo = await s.fetch('/echo', { headers: { 'x-action-token': token(fromHeader), 'x-fraud-verdict': 'LEGITIMATE' } });
    const seen = JSON.parse(echo.body).headers;
    assert.equal(seen['x-recaptcha-assessment-id'], undefined);
    assert.equal(seen['x-fraud-verdict'], undefined);
  });
});

test('LOG_LEVEL=warn: a delivered annotation is sent without a log line; a rejected outcome is still logged', async () => {
  await withStack({ vars: { LOG_LEVEL: 'warn' } }, async (s) => {
    const id = newId();
    await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(id) } });
    assert.ok(await until(() => s.api.calls.length > 0, 10_000, 50), 'the annotation was sent');
    assert.deepEqual(s.api.calls.map((c) => [c.assessment, c.status]), [[id, 200]]);
    // Time for the worker to read Google's answer, then a warning to wait for.
    await sleep(500);
    const m = s.mark();
    await s.fetch(respondWith('NOT_A_LABEL'), { headers: { 'x-recaptcha-token': token(newId()) } });
    assert.match((await m.waitFor('outcome_rejected')).reason, /unknown label/);
    // Later still, so a delivered line (if it were logged) would be in.
    await sleep(1000);
    // The stack is this test's own: every event it logged, from its start
    // (credential_in_use once per isolate, whatever LOG_LEVEL).
    assert.deepEqual(s.worker.events().map((e) => e.event).sort(), ['credential_in_use', 'outcome_rejected']);
  });
});

test('LOG_LEVEL unset is info: one line per annotation result, no debug line for a suppressed duplicate', async () => {
  await withStack({}, async (s) => {
    const id = newId();
    const headers = { 'x-recaptcha-token': token(id) };
    const m = s.mark();
    await s.fetch(respondWith('LEGITIMATE'), { headers });
    assert.equal((await m.waitFor('annotation', (e) => e.assessment === id)).level, 'info');
    // The same outcome again: suppressed, which only a debug line would say.
    await s.fetch(respondWith('LEGITIMATE'), { headers });
    await s.fetch(respondWith('NOT_A_LABEL'), { headers });
    await m.waitFor('outcome_rejected');
    await sleep(500);
    assert.equal(s.api.callsFor(id).length, 1);
    assert.deepEqual(s.worker.events().map((e) => e.event).sort(), ['annotation', 'credential_in_use', 'outcome_rejected']);
  });
});

test('an unreachable origin gives the client a 502 and annotates nothing', async () => {
  await withStack({ originDown: true }, async (s) => {
    const m = s.mark();
    const res = await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(newId()) } });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.match(res.body.toString(), /origin unreachable/);
    await m.waitFor('origin_unreachable');
    assert.equal(s.api.calls.length, 0);
  });
});

test('an invalid ORIGIN_URL gives a 502 and says which variable is wrong', async () => {
  await withStack({ vars: { ORIGIN_URL: 'ftp://127.0.0.1:1' } }, async (s) => {
    const m = s.mark();
    const res = await s.fetch('/anything');
    assert.equal(res.status, 502);
    const config = await m.waitFor('config_invalid');
    assert.ok(config.errors[0].startsWith('ORIGIN_URL:'), config.errors);
    assert.equal(config.annotate_enabled, true);
  });
});

test('config_invalid never echoes a password or key pasted into ORIGIN_URL or RECAPTCHA_API_BASE', async () => {
  const vars = { ORIGIN_URL: 'https://u:hunter2@origin.example', RECAPTCHA_API_BASE: 'https://x.example/g?key=AIzaPasted' };
  await withStack({ vars }, async (s) => {
    const m = s.mark();
    await s.fetch('/anything');
    const config = await m.waitFor('config_invalid');
    const named = config.errors.map((e) => e.slice(0, e.indexOf(':')));
    assert.deepEqual(named.sort(), ['ORIGIN_URL', 'RECAPTCHA_API_BASE']);
    assert.ok(config.errors.every((e) => e.includes('[redacted]')), config.errors);
    // (wrangler's own banner lists the vars as configured; the worker's lines are checked.)
    const lines = s.worker.events().map((e) => JSON.stringify(e));
    for (const secret of ['hunter2', 'AIzaPasted']) assert.ok(!lines.some((l) => l.includes(secret)), `${secret} logged`);
  });
});

test('[vars] values that are not strings or whole numbers are reported in config_invalid, not silently ignored', async () => {
  // wrangler passes JSON numbers and booleans through as they are.
  const vars = { QUEUE_MAX_ATTEMPTS: -1, LOG_LEVEL: false, QUEUE_RETRY_BASE_SECONDS: 1.5, QUEUE_RETRY_MAX_SECONDS: 2 ** 60, RECAPTCHA_PROJECT_ID: 123456789 };
  await withStack({ vars }, async (s) => {
    const m = s.mark();
    await s.fetch('/anything');
    const config = await m.waitFor('config_invalid');
    const why = Object.fromEntries(config.errors.map((e) => [e.slice(0, e.indexOf(':')), e]));
    assert.deepEqual(Object.keys(why).sort(), ['LOG_LEVEL', 'QUEUE_MAX_ATTEMPTS', 'QUEUE_RETRY_BASE_SECONDS', 'QUEUE_RETRY_MAX_SECONDS']);
    assert.match(why.QUEUE_MAX_ATTEMPTS, /negative/);
    assert.match(why.LOG_LEVEL, /boolean/);
    assert.match(why.QUEUE_RETRY_BASE_SECONDS, /not a whole number/);
    assert.match(why.QUEUE_RETRY_MAX_SECONDS, /2\^53/);
    // A whole number is read as its digits: the project number works.
    assert.equal(config.annotate_enabled, true);
  });
});

test('a wrong API key is a final 400 from Google: one call, error logged, key not logged', async () => {
  await withStack({ secrets: { RECAPTCHA_API_KEY: 'AIzaWrongKey' } }, async (s) => {
    const id = newId();
    const m = s.mark();
    await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(id) } });
    const event = await m.waitFor('annotation', (e) => e.assessment === id);
    assert.equal(event.result, 'rejected');
    assert.equal(event.attempts, 1);
    assert.deepEqual(event.error, { code: 400, status: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' });
    assert.ok(!s.worker.logs.some((l) => l.includes('AIzaWrongKey')));
  });
});

test('an unreachable API is retried with backoff and given up within the 20 s budget', async () => {
  await withStack({ apiDown: true }, async (s) => {
    const id = newId();
    const m = s.mark();
    const res = await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(id) } });
    assert.equal(res.status, 200);
    const event = await m.waitFor('annotation', (e) => e.assessment === id, 40_000);
    assert.equal(event.result, 'gave_up');
    assert.ok(event.attempts >= 3, `attempts: ${event.attempts}`);
    assert.ok(event.ms <= 20_000, `ms: ${event.ms}`);
    assert.equal(event.status, undefined);
    assert.equal(typeof event.network_error, 'string');
  });
});

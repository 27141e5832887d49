// The late-annotation batch endpoint, direct mode (no queue binding).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, newId, API_KEY, ADMIN_TOKEN, ADMIN_PATH as PATH } from './fixtures.mjs';
import { ROOT } from '../../local/worker.mjs';

let s;

before(async () => { s = await startStack({ secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN } }); });
after(async () => {
  try {
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(ADMIN_TOKEN) && !line.includes(API_KEY), `secret in log: ${line}`);
    }
  } finally {
    await s.stop();
  }
});

const post = (body, { token = ADMIN_TOKEN, type = 'application/json', method = 'POST' } = {}) => s.fetch(PATH, {
  method,
  body: method === 'POST' ? body : undefined,
  headers: { ...(type ? { 'content-type': type } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
});
const json = (res) => JSON.parse(res.body.toString());

/** Waits until the stand-in has answered `n` calls in total. */
async function callsReach(n, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (s.api.calls.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${s.api.calls.length}/${n} calls`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a missing or wrong bearer token gets 401 and sends nothing', async () => {
  const before = s.api.calls.length;
  const body = JSON.stringify([{ assessment: newId(), annotation: 'LEGITIMATE' }]);
  for (const token of [null, 'wrong', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
    const res = await post(body, { token });
    assert.equal(res.status, 401, String(token));
    assert.match(res.headers.get('www-authenticate'), /^Bearer/);
  }
  const basic = await s.fetch(PATH, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Basic ${ADMIN_TOKEN}` } });
  assert.equal(basic.status, 401);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.api.calls.length, before);
});

test('only POST sends annotations; GET is the status check (operate.test.mjs); anything else is 405', async () => {
  for (const method of ['PUT', 'DELETE']) {
    const res = await post(null, { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, POST');
  }
  const status = await post(null, { method: 'GET' });
  assert.equal(status.status, 200);
  assert.deepEqual([JSON.parse(status.body).mode, JSON.parse(status.body).metrics], ['direct', false]);
  assert.equal((await post(null, { method: 'GET', token: null })).status, 401);
});

test('wrong content type, non-JSON, too large and too many items are refused whole', async () => {
  const before = s.api.calls.length;
  const one = JSON.stringify([{ assessment: newId(), annotation: 'LEGITIMATE' }]);
  const cases = [
    [await post(one, { type: 'text/plain' }), 415, /content type/],
    [await post(one, { type: null }), 415, /content type/],
    [await post('{"not":"an array"}'), 400, /not a JSON array/],
    [await post('[{"assessment":'), 400, /not a JSON array/],
    [await post(' '.repeat(1024 * 1024 + 1)), 413, /over 1048576 bytes/],
    [await post(JSON.stringify(Array.from({ length: 1001 }, () => ({ assessment: newId(), annotation: 'LEGITIMATE' })))), 413, /1001 items/],
  ];
  for (const [res, status, message] of cases) {
    assert.equal(res.status, status);
    assert.match(json(res).error, message);
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(s.api.calls.length, before);
});

test('a mixed batch accepts valid items, reports invalid ones by index, and delivers the valid ones', async () => {
  const [a, b] = [newId(), newId()];
  const items = [
    { assessment: a, annotation: 'FRAUDULENT', reasons: ['CHARGEBACK'], transactionEvent: { eventType: 'CHARGEBACK', value: 30 } },
    { assessment: 'not-an-id', annotation: 'LEGITIMATE' },
    { token: `03AFcWeA-late:U=${b}`, reasons: ['REFUND_FRAUD'] },
    { token: 'no-assessment-id', annotation: 'LEGITIMATE' },
    { assessment: newId(), annotation: 'PASSWORD_CORRECT' },
    { annotation: 'LEGITIMATE' },
  ];
  const before = s.api.calls.length;
  const res = await post(JSON.stringify(items));
  assert.equal(res.status, 202);
  const receipt = json(res);
  assert.equal(receipt.accepted, 2);
  assert.deepEqual(receipt.rejected.map((r) => r.index), [1, 3, 4, 5]);
  assert.match(receipt.rejected[2].error, /deprecated/);
  assert.ok(!JSON.stringify(receipt).includes('no-assessment-id'), 'a token was echoed back');
  await callsReach(before + 2);
  assert.equal(s.api.callsFor(a)[0].body, '{"annotation":"FRAUDULENT","reasons":["CHARGEBACK"],"transactionEvent":{"eventType":"CHARGEBACK","value":30}}');
  assert.equal(s.api.callsFor(b)[0].body, '{"reasons":["REFUND_FRAUD"]}');
});

test('NDJSON bodies are read one item per line; a rejected item\'s index is its line, empty lines counted', async () => {
  const [a, b] = [newId(), newId()];
  const before = s.api.calls.length;
  const body = `{"assessment":"${a}","annotation":"LEGITIMATE"}\n\nnot json\n{"assessment":"${b}","reasons":["PASSED_TWO_FACTOR"]}\n`;
  const res = await post(body, { type: 'application/x-ndjson' });
  assert.equal(res.status, 202);
  assert.deepEqual(json(res), { accepted: 2, rejected: [{ index: 2, error: json(res).rejected[0].error }] });
  await callsReach(before + 2);
});

test('a body that is not an array is refused without quoting it: a token in it is never echoed', async () => {
  const res = await post(JSON.stringify('tok:U=bc304e08a0000000'));
  assert.equal(res.status, 400);
  assert.match(json(res).error, /not a JSON array/);
  for (const part of ['tok', ':U=', 'bc304e08']) assert.ok(!res.body.toString().includes(part), res.body.toString());
});

/** Every request the origin receives from now on: method, path and Authorization header. */
function originRequests(stack) {
  const seen = [];
  stack.origin.server.on('request', (req) => seen.push([req.method, req.url, req.headers.authorization]));
  return seen;
}

test('near misses of the batch path, and any path with the admin token in any form, get 404 from the worker: neither they nor the token reach the origin', async () => {
  const seen = originRequests(s);
  const body = JSON.stringify([{ assessment: newId(), annotation: 'LEGITIMATE' }]);
  const targets = [`${PATH}/`, '/.well-known/Recaptcha-Annotations', `${PATH}/x`, '/.well-known/recaptcha%2Dannotations', '/ops/annotations', '/'];
  const answers = [];
  for (const target of targets) {
    answers.push(await s.fetch(target, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` } }));
  }
  // The token in other forms a client might send it, on any path.
  const basic = Buffer.from(`job:${ADMIN_TOKEN}`).toString('base64');
  for (const authorization of [`Basic ${basic}`, `Token ${ADMIN_TOKEN}`, ADMIN_TOKEN, `Bearer x, Bearer ${ADMIN_TOKEN}`,
    `Token token="${ADMIN_TOKEN}"`, `Bearer "${ADMIN_TOKEN}"`, `Bearer token=${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN};`]) {
    answers.push(await s.fetch('/account', { headers: { authorization } }));
  }
  assert.deepEqual(seen, []);
  for (const res of answers) {
    assert.equal(res.status, 404);
    assert.match(json(res).error, /no such endpoint/);
  }
});

test('an ADMIN_TOKEN with a trailing newline is invalid: config_invalid names it, and the batch path answers 503 without reaching the origin', async () => {
  const t = await startStack({ secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN: `${ADMIN_TOKEN}\n` } });
  try {
    const seen = originRequests(t);
    const m = t.mark();
    const res = await t.fetch(PATH, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 503);
    assert.match(json(res).error, /disabled/);
    const config = await m.waitFor('config_invalid');
    assert.ok(config.errors.some((e) => e.startsWith('ADMIN_TOKEN:')), config.errors);
    assert.deepEqual(seen, []);
    for (const line of t.worker.logs) assert.ok(!line.includes(ADMIN_TOKEN), `admin token in log: ${line}`);
  } finally {
    await t.stop();
  }
});

test('an invalid ADMIN_PATH disables the endpoint; a job posting its token to the path it meant gets 503 and the token never reaches the origin', async () => {
  const t = await startStack({ vars: { ADMIN_PATH: 'ops/annotations' }, secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN } });
  try {
    const seen = originRequests(t);
    const m = t.mark();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };
    const res = await t.fetch('/ops/annotations', { method: 'POST', body: '[]', headers });
    assert.equal(res.status, 503);
    const config = await m.waitFor('config_invalid');
    assert.ok(config.errors.some((e) => e.startsWith('ADMIN_PATH:')), config.errors);
    assert.deepEqual(seen, []);
    // Another bearer token is the origin's business.
    await t.fetch('/ops/annotations', { headers: { authorization: 'Bearer someone-else' } });
    assert.deepEqual(seen, [['GET', '/ops/annotations', 'Bearer someone-else']]);
  } finally {
    await t.stop();
  }
});

test('an ADMIN_TOKEN with a character a bearer token cannot carry (a comma) is config_invalid: the batch path answers 503, and neither the endpoint nor the origin ever gets the token', async () => {
  const comma = 'test-admin-token,0123456789abcdef';
  const t = await startStack({ secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN: comma } });
  try {
    const seen = originRequests(t);
    const m = t.mark();
    const res = await t.fetch(PATH, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json', authorization: `Bearer ${comma}` } });
    assert.equal(res.status, 503);
    const config = await m.waitFor('config_invalid');
    assert.ok(config.errors.some((e) => e.startsWith('ADMIN_TOKEN:')), config.errors);
    for (const authorization of [`Token ${comma}`, `Bearer ${comma}`]) {
      const other = await t.fetch('/account', { headers: { authorization } });
      assert.notEqual(other.status, 200, authorization);
    }
    assert.deepEqual(seen, []);
    for (const line of t.worker.logs) assert.ok(!line.includes(comma), `admin token in log: ${line}`);
  } finally {
    await t.stop();
  }
});

test('an ADMIN_PATH that would shadow the site ("/", "//") is config_invalid: the endpoint is off, the site is proxied, the default path answers 503', async () => {
  for (const shadow of ['/', '//']) {
    const t = await startStack({ vars: { ADMIN_PATH: shadow }, secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN } });
    try {
      const seen = originRequests(t);
      const m = t.mark();
      const page = await t.fetch('/echo');
      assert.equal(page.status, 200, `${shadow}: the site is down (${page.status})`);
      await t.fetch('/', { method: 'POST', body: '[]', headers: { 'content-type': 'application/json' } });
      assert.deepEqual(seen, [['GET', '/echo', undefined], ['POST', '/', undefined]], shadow);
      const config = await m.waitFor('config_invalid');
      assert.ok(config.errors.some((e) => e.startsWith('ADMIN_PATH:')), `${shadow}: ${config.errors}`);
      const endpoint = await t.fetch(PATH, { method: 'POST', body: '[]', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(endpoint.status, 503, shadow);
    } finally {
      await t.stop();
    }
  }
});

test('a 1,000-item batch is delivered exactly once per item', async () => {
  const ids = Array.from({ length: 1000 }, () => newId());
  assert.equal(new Set(ids).size, 1000);
  const before = s.api.calls.length;
  const res = await post(JSON.stringify(ids.map((assessment) => ({ assessment, annotation: 'FRAUDULENT', reasons: ['SOCIAL_SPAM'] }))));
  assert.equal(res.status, 202);
  assert.deepEqual(json(res), { accepted: 1000, rejected: [] });
  await callsReach(before + 1000);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(s.api.calls.length, before + 1000);
  for (const id of ids) assert.equal(s.api.callsFor(id).length, 1, id);
});

test('the README\'s example job (examples/late_annotations.py) sends a CSV of chargebacks', async () => {
  const [a, b] = [newId(), newId()];
  const csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'late-')), 'chargebacks.csv');
  fs.writeFileSync(csv, [
    'assessment_id,event,amount,occurred_at',
    `${a},chargeback,42.50,2026-11-20T08:00:00Z`,
    'not-an-id,refund,10,2026-11-20T09:00:00Z',
    `${b},dispute,5,2026-11-21T10:30:00+01:00`,
  ].join('\n'));
  const before = s.api.calls.length;
  const { stdout, stderr } = await promisify(execFile)('python3', [path.join(ROOT, 'examples', 'late_annotations.py'), csv], {
    env: { ...process.env, ANNOTATE_URL: s.worker.url + PATH, ADMIN_TOKEN },
  });
  assert.equal(stdout.trim(), '2 of 3 annotations accepted');
  assert.match(stderr, /^row 2: assessment must be exactly 16/);
  await callsReach(before + 2);
  assert.deepEqual(JSON.parse(s.api.callsFor(a)[0].body), {
    annotation: 'FRAUDULENT', reasons: ['CHARGEBACK_FRAUD'],
    transactionEvent: { eventType: 'CHARGEBACK', value: 42.5, eventTime: '2026-11-20T08:00:00Z' },
  });
  assert.equal(JSON.parse(s.api.callsFor(b)[0].body).annotation, undefined);
});

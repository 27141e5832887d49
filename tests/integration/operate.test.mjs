// What an operator watches, proven in workerd: the status check (an
// authenticated GET on the batch endpoint's path), the data points written
// to the ANNOTATION_METRICS dataset (a strict stand-in: wrangler dev's own
// drops every write unchecked), and log events that reach the trace as
// objects, which Workers Logs indexes field by field.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, respondWith, newId, API_KEY, ADMIN_TOKEN, ADMIN_PATH, PROJECT } from './fixtures.mjs';
import { queueMode } from './figures.mjs';
import { ROOT, STRING_EVENT } from '../../local/worker.mjs';

const STAND_IN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'metrics-stand-in.js');
/** The data point's columns in order, as the README's layout table has them. */
const BLOBS = ['outcome', 'label', 'reasons', 'mode', 'credential', 'status_class', 'error', 'reason', 'dead_lettered', 'version', 'rule'];
/** One outcome rule, for the rule points: its account header is never sent. */
const RULES = [{ name: 'metrics-rule', method: 'GET', path: '/respond/rule', status: 200, outcome: 'reasons=CORRECT_PASSWORD', account: { header: 'X-User' } }];
const DOUBLES = ['attempts', 'lag_ms', 'status'];
const CRATE_VERSION = /^version = "([^"]+)"/m.exec(fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8'))[1];
const token = (id) => `03AFcWeA-operate:U=${id}`;

let s;
before(async () => {
  s = await startStack({
    main: STAND_IN,
    vars: { OUTCOME_RULES: RULES },
    secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN },
    config: { version_metadata: { binding: 'CF_VERSION_METADATA' } },
  });
});
after(async () => {
  try {
    for (const line of s.worker.logs) {
      assert.ok(!line.includes(ADMIN_TOKEN) && !line.includes(API_KEY), `secret in log: ${line}`);
      assert.ok(!line.includes(STRING_EVENT), line);
    }
  } finally {
    await s.stop();
  }
});

const status = (authorization = `Bearer ${ADMIN_TOKEN}`, method = 'GET') =>
  s.fetch(ADMIN_PATH, { method, headers: authorization ? { authorization } : {} });

/** The stand-in's data points from index `from` on, each as named columns. */
async function points(from = 0) {
  const res = await fetch(`${s.worker.url}/__stand-in/metrics`);
  return (await res.json()).slice(from).map((p) => ({
    index: p.indexes,
    ...Object.fromEntries(BLOBS.map((name, i) => [name, p.blobs[i]])),
    ...Object.fromEntries(DOUBLES.map((name, i) => [name, p.doubles[i]])),
    columns: [p.blobs.length, p.doubles.length],
  }));
}

async function pointsReach(n, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await points();
    if (all.length >= n || Date.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('an authenticated GET on the batch path reports the configuration in force and no secret', async () => {
  const res = await status();
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const text = res.body.toString();
  assert.ok(!text.includes(API_KEY) && !text.includes(ADMIN_TOKEN), text);
  const report = JSON.parse(text);
  console.log(`status report: ${text}`);
  assert.equal(report.version.crate, CRATE_VERSION);
  assert.match(report.version.worker.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(report.annotation, {
    enabled: true, project: PROJECT, api_base: s.apiUrl, credential: { kind: 'api_key' },
  });
  assert.equal(report.mode, 'direct');
  assert.deepEqual([report.queues.annotations, report.queues.dead_letter], [false, false]);
  assert.deepEqual(report.forwarding, { via: 'origin', origin: s.originUrl });
  assert.equal(report.batch_endpoint, ADMIN_PATH);
  assert.equal(report.log_level, 'info');
  assert.equal(report.metrics, true);
  assert.deepEqual(report.problems, []);
});

test('the status check takes the batch endpoint\'s bearer token and only GET and POST', async () => {
  for (const authorization of [null, 'Bearer wrong', `Basic ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN}x`]) {
    const res = await status(authorization);
    assert.equal(res.status, 401, String(authorization));
    assert.ok(!res.body.toString().includes('"mode"'));
  }
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    const res = await status(undefined, method);
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get('allow'), 'GET, POST');
  }
});

test('a queue-mode worker with wrangler dev\'s own dataset reports its bindings, and its writes go through', async () => {
  const q = queueMode();
  const t = await startStack({
    vars: { ...q.vars, LOG_LEVEL: 'info' },
    // wrangler dev's local dataset: it takes every write and keeps none.
    config: { ...q.config, analytics_engine_datasets: [{ binding: 'ANNOTATION_METRICS', dataset: 'recaptcha_annotations' }] },
    secrets: { RECAPTCHA_API_KEY: API_KEY, ADMIN_TOKEN },
  });
  try {
    const res = await t.fetch(ADMIN_PATH, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const report = JSON.parse(res.body.toString());
    assert.equal(report.mode, 'queue');
    assert.deepEqual(report.queues, {
      annotations: true, dead_letter: true, dead_letter_queue: 'annotations-dlq',
      max_attempts: 20, retry_base_seconds: 1, retry_max_seconds: 2,
    });
    assert.equal(report.log_level, 'info');
    assert.equal(report.metrics, true);
    assert.equal(report.version.worker, null);
    const id = newId();
    const m = t.mark();
    await t.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(id) } });
    const event = await m.waitFor('annotation', (e) => e.assessment === id);
    assert.deepEqual([event.result, event.mode], ['delivered', 'queue']);
    assert.equal(t.worker.events().filter((e) => e.event === 'metrics_failed').length, 0);
  } finally {
    await t.stop();
  }
});

test('each annotation result is one data point, indexed by its result', async () => {
  const before = (await points()).length;
  const delivered = newId();
  const refused = newId();
  s.api.poison(refused, 403);
  const m = s.mark();
  await s.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD,FAILED_TWO_FACTOR'), { headers: { 'x-recaptcha-token': token(delivered) } });
  await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(refused) } });
  const logged = await m.waitFor('annotation', (e) => e.assessment === delivered);
  await m.waitFor('annotation', (e) => e.assessment === refused);
  const all = await pointsReach(before + 2);
  const [ok, no] = ['FRAUDULENT', 'LEGITIMATE'].map((label) => all.slice(before).find((p) => p.label === label));
  assert.deepEqual(ok, {
    index: ['delivered'], outcome: 'delivered', label: 'FRAUDULENT', reasons: 'INCORRECT_PASSWORD,FAILED_TWO_FACTOR',
    mode: 'direct', credential: 'api_key', status_class: '2xx', error: '', reason: '', dead_lettered: 'false',
    version: ok.version, attempts: 1, lag_ms: logged.ms, status: 200, rule: '', columns: [BLOBS.length, DOUBLES.length],
  });
  assert.match(ok.version, /^[0-9a-f-]{36}$/);
  assert.deepEqual([no.index, no.status_class, no.error, no.status, no.attempts], [['rejected'], '4xx', 'PERMISSION_DENIED', 403, 1]);
});

test('a rejected or dropped outcome is one data point naming why, and no call', async () => {
  const before = (await points()).length;
  const calls = s.api.calls.length;
  const m = s.mark();
  await s.fetch(respondWith('MAYBE'), { headers: { 'x-recaptcha-token': token(newId()) } });
  await m.waitFor('outcome_rejected');
  await s.fetch(respondWith('LEGITIMATE'));
  await m.waitFor('outcome_dropped');
  const mine = (await pointsReach(before + 2)).slice(before);
  assert.deepEqual(mine.map((p) => [p.index[0], p.reason, p.credential, p.attempts]), [
    ['outcome_rejected', 'unknown_label', 'api_key', 0],
    ['outcome_dropped', 'no_assessment_id', 'api_key', 0],
  ]);
  assert.ok(!JSON.stringify(mine).includes('MAYBE'));
  assert.equal(s.api.calls.length, calls);
});

test('an outcome rule that fires, or is not applied, is one data point naming the rule', async () => {
  const before = (await points()).length;
  const id = newId();
  const m = s.mark();
  await s.fetch('/respond/rule', { headers: { 'x-recaptcha-token': token(id) } });
  await m.waitFor('annotation', (e) => e.assessment === id);
  await s.fetch(`/respond/rule?header=${encodeURIComponent('CF-Cache-Status: HIT')}`, { headers: { 'x-recaptcha-token': token(newId()) } });
  await m.waitFor('rule_not_applied');
  const mine = (await pointsReach(before + 3)).slice(before);
  assert.deepEqual(mine.map((p) => [p.index[0], p.rule, p.reason, p.reasons]), [
    ['rule_fired', 'metrics-rule', 'account_missing', ''],
    ['delivered', '', '', 'CORRECT_PASSWORD'],
    ['rule_not_applied', 'metrics-rule', 'from_cache', ''],
  ]);
});

test('a dataset that refuses a data point changes nothing for the client or the annotation', async () => {
  await fetch(`${s.worker.url}/__stand-in/metrics?refuse=1`, { method: 'POST' });
  try {
    const id = newId();
    const m = s.mark();
    const res = await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(id) } });
    assert.equal(res.status, 200);
    const event = await m.waitFor('annotation', (e) => e.assessment === id);
    assert.equal(event.result, 'delivered');
    const failed = await m.waitFor('metrics_failed');
    assert.match(failed.error, /refuses every write/);
    // Logged once per isolate, not once per write.
    const next = newId();
    await s.fetch(respondWith('LEGITIMATE'), { headers: { 'x-recaptcha-token': token(next) } });
    await m.waitFor('annotation', (e) => e.assessment === next);
    assert.equal(s.worker.events().filter((e) => e.event === 'metrics_failed').length, 1);
  } finally {
    await fetch(`${s.worker.url}/__stand-in/metrics?refuse=0`, { method: 'POST' });
  }
});

test('a log event reaches the trace as an object, field by field, as Workers Logs indexes it', async () => {
  const id = newId();
  const m = s.mark();
  await s.fetch(respondWith('FRAUDULENT; reasons=INCORRECT_PASSWORD'), { headers: { 'x-recaptcha-token': token(id) } });
  // The Tail Worker (local/log-tail.js) prints only what arrived as an object.
  const event = await m.waitFor('annotation', (e) => e.assessment === id);
  assert.deepEqual(Object.keys(event), ['level', 'event', 'assessment', 'label', 'reasons', 'result', 'status', 'attempts', 'ms', 'mode']);
  assert.deepEqual(event.reasons, ['INCORRECT_PASSWORD']);
  // wrangler dev prints the same object in its inspect form, not as JSON.
  assert.ok(s.worker.logs.some((l) => l.includes(`assessment: '${id}'`)), 'no inspect form of the event in the output');
});

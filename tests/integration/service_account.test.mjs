// Annotate calls signed by a Google service account instead of an API key,
// in workerd, against a token endpoint and an annotate API that verify
// every assertion and token (local/google-oauth.mjs). Each run makes its own
// RSA key pair.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, respondWith, newId, ADMIN_TOKEN, ADMIN_PATH } from './fixtures.mjs';
import { newServiceAccount } from '../../local/google-oauth.mjs';
import { pool, until, sleep, figure, queueMode } from './figures.mjs';

const stacks = [];
/** A stack whose worker signs with a fresh service account. */
async function signedStack({ mode, expiresIn = 3600, ...options } = {}) {
  const account = newServiceAccount();
  const s = await startStack({ serviceAccount: { account, mode, expiresIn }, ...options });
  stacks.push({ s, account });
  return s;
}

after(async () => {
  for (const { s } of stacks) await s.stop();
  // No log line of any stack holds an assertion, a token or a line of a PEM.
  for (const { s, account } of stacks) {
    const secrets = [
      ...(s.oauth?.assertions ?? []), ...(s.oauth?.tokens() ?? []),
      ...account.keyFile.private_key.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----')),
      account.keyId,
    ];
    for (const line of s.worker.logs) {
      for (const secret of secrets) assert.ok(!line.includes(secret), `a credential in the log: ${line.slice(0, 200)}`);
      assert.ok(!/eyJ[\w-]{10,}\.[\w-]{10,}/.test(line), `a JWT in the log: ${line.slice(0, 200)}`);
    }
  }
});

const outcome = (id) => [respondWith('LEGITIMATE; reasons=CORRECT_PASSWORD'), { headers: { 'x-recaptcha-token': `tok:U=${id}` } }];
const delivered = (s, ids) => ids.every((id) => s.api.callsFor(id).some((c) => c.status === 200 && c.credential === 'bearer'));
const annotationLines = (s, id) => s.worker.events().filter((e) => e.event === 'annotation' && e.assessment === id);
/** The `annotation` line for `id`, waited for: it follows the call the stand-in has already counted. */
async function annotationLine(s, id) {
  assert.ok(await until(() => annotationLines(s, id).length > 0, 5_000), `the annotation of ${id} is logged`);
  return annotationLines(s, id)[0];
}

let direct;
test('50 concurrent first annotations on a cold isolate take one token exchange', async () => {
  direct = await signedStack({ secrets: { ADMIN_TOKEN } });
  const ids = Array.from({ length: 50 }, newId);
  await Promise.all(ids.map((id) => direct.fetch(...outcome(id))));
  assert.ok(await until(() => delivered(direct, ids), 20_000), 'every annotation delivered with a bearer token');
  assert.equal(direct.oauth.exchanges.length, 1);
  const first = await annotationLine(direct, ids[0]);
  figure('service account cold start', { mode: 'exchange', first_annotation_ms: first.ms, exchanges: 1 });
  assert.ok(direct.api.calls.every((c) => !c.target.includes('key=')), 'no call carries a key');
});

test('a thousand annotations on a warm isolate take no further exchange', async () => {
  const ids = Array.from({ length: 1000 }, newId);
  await pool(ids.length, 25, (i) => direct.fetch(...outcome(ids[i])));
  assert.ok(await until(() => delivered(direct, ids), 30_000), 'every annotation delivered');
  assert.equal(direct.oauth.exchanges.length, 1, 'still the one exchange');
  figure('service account warm', { annotations: 1050, exchanges: direct.oauth.exchanges.length });
});

test('a 401 drops the token, re-authenticates once, then delivers', async () => {
  for (const t of direct.oauth.tokens()) direct.oauth.revoke(t);
  const id = newId();
  await direct.fetch(...outcome(id));
  assert.ok(await until(() => delivered(direct, [id]), 15_000));
  const calls = direct.api.callsFor(id);
  assert.deepEqual(calls.map((c) => c.status), [401, 200]);
  assert.equal(direct.oauth.exchanges.length, 2);
  assert.equal((await annotationLine(direct, id)).attempts, 1, 'the re-authentication is part of the attempt');
});

test('the batch endpoint authenticates its deliveries the same way', async () => {
  const ids = [newId(), newId()];
  const res = await fetch(direct.worker.url + ADMIN_PATH, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(ids.map((assessment) => ({ assessment, annotation: 'FRAUDULENT', reasons: ['CHARGEBACK'] }))),
  });
  assert.equal(res.status, 202);
  assert.ok(await until(() => delivered(direct, ids), 15_000));
});

test('an expired token is replaced before use, and a 3 s token-endpoint outage loses nothing', async () => {
  const s = await signedStack({ expiresIn: 2 });
  const before = [newId()];
  await s.fetch(...outcome(before[0]));
  assert.ok(await until(() => delivered(s, before), 10_000));
  await sleep(2_100); // the token has expired
  s.oauth.outageFor(3_000);
  const ids = Array.from({ length: 20 }, newId);
  await Promise.all(ids.map((id) => s.fetch(...outcome(id))));
  assert.ok(await until(() => delivered(s, ids), 25_000), 'every annotation delivered after the outage');
  const failed = s.worker.events().filter((e) => e.event === 'auth_failed');
  assert.ok(failed.length >= 1 && failed.every((e) => e.status === 503), 'the outage is logged as auth_failed');
  assert.ok(s.oauth.exchanges.filter((x) => x.status === 200).length >= 2, 'the expired token was replaced');
  assert.ok(s.api.calls.every((c) => c.status !== 401), 'no call was made with an expired token');
});

test('waiting for a token counts in the attempt\'s 10 s: after a 4 s exchange, a held call is abandoned at 10 s, not 14 s', async () => {
  const s = await signedStack();
  s.oauth.delayNext(4_000);
  s.api.hangNext(1);
  const id = newId();
  const sent = Date.now();
  await s.fetch(...outcome(id));
  assert.ok(await until(() => s.api.callsFor(id).some((c) => c.aborted), 20_000), 'the held call was abandoned');
  const held = s.api.callsFor(id).find((c) => c.hung);
  const abandonedMs = held.abortedAt - sent;
  assert.ok(abandonedMs >= 9_000 && abandonedMs <= 11_500, `abandoned ${abandonedMs} ms after the request`);
  assert.ok(await until(() => delivered(s, [id]), 10_000), 'delivered by the next attempt, with the cached token');
  assert.equal(s.oauth.exchanges.length, 1);
});

test('a token fetch outlives the annotation that started it: when that one gives up, the next annotation does not join a cancelled fetch and wait out its attempt', async () => {
  const s = await signedStack();
  // The token endpoint answers nothing for 20.5 s: the first annotation
  // gives up at its 20 s budget with its last token fetch still in flight.
  s.oauth.holdFor(20_500);
  const first = newId();
  await s.fetch(...outcome(first));
  assert.ok(await until(() => annotationLines(s, first).length > 0, 25_000), 'the first annotation ended');
  assert.equal(annotationLines(s, first)[0].result, 'gave_up');
  await sleep(1_000); // the endpoint answers again
  const next = newId();
  await s.fetch(...outcome(next));
  await until(() => annotationLines(s, next).length > 0, 15_000);
  const [line] = annotationLines(s, next);
  figure('token fetch outliving its annotation', { next_annotation_ms: line?.ms });
  assert.equal(line?.result, 'delivered');
  assert.ok(line.ms < 3_000, `the next annotation waited ${line.ms} ms for a token`);
});

test('queue mode: the consumer authenticates, and survives a token-endpoint outage', async () => {
  const q = queueMode();
  const s = await signedStack({ expiresIn: 2, vars: q.vars, config: q.config });
  s.oauth.outageFor(3_000);
  const ids = Array.from({ length: 10 }, newId);
  await Promise.all(ids.map((id) => s.fetch(...outcome(id))));
  assert.ok(await until(() => delivered(s, ids), 40_000), 'every queued annotation delivered');
  for (const id of ids) await annotationLine(s, id);
  assert.ok(ids.flatMap((id) => annotationLines(s, id)).every((e) => e.mode === 'queue'));
  assert.ok(s.worker.events().some((e) => e.event === 'auth_failed'), 'the outage was met');
});

test('a self-signed JWT needs no exchange and is accepted by the API', async () => {
  const s = await signedStack({ mode: 'self-signed-jwt' });
  const ids = Array.from({ length: 20 }, newId);
  await Promise.all(ids.map((id) => s.fetch(...outcome(id))));
  assert.ok(await until(() => delivered(s, ids), 15_000));
  assert.equal(s.oauth.exchanges.length, 0);
  const first = await annotationLine(s, ids[0]);
  figure('service account cold start', { mode: 'self-signed-jwt', first_annotation_ms: first.ms, exchanges: 0 });
  const credential = s.worker.events().find((e) => e.event === 'credential_in_use');
  assert.deepEqual(credential, {
    level: 'info', event: 'credential_in_use', kind: 'service_account',
    client_email: 'annotator@test-project.iam.gserviceaccount.com', auth_mode: 'self-signed-jwt',
  });
});

test('a malformed key file is config_invalid, never echoed, and the site is still proxied', async () => {
  const account = newServiceAccount();
  const broken = account.keyFileText.replace('"type":"service_account"', '"type":"user"');
  const s = await startStack({ vars: { GOOGLE_SERVICE_ACCOUNT_KEY: broken }, secrets: {} });
  stacks.push({ s, account });
  const m = s.mark();
  const res = await s.fetch(...outcome(newId()));
  assert.equal(res.status, 200);
  const invalid = () => s.worker.events().find((e) => e.event === 'config_invalid');
  assert.ok(await until(() => invalid() !== undefined, 10_000));
  const text = JSON.stringify(invalid());
  assert.match(text, /GOOGLE_SERVICE_ACCOUNT_KEY: type is not/);
  assert.ok(!text.includes(account.keyId) && !text.includes('PRIVATE KEY'), text);
  await m.waitFor('outcome_dropped');
});

// A log line stays short whatever a request carries. The origin here takes
// the platform's 128 KB of request headers, as bad_input.test.mjs's does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, respondWith } from './fixtures.mjs';
import { figure } from './figures.mjs';
import { parseEvent } from '../../local/worker.mjs';

let s;
before(async () => { s = await startStack({ originOptions: { httpOptions: { maxHeaderSize: 256 * 1024 } } }); });
after(async () => { await s.stop(); });

test('an outcome dropped for want of an ID lists 16 of 6,000 token cookies passed over, counts the rest, and stays under 4 KB', async () => {
  // 122 KB of cookies, each named like a session token, none holding an ID.
  const cookie = Array.from({ length: 6000 }, (_, i) => `recaptcha-a${i}-t=x`).join('; ');
  const from = s.worker.logs.length;
  const res = await s.fetch(respondWith('LEGITIMATE'), { headers: { cookie } });
  assert.equal(res.status, 200);
  const line = await s.worker.waitForLog((l) => parseEvent(l)?.event === 'outcome_dropped', 15_000, from);
  const event = parseEvent(line);
  assert.match(event.reason, /no assessment ID/);
  assert.deepEqual(event.tokens_rejected.map((t) => t.source), Array.from({ length: 16 }, (_, i) => ({ kind: 'cookie', name: `recaptcha-a${i}-t` })));
  assert.equal(event.tokens_unlisted, 6000 - 16);
  figure('outcome_dropped with 6,000 token cookies', { cookie_kb: Math.round(cookie.length / 1024), line_bytes: Buffer.byteLength(line) });
  assert.ok(Buffer.byteLength(line) < 4096, `the line is ${Buffer.byteLength(line)} bytes`);
});

// Requests dropped while their origin fetch is pending, in workerd: the
// worker's state for each must be freed with the dropped promise, or an
// isolate that sees many clients go away grows until it is killed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, startWorker } from '../../local/worker.mjs';
import { pool, sleep, figure } from './figures.mjs';

test('a request dropped with its origin fetch unsettled frees its state', async () => {
  const worker = await startWorker({
    main: path.join(ROOT, 'tests', 'integration', 'never-settles.js'),
    vars: { RECAPTCHA_PROJECT_ID: 'p', RECAPTCHA_API_BASE: 'http://127.0.0.1:9', ORIGIN_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'error' },
    secrets: { RECAPTCHA_API_KEY: 'k' },
  });
  try {
    const dropped = 2_000;
    await pool(dropped, 20, async (i) => {
      const res = await fetch(`${worker.url}/account/${i}`, { headers: { 'x-recaptcha-token': 'x:U=abcdefgh01234567' } });
      await res.arrayBuffer(); // workerd answers 500: the worker will never respond
    });
    // Garbage, then a look, until every continuation is freed or 30 s pass.
    let last;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
      last = await (await fetch(`${worker.url}/__continuations?garbageMb=50`)).json();
      if (last.freed === last.handed) break;
    }
    figure('cancelled requests', { dropped, handed: last.handed, freed: last.freed });
    assert.equal(last.handed, dropped, 'each request handed one continuation to its fetch');
    assert.equal(last.freed, last.handed, 'every continuation freed');
  } finally {
    await worker.stop();
  }
});

// Load: 2,000 outcome-bearing requests at concurrency 100, each with its own
// assessment ID, through the built worker in workerd, in direct and in queue
// mode (the scenario: load.mjs). Every ID must be annotated exactly once and
// every client must get the origin's own answer. Timings are printed, never
// asserted (the machine is shared).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './fixtures.mjs';
import { queueMode } from './figures.mjs';
import { load, REQUESTS } from './load.mjs';

test('2,000 outcomes at concurrency 100, direct mode: each ID annotated exactly once, no client error', async () => {
  const s = await startStack();
  try {
    await load(s, 'direct');
    assert.ok(s.worker.events().filter((e) => e.event === 'annotation').every((e) => e.mode === 'direct'));
  } finally {
    await s.stop();
  }
});

test('2,000 outcomes at concurrency 100, queue mode: each ID enqueued once and annotated exactly once, no client error', async () => {
  const q = queueMode();
  const s = await startStack({ vars: q.vars, config: q.config });
  try {
    const { idSet } = await load(s, 'queue');
    const events = s.worker.events();
    const enqueued = events.filter((e) => e.event === 'annotation_enqueued' && idSet.has(e.assessment));
    assert.equal(enqueued.length, REQUESTS);
    assert.equal(events.filter((e) => e.event === 'enqueue_failed').length, 0);
    assert.ok(events.filter((e) => e.event === 'annotation').every((e) => e.mode === 'queue'));
  } finally {
    await s.stop();
  }
});

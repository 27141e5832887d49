// The demo stack (local/stack.mjs with the demo's project, key and site):
// used by the run command (local/dev.mjs) and the browser end-to-end test.

import crypto from 'node:crypto';
import path from 'node:path';
import { startStack } from './stack.mjs';
import { ROOT } from './worker.mjs';

export const DEMO_PROJECT = 'demo-project';
export const DEMO_KEY = 'demo-api-key';

/** Ports of 0 (the default) pick free ones. onApiCall/onWorkerEvent see traffic live. */
export function startDemo({ workerPort = 0, originPort = 0, apiPort = 0, onApiCall, onWorkerEvent } = {}) {
  return startStack({
    project: DEMO_PROJECT,
    key: DEMO_KEY,
    ports: { worker: workerPort, origin: originPort, api: apiPort },
    www: path.join(ROOT, 'www'),
    // The batch endpoint's bearer token, new each run; only the origin knows it.
    adminToken: crypto.randomBytes(24).toString('hex'),
    onApiCall,
    onWorkerEvent,
  });
}

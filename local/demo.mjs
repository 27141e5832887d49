// The demo stack: the Google API stand-in, the demo origin serving www/, and
// the worker in workerd, wired together on 127.0.0.1. Used by the run
// command (local/dev.mjs) and the browser end-to-end test.

import crypto from 'node:crypto';
import path from 'node:path';
import { createGoogleApi } from './google-api.mjs';
import { createOrigin } from './origin.mjs';
import { eventText, startWorker, ROOT } from './worker.mjs';

export const DEMO_PROJECT = 'demo-project';
export const DEMO_KEY = 'demo-api-key';

/** Ports of 0 (the default) pick free ones. onApiCall/onWorkerEvent see traffic live. */
export async function startDemo({ workerPort = 0, originPort = 0, apiPort = 0, onApiCall, onWorkerEvent } = {}) {
  const api = createGoogleApi({ project: DEMO_PROJECT, key: DEMO_KEY, log: onApiCall });
  const origin = createOrigin({ www: path.join(ROOT, 'www'), standIn: api });
  const listen = async (server, port, what) => {
    try {
      return await server.listen(port);
    } catch (e) {
      throw new Error(`cannot listen on 127.0.0.1:${port} for the ${what} (${e.code}); set ${what.toUpperCase()}_PORT`);
    }
  };
  // The batch endpoint's bearer token, new each run; only the origin knows it.
  const adminToken = crypto.randomBytes(24).toString('hex');
  const apiBound = await listen(api, apiPort, 'api');
  const originBound = await listen(origin, originPort, 'origin');
  const worker = await startWorker({
    port: workerPort || undefined,
    vars: {
      RECAPTCHA_PROJECT_ID: DEMO_PROJECT,
      RECAPTCHA_API_BASE: `http://127.0.0.1:${apiBound}`,
      ORIGIN_URL: `http://127.0.0.1:${originBound}`,
    },
    secrets: { RECAPTCHA_API_KEY: DEMO_KEY, ADMIN_TOKEN: adminToken },
    onLine: (line) => {
      const text = eventText(line);
      if (text !== null && onWorkerEvent) onWorkerEvent(text);
    },
  });
  origin.useBatchEndpoint(`${worker.url}/.well-known/recaptcha-annotations`, adminToken);
  return {
    api,
    worker,
    url: `${worker.url}/`,
    originUrl: `http://127.0.0.1:${originBound}`,
    apiUrl: `http://127.0.0.1:${apiBound}`,
    async stop() {
      await worker.stop();
      await api.close();
      await origin.close();
    },
  };
}

// One local stack for a test file: the Google API stand-in, the origin and
// the built worker in workerd, wired together.

import { createGoogleApi } from '../../local/google-api.mjs';
import { createOrigin } from '../../local/origin.mjs';
import { parseEvent, startWorker } from '../../local/worker.mjs';

export const PROJECT = 'test-project';
// Shaped like a real key, with characters that need encoding in a query.
export const API_KEY = 'AIzaSyT3st+Key/With=Chars_0123456789abc';

let counter = 0;
// 9 characters fixed per process, then a fixed-width counter: never two alike.
const prefix = `t${Date.now().toString(36)}`.padEnd(9, '0').slice(0, 9);
/** A fresh, valid 16-character assessment ID per call. */
export function newId() {
  counter += 1;
  return `${prefix}${counter.toString(36).padStart(7, '0')}`;
}

/** originOptions: passed to createOrigin (e.g. httpOptions for bigger headers);
 *  extraWorkers: more workers in the same wrangler session (see startWorker). */
export async function startStack({ vars = {}, secrets, originDown = false, apiDown = false, config, originOptions, extraWorkers } = {}) {
  const api = createGoogleApi({ project: PROJECT, key: API_KEY });
  const apiPort = await api.listen();
  const origin = createOrigin(originOptions);
  const originPort = await origin.listen();
  if (originDown) await origin.close();
  if (apiDown) await api.close();
  const worker = await startWorker({
    vars: {
      RECAPTCHA_PROJECT_ID: PROJECT,
      RECAPTCHA_API_BASE: `http://127.0.0.1:${apiPort}`,
      ORIGIN_URL: `http://127.0.0.1:${originPort}`,
      ...vars,
    },
    secrets: secrets ?? { RECAPTCHA_API_KEY: API_KEY },
    config,
    extraWorkers,
  });
  const responses = [];
  return {
    api,
    origin,
    worker,
    responses,
    /** fetch through the worker; every response is kept for later checks. */
    async fetch(path, init = {}) {
      const res = await fetch(worker.url + path, { redirect: 'manual', ...init });
      const body = Buffer.from(await res.arrayBuffer());
      const kept = { status: res.status, headers: res.headers, body };
      responses.push(kept);
      return kept;
    },
    /** The worker's JSON log events from now on, and a way to wait for one. */
    mark() {
      const from = worker.logs.length;
      return {
        waitFor: (event, pred = () => true, timeoutMs = 30_000) =>
          worker.waitForLog((l) => {
            const e = parseEvent(l);
            return e?.event === event && pred(e);
          }, timeoutMs, from).then(parseEvent),
      };
    },
    async stop() {
      await worker.stop();
      if (!apiDown) await api.close();
      if (!originDown) await origin.close();
    },
  };
}

/** `/respond` URL for an origin response carrying this outcome header. */
export function respondWith(outcome, extra = '') {
  return `/respond?outcome=${encodeURIComponent(outcome)}${extra}`;
}

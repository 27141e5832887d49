// The local stack: the Google API stand-in, the origin and the built worker
// in workerd (wrangler dev), wired together on 127.0.0.1. The one place that
// starts them: the demo (local/demo.mjs: the run command and the browser
// end-to-end test) and the integration tests (tests/integration/fixtures.mjs)
// differ only in the options they pass.

import { createGoogleApi } from './google-api.mjs';
import { createOAuth } from './google-oauth.mjs';
import { createOrigin } from './origin.mjs';
import { wafChain } from './waf.mjs';
import { eventText, parseEvent, startWorker } from './worker.mjs';

/** The batch endpoint's path: the worker's default ADMIN_PATH. */
export const ADMIN_PATH = '/.well-known/recaptcha-annotations';

/** The chain's wrangler config with the caller's own on top. */
function merged(chain, config = {}, extraWorkers = []) {
  return { config: { ...chain.config, ...config }, extraWorkers: [...chain.extraWorkers, ...extraWorkers] };
}

async function listen(server, port, what) {
  try {
    return await server.listen(port);
  } catch (e) {
    throw new Error(`cannot listen on 127.0.0.1:${port} for the ${what} (${e.code}); set ${what.toUpperCase()}_PORT`);
  }
}

/**
 * Starts the three and wires them: the worker's vars point at the origin and
 * the stand-in, which accepts `project` and `key`.
 *   ports: { worker, origin, api }; 0 or unset picks free ones.
 *   vars: more [vars] for the worker; secrets: the worker's secrets
 *     (default: the API key only).
 *   adminToken: also the ADMIN_TOKEN secret, and the origin sends late
 *     annotations through the worker's batch endpoint with it.
 *   www: the origin serves this site, with the stand-in's calls for its panel.
 *   originOptions: more options for createOrigin (e.g. httpOptions).
 *   originDown / apiDown: that server is closed once its port is known.
 *   config, extraWorkers, main: passed to startWorker (main: a script in
 *     front of the built worker, e.g. a binding stand-in).
 *   waf: { vars, policies }: the chained stack (local/waf.mjs), the worker
 *     in front of the WAF worker, both given the WAF's site keys; the
 *     stand-in is in strict-loop mode.
 *   onApiCall(call), onWorkerEvent(text): the traffic, live.
 *   serviceAccount: { account (google-oauth.mjs newServiceAccount), mode,
 *     expiresIn }: the worker signs with it instead of a key; the stand-in
 *     serves the token endpoint (`oauth` in the result).
 * Returns { api, oauth, origin, worker, url, originUrl, apiUrl, responses, fetch(),
 * mark(), stop() }.
 */
export async function startStack({
  project, key, ports = {}, vars = {}, secrets, adminToken, www, originOptions = {},
  originDown = false, apiDown = false, config, extraWorkers, main, onApiCall, onWorkerEvent, serviceAccount, waf,
}) {
  const oauth = serviceAccount && createOAuth(serviceAccount);
  const api = createGoogleApi({ project, key, log: onApiCall, oauth, strictLoop: Boolean(waf), policies: waf?.policies });
  const origin = createOrigin({ ...originOptions, ...(www ? { www, standIn: api } : {}) });
  const apiPort = await listen(api, ports.api ?? 0, 'api');
  const originPort = await listen(origin, ports.origin ?? 0, 'origin');
  const originUrl = `http://127.0.0.1:${originPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  // With a service account the worker signs its calls and carries no key.
  let credential = secrets ?? { RECAPTCHA_API_KEY: key };
  if (oauth) {
    oauth.tokenUri = `${apiUrl}/token`;
    oauth.apiAudience = `${apiUrl}/`;
    credential = secrets ?? {};
    vars = {
      GOOGLE_SERVICE_ACCOUNT_KEY: serviceAccount.account.keyFileText,
      GOOGLE_TOKEN_URI: oauth.tokenUri,
      ...(serviceAccount.mode ? { GOOGLE_AUTH_MODE: serviceAccount.mode } : {}),
      ...vars,
    };
  }
  const chain = waf && wafChain({ project, key, apiUrl, vars: waf.vars });
  const worker = await startWorker({
    port: ports.worker || undefined,
    ...(main ? { main } : {}),
    vars: { RECAPTCHA_PROJECT_ID: project, RECAPTCHA_API_BASE: apiUrl, ORIGIN_URL: originUrl, ...chain?.workerVars, ...vars },
    secrets: { ...credential, ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}) },
    ...(chain ? merged(chain, config, extraWorkers) : { config, extraWorkers }),
    onLine: onWorkerEvent && ((line) => {
      const text = eventText(line);
      if (text !== null) onWorkerEvent(text);
    }),
  });
  // Closed only now: a port closed before the worker picked its own could
  // have been given to the worker, pointing ORIGIN_URL at itself.
  if (originDown) await origin.close();
  if (apiDown) await api.close();
  if (adminToken) origin.useBatchEndpoint(`${worker.url}${ADMIN_PATH}`, adminToken);
  const responses = [];
  return {
    api,
    oauth,
    origin,
    worker,
    url: `${worker.url}/`,
    originUrl,
    apiUrl,
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

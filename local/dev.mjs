// The local stack for the README's run command: the Google API stand-in,
// the demo origin and the worker in workerd, all on 127.0.0.1.
//
// Ports: WORKER_PORT (8787), ORIGIN_PORT (8080), API_PORT (8788).

import path from 'node:path';
import { createGoogleApi } from './google-api.mjs';
import { createOrigin, DEMO_PASSWORD } from './origin.mjs';
import { startWorker, ROOT } from './worker.mjs';

const PROJECT = 'demo-project';
const KEY = 'demo-api-key';
const port = (name, dflt) => Number(process.env[name] ?? dflt);

const api = createGoogleApi({
  project: PROJECT,
  key: KEY,
  log: (c) => console.log(`[google stand-in] ${c.status} annotate ${c.assessment} ${c.body}`),
});
const origin = createOrigin({ www: path.join(ROOT, 'www') });
const listen = async (server, p, what) => {
  try {
    return await server.listen(p);
  } catch (e) {
    console.error(`cannot listen on 127.0.0.1:${p} for the ${what} (${e.code}); set ${what.toUpperCase()}_PORT`);
    process.exit(1);
  }
};
const apiPort = await listen(api, port('API_PORT', 8788), 'api');
const originPort = await listen(origin, port('ORIGIN_PORT', 8080), 'origin');

const worker = await startWorker({
  port: port('WORKER_PORT', 8787),
  vars: {
    RECAPTCHA_PROJECT_ID: PROJECT,
    RECAPTCHA_API_BASE: `http://127.0.0.1:${apiPort}`,
    ORIGIN_URL: `http://127.0.0.1:${originPort}`,
  },
  secrets: { RECAPTCHA_API_KEY: KEY },
  // The worker's own JSON log lines, as they happen.
  onLine: (line) => { if (line.includes('{"level"')) console.log(`[worker] ${line.slice(line.indexOf('{"level"'))}`); },
});

const id = 'demo0123456789ab';
console.log(`
  reCAPTCHA annotate edge, running locally
  worker (workerd)      ${worker.url}
  origin                http://127.0.0.1:${originPort}
  Google API stand-in   http://127.0.0.1:${apiPort}   (calls: /__stand-in/calls)

  Open ${worker.url}/ or watch an annotation happen from a terminal:

    curl -i ${worker.url}/login -H 'X-Recaptcha-Token: demo-token:U=${id}' -d 'password=wrong'

  The response carries no X-Recaptcha-Outcome header; this terminal shows the
  annotate call the worker made afterwards ([google stand-in] 200 annotate ${id} ...).
  The right password is "${DEMO_PASSWORD}". Ctrl-C stops everything.
`);

const stop = async () => {
  await worker.stop();
  await api.close();
  await origin.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

// The README's run command: the demo stack (this worker in front of the
// reCAPTCHA WAF worker) on fixed ports, with its traffic printed as it happens. Ports: WORKER_PORT (8787), ORIGIN_PORT (8080), API_PORT (8788).

import { startDemo } from './demo.mjs';
import { DEMO_PASSWORD } from './origin.mjs';

const port = (name, dflt) => Number(process.env[name] ?? dflt);
let demo;
try {
  demo = await startDemo({
    workerPort: port('WORKER_PORT', 8787),
    originPort: port('ORIGIN_PORT', 8080),
    apiPort: port('API_PORT', 8788),
    onApiCall: (c) => console.log(`[google stand-in] ${c.status} annotate ${c.assessment} ${c.body}`),
    onWorkerEvent: (e) => console.log(`[worker] ${e}`),
  });
} catch (e) {
  console.error(e.message);
  process.exit(1);
}

const id = 'demo0123456789ab';
console.log(`
  reCAPTCHA annotate edge is running locally. Open:

      ${demo.url}

  (the worker in workerd, handing each request to the reCAPTCHA WAF worker
   through its UPSTREAM binding; behind them the demo origin ${demo.originUrl};
   the Google API stand-in ${demo.apiUrl} answers both)

  Or from a terminal:
    curl -i ${demo.worker.url}/login -H 'X-Recaptcha-Token: demo-token:U=${id}' -d 'password=wrong'
  and watch this terminal for the annotate call. The right password is "${DEMO_PASSWORD}".
  Ctrl-C stops everything.
`);

const stop = async () => {
  await demo.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

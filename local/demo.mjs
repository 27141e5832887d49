// The demo stack (local/stack.mjs with the demo's project, key and site):
// used by the run command (local/dev.mjs) and the browser end-to-end test.
// Chained, as a site with reCAPTCHA WAF deploys it: the worker hands every
// request to the WAF worker, whose policies guard sign-in and checkout.

import crypto from 'node:crypto';
import path from 'node:path';
import { readmeRuleSets } from './sign-in.mjs';
import { startStack } from './stack.mjs';
import { parseEvent, ROOT } from './worker.mjs';

export const DEMO_PROJECT = 'demo-project';
export const DEMO_KEY = 'demo-api-key';
/** The demo project's firewall policies: a score under 0.5 is blocked on the protected actions (two sign-ins, checkout). */
export const DEMO_POLICIES = ['/login', '/checkout', '/account/login'].map((path, i) => ({
  name: `projects/${DEMO_PROJECT}/firewallpolicies/${i + 1}`,
  description: `Block ${path} below 0.5`,
  path,
  condition: 'recaptcha.score < 0.5',
  actions: [{ block: {} }],
}));

/** The outcome rules of the shop's second sign-in, which sends no outcome header. */
export const DEMO_RULES = readmeRuleSets()['An HTML form: re-rendered on failure, a redirect on success'];

/** Ports of 0 (the default) pick free ones. onApiCall/onWorkerEvent see traffic live. */
export function startDemo({ workerPort = 0, originPort = 0, apiPort = 0, onApiCall, onWorkerEvent } = {}) {
  // Which rule fired for which assessment, from the worker's outcome_from_rule lines: the panel shows it.
  const rulesFired = new Map();
  return startStack({
    project: DEMO_PROJECT,
    key: DEMO_KEY,
    ports: { worker: workerPort, origin: originPort, api: apiPort },
    www: path.join(ROOT, 'www'),
    // The batch endpoint's bearer token, new each run; only the origin knows it.
    adminToken: crypto.randomBytes(24).toString('hex'),
    waf: { policies: DEMO_POLICIES },
    vars: { OUTCOME_RULES: DEMO_RULES },
    originOptions: { rulesFired },
    onApiCall,
    onWorkerEvent: (text) => {
      const e = parseEvent(text);
      if (e?.event === 'outcome_from_rule' && e.assessment) rulesFired.set(e.assessment, e.rule);
      onWorkerEvent?.(text);
    },
  });
}

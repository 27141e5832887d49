// The chained stack, as a site with reCAPTCHA WAF deploys this worker on
// Cloudflare: this worker owns the route and hands every request to the WAF
// worker through its UPSTREAM service binding; the WAF worker (the double in
// local/waf-worker.js, configured with the variables Google's takes) assesses
// it with the Google stand-in and fetches the origin.

import path from 'node:path';
import { ROOT } from './worker.mjs';

/** The WAF worker's name, as Google's wrangler.toml names it. */
export const WAF_SERVICE = 'recaptcha-waf';
/** The double, or WAF_WORKER: another build, such as Google's own, to run the same stack with. */
export const WAF_MAIN = process.env.WAF_WORKER ? path.resolve(process.env.WAF_WORKER) : path.join(ROOT, 'local', 'waf-worker.js');
/** The site keys the WAF worker has: action tokens, session and challenge-page cookies. */
export const SITE_KEYS = {
  ACTION_SITE_KEY: 'action-site-key',
  SESSION_SITE_KEY: 'session-site-key',
  CHALLENGE_PAGE_SITE_KEY: 'challenge-site-key',
};
/** Every site-key variable Google's worker reads: this worker is told the same ones. */
const SITE_KEY_VARS = ['ACTION_SITE_KEY', 'ENTERPRISE_SITE_KEY', 'CHALLENGE_PAGE_SITE_KEY', 'SESSION_SITE_KEY', 'EXPRESS_SITE_KEY'];

/**
 * wrangler config for the chain ({ config, extraWorkers } for startWorker):
 * the binding on this worker, and the WAF worker pointed at the stand-in;
 * workerVars: the WAF worker's site keys, which this worker must be given
 * too (it picks the token the WAF assessed by them).
 * vars: more (or other) variables for the WAF worker.
 */
export function wafChain({ project, key, apiUrl, vars = {} }) {
  const wafVars = { PROJECT_NUMBER: project, API_KEY: key, RECAPTCHA_ENDPOINT: apiUrl, ...SITE_KEYS, ...vars };
  return {
    config: { services: [{ binding: 'UPSTREAM', service: WAF_SERVICE }] },
    extraWorkers: [{
      name: WAF_SERVICE,
      main: WAF_MAIN,
      compatibility_flags: ['nodejs_compat'], // Google's worker needs it; the double does not mind
      vars: wafVars,
    }],
    workerVars: Object.fromEntries(SITE_KEY_VARS.filter((v) => wafVars[v] !== undefined).map((v) => [v, wafVars[v]])),
  };
}

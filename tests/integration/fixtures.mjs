// What the integration tests share: the local stack (local/stack.mjs) with
// the tests' project and key, fresh assessment IDs, and the origin's
// /respond URLs.

import { startStack as startLocalStack } from '../../local/stack.mjs';

export { ADMIN_PATH } from '../../local/stack.mjs';
export { OUTCOME } from '../../local/origin.mjs';

export const PROJECT = 'test-project';
// Shaped like a real key, with characters that need encoding in a query.
export const API_KEY = 'AIzaSyT3st+Key/With=Chars_0123456789abc';
/** The ADMIN_TOKEN secret of the tests that use the batch endpoint. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

let counter = 0;
// 9 characters fixed per process, then a fixed-width counter: never two alike.
const prefix = `t${Date.now().toString(36)}`.padEnd(9, '0').slice(0, 9);
/** A fresh, valid 16-character assessment ID per call. */
export function newId() {
  counter += 1;
  return `${prefix}${counter.toString(36).padStart(7, '0')}`;
}

/** One stack for a test file; options as local/stack.mjs's startStack
 *  (vars, secrets, originDown, apiDown, config, originOptions, extraWorkers). */
export function startStack(options = {}) {
  return startLocalStack({ project: PROJECT, key: API_KEY, ...options });
}

/** Shaped like a real key (AIza and 35 URL-safe characters): Google's WAF
 *  worker puts its key into the URL unescaped, as a real key allows. */
export const WAF_API_KEY = 'AIzaSyWafT3stKey_0123456789abcdefghijkl';

/** The chained stack (local/waf.mjs): this worker, the WAF worker through
 *  UPSTREAM, the origin; the stand-in in strict-loop mode. `waf`: { vars, policies }. */
export function startChain({ waf = {}, ...options } = {}) {
  return startStack({ key: WAF_API_KEY, waf, ...options });
}

/** `/respond` URL for an origin response carrying this outcome header. */
export function respondWith(outcome, extra = '') {
  return `/respond?outcome=${encodeURIComponent(outcome)}${extra}`;
}

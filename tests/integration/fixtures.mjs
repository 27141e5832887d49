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

/** `/respond` URL for an origin response carrying this outcome header. */
export function respondWith(outcome, extra = '') {
  return `/respond?outcome=${encodeURIComponent(outcome)}${extra}`;
}

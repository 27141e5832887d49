// The Google stand-in's side of reCAPTCHA WAF (local/google-api.mjs hands
// every request here first; key and project are checked as for annotate):
//
//   POST /v1/projects/{p}/assessments          createAssessment
//   GET  /v1/projects/{p}/firewallpolicies     listFirewallPolicies
//
// createAssessment checks the Assessment body as strictly as annotate's
// (unknown fields and wrong types are 400s; an event needs a siteKey, and a
// token unless it is express) and answers:
//   name                      projects/{p}/assessments/{ID}: ID is the
//                             token's `:U=` suffix (percent-decoded once, as
//                             WAF cookies arrive), else a fresh one
//   riskAnalysis.score        0.9 unless steered
//   tokenProperties.action    "" unless steered
//   firewallPolicyAssessment  (when event.firewallPolicyEvaluation) the steered
//                             actions; else the first listed policy whose path
//                             matches and whose condition holds; else {}
// Every assessment is remembered (`list`); `created(project, id)` is what the
// stand-in's strict-loop mode checks before accepting an annotation.
//
// Conditions are CEL at Google; the stand-in evaluates "", true, false and
// `recaptcha.score <op> <number>` only, and refuses any other policy.

import crypto from 'node:crypto';
import { glob } from './waf-worker.js';

const ROUTE = /^\/v1\/projects\/([^/]+)\/(assessments|firewallpolicies)$/;
const snake = (name) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Field types of the messages a WAF sends (google.cloud.recaptchaenterprise.v1).
const EVENT = {
  token: 'string', siteKey: 'string', userAgent: 'string', userIpAddress: 'string',
  expectedAction: 'string', hashedAccountId: 'string', requestedUri: 'string', ja3: 'string',
  ja4: 'string', fraudPrevention: 'string', express: 'boolean', wafTokenAssessment: 'boolean',
  firewallPolicyEvaluation: 'boolean', headers: 'strings', transactionData: 'object', userInfo: 'object',
};
const ASSESSMENT = {
  event: EVENT,
  assessmentEnvironment: { client: 'string', version: 'string' },
  accountVerification: 'object',
  privatePasswordLeakVerification: 'object',
};

/** An error message for the first field that does not fit `spec`, or null. Nulls read as unset (proto3 JSON). */
function mismatch(value, spec, where) {
  if (value === null) return null;
  const isObject = typeof value === 'object' && !Array.isArray(value);
  if (typeof spec === 'object') {
    if (!isObject) return `Invalid value at '${where}', expected an object`;
    for (const [name, v] of Object.entries(value)) {
      const known = Object.keys(spec).find((k) => k === name || snake(k) === name);
      if (!known) return `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}${where ? ` at '${where}'` : ''}: Cannot find field.`;
      const err = mismatch(v, spec[known], where ? `${where}.${snake(known)}` : snake(known));
      if (err) return err;
    }
    return null;
  }
  const fits = spec === 'strings' ? Array.isArray(value) && value.every((s) => typeof s === 'string')
    : spec === 'object' ? isObject : typeof value === spec;
  return fits ? null : `Invalid value at '${where}' (${spec}), ${JSON.stringify(value).slice(0, 60)}`;
}

const SCORE_CONDITION = /^recaptcha\.score\s*(<=|>=|<|>|==)\s*(\d+(?:\.\d+)?)$/;
const COMPARE = { '<': (a, b) => a < b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '>=': (a, b) => a >= b, '==': (a, b) => a === b };

/** Whether a policy's condition holds for `score`; throws for one the stand-in cannot evaluate. */
function holds(condition = '', score = 0) {
  const c = condition.trim().toLowerCase();
  if (c === '' || c === 'true') return true;
  if (c === 'false') return false;
  const m = SCORE_CONDITION.exec(c);
  if (!m) throw new Error(`the stand-in evaluates only true, false and recaptcha.score comparisons, not ${JSON.stringify(condition)}`);
  return COMPARE[m[1]](score, Number(m[2]));
}

/** The assessment ID a token names: its `:U=` suffix, percent-decoded once; null if none. */
export function tokenId(token) {
  let text = token;
  try { text = decodeURIComponent(token); } catch { /* not encoded */ }
  return /:U=([A-Za-z0-9]{16})$/.exec(text)?.[1] ?? null;
}

/**
 * project: the stand-in's project; policies: the project's firewall policies,
 * by default one that blocks scores below 0.5 on every path.
 */
export function createAssessments({ project, policies } = {}) {
  const list = []; // every assessment created, oldest first
  const names = new Set(); // `${project}/${id}` of each
  const steered = new Map(); // assessment ID -> { score, action, actions }
  let firewallPolicies = [];

  const setPolicies = (next) => {
    for (const p of next) holds(p.condition); // refuse what cannot be evaluated, now
    firewallPolicies = next;
  };
  setPolicies(policies ?? [{
    name: `projects/${project}/firewallpolicies/1`,
    description: 'Block what scores below 0.5',
    path: '/**',
    condition: 'recaptcha.score < 0.5',
    actions: [{ block: {} }],
  }]);

  function policyFor(event, id, score) {
    if (steered.get(id)?.actions) {
      return { name: `projects/${project}/firewallpolicies/steered`, actions: steered.get(id).actions };
    }
    let path = '/';
    try { path = new URL(event.requestedUri).pathname; } catch { /* no URI: the root */ }
    return firewallPolicies.find((p) => (!p.path || glob(p.path).test(path)) && holds(p.condition, score)) ?? null;
  }

  function create(p, body) {
    const event = body.event ?? {};
    if (!event.siteKey) return [400, 'Request contains an invalid argument: event.site_key is required.'];
    if (!event.token && !event.express) return [400, 'Request contains an invalid argument: event.token is required.'];
    const id = (event.token && tokenId(event.token)) ?? crypto.randomBytes(8).toString('hex');
    const { score = 0.9, action = '' } = steered.get(id) ?? {};
    const policy = event.firewallPolicyEvaluation ? policyFor(event, id, score) : undefined;
    const name = `projects/${p}/assessments/${id}`;
    list.push({
      at: new Date().toISOString(), name, id, project: p, siteKey: event.siteKey, express: Boolean(event.express),
      score, action, policy: policy?.name ?? null, actions: policy?.actions ?? [], event,
    });
    names.add(`${p}/${id}`);
    let hostname = '';
    try { hostname = new URL(event.requestedUri).hostname; } catch { /* none */ }
    return [200, {
      name,
      event,
      riskAnalysis: { score, reasons: [], extendedVerdictReasons: [], challenge: 'CHALLENGE_UNSPECIFIED' },
      tokenProperties: {
        valid: Boolean(event.token), invalidReason: event.token ? 'INVALID_REASON_UNSPECIFIED' : 'MISSING',
        hostname, action, createTime: new Date().toISOString(),
      },
      ...(policy === undefined ? {} : { firewallPolicyAssessment: policy ? { firewallPolicy: policy } : {} }),
      assessmentEnvironment: body.assessmentEnvironment ?? {},
    }];
  }

  return {
    list,
    /** Whether an assessment with this ID was created in this project. */
    created: (p, id) => names.has(`${p}/${id}`),
    /** From now on, assessments of this ID get these (any of score, action, actions). */
    steer(id, { score, action, actions } = {}) {
      steered.set(id, { score, action, actions });
    },
    setPolicies,
    /** Forgets assessments and steering; the policies stay. */
    reset() {
      list.length = 0;
      names.clear();
      steered.clear();
    },
    /**
     * Answers a WAF call: [status, body] on success, [status, message] for an
     * error; null for a path that is not one of these two.
     */
    serve(method, url, text, contentType, key) {
      const route = ROUTE.exec(url.pathname);
      if (!route) return null;
      const [p, kind] = [decodeURIComponent(route[1]), route[2]];
      const given = url.searchParams.get('key');
      if (given === null) return [403, 'Method doesn\'t allow unregistered callers (callers without established identity).'];
      if (given !== key) return [400, 'API key not valid. Please pass a valid API key.'];
      if (p !== project) return [403, `Permission denied on resource project ${p}.`];
      if (kind === 'firewallpolicies') {
        if (method !== 'GET') return [404, `Method ${method} not allowed for firewallpolicies`];
        return [200, firewallPolicies.length ? { firewallPolicies } : {}];
      }
      if (method !== 'POST') return [404, `Method ${method} not allowed for assessments`];
      if (!/^application\/json(\s*;\s*charset=utf-8)?$/i.test(contentType ?? '')) {
        return [400, `Invalid content type: ${contentType}`];
      }
      let body;
      try {
        body = JSON.parse(text);
      } catch (e) {
        return [400, `Invalid JSON payload received. ${e.message}`];
      }
      const invalid = mismatch(body, ASSESSMENT, '');
      return invalid ? [400, invalid] : create(p, body);
    },
  };
}

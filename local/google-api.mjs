// A local stand-in for reCAPTCHA Enterprise's `projects.assessments.annotate`.
//
// As strict as Google's endpoint where this project can tell: the path, the
// API key, the content type and the body are checked against
// AnnotateAssessmentRequest (unknown fields, unknown enum names and wrong
// types are 400s), errors use Google's envelope, success is `{}`. Every call
// is recorded. It can be told to fail the next calls (503, 429 with
// Retry-After, 400...) so retries can be watched, and to misbehave for the
// fault tests:
//   failNext(status, times, retryAfter, body, { message, errorStatus, location })
//                       `body` (string or Buffer) replaces Google's error
//                       envelope: garbage such as HTML, a huge or non-UTF-8
//                       body; with status 200 it is a garbled success.
//                       `message` / `errorStatus` go into Google's envelope
//                       in place of the injected ones; `location` makes the
//                       answer a redirect there, with no body
//   dripSuccesses(everyMs, bytes)
//                       each later success sends its headers at once, then
//                       Google's `{}` padded with spaces to `bytes` bytes, one
//                       byte every `everyMs` (0 turns it off); a call whose
//                       response the client closed before its end records
//                       `closedEarlyMs`, the time from its headers to the close
//   hangNext(times)     read the call, then never answer it (recorded with
//                       status null; `aborted`, at `abortedAt`, once the caller gives up)
//   failRandomly(ratio, seed, status = 503)
//                       each later call fails with probability `ratio`, drawn
//                       in arrival order from a PRNG seeded with `seed`: the
//                       same calls get the same answers on every run; ratio 0
//                       turns it off
//   refuseFor(ms)       close the port (connections refused), listen again on
//                       the same port after `ms`; resolves once back (JS only:
//                       a control endpoint cannot close its own port)
//
//   node local/google-api.mjs [--port 8788] [--project demo-project] [--key demo-key]
//
// Control endpoints (not part of Google's API):
//   GET  /__stand-in/calls           recorded calls, oldest first
//   POST /__stand-in/fail            {"status":503,"times":2,"retryAfter":1}, or
//                                    {"times":1,"hang":true}, or {"status":500,"body":"<html>"},
//                                    {"status":400,"message":"…","errorStatus":"…"},
//                                    {"status":307,"location":"http://…"}
//   POST /__stand-in/drip            {"everyMs":1000,"bytes":20}
//   POST /__stand-in/random          {"ratio":0.3,"seed":42,"status":503}
//   POST /__stand-in/reset           forget calls and pending failures
//   POST /__stand-in/steer           {"assessment":"…","score":0.1,"action":"login","actions":[{"block":{}}]}
//   GET  /__stand-in/assessments     assessments created, oldest first
// reCAPTCHA WAF's createAssessment and listFirewallPolicies: local/assessments.mjs.
// `strictLoop`: annotating an assessment never created is Google's 404 NOT_FOUND.

import http from 'node:http';
import { createAssessments } from './assessments.mjs';
import { arg, isMain, lifecycle } from './serve.mjs';

const STATUS = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  408: 'DEADLINE_EXCEEDED', 409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

const LABELS = ['ANNOTATION_UNSPECIFIED', 'LEGITIMATE', 'FRAUDULENT', 'PASSWORD_CORRECT', 'PASSWORD_INCORRECT'];
const REASONS = ['REASON_UNSPECIFIED', 'CHARGEBACK', 'CHARGEBACK_FRAUD', 'CHARGEBACK_DISPUTE', 'REFUND',
  'REFUND_FRAUD', 'TRANSACTION_ACCEPTED', 'TRANSACTION_DECLINED', 'PAYMENT_HEURISTICS',
  'INITIATED_TWO_FACTOR', 'PASSED_TWO_FACTOR', 'FAILED_TWO_FACTOR', 'CORRECT_PASSWORD',
  'INCORRECT_PASSWORD', 'SOCIAL_SPAM'];
const EVENT_TYPES = ['TRANSACTION_EVENT_TYPE_UNSPECIFIED', 'MERCHANT_APPROVE', 'MERCHANT_DENY',
  'MANUAL_REVIEW', 'AUTHORIZATION', 'AUTHORIZATION_DECLINE', 'PAYMENT_CAPTURE',
  'PAYMENT_CAPTURE_DECLINE', 'CANCEL', 'CHARGEBACK_INQUIRY', 'CHARGEBACK_ALERT',
  'FRAUD_NOTIFICATION', 'CHARGEBACK', 'CHARGEBACK_REPRESENTMENT', 'CHARGEBACK_REVERSE',
  'REFUND_REQUEST', 'REFUND_DECLINE', 'REFUND', 'REFUND_REVERSE'];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

// Proto3 JSON accepts the lowerCamel name and the original field name.
const field = (camel, snake, check) => ({ names: [camel, snake], check });
const enumOf = (values, where) => (v) =>
  typeof v === 'string' && values.includes(v) ? null : `Invalid value at '${where}', ${JSON.stringify(v)}`;
const str = (where) => (v) => (typeof v === 'string' ? null : `Invalid value at '${where}', expected a string`);
const time = (where) => (v) =>
  typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v.toUpperCase()))
    ? null : `Invalid value at '${where}' (type.googleapis.com/google.protobuf.Timestamp), Field '${where}', Invalid time format`;

function message(schema, where) {
  return (obj) => {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      return `Invalid value at '${where}', expected an object`;
    }
    for (const [name, value] of Object.entries(obj)) {
      const f = schema.find((s) => s.names.includes(name));
      if (!f) return `Invalid JSON payload received. Unknown name ${JSON.stringify(name)}${where ? ` at '${where}'` : ''}: Cannot find field.`;
      if (value === null) continue;
      const err = f.check(value);
      if (err) return err;
    }
    return null;
  };
}

const transactionEvent = message([
  field('eventType', 'event_type', enumOf(EVENT_TYPES, 'transaction_event.event_type')),
  field('reason', 'reason', str('transaction_event.reason')),
  field('value', 'value', (v) => (typeof v === 'number' && Number.isFinite(v) ? null : "Invalid value at 'transaction_event.value' (TYPE_DOUBLE)")),
  field('eventTime', 'event_time', time('transaction_event.event_time')),
], 'transaction_event');

const phoneEvent = message([
  field('phoneNumber', 'phone_number', str('phone_authentication_event.phone_number')),
  field('eventTime', 'event_time', time('phone_authentication_event.event_time')),
], 'phone_authentication_event');

const annotateRequest = message([
  field('annotation', 'annotation', enumOf(LABELS, 'annotation')),
  field('reasons', 'reasons', (v) => {
    if (!Array.isArray(v)) return "Invalid value at 'reasons' (type.googleapis.com/google.cloud.recaptchaenterprise.v1.AnnotateAssessmentRequest.Reason), expected a list";
    for (const [i, r] of v.entries()) {
      const err = enumOf(REASONS, `reasons[${i}]`)(r);
      if (err) return err;
    }
    return null;
  }),
  field('accountId', 'account_id', str('account_id')),
  field('hashedAccountId', 'hashed_account_id', (v) =>
    typeof v === 'string' && BASE64.test(v) ? null : "Invalid value at 'hashed_account_id' (TYPE_BYTES), Base64 decoding failed"),
  field('transactionEvent', 'transaction_event', transactionEvent),
  field('phoneAuthenticationEvent', 'phone_authentication_event', (v) => {
    const err = phoneEvent(v);
    if (err) return err;
    const phone = v.phoneNumber ?? v.phone_number;
    return typeof phone === 'string' && phone.length > 0 ? null : "phone_authentication_event.phone_number is required";
  }),
], '');

/** Validates an annotate body as Google would; returns an error message or null. */
export function validateBody(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return `Invalid JSON payload received. ${e.message}`;
  }
  return annotateRequest(body);
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1), the same sequence for the same seed. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Google's `{}` sent slowly: the headers at once, then the body padded with
 * spaces, one byte every `everyMs`. Records `closedEarlyMs` on the call if
 * the client closes the response before its end.
 */
function dripSuccess(res, call, record, { everyMs, bytes }) {
  record(200, {});
  const body = `{${' '.repeat(Math.max(0, bytes - 2))}}`;
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(body.length) });
  const headersAt = Date.now();
  let sent = 0;
  const tick = () => {
    res.write(body[sent]);
    sent += 1;
    if (sent === body.length) {
      clearInterval(timer);
      res.end();
    }
  };
  const timer = setInterval(tick, everyMs);
  tick();
  res.on('close', () => {
    clearInterval(timer);
    if (!res.writableFinished) call.closedEarlyMs = Date.now() - headersAt;
  });
}

const PATH = /^\/v1\/projects\/([^/]+)\/assessments\/([^/]+):annotate$/;

/** oauth: a createOAuth (google-oauth.mjs) serving `tokenPath` and checking bearer tokens. */
export function createGoogleApi({ project = 'demo-project', key = 'demo-key', log = () => {}, oauth, tokenPath = '/token', strictLoop = false, policies } = {}) {
  const calls = [];
  let failures = []; // { status, retryAfter, body, message, errorStatus, location } or { hang: true }, one per next call
  let drip = null; // { everyMs, bytes }: dripSuccesses' pace
  let outage = null; // { until, status, retryAfter }: every call fails until then
  let random = null; // { ratio, status, next }: failRandomly's draw
  const poisoned = new Map(); // assessment -> status it always gets
  const assessments = createAssessments({ project, policies });

  // One implementation each, for the JS API below and the control endpoints.
  const failNext = (status, times = 1, retryAfter, body, { message, errorStatus, location } = {}) => {
    failures = Array.from({ length: times }, () => ({ status, retryAfter, body, message, errorStatus, location }));
  };
  const hangNext = (times = 1) => {
    failures = Array.from({ length: times }, () => ({ hang: true }));
  };
  const failRandomly = (ratio, seed = 1, status = 503) => {
    random = ratio > 0 ? { ratio, status, next: mulberry32(seed) } : null;
  };
  const reset = () => {
    calls.length = 0;
    failures = [];
    drip = null;
    outage = null;
    random = null;
    poisoned.clear();
    assessments.reset();
  };
  const dripSuccesses = (everyMs, bytes = 20) => {
    drip = everyMs > 0 ? { everyMs, bytes } : null;
  };
  const errorBody = (code, message, status = STATUS[code] ?? 'UNKNOWN') => ({ error: { code, message, status } });
  const retryAfterHeader = (retryAfter) => (retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {});

  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://stand-in');

    const send = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(JSON.stringify(body));
    };

    if (url.pathname.startsWith('/__stand-in/')) {
      res.setHeader('cache-control', 'no-store');
      if (req.method === 'GET' && url.pathname === '/__stand-in/calls') return send(200, calls);
      if (req.method === 'POST' && url.pathname === '/__stand-in/fail') {
        const { status = 503, times = 1, retryAfter, body, hang, ...more } = JSON.parse(text || '{}');
        if (hang) hangNext(times);
        else failNext(status, times, retryAfter, body, more);
        return send(200, { pending: failures.length });
      }
      if (req.method === 'POST' && url.pathname === '/__stand-in/drip') {
        const { everyMs = 0, bytes } = JSON.parse(text || '{}');
        dripSuccesses(everyMs, bytes);
        return send(200, { everyMs });
      }
      if (req.method === 'POST' && url.pathname === '/__stand-in/random') {
        const { ratio = 0, seed = 1, status = 503 } = JSON.parse(text || '{}');
        failRandomly(ratio, seed, status);
        return send(200, { ratio });
      }
      if (req.method === 'POST' && url.pathname === '/__stand-in/steer') {
        const { assessment, ...steering } = JSON.parse(text || '{}');
        assessments.steer(assessment, steering);
        return send(200, {});
      }
      if (req.method === 'GET' && url.pathname === '/__stand-in/assessments') return send(200, assessments.list);
      if (req.method === 'POST' && url.pathname === '/__stand-in/reset') {
        reset();
        return send(200, {});
      }
      return send(404, errorBody(404, 'unknown control endpoint'));
    }

    if (oauth && url.pathname === tokenPath) return oauth.handleToken(req, res, text);
    const waf = assessments.serve(req.method, url, text, req.headers['content-type'], key);
    if (waf) return send(waf[0], waf[0] === 200 ? waf[1] : errorBody(...waf));

    const call = {
      at: new Date().toISOString(),
      method: req.method,
      target: req.url, // the raw request target: path and query as sent
      path: url.pathname,
      contentType: req.headers['content-type'] ?? null,
      keyValid: url.searchParams.get('key') === key,
      body: text,
      // The caller's end of the connection: the same port for two calls
      // means the second reused the first's connection.
      connection: req.socket.remotePort,
    };
    const m = PATH.exec(url.pathname);
    call.project = m ? decodeURIComponent(m[1]) : null;
    call.assessment = m ? decodeURIComponent(m[2]) : null;
    /** Records the call with the answer it gets (status null: none). */
    const record = (status, reply) => {
      call.status = status;
      call.response = reply;
      calls.push(call);
      log(call);
    };
    const finish = (status, reply, headers) => {
      record(status, reply);
      send(status, reply, headers);
    };
    const fail = (code, msg, headers, status) => finish(code, errorBody(code, msg, status), headers);

    if (!m) return fail(404, `The requested URL ${url.pathname} was not found on this server.`);
    if (req.method !== 'POST') return fail(404, `Method ${req.method} not allowed for ${url.pathname}`);
    // Google takes a bearer token instead of a key: a wrong one is a 401.
    call.credential = url.searchParams.has('key') ? 'key' : req.headers.authorization !== undefined ? 'bearer' : null;
    if (call.credential === 'bearer') {
      const why = oauth ? oauth.checkBearer(req.headers.authorization) : 'Bearer tokens are not accepted by this stand-in.';
      if (why) return fail(401, why, { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' }, 'UNAUTHENTICATED');
    }
    if (call.credential === null) return fail(403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
    if (call.credential === 'key' && !call.keyValid) return fail(400, 'API key not valid. Please pass a valid API key.');
    if (call.project !== project) return fail(403, `Permission denied on resource project ${call.project}.`);
    if (!/^[A-Za-z0-9]{16}$/.test(call.assessment)) return fail(404, 'Assessment not found.');
    if (!/^application\/json(\s*;\s*charset=utf-8)?$/i.test(call.contentType ?? '')) {
      return fail(400, `Invalid content type: ${call.contentType}`);
    }
    const invalid = validateBody(text);
    if (invalid) return fail(400, invalid);
    if (strictLoop && !assessments.created(call.project, call.assessment)) {
      return fail(404, 'Requested entity was not found.');
    }
    if (poisoned.has(call.assessment)) {
      return fail(poisoned.get(call.assessment), `Injected failure for ${call.assessment}`);
    }
    if (outage && Date.now() < outage.until) {
      return fail(outage.status, `Injected outage ${outage.status}`, retryAfterHeader(outage.retryAfter));
    }
    const failure = failures.shift();
    if (failure?.hang) {
      // Accepted and read, never answered: only the caller's timeout ends it.
      call.hung = true;
      record(null);
      res.on('close', () => { call.aborted = true; call.abortedAt = Date.now(); });
      return undefined;
    }
    if (failure?.body !== undefined) {
      record(failure.status, Buffer.isBuffer(failure.body) ? `<${failure.body.length} bytes>` : failure.body.slice(0, 200));
      res.writeHead(failure.status, { 'content-type': 'text/html; charset=UTF-8', ...retryAfterHeader(failure.retryAfter) });
      return res.end(failure.body);
    }
    if (failure?.location !== undefined) {
      // What a proxy or load balancer in front of the API might answer.
      call.location = failure.location;
      record(failure.status, null);
      res.writeHead(failure.status, { location: failure.location, 'content-length': '0' });
      return res.end();
    }
    if (failure) {
      const msg = failure.message ?? `Injected failure ${failure.status}`;
      return fail(failure.status, msg, retryAfterHeader(failure.retryAfter), failure.errorStatus);
    }
    if (random && random.next() < random.ratio) {
      return fail(random.status, `Injected random failure ${random.status}`);
    }
    if (drip) return dripSuccess(res, call, record, drip);
    return finish(200, {});
  });
  const life = lifecycle(server);

  return {
    server,
    calls,
    /** Calls answered so far, optionally only those for one assessment. */
    callsFor: (assessment) => calls.filter((c) => c.assessment === assessment),
    failNext,
    hangNext,
    failRandomly,
    dripSuccesses,
    /** Every assessment created, oldest first (local/assessments.mjs). */
    assessments: assessments.list,
    steer: assessments.steer,
    setPolicies: assessments.setPolicies,
    /** Connections are refused for `ms`, then accepted again on the same port. */
    async refuseFor(ms) {
      const { port } = server.address();
      await life.close();
      await new Promise((r) => setTimeout(r, ms));
      await life.listen(port);
    },
    /** Every call fails with `status` for the next `ms` milliseconds. */
    failFor(ms, status = 503, retryAfter) {
      outage = { until: Date.now() + ms, status, retryAfter };
    },
    /** Calls for this assessment always get `status` (a poisoned annotation). */
    poison(assessment, status = 400) {
      poisoned.set(assessment, status);
    },
    reset,
    ...life,
  };
}

if (isMain(import.meta.url)) {
  const api = createGoogleApi({
    project: arg('project', 'demo-project'),
    key: arg('key', 'demo-key'),
    log: (c) => console.log(`[google stand-in] ${c.status} ${c.assessment} ${c.body}`),
  });
  const port = await api.listen(Number(arg('port', 8788)));
  console.log(`[google stand-in] listening on http://127.0.0.1:${port}`);
}

// Reference, not product: this worker's contract for what scenarios (a), (b)
// and (c) exercise, in the fastest plain JavaScript we could write that is
// still correct. It is what the Rust worker is measured against, so it must
// not be slower than it has to be: whatever this file gives up to mirror the
// worker's own choices flatters the worker. Measured variants and why each
// choice won are in the commit that changed it.
//
// Covered, as the README's header contract has it: the loop guard (508);
// the token choice of a WAF that is not Google's (no site keys, as the bench
// configures: every non-empty token in X-Recaptcha-Token and the
// recaptcha-*-e / recaptcha-*-t cookies must be the same text); the control
// headers removed in every spelling a CGI-style origin reads as them and the
// ID header set; the origin fetched with the request's method, headers, body
// and cf, redirects handed back; a status a Response cannot carry answered
// 502; the outcome header taken off the client's response; an outcome on a
// cached response never annotated; the short form parsed and validated
// whole; duplicate suppression; one annotate attempt, bounded in time, its
// answer read; the annotation line logged as an object.
// Not covered (no scenario reaches them): the JSON form (refused here),
// Google's own WAF rules (site keys), retries, queue mode, outcome rules, a
// service account, the batch endpoint, GET bodies.
//
// Its own copy of the names: workerd loads this file alone, so it can import nothing.
const OUTCOME = 'x-recaptcha-outcome';
const TOKEN = 'x-recaptcha-token';
const ID_HEADER = 'x-recaptcha-assessment-id';
const LOOP = 'x-annotate-edge-loop';
const MAX_PASSES = 4;
const LOOP_RESPONSE = 'Loop detected: the worker received its own request. Set ORIGIN_URL to the origin (npx wrangler dev --var ORIGIN_URL:http://localhost:8080)\n';
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const ATTEMPT_MS = 10_000;
const MAX_LEN = 8192;
const RECENT_MS = 600_000;
const RECENT_MAX = 4096;

const ID = /^[A-Za-z0-9]{16}$/;
const TOKEN_COOKIE = /^recaptcha-[A-Za-z0-9]+-[et]$/;
const ENUM_WORD = /^[A-Za-z_]+$/;
const SEPARATOR = /[;,=]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// A reason phrase a Response can carry: tab, visible ASCII, obs-text.
const STATUS_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;
const LABELS = new Set(['LEGITIMATE', 'FRAUDULENT']);
const DEPRECATED_LABELS = new Set(['PASSWORD_CORRECT', 'PASSWORD_INCORRECT']);
const REASONS = new Set([
  'CHARGEBACK', 'CHARGEBACK_FRAUD', 'CHARGEBACK_DISPUTE', 'REFUND', 'REFUND_FRAUD',
  'TRANSACTION_ACCEPTED', 'TRANSACTION_DECLINED', 'PAYMENT_HEURISTICS', 'INITIATED_TWO_FACTOR',
  'PASSED_TWO_FACTOR', 'FAILED_TWO_FACTOR', 'CORRECT_PASSWORD', 'INCORRECT_PASSWORD', 'SOCIAL_SPAM',
]);
const CONTRADICTIONS = [
  ['CORRECT_PASSWORD', 'INCORRECT_PASSWORD'],
  ['PASSED_TWO_FACTOR', 'FAILED_TWO_FACTOR'],
  ['TRANSACTION_ACCEPTED', 'TRANSACTION_DECLINED'],
];
const FRESH = new Set(['MISS', 'EXPIRED', 'DYNAMIC', 'BYPASS', 'NONE', 'UNKNOWN']);
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

// Per isolate: the loop nonce (no random values in global scope, so made at
// the first request), the annotate URL's prefix, what was sent lately.
let nonce;
let loopReported = false;
let apiEnv;
let apiPrefix;
let apiSuffix;
const recent = new Map(); // dedup key -> when sent, oldest first

// ---------------------------------------------------------------------------
// Request phase

/** Whether X-Annotate-Edge-Loop shows this isolate's nonce, or too many passes. */
function loops(value) {
  let passes = 0;
  for (const v of value.split(',')) {
    const t = v.trim();
    if (t === '') continue;
    if (t === nonce) return true;
    passes++;
  }
  return passes >= MAX_PASSES;
}

/** The ID at the end of a token: after its last ":U=", 16 letters or digits. */
function idOf(token) {
  const i = token.lastIndexOf(':U=');
  if (i < 0 || token.length - i !== 19) return null;
  const id = token.slice(i + 3);
  return ID.test(id) ? id : null;
}

/** A cookie's token names its ID as it is or, failing that, decoded once. */
function tokenId(token, isCookie) {
  const id = idOf(token);
  if (id !== null || !isCookie || !token.includes('%')) return id;
  try {
    return idOf(decodeURIComponent(token));
  } catch {
    return null;
  }
}

/**
 * The request's assessment ID with no site keys set: every non-empty token
 * in the header and in the token cookies must be the same text, or none is
 * chosen. Cookies as Google's parser reads them: split at every ";", each
 * pair at its first "=", name and value trimmed.
 */
function requestId(header, cookie) {
  let first = header || null;
  let fromCookie = false;
  if (cookie !== null && cookie.includes('recaptcha-')) {
    for (const pair of cookie.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || !TOKEN_COOKIE.test(pair.slice(0, eq).trim())) continue;
      const value = pair.slice(eq + 1).trim();
      if (value === '') continue;
      if (first === null) {
        first = value;
        fromCookie = true;
      } else if (value !== first) {
        return null;
      }
    }
  }
  return first === null ? null : tokenId(first, fromCookie);
}

/** A name a CGI-style origin reads as the outcome or the ID header ("_" and "." as "-"). */
function isProtected(name) {
  if (name.length !== OUTCOME.length && name.length !== ID_HEADER.length) return false;
  const folded = name.replace(/[_.]/g, '-');
  return folded === OUTCOME || folded === ID_HEADER;
}

/** The origin's request headers: the client's, less the control headers, plus the ID and the loop mark. */
function originHeaders(incoming, id) {
  const headers = new Headers(incoming);
  for (const name of incoming.keys()) if (isProtected(name)) headers.delete(name);
  if (id !== null) headers.set(ID_HEADER, id);
  headers.append(LOOP, nonce);
  return headers;
}

function loopDetected() {
  if (!loopReported) {
    loopReported = true;
    console.error({ level: 'error', event: 'config_invalid', errors: ['the request came back to the worker: ORIGIN_URL is set, check it'] });
  }
  return new Response(LOOP_RESPONSE, { status: 508, headers: TEXT });
}

// ---------------------------------------------------------------------------
// Response phase: the outcome

/** UTF-8 length, counted only when the text could be over the limit. */
function tooLong(s) {
  return s.length * 3 > MAX_LEN && new TextEncoder().encode(s).length > MAX_LEN;
}

/** A short-form value: percent-decoded; a raw separator or a bad escape refuses it. */
function decode(raw) {
  if (SEPARATOR.test(raw)) throw new Error('raw separator in a value');
  if (!raw.includes('%')) return raw;
  if (BAD_ESCAPE.test(raw)) throw new Error('bad percent escape');
  return decodeURIComponent(raw); // throws on escapes that are not UTF-8
}

function enumWord(word, known, what) {
  const upper = ENUM_WORD.test(word) ? word.toUpperCase() : '';
  if (known.has(upper)) return upper;
  if (what === 'label' && DEPRECATED_LABELS.has(upper)) throw new Error(`deprecated label ${upper}`);
  throw new Error(`unknown ${what}`);
}

/** One `name=value` part of the short form into `o`; true when it took the rest of the header. */
function parameter(o, name, raw, rest) {
  switch (name.trim().toLowerCase()) {
    case 'reasons': {
      if (o.reasons) throw new Error('repeated reasons');
      const list = raw.trim();
      if (list === '') throw new Error('empty reasons');
      o.reasons = [];
      for (const r of list.split(',')) {
        const reason = enumWord(decode(r.trim()), REASONS, 'reason');
        if (!o.reasons.includes(reason)) o.reasons.push(reason);
      }
      return false;
    }
    case 'account-id': {
      // The rest of the header: a raw ";" in it is refused, not a new part.
      const value = rest.replace(/[; \t]+$/, '').trim();
      if (value === '') throw new Error('empty account-id');
      o.accountId = decode(value);
      return true;
    }
    case 'assessment': {
      const id = decode(raw.trim());
      if (!ID.test(id)) throw new Error('invalid assessment');
      if (o.assessment) throw new Error('repeated assessment');
      o.assessment = id;
      return false;
    }
    default:
      throw new Error('unknown parameter');
  }
}

/** The short form, validated whole: { label, reasons, accountId, assessment }; throws why not. */
function parseOutcome(value) {
  if (tooLong(value)) throw new Error('outcome too long');
  if (value.includes('\uFFFD')) throw new Error('not UTF-8');
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (text === '') throw new Error('empty');
  if (text[0] === '{') throw new Error('the JSON form is not covered by this reference');
  const o = { label: undefined, reasons: undefined, accountId: undefined, assessment: undefined };
  let at = 0;
  while (at < text.length) {
    const semi = text.indexOf(';', at);
    const end = semi < 0 ? text.length : semi;
    const part = text.slice(at, end);
    const eq = part.indexOf('=');
    if (eq < 0) {
      const word = part.trim();
      if (word !== '') {
        if (o.label) throw new Error('repeated label');
        if (o.reasons || o.assessment) throw new Error('label after a parameter');
        o.label = enumWord(word, LABELS, 'label');
      }
    } else if (parameter(o, part.slice(0, eq), part.slice(eq + 1), text.slice(at + eq + 1))) {
      break;
    }
    at = end + 1;
  }
  if (!o.label && !o.reasons && o.accountId === undefined) throw new Error('nothing to send');
  for (const [a, b] of CONTRADICTIONS) {
    if (o.reasons?.includes(a) && o.reasons.includes(b)) throw new Error(`${a} contradicts ${b}`);
  }
  return o;
}

/** The annotate body, fields in Google's order, absent ones left out. */
function body(o) {
  const parts = [];
  if (o.label) parts.push(`"annotation":"${o.label}"`);
  if (o.reasons) parts.push(`"reasons":["${o.reasons.join('","')}"]`);
  if (o.accountId !== undefined) parts.push(`"accountId":${JSON.stringify(o.accountId)}`);
  return `{${parts.join(',')}}`;
}

/** Served from a cache: CF-Cache-Status not known fresh, or Age other than 0. */
function fromCache(headers) {
  const status = headers.get('cf-cache-status')?.trim();
  if (status && !(ENUM_WORD.test(status) && FRESH.has(status.toUpperCase()))) return true;
  const age = headers.get('age')?.trim();
  return age !== undefined && (age === '' || /[^0]/.test(age));
}

/**
 * The origin's response without the outcome header: status, text, streamed
 * body, socket. A Response as the init copies all of them (and the headers,
 * editable) in one native call, cheaper than an init object read property by
 * property; it does not check the text, so a text no Response may carry
 * takes the init object, and none.
 */
function withoutOutcome(upstream) {
  let response;
  if (STATUS_TEXT.test(upstream.statusText)) {
    response = new Response(upstream.body, upstream);
  } else {
    const init = { status: upstream.status, statusText: '', headers: upstream.headers };
    if (upstream.status === 101) init.webSocket = upstream.webSocket;
    response = new Response(upstream.body, init);
  }
  response.headers.delete(OUTCOME);
  return response;
}

// ---------------------------------------------------------------------------
// Annotation phase

/**
 * True unless this key was sent within the window (and records it). Keys
 * go in in time order, so when the memory is full the oldest evicted is an
 * expired one if any is: expired keys need no sweep of their own.
 */
function firstSend(key, now) {
  const at = recent.get(key);
  if (at !== undefined) {
    if (now - at < RECENT_MS) return false;
    recent.delete(key);
  }
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value);
  recent.set(key, now);
  return true;
}

function annotateUrl(env, id) {
  if (apiEnv !== env) {
    apiEnv = env;
    apiPrefix = `${env.RECAPTCHA_API_BASE}/v1/projects/${encodeURIComponent(env.RECAPTCHA_PROJECT_ID)}/assessments/`;
    apiSuffix = `:annotate?key=${encodeURIComponent(env.RECAPTCHA_API_KEY)}`;
  }
  return apiPrefix + id + apiSuffix;
}

/**
 * One attempt, the line logged as an object (Workers Logs indexes its
 * fields). The answer is read to its end inside waitUntil: a cancelled body
 * does not give the connection back for the next call. The runtime's timer
 * bounds the call and the read; no cheaper bound holds, since a timer shared
 * between requests belongs to the one that set it.
 */
async function deliver(url, id, o, text, key, started) {
  const line = { level: 'info', event: 'annotation', assessment: id, label: o.label, reasons: o.reasons ?? [], result: 'delivered', status: undefined, attempts: 1, ms: 0, mode: 'direct' };
  try {
    const r = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: text, redirect: 'manual', signal: AbortSignal.timeout(ATTEMPT_MS) });
    await r.arrayBuffer();
    line.status = r.status;
    if (r.status < 200 || r.status > 299) {
      line.level = 'warn';
      // One attempt only: what the worker would retry is given up on here.
      line.result = RETRYABLE.has(r.status) ? 'gave_up' : 'rejected';
      if (r.status >= 300 && r.status < 400) line.error = { status: 'REDIRECT_NOT_FOLLOWED' };
    }
  } catch (e) {
    Object.assign(line, { level: 'warn', result: 'gave_up', network_error: String(e) });
  }
  line.ms = Date.now() - started;
  if (line.label === undefined) delete line.label; // absent fields are left out, as the worker's
  if (line.status === undefined) delete line.status;
  if (line.result === 'gave_up') recent.delete(key); // an identical outcome may try again
  if (line.level === 'info') console.log(line);
  else console.warn(line);
}

/** The outcome of a fresh response, annotated after the response, or the line why not. */
function annotate(value, upstream, id, env, ctx) {
  if (fromCache(upstream.headers)) {
    console.warn({ level: 'warn', event: 'outcome_from_cache' });
    return;
  }
  let o;
  let text;
  try {
    o = parseOutcome(value);
    text = body(o);
    if (tooLong(text)) throw new Error('annotate body too long');
  } catch (e) {
    console.warn({ level: 'warn', event: 'outcome_rejected', error: e.message });
    return;
  }
  const target = o.assessment ?? id;
  if (!target) {
    console.warn({ level: 'warn', event: 'outcome_dropped', reason: 'no_assessment_id' });
    return;
  }
  const key = `${target} ${text}`;
  const started = Date.now();
  if (!firstSend(key, started)) {
    console.log({ level: 'info', event: 'annotation_suppressed', assessment: target });
    return;
  }
  ctx.waitUntil(deliver(annotateUrl(env, target), target, o, text, key, started));
}

export default {
  async fetch(request, env, ctx) {
    nonce ??= Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    const incoming = request.headers;
    const loop = incoming.get(LOOP);
    if (loop !== null && loops(loop)) return loopDetected();
    const id = requestId(incoming.get(TOKEN), incoming.get('cookie'));
    const url = request.url;
    const target = env.ORIGIN_URL + url.slice(url.indexOf('/', url.indexOf('//') + 2));
    let upstream;
    try {
      upstream = await fetch(target, { method: request.method, headers: originHeaders(incoming, id), body: request.body, cf: request.cf, redirect: 'manual' });
    } catch (e) {
      console.error({ level: 'error', event: 'origin_unreachable', via: 'origin', error: String(e) });
      return new Response('Bad gateway: origin unreachable\n', { status: 502, headers: TEXT });
    }
    const status = upstream.status;
    if (status !== 101 && (status < 200 || status > 599)) {
      console.error({ level: 'error', event: 'origin_invalid_status', status });
      return new Response('Bad gateway: invalid response from origin\n', { status: 502, headers: TEXT });
    }
    const value = upstream.headers.get(OUTCOME);
    if (value === null) return upstream;
    annotate(value, upstream, id, env, ctx);
    return withoutOutcome(upstream);
  },
};

// Reference, not product: the work this worker does on the benchmark's
// requests, written in plain JavaScript with the same runtime calls and the
// same outputs (the origin's request headers, the client's response, the
// annotate call and its log line). Beside this worker in bench/run.mjs it
// separates the cost of the work itself from the cost of doing it in
// Rust/wasm. It covers what scenarios (a), (b) and (c) exercise only: token
// header and recaptcha-*-e / recaptcha-*-t cookies, the short outcome form
// with a label and reasons, direct mode, one attempt (no retries, no queue,
// no batch endpoint).
// Its own copy of the header names: workerd loads this file alone, so it can import nothing.
const OUTCOME = 'x-recaptcha-outcome';
const TOKEN = 'x-recaptcha-token';
const ID_HEADER = 'x-recaptcha-assessment-id';
const LOOP = 'x-annotate-edge-loop';
const MAX_PASSES = 4;
// The isolate's nonce, made at its first request (no random values in
// global scope): its own request coming back is a loop.
let nonce;
const ID = /^[A-Za-z0-9]{16}$/;
const LABELS = new Set(['LEGITIMATE', 'FRAUDULENT', 'PASSWORD_CORRECT', 'PASSWORD_INCORRECT']);
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const recent = new Map(); // duplicate suppression: key -> time, oldest first
const RECENT_MAX = 4096;
const RECENT_MS = 600_000;

function idOf(token) {
  const i = token?.lastIndexOf(':U=') ?? -1;
  const id = i < 0 ? '' : token.slice(i + 3);
  return ID.test(id) ? id : null;
}

function cookieId(cookie) {
  if (!cookie) return null;
  for (const pair of cookie.split(';')) {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    if (eq < 0 || !name.startsWith('recaptcha-') || !(name.endsWith('-t') || name.endsWith('-e'))) continue;
    let value = pair.slice(eq + 1).trim();
    try { value = decodeURIComponent(value); } catch { continue; }
    const id = idOf(value);
    if (id) return id;
  }
  return null;
}

function parseOutcome(value) {
  const [label, ...params] = value.split(';').map((s) => s.trim());
  if (!LABELS.has(label)) return null;
  const annotation = { annotation: label };
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k === 'reasons') annotation.reasons = v.split(',').map((s) => s.trim());
  }
  return annotation;
}

function firstSend(key, now) {
  const seen = recent.get(key);
  if (seen !== undefined && now - seen < RECENT_MS) return false;
  recent.delete(key);
  recent.set(key, now);
  if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value);
  return true;
}

export default {
  async fetch(request, env, ctx) {
    nonce ??= [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
    const incoming = request.headers;
    const passes = incoming.get(LOOP)?.split(',').map((v) => v.trim()).filter(Boolean);
    if (passes && (passes.includes(nonce) || passes.length >= MAX_PASSES)) {
      return new Response('Loop detected\n', { status: 508 });
    }
    const id = idOf(incoming.get(TOKEN)) ?? cookieId(incoming.get('cookie'));
    const headers = new Headers(incoming);
    headers.delete(OUTCOME);
    headers.delete(ID_HEADER);
    if (id) headers.set(ID_HEADER, id);
    headers.append(LOOP, nonce);
    const url = request.url;
    const target = env.ORIGIN_URL + url.slice(url.indexOf('/', 8));
    let upstream;
    try {
      upstream = await fetch(target, { method: request.method, headers, body: request.body, cf: request.cf, redirect: 'manual' });
    } catch (e) {
      console.error(JSON.stringify({ level: 'error', event: 'origin_unreachable', error: String(e) }));
      return new Response('Bad gateway: origin unreachable\n', { status: 502 });
    }
    const value = upstream.headers.get(OUTCOME);
    if (value === null) return upstream;
    const out = new Headers(upstream.headers);
    out.delete(OUTCOME);
    const response = new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
    const annotation = parseOutcome(value);
    const body = annotation && JSON.stringify(annotation);
    const started = Date.now();
    if (id && body && firstSend(`${id} ${body}`, started)) {
      const call = `${env.RECAPTCHA_API_BASE}/v1/projects/${encodeURIComponent(env.RECAPTCHA_PROJECT_ID)}/assessments/${id}:annotate?key=${encodeURIComponent(env.RECAPTCHA_API_KEY)}`;
      ctx.waitUntil(fetch(call, { method: 'POST', headers: JSON_HEADERS, body, signal: AbortSignal.timeout(10_000) }).then(
        (r) => console.log(JSON.stringify({ level: 'info', event: 'annotation', assessment: id, label: annotation.annotation, reasons: annotation.reasons ?? [], result: r.ok ? 'delivered' : 'rejected', status: r.status, attempts: 1, ms: Date.now() - started, mode: 'direct' })),
        (e) => console.warn(JSON.stringify({ level: 'warn', event: 'annotation', assessment: id, result: 'gave_up', network_error: String(e) })),
      ));
    }
    return response;
  },
};

// The demo page. It stands in for reCAPTCHA's WAF JavaScript (fake tokens),
// talks to the shop's origin through the worker and the WAF worker, and
// shows, per assessment ID, what the WAF's assessment said and which
// annotations went back to "Google" (the local stand-in), and what reached
// this browser.

// Its own copy of local/origin.mjs's OUTCOME: the browser loads only www/.
const OUTCOME_HEADER = 'x-recaptcha-outcome';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const $ = (id) => document.getElementById(id);

/** A random 16-character assessment ID, like the ones after `:U=`. */
function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join('');
}

/** A fake WAF token: base64url noise, then `:U=` and the ID. */
function fakeToken(id) {
  const noise = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(48))))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${noise}:U=${id}`;
}

// The session token, as enterprise.js?waf=session would set it.
const sessionId = randomId();
document.cookie = `recaptcha-cf-t=${encodeURIComponent(fakeToken(sessionId))}; path=/; SameSite=Lax`;
$('session-id').textContent = sessionId;

let lastOrder = null;

/** Tells the stand-in what a real token would carry: its action, and the score it earns. */
async function steer(assessment, action, score) {
  await fetch('/demo/steer', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ assessment, action, score }),
  });
}

/** Sends one protected action with a fresh action token; shows the headers received. */
async function action(path, body, name, score = 0.9) {
  const id = randomId();
  await steer(id, name, score);
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-recaptcha-token': fakeToken(id) },
    body: JSON.stringify(body),
  });
  showHeaders(path, res);
  // A chosen failure applies to one annotation: show the select as used up.
  $('fail-mode').value = '';
  // The WAF's block is a 403 with an empty body: the shop never saw the request.
  return { id, res, data: res.status === 403 ? null : await res.json() };
}

/** Shows `text` then the assessment ID in `out`, and keeps the ID for the tests. */
function result(out, text, id) {
  out.innerHTML = '';
  out.append(text, Object.assign(document.createElement('code'), { className: 'id', textContent: id }));
  out.dataset.assessment = id;
}

function showHeaders(path, res) {
  const lines = [`HTTP ${res.status} (${path})`];
  if (res.type === 'opaqueredirect') lines[0] = `a redirect (${path}): the browser keeps its status and headers from the page`;
  res.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  $('last-headers').textContent = lines.join('\n');
  const leaked = res.headers.has(OUTCOME_HEADER);
  const verdict = $('outcome-verdict');
  verdict.textContent = leaked
    ? `✗ X-Recaptcha-Outcome reached the browser: ${res.headers.get(OUTCOME_HEADER)}`
    : '✓ No X-Recaptcha-Outcome header reached this browser: the worker removed it.';
  verdict.className = `verdict ${leaked ? 'bad' : 'ok'}`;
  verdict.dataset.leaked = String(leaked);
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const { id, data } = await action('/login', { email: $('email').value, password: $('password').value }, 'login');
  result($('login-result'), `${data.message} Assessment ID of this sign-in: `, id);
});

// A form post as a browser sends it, to a backend that says nothing: the
// worker's outcome rules read its answer. A redirect is not followed (the
// page sees only that there was one).
$('rules-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const id = randomId();
  await steer(id, 'login', 0.9);
  const res = await fetch('/account/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-recaptcha-token': fakeToken(id) },
    body: new URLSearchParams({ username: $('rules-username').value, password: $('rules-password').value }),
    redirect: 'manual',
  });
  showHeaders('/account/login', res);
  $('fail-mode').value = '';
  const text = res.type === 'opaqueredirect'
    ? 'Redirected to the account: signed in, no outcome header sent. Assessment ID: '
    : res.headers.has('x-login-failed')
      ? 'The form came back with X-Login-Failed: wrong password, no outcome header sent. Assessment ID: '
      : `HTTP ${res.status}. Assessment ID: `;
  result($('rules-result'), text, id);
});

$('bot-button').addEventListener('click', async () => {
  const { id, res } = await action('/login', { email: $('email').value, password: 'hunter2' }, 'login', 0.1);
  result($('bot-result'), res.status === 403
    ? 'Blocked by the WAF (HTTP 403): the shop never saw this sign-in, so nothing is annotated. Assessment ID: '
    : `Not blocked (HTTP ${res.status}). Assessment ID: `, id);
});

$('checkout-button').addEventListener('click', async () => {
  const { id, data } = await action('/checkout', { item: 'sencha-100g', amount: 12.5, currency: 'EUR' }, 'checkout');
  lastOrder = data.order;
  result($('checkout-result'), `Order ${data.order} paid. Assessment ID: `, id);
  $('chargeback-button').disabled = false;
});

$('chargeback-button').addEventListener('click', async () => {
  // A late event: no new token; the origin names the order's assessment itself.
  const res = await fetch(`/orders/${encodeURIComponent(lastOrder)}/chargeback`, { method: 'POST' });
  showHeaders('chargeback', res);
  const data = await res.json();
  $('chargeback-result').textContent = `${data.message}`;
  $('chargeback-button').disabled = true;
});

$('fail-mode').addEventListener('change', async (e) => {
  await fetch('/demo/api-fail', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: e.target.value }) });
});

// The live panel: one row per assessment ID, from the stand-in's record of
// the assessments the WAF created and the annotate calls (via the origin).
const rows = new Map(); // assessment ID -> its <tr>
const seen = { assessments: 0, calls: 0 };

async function poll() {
  try {
    // Assessments first: an annotation is always for an assessment made before it.
    for (const a of await fetchNew('/demo/assessments', 'assessments')) showAssessment(a);
    for (const call of await fetchNew('/demo/api-calls', 'calls')) showCall(call);
  } catch { /* the stack is restarting; try again */ }
  setTimeout(poll, 600);
}

async function fetchNew(path, kind) {
  const res = await fetch(`${path}?since=${seen[kind]}`, { cache: 'no-store' });
  const items = await res.json();
  seen[kind] += items.length;
  return items;
}

function rowFor(id, at) {
  if (rows.has(id)) return rows.get(id);
  const tbody = $('calls').tBodies[0];
  if (!rows.size) tbody.innerHTML = '';
  const tr = document.createElement('tr');
  tr.dataset.assessment = id;
  for (const cls of ['time', 'id', 'action', 'score', 'policy', 'annotations']) {
    tr.append(Object.assign(document.createElement('td'), { className: cls, textContent: '—' }));
  }
  tr.querySelector('.time').textContent = new Date(at).toLocaleTimeString();
  tr.querySelector('.id').textContent = id;
  tr.querySelector('.policy').textContent = 'not assessed';
  tr.querySelector('.annotations').textContent = 'none yet';
  tbody.prepend(tr);
  rows.set(id, tr);
  return tr;
}

function showAssessment(a) {
  const tr = rowFor(a.id, a.at);
  const blocked = a.actions.some((x) => x.block);
  tr.dataset.policy = blocked ? 'block' : 'allow';
  tr.querySelector('.action').textContent = a.action || '—';
  tr.querySelector('.score').textContent = a.score.toFixed(1);
  const policy = tr.querySelector('.policy');
  policy.textContent = blocked ? 'block (403)' : 'allow';
  policy.title = a.policy ? `policy ${a.policy}` : 'no policy matched';
  policy.className = `policy policy-${tr.dataset.policy}`;
  if (blocked) tr.querySelector('.annotations').textContent = 'none: blocked, the shop never saw the request';
}

function showCall(call) {
  let body = {};
  try { body = JSON.parse(call.body); } catch { /* shown raw below */ }
  const cell = rowFor(call.assessment, call.at).querySelector('.annotations');
  if (!cell.querySelector('.call')) cell.textContent = '';
  const div = Object.assign(document.createElement('div'), { className: 'call' });
  div.dataset.status = call.status;
  const part = (text, cls) => div.append(Object.assign(document.createElement('span'), { className: cls, textContent: text }), ' ');
  part(body.annotation ?? '—', `label label-${body.annotation ?? 'none'}`);
  part((body.reasons ?? []).join(', ') || '—', 'reasons');
  part(call.body, 'body');
  const retry = [408, 429, 500, 502, 503, 504].includes(call.status);
  const answer = call.status === 200 ? '200 accepted'
    : `${call.status} ${call.response?.error?.status ?? ''}${retry ? ' (worker retries)' : ' (final)'}`;
  part(answer, `status ${call.status === 200 ? 'status-ok' : retry ? 'status-retry' : 'status-final'}`);
  part(call.rule ? `rule ${call.rule}` : 'the origin\'s header', `source${call.rule ? ' source-rule' : ''}`);
  if (call.rule) div.dataset.rule = call.rule;
  cell.append(div);
}

poll();

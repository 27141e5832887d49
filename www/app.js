// The demo page. It stands in for reCAPTCHA's WAF JavaScript (fake tokens),
// talks to the shop's origin through the worker, and shows what reached
// "Google" (the local stand-in) and what reached this browser.

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

/** Sends one protected action with a fresh action token; shows the headers received. */
async function action(path, body) {
  const id = randomId();
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-recaptcha-token': fakeToken(id) },
    body: JSON.stringify(body),
  });
  showHeaders(path, res);
  // A chosen failure applies to one annotation: show the select as used up.
  $('fail-mode').value = '';
  return { id, res, data: await res.json() };
}

function showHeaders(path, res) {
  const lines = [`HTTP ${res.status} (${path})`];
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
  const { id, data } = await action('/login', { email: $('email').value, password: $('password').value });
  const out = $('login-result');
  out.innerHTML = '';
  out.append(`${data.message} Assessment ID of this sign-in: `, Object.assign(document.createElement('code'), { className: 'id', textContent: id }));
  out.dataset.assessment = id;
});

$('checkout-button').addEventListener('click', async () => {
  const { id, data } = await action('/checkout', { item: 'sencha-100g', amount: 12.5, currency: 'EUR' });
  lastOrder = data.order;
  const out = $('checkout-result');
  out.innerHTML = '';
  out.append(`Order ${data.order} paid. Assessment ID: `, Object.assign(document.createElement('code'), { className: 'id', textContent: id }));
  out.dataset.assessment = id;
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

// The live panel: poll the stand-in's record of annotate calls (via the origin).
let shown = 0;
async function poll() {
  try {
    const res = await fetch(`/demo/api-calls?since=${shown}`, { cache: 'no-store' });
    const calls = await res.json();
    const tbody = $('calls').tBodies[0];
    for (const call of calls) {
      if (shown === 0) tbody.innerHTML = '';
      shown += 1;
      tbody.prepend(row(call));
    }
  } catch { /* the stack is restarting; try again */ }
  setTimeout(poll, 600);
}

function row(call) {
  let body = {};
  try { body = JSON.parse(call.body); } catch { /* shown raw below */ }
  const tr = document.createElement('tr');
  tr.dataset.assessment = call.assessment;
  tr.dataset.status = call.status;
  const cell = (text, cls) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.append(td);
  };
  cell(new Date(call.at).toLocaleTimeString());
  cell(call.assessment);
  cell(body.annotation ?? '—', `label label-${body.annotation ?? 'none'}`);
  cell((body.reasons ?? []).join(', ') || '—', 'reasons');
  cell(call.body, 'body');
  const retry = [408, 429, 500, 502, 503, 504].includes(call.status);
  const answer = call.status === 200 ? '200 accepted'
    : `${call.status} ${call.response?.error?.status ?? ''}${retry ? ' (worker retries)' : ' (final)'}`;
  cell(answer, `status ${call.status === 200 ? 'status-ok' : retry ? 'status-retry' : 'status-final'}`);
  return tr;
}

poll();

// Sign-in endpoints that send no outcome header at all, shaped as the
// README's ready-made outcome rules expect (the worker's OUTCOME_RULES turn
// their answers into annotations):
//
//   POST /api/session         JSON {"email","password"}: 200 {"ok":true} or
//                             401 {"error":"invalid credentials"}
//   POST /account/login       form username, password: a wrong password
//                             re-renders the form (200, X-Login-Failed: 1);
//                             a right one is a 303 to /account, or to
//                             /account/2fa for an account with two factors
//   POST /account/2fa/send    a code is sent: 200
//   POST /account/2fa/verify  form code: 303 to /account, or 401
//
// Accounts: ann@shop.example (password only), bob@shop.example (and a code);
// the password is DEMO_PASSWORD, the code TWO_FACTOR_CODE.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TWO_FACTOR_CODE = '123456';

/** The README's ready-made rule sets ("Outcome rules"), by their heading. */
export function readmeRuleSets() {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');
  const readme = fs.readFileSync(file, 'utf8');
  const section = readme.slice(readme.indexOf('\n## Outcome rules'), readme.indexOf('\n## Queue mode'));
  const sets = {};
  for (const [, heading, json] of section.matchAll(/\n### ([^\n]+)\n+```json\n([\s\S]*?)\n```/g)) {
    sets[heading] = JSON.parse(json);
  }
  return sets;
}
const TWO_FACTOR = new Set(['bob@shop.example']);

const page = (title, extra = '') =>
  `<!doctype html><title>${title}</title><form method="post">${extra}<button>Go</button></form>\n`;

/** Answers `req` if it is one of the routes above; false otherwise. */
export function signIn(req, res, url, body, password) {
  const html = (status, text, headers = {}) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(text);
  };
  const redirect = (to) => {
    res.writeHead(303, { location: to, 'cache-control': 'no-store' });
    res.end();
  };
  if (req.method !== 'POST') return false;
  const form = () => new URLSearchParams(body.toString('utf8'));
  switch (url.pathname) {
    case '/api/session': {
      let sent = {};
      try { sent = JSON.parse(body.toString('utf8') || '{}'); } catch { /* a wrong password */ }
      const ok = sent.password === password;
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(ok ? { ok: true } : { error: 'invalid credentials' }));
      return true;
    }
    case '/account/login': {
      const f = form();
      if (f.get('password') !== password) {
        html(200, page('Sign in', '<p>Wrong password.</p>'), { 'x-login-failed': '1' });
      } else {
        redirect(TWO_FACTOR.has((f.get('username') ?? '').toLowerCase()) ? '/account/2fa' : '/account');
      }
      return true;
    }
    case '/account/2fa/send':
      html(200, page('Enter the code we sent'));
      return true;
    case '/account/2fa/verify':
      if (form().get('code') === TWO_FACTOR_CODE) redirect('/account');
      else html(401, page('Wrong code'));
      return true;
    default:
      return false;
  }
}

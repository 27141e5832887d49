// A local origin behind the worker: the site whose backend knows outcomes.
//
//   node local/origin.mjs [--port 8080] [--www www]
//
// createOrigin({ httpOptions }) passes node:http server options through (the
// bad-input tests raise maxHeaderSize to the platform's 128 KB of headers, and
// use insecureHTTPParser to see control characters the worker forwards).
//
// Routes:
//   POST /login        form or JSON {"password"}: "correct horse" is right.
//                      Sets X-Recaptcha-Outcome the way a real backend would.
//   ANY  /echo         what the origin received: method, path, headers, body hash
//   ANY  /respond, /respond/*
//                      a response shaped by the query: status, type (its
//                      content type, text/plain by default), outcome (header
//                      value), location, cookie and header=Name:value (both
//                      repeatable), body, repeat; and for fault tests:
//                      delay=ms     wait before answering (a slow origin)
//                      bytes=n      a body of n random bytes, streamed, its
//                                   hash in X-Body-Sha256
//                      reset=before the connection is reset (RST) unanswered
//                      reset=mid    headers and half the body (of a stated
//                                   Content-Length), then a reset
//                      raw=b64url   these bytes as the whole response, then
//                                   close (what no header API lets a backend
//                                   send: control characters, invalid UTF-8)
//   POST /api/session, /account/login, /account/2fa/send, /account/2fa/verify
//                      sign-ins without an outcome header (local/sign-in.mjs)
//   POST /checkout     pays an order; annotates it with a JSON-form outcome
//   POST /orders/:id/chargeback
//                      a late event for the order's assessment: sent by this
//                      backend to the worker's batch endpoint when it has one
//                      (useBatchEndpoint), else as an outcome with `assessment`
//   GET  /demo/api-calls?since=n (each with the outcome rule that made it, if
//                      given rulesFired), POST /demo/api-fail {"mode":"503"|"429"|"400"|""}
//   GET  /demo/assessments?since=n, POST /demo/steer {"assessment","action","score"}
//                      the demo panel's view of the Google stand-in (when given one)
//   GET  /ws           a WebSocket upgrade (101 with an outcome header), then one
//                      text frame "hello"
//   GET  /*            files from www/ (the demo site), if present

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { arg, isMain, lifecycle } from './serve.mjs';
import { signIn } from './sign-in.mjs';

export const DEMO_PASSWORD = 'correct horse';
/** The outcome header (the worker's default OUTCOME_HEADER), lowercase as node and fetch name headers. */
export const OUTCOME = 'x-recaptcha-outcome';
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

export function createOrigin({ www, standIn, httpOptions = {}, rulesFired } = {}) {
  const orders = new Map(); // order id -> assessment ID seen at checkout
  let batchEndpoint = null; // { url, token } of the worker's late-annotation endpoint
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const received = []; // the request target of every request, in order of arrival
  const server = http.createServer(httpOptions, async (req, res) => {
    received.push(req.url);
    const url = new URL(req.url, 'http://origin');
    const body = await readBody(req);

    if (url.pathname === '/echo') {
      return json(res, 200, {
        method: req.method,
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        bodyLength: body.length,
        bodySha256: crypto.createHash('sha256').update(body).digest('hex'),
      });
    }

    if (url.pathname === '/respond' || url.pathname.startsWith('/respond/')) {
      const q = url.searchParams;
      if (q.has('delay')) await new Promise((r) => setTimeout(r, Number(q.get('delay'))));
      if (q.get('reset') === 'before') return req.socket.resetAndDestroy();
      if (q.has('raw')) return req.socket.end(Buffer.from(q.get('raw'), 'base64url'));
      const headers = [['content-type', q.get('type') ?? 'text/plain']];
      if (q.has('outcome')) headers.push([OUTCOME, q.get('outcome')]);
      if (q.has('location')) headers.push(['location', q.get('location')]);
      for (const c of q.getAll('cookie')) headers.push(['set-cookie', c]);
      for (const h of q.getAll('header')) {
        const i = h.indexOf(':');
        headers.push([h.slice(0, i).trim(), h.slice(i + 1).trim()]);
      }
      let payload = Buffer.from((q.get('body') ?? '').repeat(Number(q.get('repeat') ?? 1)));
      if (q.has('bytes')) {
        payload = crypto.randomBytes(Number(q.get('bytes')));
        headers.push(['x-body-sha256', crypto.createHash('sha256').update(payload).digest('hex')]);
      }
      if (q.get('reset') === 'mid') {
        headers.push(['content-length', String(payload.length)]);
        res.writeHead(Number(q.get('status') ?? 200), headers.flat());
        // Flushed before the reset, so the worker has the head and half the body.
        return res.write(payload.subarray(0, payload.length >> 1), () => setTimeout(() => req.socket.resetAndDestroy(), 50));
      }
      res.writeHead(Number(q.get('status') ?? 200), headers.flat());
      // Streamed in 64 KiB writes, as a real backend would send a large body.
      for (let i = 0; i < payload.length; i += 65536) {
        if (!res.write(payload.subarray(i, i + 65536))) {
          await new Promise((r) => {
            const done = () => { res.off('drain', done); res.off('close', done); r(); };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      }
      return res.end();
    }

    // Sign-ins that send no outcome header: the worker's outcome rules read them.
    if (signIn(req, res, url, body, DEMO_PASSWORD)) return;

    if (url.pathname === '/login' && req.method === 'POST') {
      const text = body.toString('utf8');
      const password = (req.headers['content-type'] ?? '').includes('json')
        ? (JSON.parse(text || '{}').password ?? '')
        : new URLSearchParams(text).get('password') ?? '';
      const ok = password === DEMO_PASSWORD;
      return json(res, ok ? 200 : 401, {
        ok,
        message: ok ? 'Welcome back.' : 'Wrong password.',
        assessmentIdSeen: req.headers['x-recaptcha-assessment-id'] ?? null,
      }, { [OUTCOME]: ok ? 'LEGITIMATE; reasons=CORRECT_PASSWORD' : 'FRAUDULENT; reasons=INCORRECT_PASSWORD' });
    }

    if (url.pathname === '/checkout' && req.method === 'POST') {
      const order = `A-${1000 + orders.size}`;
      const assessment = req.headers['x-recaptcha-assessment-id'] ?? null;
      orders.set(order, assessment);
      const outcome = {
        annotation: 'LEGITIMATE',
        reasons: ['TRANSACTION_ACCEPTED'],
        transactionEvent: { eventType: 'PAYMENT_CAPTURE', value: 12.5, eventTime: new Date().toISOString() },
      };
      return json(res, 200, { order, message: 'Paid.' }, { [OUTCOME]: JSON.stringify(outcome) });
    }

    const chargeback = /^\/orders\/([^/]+)\/chargeback$/.exec(url.pathname);
    if (chargeback && req.method === 'POST') {
      const order = decodeURIComponent(chargeback[1]);
      const assessment = orders.get(order);
      if (!assessment) return json(res, 404, { message: `No order ${order} with a known assessment.` });
      const outcome = {
        annotation: 'FRAUDULENT',
        reasons: ['CHARGEBACK_FRAUD'],
        transactionEvent: { eventType: 'CHARGEBACK', reason: '10.4', value: 12.5, eventTime: new Date().toISOString() },
        assessment,
      };
      if (batchEndpoint) {
        // What a nightly job would do: a server-to-server call, bearer token, no API key.
        const r = await fetch(batchEndpoint.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${batchEndpoint.token}` },
          body: JSON.stringify([outcome]),
        });
        const receipt = await r.json();
        return json(res, r.status === 202 ? 200 : 502, {
          message: `Chargeback on ${order} sent to the worker's batch endpoint: HTTP ${r.status}, ${JSON.stringify(receipt)}. Its assessment ${assessment} is annotated FRAUDULENT.`,
        });
      }
      return json(res, 200, { message: `Chargeback on ${order} recorded; its assessment ${assessment} is annotated FRAUDULENT.` },
        { [OUTCOME]: JSON.stringify(outcome) });
    }

    if (standIn && url.pathname === '/demo/api-calls') {
      // With the outcome rule that made each call's outcome, when one did.
      const calls = standIn.calls.slice(Number(url.searchParams.get('since') ?? 0));
      return json(res, 200, calls.map((c) => ({ ...c, rule: rulesFired?.get(c.assessment) })));
    }
    if (standIn && url.pathname === '/demo/assessments') {
      const since = Number(url.searchParams.get('since') ?? 0);
      return json(res, 200, standIn.assessments.slice(since).map(({ event, ...a }) => ({ ...a, token: Boolean(event.token) })));
    }
    if (standIn && url.pathname === '/demo/steer' && req.method === 'POST') {
      // The page's fake tokens carry no action or score: it tells the stand-in.
      const { assessment, action, score } = JSON.parse(body.toString('utf8') || '{}');
      standIn.steer(assessment, { action, score });
      return json(res, 200, {});
    }
    if (standIn && url.pathname === '/demo/api-fail' && req.method === 'POST') {
      const { mode = '' } = JSON.parse(body.toString('utf8') || '{}');
      const plans = { 503: [503, 2], 429: [429, 1, 1], 400: [400, 1], '': [200, 0] };
      const plan = plans[mode];
      if (!plan) return json(res, 400, { message: `unknown mode ${mode}` });
      standIn.failNext(...plan);
      return json(res, 200, { mode });
    }

    if (www && req.method === 'GET') {
      const rel = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const file = path.resolve(www, rel);
      if (file.startsWith(path.resolve(www) + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
        res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
        return fs.createReadStream(file).pipe(res);
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });

  // Just enough WebSocket to prove upgrades pass through the worker.
  server.on('upgrade', (req, socket) => {
    const key = req.headers['sec-websocket-key'];
    if (!key || new URL(req.url, 'http://origin').pathname !== '/ws') return socket.destroy();
    const accept = crypto.createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${accept}`, `${OUTCOME}: LEGITIMATE`, '', ''].join('\r\n'));
    socket.write(Buffer.from([0x81, 5, ...Buffer.from('hello')]));
    socket.on('error', () => {});
    // The server's sockets are half-open by default: close ours when the peer
    // closes, or close() would wait for this socket forever.
    socket.on('end', () => socket.end());
  });

  return {
    server,
    received,
    /** Send late annotations to the worker's batch endpoint from now on. */
    useBatchEndpoint(url, token) {
      batchEndpoint = { url, token };
    },
    ...lifecycle(server),
  };
}

if (isMain(import.meta.url)) {
  const origin = createOrigin({ www: arg('www', undefined) });
  const port = await origin.listen(Number(arg('port', 8080)));
  console.log(`[origin] listening on http://127.0.0.1:${port}`);
}

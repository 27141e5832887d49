// `request.cf` travels: what Cloudflare knows about the client's request
// (country, ASN, TLS, bot management with its JA3 hash) reaches the Worker
// bound as UPSTREAM, as Google's reCAPTCHA WAF worker reads it, and goes
// with the origin fetch, as `fetch(request)` would send it.
//
// Under `wrangler dev` the cf object is the local mock (about 20 keys). An
// origin fetch's cf never reaches a Node origin through `wrangler dev`, so
// the origin fetch is checked in `workerd serve` with a config of its own,
// whose cfBlobHeader option reads a request's cf from a header and writes an
// outgoing request's cf into one: the only place the runtime shows it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { COMPATIBILITY_DATE, freePort, ROOT, startWorker } from '../../local/worker.mjs';
import { sleep } from './figures.mjs';

const ECHO = path.join(ROOT, 'tests', 'integration', 'cf-echo.js');

/** What the echo Worker saw of one GET. */
async function seen(url) {
  const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  return res.json();
}

test('a Worker bound as UPSTREAM sees the cf object the worker was called with', async () => {
  const alone = await startWorker({ main: ECHO });
  let direct;
  try {
    direct = (await seen(alone.url)).cf;
  } finally {
    await alone.stop();
  }
  assert.ok(direct && Object.keys(direct).length > 10, `wrangler dev gave no cf mock: ${JSON.stringify(direct)}`);
  const w = await startWorker({
    vars: { RECAPTCHA_PROJECT_ID: 'p' },
    config: { services: [{ binding: 'UPSTREAM', service: 'cf-echo' }] },
    extraWorkers: [{ name: 'cf-echo', main: ECHO }],
  });
  try {
    const behind = await seen(w.url);
    assert.ok(behind.cf, 'the bound Worker got no cf');
    assert.deepEqual(Object.keys(behind.cf).sort(), Object.keys(direct).sort());
    assert.deepEqual(behind.cf, direct);
    assert.ok(behind.cf.botManagement?.ja3Hash, 'bot management reached the bound Worker');
    console.log(`figure ${JSON.stringify({ cf_keys: { direct: Object.keys(direct).length, upstream: Object.keys(behind.cf).length } })}`);
  } finally {
    await w.stop();
  }
});

/** workerd serve: the built worker behind a socket that reads cf from `cf-blob`, its fetches to `originPort` writing cf into `cf-blob`. */
async function serveWorker(dir, originPort) {
  const port = await freePort();
  for (const f of ['index.js', 'index_bg.wasm']) fs.copyFileSync(path.join(ROOT, 'build', f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "origin", external = (address = "127.0.0.1:${originPort}", http = (cfBlobHeader = "cf-blob"))),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (cfBlobHeader = "cf-blob"), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js"), (name = "index_bg.wasm", wasm = embed "index_bg.wasm")],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  globalOutbound = "origin",
  bindings = [(name = "ORIGIN_URL", text = "http://127.0.0.1:${originPort}"), (name = "RECAPTCHA_PROJECT_ID", text = "p")],
);
`);
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'workerd'), ['serve', path.join(dir, 'config.capnp')], { cwd: dir, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return { url, stop: () => child.kill('SIGKILL') };
    } catch (e) {
      assert.ok(child.exitCode === null && Date.now() < deadline, `workerd did not start: ${e.message}`);
      await sleep(50);
    }
  }
}

test('the origin fetch carries the cf object the worker was called with', async () => {
  const received = [];
  const origin = http.createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.end('ok\n'));
  });
  await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'annotate-edge-cf-'));
  const worker = await serveWorker(dir, origin.address().port);
  try {
    const cf = {
      country: 'DE', asn: 64500, colo: 'FRA', tlsVersion: 'TLSv1.3', clientTrustScore: 12,
      botManagement: { score: 7, verifiedBot: false, ja3Hash: '25b4882c2bcb50cd6b469ff28c596742', ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1' },
    };
    received.length = 0;
    const res = await fetch(`${worker.url}/page`, { headers: { 'cf-blob': JSON.stringify(cf) } });
    assert.equal(res.status, 200);
    assert.equal(received.length, 1);
    assert.ok(received[0]['cf-blob'], 'the origin fetch carried no cf');
    assert.deepEqual(JSON.parse(received[0]['cf-blob']), cf);
    // A request without cf (none here, always one on Cloudflare) is passed on without.
    received.length = 0;
    assert.equal((await fetch(`${worker.url}/page`)).status, 200);
    assert.equal(received[0]['cf-blob'], undefined);
  } finally {
    worker.stop();
    origin.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

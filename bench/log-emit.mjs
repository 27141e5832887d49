// What one log event costs in workerd's CPU, by how it reaches console.log:
// the JSON line as a string, or the object JSON.parse makes of it (what the
// worker logs, so that Workers Logs indexes its fields); and JSON.parse alone.
// Each in `workerd serve` twice: without a Tail Worker, and with one, which
// makes workerd serialize every console call into the trace, as Cloudflare
// does for Workers Logs and `wrangler tail`. workerd serve also prints each
// call to stdout (in inspect form for an object), which Cloudflare does not.
//
//   node bench/log-emit.mjs [--emits 20000] [--requests 15] [--runs 3]
//
// Cost per emit = (workerd's CPU time over the requests, less the same
// requests emitting nothing) / emits; the median of the runs is printed.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { arg } from '../local/serve.mjs';
import { COMPATIBILITY_DATE, freePort } from '../local/worker.mjs';
import { firstResponse, scratchDir, WORKERD } from './processes.mjs';

const EMITS = Number(arg('emits', 20000));
const REQUESTS = Number(arg('requests', 15));
const RUNS = Number(arg('runs', 3));

// The worker's delivered-annotation event, the line logged most often.
const LINE = '{"level":"info","event":"annotation","assessment":"bc304e08a0000000","label":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"],"result":"delivered","status":200,"attempts":1,"ms":41,"mode":"direct"}';
const EMITTER = `const line = ${JSON.stringify(LINE)};
export default {
  fetch(request) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get('n'));
    let parsed;
    switch (url.searchParams.get('mode')) {
      case 'string': for (let i = 0; i < n; i++) console.log(line); break;
      case 'object': for (let i = 0; i < n; i++) console.log(JSON.parse(line)); break;
      case 'parse': for (let i = 0; i < n; i++) parsed = JSON.parse(line); break;
    }
    return new Response(parsed === null ? 'unreachable' : 'ok');
  },
};
`;

const dir = scratchDir('annotate-log-emit-');
fs.writeFileSync(path.join(dir, 'emit.js'), EMITTER);
fs.writeFileSync(path.join(dir, 'tail.js'), 'export default { tail() {} };\n');

/** workerd serving the emitter, with a Tail Worker or not; returns { url, pid, stop }. */
async function start(withTail) {
  const port = await freePort();
  const config = path.join(dir, `${withTail ? 'tail' : 'plain'}.capnp`);
  const worker = (file) => `(modules = [(name = "${file}", esModule = embed "${file}")], compatibilityDate = "${COMPATIBILITY_DATE}"${withTail && file === 'emit.js' ? ', tails = ["tail"]' : ''})`;
  fs.writeFileSync(config, `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = ${worker('emit.js')}),
    (name = "tail", worker = ${worker('tail.js')}),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
`);
  const child = spawn(WORKERD, ['serve', config], { cwd: dir, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  await firstResponse(`${url}/?mode=none&n=0`, { exited });
  return { url, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout);

/** The process's user + system CPU time, in µs. */
function cpuMicros(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
}

async function cpuOf(server, mode, n) {
  const url = `${server.url}/?mode=${mode}&n=${n}`;
  await (await fetch(url)).text();
  const before = cpuMicros(server.pid);
  for (let i = 0; i < REQUESTS; i++) await (await fetch(url)).text();
  return cpuMicros(server.pid) - before;
}

for (const withTail of [false, true]) {
  const server = await start(withTail);
  try {
    for (const mode of ['string', 'object', 'parse']) {
      const perEmit = [];
      for (let run = 0; run < RUNS; run++) {
        const idle = await cpuOf(server, 'none', 0);
        perEmit.push(((await cpuOf(server, mode, EMITS)) - idle) / (EMITS * REQUESTS));
      }
      perEmit.sort((a, b) => a - b);
      const median = perEmit[Math.floor(perEmit.length / 2)];
      console.log(`${withTail ? 'with a Tail Worker' : 'no Tail Worker    '}  ${mode.padEnd(6)}  ${median.toFixed(2)} µs per emit  (runs: ${perEmit.map((v) => v.toFixed(2)).join(', ')})`);
    }
  } finally {
    server.stop();
  }
}

// What is measured: the contenders, the requests they get, and the workerd
// services that run them. Shared by bench/run.mjs and bench/profile.mjs.

import fs from 'node:fs';
import path from 'node:path';
import { SITE_KEYS } from '../local/waf.mjs';
import { ROOT, workerdService } from './processes.mjs';
import { newServiceAccount } from '../local/google-oauth.mjs';
import { readmeRuleSets } from '../local/sign-in.mjs';

/** The README's three rule sets, then one the (c) rule row fires: a sign-in
 *  whose 200 carries no outcome header. The last rule, so a request is
 *  compared with every rule before it. */
const OUTCOME_RULES = JSON.stringify([
  ...Object.values(readmeRuleSets()).flat(),
  { name: 'bench-sign-in', method: 'GET', path: '/sign-in', status: 200, headers: { 'X-Bench-Id': true }, outcome: 'FRAUDULENT; reasons=INCORRECT_PASSWORD' },
]);

// What (b) and (c) send. Real reCAPTCHA tokens are long; the worker scans
// the whole header / cookie, so the benchmark sends tokens of a real size.
export const TOKEN_BODY = `03AFcWeA${'x7Qz9Lm2Kp4Rt6Vw8Yb1Nd3Fh5Jk'.repeat(12)}`; // 368 characters
const SESSION_ID = 'sess0123456789ab';
export const COOKIE = `_ga=GA1.1.1234567890.1700000000; theme=dark; recaptcha-cf-t=${TOKEN_BODY}:U=${SESSION_ID}; cart=3`;

/** The stand-in's project and key, as this worker and baseline 2 are configured. */
export const API = { project: 'bench', key: 'bench-key' };
/** The service account of the (c) rows that sign their calls: a new key pair per run. */
export const SERVICE_ACCOUNT = newServiceAccount({ clientEmail: 'bench@bench.iam.gserviceaccount.com' });

/**
 * server: which workerd service runs it; mode / path: what bench/load.lua
 * sends; record: match responses with annotate calls; baseline: what its
 * ratios are against; siteHost: requests carry the origin's Host, as a WAF
 * worker on a route gets them (it fetches its request's own URL).
 */
export const CONTENDERS = [
  { key: 'base1', label: 'baseline 1: JS pass-through (lean)', server: 'base1', mode: 'none', path: '/' },
  { key: 'a', label: '(a) this worker, no token', server: 'worker', mode: 'none', path: '/', baseline: 'base1' },
  { key: 'b', label: '(b) this worker, session cookie, no outcome', server: 'worker', mode: 'cookie', path: '/', baseline: 'base1' },
  { key: 'br', label: '(b) the same, with OUTCOME_RULES: no rule matches', server: 'workerRules', mode: 'cookie', path: '/', baseline: 'base1' },
  { key: 'base2', label: 'baseline 2: JS pass-through + side call (leanside)', server: 'base2', mode: 'token', path: '/outcome', record: true },
  { key: 'c', label: '(c) this worker, token + outcome: annotate (API key)', server: 'worker', mode: 'token', path: '/outcome', record: true, baseline: 'base2' },
  { key: 'cr', label: '(c) the same, no header: an outcome rule annotates', server: 'workerRules', mode: 'token', path: '/sign-in', record: true, baseline: 'base2' },
  { key: 'cs', label: '(c) the same, service account, token exchange', server: 'workerExchange', mode: 'token', path: '/outcome', record: true, baseline: 'base2' },
  { key: 'cj', label: '(c) the same, service account, self-signed JWT', server: 'workerJwt', mode: 'token', path: '/outcome', record: true, baseline: 'base2' },
  // The same work in plain JavaScript (bench/workers/same-work.js): what the
  // work itself costs, apart from doing it in Rust/wasm. A reference, not a target.
  { key: 'ja', label: '(a) same work in plain JS, for reference', server: 'samework', mode: 'none', path: '/', baseline: 'base1' },
  { key: 'jb', label: '(b) same work in plain JS, for reference', server: 'samework', mode: 'cookie', path: '/', baseline: 'base1' },
  { key: 'jc', label: '(c) same work in plain JS, for reference', server: 'samework', mode: 'token', path: '/outcome', record: true, baseline: 'base2' },
  // In front of reCAPTCHA WAF (local/waf-worker.js, the double of Google's
  // worker, a createAssessment per request): the WAF alone, as such a site
  // runs today, and this worker handing each request to it through UPSTREAM;
  // a page view (session cookie) and an action whose response is annotated.
  { key: 'base3', label: 'baseline 3: WAF worker alone, session cookie', server: 'waf', mode: 'cookie', path: '/', siteHost: true },
  { key: 'd', label: '(d) this worker → WAF worker, session cookie, no outcome', server: 'chain', mode: 'cookie', path: '/', baseline: 'base3' },
  { key: 'base4', label: 'baseline 4: WAF worker alone, token', server: 'waf', mode: 'token', path: '/outcome', siteHost: true },
  { key: 'e', label: '(e) this worker → WAF worker, token + outcome: annotate', server: 'chain', mode: 'token', path: '/outcome', record: true, baseline: 'base4' },
];
/** Fixed-rate groups: a contender runs at the same rate as its baseline. */
export const GROUPS = [['base1', 'a', 'b', 'br', 'ja', 'jb', 'pa', 'pb'], ['base2', 'c', 'cr', 'cs', 'cj', 'jc', 'pc'], ['base3', 'd'], ['base4', 'e']];

/**
 * The contenders, with the rows of a plain-JS peer when `peer` names one: a
 * third party's Worker doing this worker's job (given with --peer FILE or
 * JS_PEER), run alone on the requests of (a), (b) and (c), after the JS
 * reference's rows. Another correct JS implementation to measure against,
 * so the fastest plain JS is not only the one this project wrote.
 */
export function contendersWith(peer) {
  if (!peer) return CONTENDERS;
  const name = path.basename(peer);
  const rows = [
    { key: 'pa', peer: true, label: `(a) plain-JS peer (${name})`, server: 'peer', mode: 'none', path: '/', baseline: 'base1' },
    { key: 'pb', peer: true, label: `(b) plain-JS peer (${name})`, server: 'peer', mode: 'cookie', path: '/', baseline: 'base1' },
    { key: 'pc', peer: true, label: `(c) plain-JS peer (${name})`, server: 'peer', mode: 'token', path: '/outcome', record: true, baseline: 'base2' },
  ];
  const after = CONTENDERS.findIndex((c) => c.key === 'jc') + 1;
  return [...CONTENDERS.slice(0, after), ...rows, ...CONTENDERS.slice(after)];
}

/**
 * The contenders of a run: all of `all`, or with `only` (keys) those it
 * names plus the baselines their ratios need, in table order; and the
 * fixed-rate groups cut down to them (the peer's rows are in a group only
 * when a peer is given). Throws on a key that names none.
 */
export function select(all, only) {
  const keys = new Set(only ?? all.map((c) => c.key));
  const unknown = [...keys].filter((k) => !all.some((c) => c.key === k));
  if (unknown.length) throw new Error(`--only: no contender ${unknown.join(', ')} (the keys: ${all.map((c) => c.key).join(', ')})`);
  for (const c of all) if (keys.has(c.key) && c.baseline) keys.add(c.baseline);
  const contenders = all.filter((c) => keys.has(c.key));
  const groups = GROUPS.map((g) => g.filter((k) => keys.has(k))).filter((g) => g.length);
  return { contenders, groups };
}

/** The services that run this worker's build (the others are plain JS). */
export const WORKER_SERVERS = new Set(['worker', 'workerRules', 'workerExchange', 'workerJwt', 'chain']);

/** bench/load.lua's environment for one run of contender `c`; originHost: the origin's host:port. */
export function loadEnv(c, { tag, rate = 0, record = '', originHost }) {
  return {
    BENCH_MODE: c.mode, BENCH_PATH: c.path, BENCH_RATE: String(rate), BENCH_TAG: tag, BENCH_RECORD: record,
    BENCH_COOKIE: COOKIE, BENCH_TOKEN: TOKEN_BODY, BENCH_HOST: c.siteHost ? originHost : '',
  };
}

/**
 * Copies build/ (or the directory in BENCH_BUILD: another build of the worker
 * to compare) into dir/build, so a rebuild during the run changes nothing
 * mid-way; returns that directory.
 */
export function snapshotBuild(dir) {
  const build = process.env.BENCH_BUILD ? path.resolve(process.env.BENCH_BUILD) : path.join(ROOT, 'build');
  for (const f of ['index.js', 'index_bg.wasm']) {
    if (!fs.existsSync(path.join(build, f))) throw new Error(`${path.join(build, f)} is missing: run scripts/build.sh`);
  }
  const snap = path.join(dir, 'build');
  fs.mkdirSync(snap, { recursive: true });
  for (const f of ['index.js', 'index_bg.wasm']) {
    if (fs.existsSync(path.join(build, f))) fs.copyFileSync(path.join(build, f), path.join(snap, f));
  }
  return snap;
}

/**
 * The kinds of workerd service: base1, base2, worker (this worker, from
 * `snap`), samework, peer (the file `peer`, when given), waf (the WAF double
 * alone) and chain (this worker with the WAF double bound as UPSTREAM), each
 * a function of a process name that returns the service (not started). bench/run.mjs runs one process per contender, so
 * every process serves the same number of requests: workerd's heap grows
 * with the requests a process has served, and its GC pauses with it.
 */
export function services({ dir, cpu, originUrl, standIn, snap, peer }) {
  const js = (file) => [{ name: path.basename(file), file: path.join(ROOT, file), type: 'esModule' }];
  const annotating = { ORIGIN_URL: originUrl, RECAPTCHA_PROJECT_ID: API.project, RECAPTCHA_API_BASE: standIn, RECAPTCHA_API_KEY: API.key };
  const { RECAPTCHA_API_KEY, ...keyless } = annotating;
  const signing = (mode) => ({
    ...keyless,
    GOOGLE_SERVICE_ACCOUNT_KEY: SERVICE_ACCOUNT.keyFileText,
    GOOGLE_TOKEN_URI: `${standIn}/token`,
    GOOGLE_AUTH_MODE: mode,
  });
  // No snapshot when no chosen row runs this worker (bench/run.mjs --only).
  const worker = snap && [
    { name: 'index.js', file: path.join(snap, 'index.js'), type: 'esModule' },
    { name: 'index_bg.wasm', file: path.join(snap, 'index_bg.wasm'), type: 'wasm' },
  ];
  const waf = { modules: js('local/waf-worker.js'), bindings: { PROJECT_NUMBER: API.project, API_KEY: API.key, RECAPTCHA_ENDPOINT: standIn, ...SITE_KEYS } };
  return {
    base1: (name) => workerdService({
      name, dir, cpu,
      modules: js('bench/workers/passthrough.js'),
      bindings: { ORIGIN_URL: originUrl },
    }),
    base2: (name) => workerdService({
      name, dir, cpu,
      modules: js('bench/workers/passthrough-side-call.js'),
      bindings: { ORIGIN_URL: originUrl, ANNOTATE_BASE: `${standIn}/v1/projects/${API.project}/assessments`, API_KEY: API.key },
    }),
    worker: (name) => workerdService({
      name, dir, cpu,
      modules: worker,
      // Direct mode (no queue binding): scenario (c) is one annotate call per response.
      bindings: annotating,
    }),
    // The same worker with the README's outcome rules and one for /sign-in.
    workerRules: (name) => workerdService({ name, dir, cpu, modules: worker, bindings: { ...annotating, OUTCOME_RULES } }),
    samework: (name) => workerdService({ name, dir, cpu, modules: js('bench/workers/same-work.js'), bindings: annotating }),
    // One module, alone, with the bindings it reads (the rest have defaults).
    peer: (name) => workerdService({ name, dir, cpu, modules: [{ name: path.basename(peer), file: path.resolve(peer), type: 'esModule' }], bindings: annotating }),
    // The same worker signing as a service account: the stand-in serves the
    // token endpoint and checks every bearer token (local/google-oauth.mjs).
    workerExchange: (name) => workerdService({ name, dir, cpu, modules: worker, bindings: signing('exchange') }),
    workerJwt: (name) => workerdService({ name, dir, cpu, modules: worker, bindings: signing('self-signed-jwt') }),
    // Without the origin's Host, the WAF's fetch of its own URL would come back to it.
    waf: (name) => workerdService({ name, dir, cpu, ...waf, readyHeaders: { host: new URL(originUrl).host } }),
    // Told the WAF's site keys, as deployed: it picks the token by the WAF's rules.
    chain: (name) => workerdService({ name, dir, cpu, modules: worker, bindings: { ...annotating, ...SITE_KEYS }, upstream: waf }),
  };
}

// Turns bench/run.mjs's raw runs into the tables: per contender and load,
// the median over rounds (robust against a burst of other work on the
// machine), ratios to the contender's baseline, the goals (bench/goals.mjs),
// and what limited each scenario. markdown() is BENCHMARKS.md: these tables,
// then bench/FLOORS.md and bench/METHOD.md; printSummary() is the console version.

import fs from 'node:fs';
import path from 'node:path';
import { COMPATIBILITY_DATE, ROOT } from '../local/worker.mjs';
import { goals, LEAN, verdict } from './goals.mjs';
import { fmt, kib, median, pct, percentile, ratio } from './numbers.mjs';
import { sizeTables } from './size.mjs';

export { fmt, median, pct } from './numbers.mjs';

/** One contender under one load: medians over its rounds, delivery over all rounds. */
export function aggregate(report, key, phase) {
  const runs = report.results.filter((r) => r.key === key && r.phase === phase);
  if (!runs.length) return null;
  const rt = report.options.runtimeCpu;
  const cl = report.options.clientCpu;
  const a = {
    key, phase, rounds: runs.length,
    rps: median(runs.map((r) => r.rps)),
    rpsMin: Math.min(...runs.map((r) => r.rps)),
    rpsMax: Math.max(...runs.map((r) => r.rps)),
    rate: runs[0].rate,
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((s, r) => s + r.errors, 0),
    late: runs.reduce((s, r) => s + (r.late ?? 0), 0),
    lateMax: Math.max(...runs.map((r) => r.lateMax ?? 0)),
    requests: runs.reduce((s, r) => s + r.requests, 0),
    workerdCpu: median(runs.map((r) => r.cpu.workerd)),
    cpuPerRequestUs: median(runs.map((r) => r.cpuPerRequestUs)),
    runtimeCore: median(runs.map((r) => r.cpu.cores[rt])),
    otherOnRuntimeCore: median(runs.map((r) => r.cpu.cores[rt] - r.cpu.workerd)),
    clientCore: median(runs.map((r) => r.cpu.cores[cl])),
    // Ours on the client core: nginx, this process (the stand-in), wrk.
    clientOurs: median(runs.map((r) => r.cpu.nginx + r.cpu.runner + r.cpu.children)),
  };
  if (runs[0].calls !== undefined) {
    const lags = runs.flatMap((r) => r.lags).sort((x, y) => x - y);
    Object.assign(a, {
      responses: runs.reduce((s, r) => s + r.responses, 0),
      wrkResponses: runs.reduce((s, r) => s + r.wrkResponses, 0),
      calls: runs.reduce((s, r) => s + r.calls, 0),
      without: runs.reduce((s, r) => s + r.without, 0),
      repeated: runs.reduce((s, r) => s + r.repeated, 0),
      inFlight: runs.reduce((s, r) => s + r.inFlight, 0),
      lagP50: percentile(lags, 50),
      lagP99: percentile(lags, 99),
      lagMax: lags.at(-1),
    });
    // Exactly once: every response's ID got one call, none got two.
    a.exactlyOnce = a.calls === a.responses && a.without === 0 && a.repeated === 0 && a.responses === a.wrkResponses;
    a.callsPerResponse = a.calls / a.responses;
  }
  return a;
}

export function table(report) {
  const rows = {};
  for (const phase of ['conc', 'rate']) {
    for (const c of report.contenders) {
      const a = aggregate(report, c.key, phase);
      if (!a) continue;
      const b = c.baseline ? aggregate(report, c.baseline, phase) : null;
      a.label = c.label;
      a.baseline = c.baseline;
      if (b) {
        a.rpsRatio = a.rps / b.rps;
        a.p50Ratio = a.p50 / b.p50;
        a.p99Ratio = a.p99 / b.p99;
        a.cpuDeltaUs = a.cpuPerRequestUs - b.cpuPerRequestUs;
      }
      rows[`${phase}:${c.key}`] = a;
    }
  }
  return rows;
}

/** Where the wasm's bytes go (bench/size.mjs), when the run made the profile. */
function sizeSection(size) {
  if (!size) return [];
  if (size.skipped) return [`No size profile: ${size.skipped}.`, ''];
  const same = size.sameCode
    ? 'its code and data sections are those of the build measured, to the byte (build/ leaves out the name section)'
    : `**its code and data sections differ from the build measured** (${size.code.code} and ${size.code.data} bytes against ${size.measured.code} and ${size.measured.data}): the tree changed since`;
  return [
    `Where the bytes go, from \`${size.file}\`: the same build with the name section kept (\`KEEP_NAMES=1 scripts/build.sh\`); ${same}. ` +
      'Each function is counted in the crate its name says; a trait impl in the crate that could write it, drop glue in its type\'s crate, wasm-bindgen\'s wrappers of exports and imports (into which wasm-opt inlines the wrapped function) apart. `node bench/size.mjs` prints the same tables.',
    '',
    ...sizeTables(size.profile),
    '',
  ];
}

/** A baseline by its name: lean, leanside, baseline 3... */
const baselineName = (k) => LEAN[k] ?? `baseline ${k.slice(4)}`;

/** CPU taken by processes outside the benchmark on each core: median over the measured runs. */
export function otherLoad(report) {
  const runs = report.results.filter((r) => r.phase === 'conc' || r.phase === 'rate');
  const rt = report.options.runtimeCpu;
  const cl = report.options.clientCpu;
  return {
    runtime: median(runs.map((r) => Math.max(0, r.cpu.cores[rt] - r.cpu.workerd))),
    client: median(runs.map((r) => Math.max(0, r.cpu.cores[cl] - r.cpu.nginx - r.cpu.runner - r.cpu.children))),
  };
}

/** What limited each contender at fixed concurrency, from where the CPU went. */
function limits(report, rows) {
  const rt = report.options.runtimeCpu;
  const cl = report.options.clientCpu;
  const out = [];
  for (const c of report.contenders) {
    const a = rows[`conc:${c.key}`];
    let why;
    // Order matters: a saturated runtime core is the answer even on a busy machine.
    if (a.runtimeCore >= 0.9 && a.workerdCpu >= 0.75) {
      why = `cpu${rt} was ${pct(a.runtimeCore)} busy, ${pct(a.workerdCpu)} of it workerd: the runtime's core is the limit, at ${fmt(a.cpuPerRequestUs, 0)} µs of workerd CPU per request`;
      if (a.cpuDeltaUs !== undefined) why += ` (${a.cpuDeltaUs >= 0 ? '+' : ''}${fmt(a.cpuDeltaUs, 0)} µs over its baseline, ${fmt(a.cpuPerRequestUs / (a.cpuPerRequestUs - a.cpuDeltaUs), 2)}× its work per request)`;
    } else if (a.clientCore >= 0.9 && a.clientOurs >= 0.5) {
      why = `wrk, nginx and the stand-in used ${pct(a.clientOurs)} of cpu${cl}: the client side is the limit, not the worker (workerd ${pct(a.workerdCpu)})`;
    } else if (a.clientCore >= 0.9 || a.runtimeCore >= 0.9) {
      why = `other work on the machine: cpu${rt} ${pct(a.runtimeCore)} busy (workerd ${pct(a.workerdCpu)}), cpu${cl} ${pct(a.clientCore)} busy (wrk, nginx and the stand-in ${pct(a.clientOurs)}), so ` +
        (a.clientCore >= 0.9 ? 'the load generator was starved and this row\'s req/s is a lower bound' : 'workerd was starved of its core');
    } else {
      why = `neither core saturated (workerd ${pct(a.workerdCpu)}, cpu${cl} ${pct(a.clientCore)}): bounded by ${report.options.connections} connections × latency`;
    }
    if (a.otherOnRuntimeCore > 0.05) why += `; other processes took ${pct(a.otherOnRuntimeCore)} of cpu${rt}`;
    out.push(`- **${c.label}**: ${why}.`);
  }
  return out;
}

/** BENCHMARKS.md; `chart`: the file name of the run's chart, shown first. */
export function markdown(report, { chart } = {}) {
  const { options: O, machine: m, versions: v } = report;
  const rows = table(report);
  const G = goals(report, rows);
  const L = [];
  const row = (...cells) => L.push(`| ${cells.join(' | ')} |`);
  const wasm = report.sizes.find((s) => s.file.endsWith('.wasm'));

  L.push('# Benchmarks', '');
  L.push(`Generated by \`${O.command}\` on ${report.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} (${fmt(report.elapsedMin, 1)} min). ` +
    'Every number in the tables comes from that one run; rerun the same command to regenerate this file. ' +
    'The method after them is bench/METHOD.md. It is not part of the test command.', '');
  if (chart) {
    L.push(`![Per scenario, this worker's req/s over the fastest plain JS and over lean or leanside, and its p99 over lean or leanside, with the goals](${chart})`, '');
  }

  const busy = otherLoad(report);
  if (busy.runtime > 0.1 || busy.client > 0.1) {
    L.push(`**The machine was busy during this run**: other processes (not the benchmark's) took a median ${pct(busy.runtime)} of cpu${O.runtimeCpu} and ${pct(busy.client)} of cpu${O.clientCpu} over the measured runs ` +
      '(other work shares this machine). Contended runs lower req/s and raise tail latency for whichever contender they hit, so the req/s and p99 ratios below are indicative; ' +
      '"workerd CPU µs / request" (CPU time, not wall time) is the more robust comparison. Rerun on an idle machine for clean ratios.', '');
  }
  L.push('## Goals', '');
  row('goal', 'result', 'measured');
  row('---', '---', '---');
  for (const g of G) row(g.what, verdict(g.met, { markdown: true }), g.value);
  L.push('');

  L.push('## Machine and versions', '');
  row('what', 'value'); row('---', '---');
  row('CPU', `${m.model}, ${m.nproc} cores (\`nproc\`), ${fmt(m.memGiB, 0)} GiB`);
  row('kernel', m.kernel);
  row('runtime', `${v.workerd} (\`workerd serve\`, the binary wrangler ${v.wrangler} ships), compatibility date ${COMPATIBILITY_DATE}`);
  row('load generator', `${v.wrk}, one thread, ${O.connections} connections, bench/load.lua`);
  row('origin', `${v.nginx}, one process`);
  row('stand-in', `local/google-api.mjs on node ${v.node}`);
  row('worker build', `${v.rustc}; ${v.wasmBindgen}; esbuild ${v.esbuild}`);
  row('cores', `workerd on cpu${O.runtimeCpu}; wrk, nginx and the stand-in on cpu${O.clientCpu} (\`taskset\`)`);
  row('background load', `${Object.entries(report.background).map(([c, x]) => `cpu${c} ${pct(x)}`).join(', ')} busy in the second before the run`);
  row('load per run', `${O.rounds} round(s) × ${O.seconds} s per contender and load, after a ${O.warmupSeconds} s warm-up each`);
  row('requests', `(b) a ${report.cookieLength}-byte Cookie header; (c) and baseline 2 a ${report.token.length}-byte X-Recaptcha-Token`);
  row('service account', `${report.tokenExchanges ?? '?'} token exchange(s) in the whole run (the exchange row's process; the self-signed row makes none)`);
  if (O.peer) row('plain-JS peer', `${O.peer.file}, ${O.peer.bytes} bytes, sha256 ${O.peer.sha256.slice(0, 16)}… (given with --peer; a third party's, not in this repository)`);
  L.push('');

  L.push(`## Fixed concurrency (${O.connections} connections, closed loop: the saturating rate)`, '');
  row('contender', 'req/s (median, range)', 'p50 ms', 'p99 ms', 'req/s vs baseline', 'p99 vs baseline', `workerd CPU (cpu${O.runtimeCpu} busy)`, 'workerd CPU µs / request', `client CPU (cpu${O.clientCpu} busy)`, 'calls / response', 'lag p50 / p99 ms');
  row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:');
  for (const c of report.contenders) {
    const a = rows[`conc:${c.key}`];
    row(c.label, `${fmt(a.rps, 0)} (${fmt(a.rpsMin, 0)}–${fmt(a.rpsMax, 0)})`, fmt(a.p50), fmt(a.p99),
      c.baseline ? `${ratio(a.rpsRatio)} ${baselineName(c.baseline)}` : '1', c.baseline ? ratio(a.p99Ratio) : '1',
      `${pct(a.workerdCpu)} (${pct(a.runtimeCore)})`, fmt(a.cpuPerRequestUs, 0), `${pct(a.clientOurs)} (${pct(a.clientCore)})`,
      a.calls !== undefined ? fmt(a.callsPerResponse, 4) : '', a.calls !== undefined ? `${fmt(a.lagP50)} / ${fmt(a.lagP99)}` : '');
  }
  const base1 = rows['conc:base1'];
  L.push('', `Origin alone (wrk straight to nginx, both on cpu${O.clientCpu}): **${fmt(report.originAlone.rps, 0)} req/s**, p50 ${fmt(report.originAlone.p50)} ms, p99 ${fmt(report.originAlone.p99)} ms` +
    (base1 ? ` — ${fmt(report.originAlone.rps / base1.rps, 1)}× baseline 1, so the origin is not what limits any contender.` : '.'), '');

  L.push('## Fixed rate (50% of the slowest saturating rate of each comparison group)', '');
  row('contender', 'offered req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'p50 vs baseline', 'p99 vs baseline', 'workerd CPU', 'calls / response', 'lag p50 / p99 / max ms', 'late sends');
  row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:');
  for (const c of report.contenders) {
    const a = rows[`rate:${c.key}`];
    row(c.label, a.rate, fmt(a.rps, 0), fmt(a.p50), fmt(a.p99),
      c.baseline ? ratio(a.p50Ratio) : '1', c.baseline ? ratio(a.p99Ratio) : '1', pct(a.workerdCpu),
      a.calls !== undefined ? fmt(a.callsPerResponse, 4) : '', a.calls !== undefined ? `${fmt(a.lagP50)} / ${fmt(a.lagP99)} / ${fmt(a.lagMax)}` : '',
      `${a.late}${a.late ? ` (≤ ${fmt(a.lateMax)} ms)` : ''}`);
  }
  L.push('');
  const starved = report.contenders.filter((c) => rows[`rate:${c.key}`].late > 0.01 * rows[`rate:${c.key}`].requests);
  if (starved.length) {
    L.push(`wrk fell behind its schedule by more than 1 ms for over 1% of the sends of ${starved.map((c) => c.key).join(', ')} ("late sends"): its core was not always its own, ` +
      'and the catch-up bursts that follow raise those rows\' latencies. The offered rate was still held on average.', '');
  }
  const errs = report.results.filter((r) => r.phase !== 'warmup' && r.errors);
  L.push(errs.length
    ? `**Errors**: ${errs.map((r) => `${r.key} ${r.phase} ${JSON.stringify(r.errorDetail)}`).join('; ')}.`
    : 'No request failed (wrk counted no connect, read, write, timeout or non-2xx error in any run).');
  const cc = rows['conc:c'];
  const cr = rows['rate:c'];
  L.push('', (cc && cr ? `Annotate calls for (c): ${cc.calls + cr.calls} for ${cc.responses + cr.responses} responses over all measured runs; ` +
    `${cc.inFlight + cr.inFlight} more arrived for requests still in flight when wrk stopped (annotated, but their responses were never counted). ` : '') +
    `The stand-in refused ${report.standInErrors.length} call(s)${report.standInErrors.length ? ` (first: ${report.standInErrors[0].status} for ${report.standInErrors[0].assessment}: \`${report.standInErrors[0].reply}\`)` : ''}. ` +
    `The worker logged ${report.problems.length} warn/error line(s)${report.problems.length ? `, e.g. \`${report.problems[0].slice(0, 200)}\`` : ''}.`, '');

  L.push('## Cold start (fresh `workerd serve` process to the first response of GET /)', '');
  row('contender', 'median ms', 'min ms', 'max ms', 'runs');
  row('---', '---:', '---:', '---:', '---:');
  const cs = (k) => { const xs = report.cold[k]; return [fmt(median(xs)), fmt(Math.min(...xs)), fmt(Math.max(...xs)), xs.length]; };
  const coldRows = { base1: 'baseline 1: JS pass-through (lean)', samework: 'same work in plain JS (same-work.js)', worker: 'this worker' };
  for (const [k, label] of Object.entries(coldRows)) if (report.cold[k]) row(label, ...cs(k));
  const over = (k) => fmt(median(report.cold.worker ?? []) - median(report.cold[k] ?? []));
  L.push('', `Difference of medians: this worker ${over('samework')} ms over same-work.js, ${over('base1')} ms over lean (workerd parses the config, compiles the module${wasm ? ' and the wasm' : ''}, and answers once the socket is up; the benchmark polls the port every millisecond).`, '');

  L.push('## Size', '');
  row('file', 'raw bytes', 'gzip -9 bytes');
  row('---', '---:', '---:');
  for (const s of report.sizes) row(s.file, `${s.raw} (${kib(s.raw)})`, `${s.gzip} (${kib(s.gzip)})`);
  L.push('');
  L.push(...sizeSection(report.size));

  L.push(...cpuSection(report.cpuProfile, report.size?.sameCode));

  L.push('## What limits each scenario (fixed concurrency)', '');
  L.push(...limits(report, rows), '');

  // What sets the floor of a goal not met, then the method, each one
  // heading level down: BENCHMARKS.md has the only top-level one.
  L.push(fs.readFileSync(path.join(ROOT, 'bench', 'FLOORS.md'), 'utf8').trim().replace(/^#/gm, '##'), '');
  L.push(fs.readFileSync(path.join(ROOT, 'bench', 'METHOD.md'), 'utf8').trim().replace(/^#/gm, '##'));
  return `${L.join('\n')}\n`;
}

/** Where each request's CPU goes (bench/profile.mjs --json), per contender. */
function cpuSection(profiles, sameCode) {
  if (!profiles?.length) return [];
  const L = ['## Where the CPU goes (CPU per request by category, under the profiler)', ''];
  L.push('Self time of the samples of `bench/profile.mjs` (V8\'s CPU profiler, 100 µs interval, 8 connections, one profile per row after this run), in µs per request. The inspector slows workerd down, so the totals are higher than in the tables above: compare rows, not absolute values. A runtime call made inline from JS counts in the JS that made it (wasm-bindgen\'s glue for this worker, the worker\'s own code for plain JS).', '');
  const cats = [...new Set(profiles.flatMap((p) => Object.keys(p.categories)))];
  const total = (c) => profiles.reduce((s, p) => s + (p.categories[c] ?? 0), 0);
  cats.sort((x, y) => total(y) - total(x));
  L.push(`| category | ${profiles.map((p) => p.key).join(' | ')} |`);
  L.push(`| --- | ${profiles.map(() => '---:').join(' | ')} |`);
  for (const c of cats) L.push(`| ${c} | ${profiles.map((p) => fmt(p.categories[c] ?? 0)).join(' | ')} |`);
  L.push(`| **all** | ${profiles.map((p) => `**${fmt(p.total)}**`).join(' | ')} |`);
  L.push('', 'Columns: a, b, c this worker; ja, jb, jc same-work.js; pa, pb, pc the peer (when run).', '');
  if (sameCode === false) L.push('The names build profiled here does not hold the same code as the measured build: rebuild both and rerun.', '');
  return L;
}

export function printSummary(report) {
  const rows = table(report);
  const line = (...c) => console.log(c.join('  '));
  const width = Math.max(...report.contenders.map((c) => c.label.length));
  console.log('');
  for (const phase of ['conc', 'rate']) {
    console.log(phase === 'conc' ? `fixed concurrency (${report.options.connections} connections)` : 'fixed rate');
    line('contender'.padEnd(width), 'req/s'.padStart(7), 'p50 ms'.padStart(7), 'p99 ms'.padStart(7), 'req/s×'.padStart(6), 'p99×'.padStart(5), 'workerd', 'µs/req', 'calls/resp', 'lag p50/p99 ms');
    for (const c of report.contenders) {
      const a = rows[`${phase}:${c.key}`];
      line(c.label.padEnd(width), fmt(a.rps, 0).padStart(7), fmt(a.p50).padStart(7), fmt(a.p99).padStart(7),
        (c.baseline ? fmt(a.rpsRatio, 2) : '1').padStart(6), (c.baseline ? fmt(a.p99Ratio, 2) : '1').padStart(5),
        pct(a.workerdCpu).padStart(7), fmt(a.cpuPerRequestUs, 0).padStart(6),
        (a.calls !== undefined ? fmt(a.callsPerResponse, 4) : '').padStart(10), a.calls !== undefined ? `${fmt(a.lagP50)} / ${fmt(a.lagP99)}` : '');
    }
    console.log('');
  }
  const busy = otherLoad(report);
  console.log(`other work on the machine (median over runs): cpu${report.options.runtimeCpu} ${pct(busy.runtime)}, cpu${report.options.clientCpu} ${pct(busy.client)}`);
  console.log(`origin alone: ${fmt(report.originAlone.rps, 0)} req/s`);
  console.log(`cold start median: ${Object.entries(report.cold).map(([k, xs]) => `${k} ${fmt(median(xs))} ms`).join(', ')}`);
  for (const s of report.sizes) console.log(`size ${s.file}: ${s.raw} bytes raw, ${s.gzip} gzip`);
  const p = report.size?.profile;
  if (p) console.log(`function bodies by crate: ${p.crates.slice(0, 6).map((c) => `${c.crate} ${c.bytes}`).join(', ')} (of ${p.bodies})`);
  console.log('\ngoals:');
  for (const g of goals(report, rows)) console.log(`  ${verdict(g.met).padEnd(12)} ${g.what}: ${g.value}`);
}

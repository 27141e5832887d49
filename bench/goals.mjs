// The benchmark's goals, each checked against one run: this worker against
// the fastest plain JavaScript doing the same job and against the leanest
// Worker, at cold start, in size, and in delivery. `rows` is the report's
// table: `${phase}:${key}` → the contender's medians and ratios.

import { bytes, fmt, median, ratio } from './numbers.mjs';

export const GOALS = {
  vsFastestJs: 0.95, // (a), (b), (c) req/s against the fastest plain-JS row of the scenario
  p99VsLean: 1.2, // (a), (b) against lean, (c) against leanside
  vsLeanside: 0.9, // (c) req/s
  coldStartMs: 5, // over a plain-JS worker doing the same job (same-work.js)
  wasmGzipBytes: 140_000,
  lagP99Ms: 50, // (c), at 50% of the saturating rate
};

/** The baselines by the name the goals give them. */
export const LEAN = { base1: 'lean', base2: 'leanside' };

/**
 * Per scenario: this worker's row, the plain-JS rows doing the same job
 * (same-work.js, and the peer when given) and the baseline.
 */
export const SCENARIOS = [
  { name: '(a)', worker: 'a', js: ['ja', 'pa'], base: 'base1' },
  { name: '(b)', worker: 'b', js: ['jb', 'pb'], base: 'base1' },
  { name: '(c)', worker: 'c', js: ['jc', 'pc'], base: 'base2' },
];

/**
 * The ratios of one scenario at fixed concurrency, or null when the run did
 * not measure this worker in it: req/s against the fastest plain-JS row
 * (`js`: which one) and against the baseline, each also as CPU per request
 * would have it; p99 against the baseline.
 */
export function scenarioRatios(rows, s, labels) {
  const w = rows[`conc:${s.worker}`];
  if (!w) return null;
  const js = s.js.map((k) => rows[`conc:${k}`]).filter(Boolean).sort((x, y) => y.rps - x.rps)[0];
  const base = rows[`conc:${s.base}`];
  return {
    name: s.name,
    lean: LEAN[s.base],
    worker: w,
    js,
    jsLabel: js && labels[js.key],
    base,
    vsJs: js ? w.rps / js.rps : NaN,
    vsJsCpu: js ? js.cpuPerRequestUs / w.cpuPerRequestUs : NaN,
    vsBase: base ? w.rps / base.rps : NaN,
    vsBaseCpu: base ? base.cpuPerRequestUs / w.cpuPerRequestUs : NaN,
    p99VsBase: base ? w.p99 / base.p99 : NaN,
  };
}

/**
 * A throughput goal: met by req/s, cross-checked with CPU per request (on a
 * busy machine a starved contender can make a ratio look met or missed).
 * When the two disagree the verdict is "unclear".
 */
export function throughput(rpsRatio, cpuRatio, min) {
  if (!Number.isFinite(rpsRatio)) return 'not measured';
  const byRps = rpsRatio >= min;
  return byRps === cpuRatio >= min ? byRps : 'unclear';
}

const cpuNote = (r, theirs, ours) => `workerd CPU per request ${fmt(theirs, 0)} vs ${fmt(ours, 0)} µs, i.e. ${ratio(r)} if both were CPU-bound`;

/** The goals of one scenario: against the fastest plain JS, p99, and for (c) against leanside. */
function scenarioGoals(rows, s, labels) {
  const r = scenarioRatios(rows, s, labels);
  const lean = LEAN[s.base];
  const out = [];
  const js = {
    what: `${s.name} this worker ≥ ${GOALS.vsFastestJs}× the fastest plain JS, req/s`,
    met: r?.js ? throughput(r.vsJs, r.vsJsCpu, GOALS.vsFastestJs) : 'not measured',
    value: r?.js ? `${ratio(r.vsJs)}: ${fmt(r.worker.rps, 0)} vs ${fmt(r.js.rps, 0)} req/s (${r.jsLabel}); ${cpuNote(r.vsJsCpu, r.js.cpuPerRequestUs, r.worker.cpuPerRequestUs)}` : 'this worker and a plain-JS row of the scenario not both in the run',
  };
  out.push(js);
  const conc = rows[`conc:${s.worker}`];
  const rate = rows[`rate:${s.worker}`];
  const bc = rows[`conc:${s.base}`];
  const br = rows[`rate:${s.base}`];
  const p99 = conc && rate && bc && br;
  out.push({
    what: `${s.name} p99 ≤ ${GOALS.p99VsLean}× ${lean}`,
    met: p99 ? conc.p99Ratio <= GOALS.p99VsLean && rate.p99Ratio <= GOALS.p99VsLean : 'not measured',
    value: p99 ? `fixed concurrency ${ratio(conc.p99Ratio)} (${fmt(conc.p99)} vs ${fmt(bc.p99)} ms); fixed rate ${ratio(rate.p99Ratio)} (${fmt(rate.p99)} vs ${fmt(br.p99)} ms)` : 'not measured',
  });
  if (s.base === 'base2') {
    out.push({
      what: `${s.name} this worker ≥ ${GOALS.vsLeanside}× ${lean}, req/s`,
      met: r?.base ? throughput(r.vsBase, r.vsBaseCpu, GOALS.vsLeanside) : 'not measured',
      value: r?.base ? `${ratio(r.vsBase)}: ${fmt(r.worker.rps, 0)} vs ${fmt(r.base.rps, 0)} req/s; ${cpuNote(r.vsBaseCpu, r.base.cpuPerRequestUs, r.worker.cpuPerRequestUs)}` : 'not measured',
    });
  }
  return out;
}

/** Every response of an annotating row annotated exactly once, over both loads. */
function exactlyOnce(rows, k) {
  const conc = rows[`conc:${k}`];
  const rate = rows[`rate:${k}`];
  return {
    what: `(${k}) exactly once: calls / response = 1`,
    met: conc && rate ? conc.exactlyOnce && rate.exactlyOnce : 'not measured',
    value: conc && rate ? `fixed concurrency ${conc.calls}/${conc.responses} = ${fmt(conc.callsPerResponse, 4)}, fixed rate ${rate.calls}/${rate.responses} = ${fmt(rate.callsPerResponse, 4)}; responses without a call ${conc.without + rate.without}, with two or more ${conc.repeated + rate.repeated}` : 'not measured',
  };
}

function coldStart(cold) {
  const worker = median(cold.worker ?? []);
  const js = median(cold.samework ?? []);
  const lean = median(cold.base1 ?? []);
  const measured = Number.isFinite(worker) && Number.isFinite(js);
  return {
    what: `cold start ≤ a plain-JS worker's + ${GOALS.coldStartMs} ms`,
    met: measured ? worker - js <= GOALS.coldStartMs : 'not measured',
    value: measured ? `+${fmt(worker - js)} ms: this worker ${fmt(worker)} ms, same-work.js ${fmt(js)} ms (medians; lean ${fmt(lean)} ms)` : 'not measured',
  };
}

/** Each goal with the numbers that decide it: { what, met (true, false, 'unclear' or 'not measured'), value }. */
export function goals(report, rows) {
  const labels = Object.fromEntries(report.contenders.map((c) => [c.key, c.label]));
  const g = SCENARIOS.flatMap((s) => scenarioGoals(rows, s, labels));
  g.push(coldStart(report.cold));
  const wasm = report.sizes.find((s) => s.file.endsWith('.wasm'));
  g.push({
    what: `wasm ≤ ${bytes(GOALS.wasmGzipBytes)} B gzip`,
    met: wasm ? wasm.gzip <= GOALS.wasmGzipBytes : 'not measured',
    value: wasm ? `${bytes(wasm.gzip)} B gzip -9 (${bytes(wasm.raw)} B raw)` : 'not measured',
  });
  g.push(exactlyOnce(rows, 'c'), exactlyOnce(rows, 'e'));
  const cr = rows['rate:c'];
  g.push({
    what: `(c) delivery lag p99 ≤ ${GOALS.lagP99Ms} ms at 50% of the saturating rate`,
    met: cr ? cr.lagP99 <= GOALS.lagP99Ms : 'not measured',
    value: cr ? `${fmt(cr.lagP99)} ms at ${cr.rate} req/s (p50 ${fmt(cr.lagP50)} ms)` : 'not measured',
  });
  return g;
}

/** A goal's verdict as BENCHMARKS.md and the console show it. */
export function verdict(met, { markdown = false } = {}) {
  const strong = (s) => (markdown ? `**${s}**` : s.toUpperCase());
  if (met === 'unclear') return markdown ? '**unclear**: req/s and CPU per request disagree (contention)' : 'UNCLEAR';
  if (met === 'not measured') return 'not measured';
  return met ? 'met' : strong('not met');
}

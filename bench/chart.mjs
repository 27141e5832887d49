// BENCHMARKS.svg: the goals' ratios as a picture. Per scenario, this
// worker's req/s over the fastest plain JS doing the same job and over lean
// (leanside for (c)), and its p99 over lean or leanside, each bar with its
// value and the goal drawn across it. Plain SVG text, written by hand: no
// dependency, and it renders wherever BENCHMARKS.md does.

import { GOALS, SCENARIOS, scenarioRatios, throughput as verdict } from './goals.mjs';

const W = 900;
const H = 420;
const COLORS = { js: '#2b6cb0', lean: '#9c6b30', p99: '#6b46c1', goal: '#c53030', met: '#276749', unclear: '#b7791f', grid: '#d9d9d9', text: '#1a1a1a', muted: '#666' };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const text = (x, y, s, { size = 13, anchor = 'middle', color = COLORS.text, weight = 'normal' } = {}) =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} font-size="${size}" text-anchor="${anchor}" fill="${color}" font-weight="${weight}">${esc(s)}</text>`;
const line = (x1, y1, x2, y2, color, extra = '') => `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${color}" ${extra}/>`;

/**
 * One panel: bars grouped per scenario, a y axis of ratios, the goal of
 * each bar (if it has one) as a dashed red line across it and its value
 * marked met (✓), not met (✗) or unclear (?, req/s and CPU per request
 * disagree), 1× as a line.
 * groups: [{ name, bars: [{ value, color, goal }] }].
 */
function panel({ x, y, w, h, title, note, groups, lowerIsBetter = false }) {
  const values = groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.goal])).filter(Number.isFinite);
  const top = Math.max(1.25, Math.ceil(Math.max(...values, 0) * 1.15 * 4) / 4);
  const plot = { x: x + 40, y: y + 44, w: w - 50, h: h - 90 };
  const yOf = (v) => plot.y + plot.h - (v / top) * plot.h;
  const out = [text(x + w / 2, y + 16, title, { size: 15, weight: 'bold' }), text(x + w / 2, y + 33, note, { size: 12, color: COLORS.muted })];
  for (let v = 0; v <= top + 1e-9; v += top > 2 ? 0.5 : 0.25) {
    out.push(v === 1 ? line(plot.x, yOf(v), plot.x + plot.w, yOf(v), '#888', 'stroke-width="1.5"') : line(plot.x, yOf(v), plot.x + plot.w, yOf(v), COLORS.grid));
    out.push(text(plot.x - 6, yOf(v) + 4, `${v.toFixed(2)}×`, { size: 11, anchor: 'end', color: COLORS.muted }));
  }
  const slot = plot.w / groups.length;
  groups.forEach((g, i) => {
    const barW = Math.min(56, (slot * 0.7) / g.bars.length);
    const start = plot.x + i * slot + (slot - barW * g.bars.length) / 2;
    g.bars.forEach((b, j) => {
      const bx = start + j * barW;
      if (Number.isFinite(b.value)) {
        const by = yOf(Math.min(b.value, top));
        out.push(`<rect x="${(bx + 3).toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 6).toFixed(1)}" height="${(plot.y + plot.h - by).toFixed(1)}" fill="${b.color}"/>`);
        const met = b.met ?? (Number.isFinite(b.goal) ? (lowerIsBetter ? b.value <= b.goal : b.value >= b.goal) : undefined);
        const mark = { undefined: '', true: ' ✓', false: ' ✗', unclear: ' ?' }[met];
        const color = { undefined: COLORS.text, true: COLORS.met, false: COLORS.goal, unclear: COLORS.unclear }[met];
        out.push(text(bx + barW / 2, by - 5, `${b.value.toFixed(2)}×${mark}`, { size: 12, weight: 'bold', color }));
      } else {
        out.push(text(bx + barW / 2, plot.y + plot.h - 6, 'n/a', { size: 11, color: COLORS.muted }));
      }
      if (Number.isFinite(b.goal)) out.push(line(bx, yOf(b.goal), bx + barW, yOf(b.goal), COLORS.goal, 'stroke-width="2.5" stroke-dasharray="5 3"'));
    });
    out.push(text(plot.x + i * slot + slot / 2, plot.y + plot.h + 18, g.name, { size: 13, weight: 'bold' }));
    if (g.caption) out.push(text(plot.x + i * slot + slot / 2, plot.y + plot.h + 33, g.caption, { size: 11, color: COLORS.muted }));
  });
  out.push(line(plot.x, plot.y + plot.h, plot.x + plot.w, plot.y + plot.h, '#444'));
  return out.join('\n');
}

function legend(x, y, items) {
  const out = [];
  let at = x;
  for (const [label, color, dashed] of items) {
    out.push(dashed
      ? line(at, y - 4, at + 22, y - 4, color, 'stroke-width="2.5" stroke-dasharray="5 3"')
      : `<rect x="${at}" y="${y - 11}" width="22" height="12" fill="${color}"/>`);
    out.push(text(at + 28, y, label, { size: 12, anchor: 'start' }));
    at += 40 + label.length * 6.3;
  }
  return out.join('\n');
}

/** The chart of one run, as SVG text; `rows` is the report's table. */
export function chart(report, rows) {
  const labels = Object.fromEntries(report.contenders.map((c) => [c.key, c.label]));
  const r = SCENARIOS.map((s) => ({ s, r: scenarioRatios(rows, s, labels) }));
  const lean = (s) => (s.base === 'base2' ? 'leanside' : 'lean');
  const throughput = r.map(({ s, r: x }) => ({
    name: s.name,
    caption: `vs ${x?.js ? (x.js.key.startsWith('p') ? 'the peer' : 'same-work.js') : 'no JS row'} · ${lean(s)}`,
    bars: [
      { value: x?.vsJs, color: COLORS.js, goal: GOALS.vsFastestJs, met: x?.js ? verdict(x.vsJs, x.vsJsCpu, GOALS.vsFastestJs) : undefined },
      s.base === 'base2'
        ? { value: x?.vsBase, color: COLORS.lean, goal: GOALS.vsLeanside, met: x?.base ? verdict(x.vsBase, x.vsBaseCpu, GOALS.vsLeanside) : undefined }
        : { value: x?.vsBase, color: COLORS.lean, goal: NaN },
    ],
  }));
  const latency = r.map(({ s, r: x }) => ({
    name: s.name,
    // The panel is fixed concurrency; the goal needs the fixed rate's p99
    // as well, which the table has.
    caption: `vs ${lean(s)}`,
    bars: [{ value: x?.p99VsBase, color: COLORS.p99, goal: GOALS.p99VsLean }],
  }));
  const when = report.startedAt instanceof Date ? report.startedAt.toISOString().slice(0, 10) : String(report.startedAt).slice(0, 10);
  const body = [
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    text(W / 2, 24, `This worker against plain JS and the lean Workers, one run of ${when}`, { size: 15, weight: 'bold' }),
    legend(24, 50, [
      ['req/s ÷ fastest plain JS', COLORS.js],
      ['req/s ÷ lean / leanside', COLORS.lean],
      ['p99 ÷ lean / leanside', COLORS.p99],
      [`goal: ${GOALS.vsFastestJs}× JS, ${GOALS.vsLeanside.toFixed(2)}× leanside, p99 ${GOALS.p99VsLean}×`, COLORS.goal, true],
    ]),
    panel({ x: 10, y: 66, w: 560, h: H - 70, title: 'Throughput (higher is better)', note: '(a) no token, (b) session cookie, (c) token + outcome: annotate', groups: throughput }),
    panel({ x: 580, y: 66, w: 310, h: H - 70, title: 'p99 latency (lower is better)', note: 'fixed concurrency', groups: latency, lowerIsBetter: true }),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="This worker's req/s and p99 ratios per scenario, with the goals">\n${body.join('\n')}\n</svg>\n`;
}

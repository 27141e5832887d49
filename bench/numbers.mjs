// The benchmark's statistics and number formats, shared by the runner, the
// report, the goals and the chart.

export const KIB = 1024;

export const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Nearest-rank percentile of sorted values. */
export const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

export function fmt(x, digits) {
  if (!Number.isFinite(x)) return '-';
  if (digits !== undefined) return x.toFixed(digits);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '-');
export const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '-');
export const kib = (b) => `${(b / KIB).toFixed(1)} KiB`;
/** Bytes with thousands separators: 140,000. */
export const bytes = (b) => (Number.isFinite(b) ? Math.round(b).toLocaleString('en-US') : '-');

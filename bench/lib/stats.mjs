// Small statistics and formatting helpers shared by the scenarios.

/** Median of a list of numbers (the mean of the two middle ones for an even count). */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The value below which `q` (0..1) of the samples fall (nearest rank). */
export function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Rounds to `digits` significant decimals for the JSON results (keeps them readable). */
export function round(value, digits = 3) {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `a / b`, or NaN when either is missing. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}

export const fmt = {
  ms: (v) =>
    Number.isFinite(v) ? (v < 1 ? `${v.toFixed(3)} ms` : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`) : 'n/a',
  rate: (v) => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')}/s` : 'n/a'),
  x: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : 'n/a'),
  us: (v) => (Number.isFinite(v) ? `${v.toFixed(1)} µs` : 'n/a'),
  kb: (v) => (Number.isFinite(v) ? `${v.toFixed(1)} KB` : 'n/a'),
  mb: (v) => (Number.isFinite(v) ? `${v.toFixed(1)} MB` : 'n/a'),
};

/** Sleeps without keeping anything alive afterwards. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

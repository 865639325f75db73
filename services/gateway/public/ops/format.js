/** Number and name formatting for the ops page's tiles, tables and chart titles. */

export const fmt = (v, digits = 1) => {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(digits)}G`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(digits)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(digits)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
};
export const mb = (b) => (typeof b === 'number' ? `${(b / 1048576).toFixed(0)} MB` : '–');
export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
/** Instance ids (often UUID-like) shortened to their ends. */
export const short = (id) => (id.length > 28 ? `${id.slice(0, 12)}…${id.slice(-12)}` : id);

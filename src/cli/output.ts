import { Decimal } from 'decimal.js';

// The one `--json` convention of every command (README, "JSON output"):
// - the output is one JSON object, never a bare array: a list is a field named for what it holds
//   (`{"orders":[…]}`, `{"fills":[…]}`, `{"balances":[…]}`);
// - decimals are exact strings in plain notation ("0.00000001", never "1e-8"); ids are strings;
// - a time is an ISO-8601 UTC string with milliseconds ("2026-12-03T17:04:38.123Z") in a field
//   named `at` or ending in `At` (`createdAt`, `updatedAt`, `recordedAt`); epoch milliseconds never
//   appear. The ports' other names for a time (`timestamp`, `serverTime`) are written as `at`;
// - an order's lifecycle is `state`, in the store's upper-case names (OPEN, PARTIALLY_FILLED, …),
//   whether the store or the exchange reports it.

const TIME_RENAMES: Readonly<Record<string, string>> = { timestamp: 'at', serverTime: 'at' };

const isTimeKey = (key: string) => key === 'at' || /[a-z]At$/.test(key);

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** A value as `--json` prints it (see the convention above). */
export function jsonView(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Decimal) return value.toFixed();
  if (typeof value === 'number') return isTimeKey(key) ? iso(value) : value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => jsonView(v));
  if (value instanceof Map) return jsonView(Object.fromEntries(value), key);
  if (typeof value === 'object') {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function')
      return jsonView((value as { toJSON(): unknown }).toJSON(), key);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const name = TIME_RENAMES[k] ?? k;
      out[name] = jsonView(v, name);
    }
    return out;
  }
  return value;
}

/** `--json` output: one object, in the convention above. */
export function printJson(value: object): void {
  if (Array.isArray(value)) throw new TypeError('--json prints an object, never a bare array');
  process.stdout.write(`${JSON.stringify(jsonView(value), null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Decimal) return value.toFixed();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(cell).join(',');
  return JSON.stringify(value);
}

/** A plain aligned table; numbers are right-aligned so decimals line up by their last digit. */
export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const text = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const numeric = columns.map((_, i) => text.every((r) => /^-?[\d.]+$|^-$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of text) process.stdout.write(`${line(r)}\n`);
}

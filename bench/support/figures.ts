// Small helpers the benchmarks share: a median, and a positive number from the environment.

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** The environment variable `name` as a number above 0 (a whole one with `whole`), or `fallback` when unset. */
export function positiveEnv(name: string, fallback: number, { whole = false } = {}): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!((whole ? Number.isInteger(value) : Number.isFinite(value)) && value > 0))
    throw new Error(
      `${name}: expected a ${whole ? 'whole number' : 'number'} above 0, got ${JSON.stringify(text)}`,
    );
  return value;
}

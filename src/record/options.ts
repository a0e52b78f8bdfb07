import { ConfigError } from '../domain/errors.ts';
import { parseDuration } from '../ops/duration.ts';

// Option parsing for `btcbot record` and `btcbot run --record`: light on purpose (the command
// module loads it at start-up), so it imports nothing but the error type and duration parsing.

export const DEFAULT_ROTATE_SIZE = '64MB';
export const DEFAULT_ROTATE_EVERY = '1h';
/** The smallest segment size accepted (compressed output leaves zlib in blocks of a few KB). */
const MIN_ROTATE_BYTES = 1024;

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/i;
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Bytes of a size such as "64MB", "512KB", "100000" (binary units: 1KB = 1024 bytes); 0 for "off". */
export function parseSize(setting: string, text: string): number {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'off') return 0;
  const match = SIZE.exec(trimmed);
  const unit = UNIT_BYTES[(match?.[2] ?? 'b').toLowerCase()];
  const bytes = Math.round(Number(match?.[1]) * (unit ?? NaN));
  if (!match || !Number.isFinite(bytes))
    throw new ConfigError(
      setting,
      `${JSON.stringify(text)} is not a size; write bytes or a number with a unit: 512KB, 64MB, 1GB (or off)`,
    );
  if (bytes < MIN_ROTATE_BYTES)
    throw new ConfigError(
      setting,
      `${JSON.stringify(text)} is below the minimum of ${MIN_ROTATE_BYTES} bytes`,
    );
  return bytes;
}

/** Milliseconds of a rotation period such as "1h" or "15m"; 0 for "off". */
export function parseRotateEvery(setting: string, text: string): number {
  return text.trim().toLowerCase() === 'off' ? 0 : parseDuration(setting, text);
}

/** "btcturk, eth_try" → ["BTCTURK"…]: upper case, separators dropped, no repeats, at least one. */
export function parseSymbols(setting: string, text: string): string[] {
  const symbols: string[] = [];
  for (const part of text.split(',')) {
    const symbol = part.trim().toUpperCase().replace(/[_/-]/g, '');
    if (!/^[A-Z0-9]{4,20}$/.test(symbol))
      throw new ConfigError(
        setting,
        `${JSON.stringify(part.trim())} is not a pair symbol such as BTCTRY; give a comma-separated list`,
      );
    if (!symbols.includes(symbol)) symbols.push(symbol);
  }
  return symbols;
}

/** A directory argument: not empty. */
export function parseDir(setting: string, text: string): string {
  if (text.trim() === '') throw new ConfigError(setting, 'needs a directory');
  return text;
}

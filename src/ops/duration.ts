import { ConfigError } from '../domain/errors.ts';

// Durations as people write them on a command line: `90s`, `1.5m`, `250ms`, `2h`.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/**
 * The longest duration accepted: 596 hours (about 24.8 days). A Node timer holds at most
 * 2^31 - 1 ms (~596.5 h); a longer one fires at once (with a TimeoutOverflowWarning), so
 * `--duration 99999999h` would stop the bot the moment it started. A round number just under the
 * limit is easier to state than the limit itself.
 */
export const MAX_DURATION_MS = 596 * 3_600_000;
export const MAX_DURATION_TEXT = '596h (about 24.8 days)';

/** Milliseconds of a duration such as "90s"; a ConfigError naming `setting` otherwise. */
export function parseDuration(setting: string, text: string): number {
  const match = DURATION.exec(text.trim());
  const amount = Number(match?.[1]);
  const unit = UNIT_MS[match?.[2] ?? ''];
  if (!match || unit === undefined || Number.isNaN(amount))
    throw new ConfigError(
      setting,
      `${JSON.stringify(text)} is not a duration; write a number with a unit: 250ms, 90s, 1.5m or 2h`,
    );
  // Digits past what a double holds read as Infinity: longer than the maximum, refused below.
  const ms = Math.round(amount * unit);
  if (ms < 1) throw new ConfigError(setting, `${JSON.stringify(text)} must be at least 1ms`);
  if (!(ms <= MAX_DURATION_MS))
    throw new ConfigError(
      setting,
      `${JSON.stringify(text)} is longer than the maximum of ${MAX_DURATION_TEXT}, the longest a timer can wait`,
    );
  return ms;
}

/** A duration for messages: "90s", "2m 5s", "1h 0m". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return ms < 1000 ? `${ms}ms` : `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

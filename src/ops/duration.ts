import { ConfigError } from '../domain/errors.ts';

// Durations as people write them on a command line: `90s`, `1.5m`, `250ms`, `2h`.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/** Milliseconds of a duration such as "90s"; a ConfigError naming `setting` otherwise. */
export function parseDuration(setting: string, text: string): number {
  const match = DURATION.exec(text.trim());
  const amount = Number(match?.[1]);
  const unit = UNIT_MS[match?.[2] ?? ''];
  if (!match || unit === undefined || !Number.isFinite(amount))
    throw new ConfigError(
      setting,
      `${JSON.stringify(text)} is not a duration; write a number with a unit: 250ms, 90s, 1.5m or 2h`,
    );
  const ms = Math.round(amount * unit);
  if (ms < 1) throw new ConfigError(setting, `${JSON.stringify(text)} must be at least 1ms`);
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

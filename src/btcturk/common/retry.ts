import type { ExchangeError } from '../../domain/errors.ts';
import type { Random } from '../../domain/random.ts';
import type { EndpointSpec } from './constants.ts';

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/** "Full jitter": uniform in [0, min(cap, base·2^attempt)), so retrying processes spread out. */
export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  return random.next() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
}

/**
 * Reads may be repeated after any transient failure. A write is repeated only when the exchange
 * provably did nothing with it (not sent, or refused by the rate limit): an ambiguous POST /order
 * could place a second order, and BTCTurk answers a repeated DELETE with an error.
 */
export function isRetryable(error: ExchangeError, effect: EndpointSpec['effect']): boolean {
  switch (error.kind) {
    case 'not-sent':
    case 'rate-limited':
      return true;
    case 'server':
    case 'ambiguous':
      return effect === 'read';
    default:
      return false;
  }
}

// The error taxonomy every exchange call fails with. What the execution layer may do next depends
// only on the kind: a "not-sent" or "rejected" outcome is final for the attempt, an "ambiguous" one
// must be resolved by lookup and is never blindly re-sent.

export type ExchangeErrorKind =
  | 'not-sent' // failed before the request left: provably unprocessed
  | 'ambiguous' // sent, outcome unknown: timeout, reset after send, 5xx on a write, unreadable reply
  | 'rate-limited' // 429: nothing was processed
  | 'server' // 5xx on a read, or 503 maintenance
  | 'auth' // 401: signature, key or stamp refused
  | 'rejected' // the exchange refused with a code (HTTP 4xx)
  | 'exchange-failure' // HTTP 200 with success:false
  | 'parse'; // a reply whose shape we do not understand

/**
 * What a refusal means, whatever venue gave it. The adapter that knows the venue's codes and
 * messages sets it; the execution core acts on it and never reads a venue's message text.
 */
export type RefusalReason =
  | 'order-not-found' // the exchange does not know the order id (lookup or cancel)
  | 'order-closed' // cancel refused: the order is already filled or canceled, or its cancel is under way
  | 'cancel-blocked' // cancel refused for now (the pair is in maintenance)
  | 'insufficient-balance' // the free balance does not cover the order
  | 'invalid-order' // the order breaks a rule (scale, tick, minimum value, price band, method)
  | 'unknown-symbol' // the pair is not listed
  | 'market-unavailable' // a market order cannot be placed now (not open, nothing to trade against)
  | 'other'; // refused for a reason no kind above names (the message says)

export interface ExchangeErrorDetails {
  readonly operation: string; // "POST /api/v1/order"
  /** For a refusal ('rejected', 'exchange-failure'): what it means, venue-neutral. */
  readonly reason?: RefusalReason | undefined;
  readonly httpStatus?: number | undefined;
  readonly code?: number | string | undefined; // the exchange's code
  readonly venueMessage?: string | undefined; // the exchange's message string
  readonly retryAfterMs?: number | undefined;
  readonly cause?: unknown;
}

export class ExchangeError extends Error {
  readonly operation: string;
  readonly httpStatus: number | undefined;
  readonly code: number | string | undefined;
  readonly venueMessage: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly reason: RefusalReason | undefined;

  constructor(
    readonly kind: ExchangeErrorKind,
    message: string,
    details: ExchangeErrorDetails,
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ExchangeError';
    this.operation = details.operation;
    this.httpStatus = details.httpStatus;
    this.code = details.code;
    this.venueMessage = details.venueMessage;
    this.retryAfterMs = details.retryAfterMs;
    this.reason = details.reason;
  }

  /** True when the exchange provably did nothing with the request. */
  get unprocessed(): boolean {
    return (
      this.kind === 'not-sent' ||
      this.kind === 'rate-limited' ||
      this.kind === 'rejected' ||
      this.kind === 'exchange-failure' ||
      this.kind === 'auth'
    );
  }
}

export function isExchangeError(error: unknown, kind?: ExchangeErrorKind): error is ExchangeError {
  return error instanceof ExchangeError && (kind === undefined || error.kind === kind);
}

/** Configuration that cannot work: the message names the setting and what is wrong (exit code 2). */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

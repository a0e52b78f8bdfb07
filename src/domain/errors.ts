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

export interface ExchangeErrorDetails {
  readonly operation: string; // "POST /api/v1/order"
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

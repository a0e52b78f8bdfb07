import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import type { OrderState } from '../domain/orders.ts';
import type { Random } from '../domain/random.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import type { Exchange } from '../ports/exchange.ts';
import type { Store } from '../ports/store.ts';
import type { EscalationPolicy } from './escalation.ts';

// What every part of the OMS shell shares: its ports, its settings and its counters.

export interface OmsTimings {
  /** An unresolved order nowhere to be seen this long after it was sent was never placed (S2, S3). */
  readonly notFoundAfterMs: number;
  /** Backoff between lookups of an unresolved order and polls of a cancel. */
  readonly lookupBaseMs: number;
  readonly lookupCapMs: number;
  /** How long one cancel attempt waits for the exchange to show the order gone. */
  readonly cancelConfirmMs: number;
  /** Cancel requests per order before it is left PENDING_CANCEL for reconciliation to finish. */
  readonly cancelAttempts: number;
  /** Reconciliation asks again for a cancel the exchange still shows resting after this long. */
  readonly cancelRetryAfterMs: number;
  /** Order history read at start and on demand (adopts orders a restored database forgot: X2). */
  readonly startLookbackMs: number;
  /** Order history read by each continuous pass. */
  readonly continuousLookbackMs: number;
  /** Fill polling starts this far before the cursor, so late-visible fills are not skipped. */
  readonly fillOverlapMs: number;
  /** Margin for comparing our clock with the exchange's (skew, created-at imprecision). */
  readonly clockSlackMs: number;
}

export const DEFAULT_TIMINGS: OmsTimings = {
  notFoundAfterMs: 15_000,
  lookupBaseMs: 200,
  lookupCapMs: 2_000,
  cancelConfirmMs: 5_000,
  cancelAttempts: 3,
  cancelRetryAfterMs: 15_000,
  startLookbackMs: 24 * 3_600_000,
  continuousLookbackMs: 15 * 60_000,
  fillOverlapMs: 60_000,
  clockSlackMs: 60_000,
};

/** Counters, surfaced by `Oms.stats()`: every failure is counted, none is only logged. */
export interface OmsStats {
  submits: number;
  acked: number;
  rejected: number;
  ambiguous: number;
  resolvedFound: number;
  resolvedNotFound: number;
  lookupFailures: number;
  cancels: number;
  cancelsConfirmed: number;
  cancelsPending: number;
  cancelsRefused: number;
  /** Pushed cancels nobody here asked for, read again over REST before they were believed. */
  unaskedCancelChecks: number;
  /** ... of which REST said otherwise (REST won). */
  unaskedCancelsContradicted: number;
  replaces: number;
  reconcileRuns: number;
  reconcileFailures: number;
  repairs: number;
  divergences: number;
  adopted: number;
  foreign: number;
  fillsNew: number;
  /** Fills seen again: the same (trade id, exchange order id), not merely the same trade id. */
  fillsDuplicate: number;
  fillsUnlinked: number;
  escalations: number;
  /** New orders and replaces refused because they would cross one of our own resting orders. */
  selfTradeRefusals: number;
  /**
   * Replies and events about an order another path had already moved on (a timeout reply for an
   * order the stream already showed OPEN, say): recorded as information, not as a divergence.
   */
  lateReplies: number;
  /** Replace steps another owner had already taken: the transaction was read again and went on from there. */
  replaceConflicts: number;
  /** Reconciliation repairs dropped because the order moved on between the pass's read and the repair. */
  staleRepairs: number;
}

export function emptyStats(): OmsStats {
  return {
    submits: 0,
    acked: 0,
    rejected: 0,
    ambiguous: 0,
    resolvedFound: 0,
    resolvedNotFound: 0,
    lookupFailures: 0,
    cancels: 0,
    cancelsConfirmed: 0,
    cancelsPending: 0,
    cancelsRefused: 0,
    unaskedCancelChecks: 0,
    unaskedCancelsContradicted: 0,
    replaces: 0,
    reconcileRuns: 0,
    reconcileFailures: 0,
    repairs: 0,
    divergences: 0,
    adopted: 0,
    foreign: 0,
    fillsNew: 0,
    fillsDuplicate: 0,
    fillsUnlinked: 0,
    escalations: 0,
    selfTradeRefusals: 0,
    lateReplies: 0,
    replaceConflicts: 0,
    staleRepairs: 0,
  };
}

export interface OmsContext {
  readonly store: Store;
  readonly exchange: Exchange;
  readonly clock: Clock;
  readonly random: Random;
  /** Instance prefix of our client order ids. */
  readonly prefix: string;
  readonly timings: OmsTimings;
  readonly escalation: EscalationPolicy;
  /** The exchange's trading rules of a symbol (a replacement too small to place is not sent). */
  readonly rules: (symbol: string) => Promise<SymbolRules | undefined>;
  readonly log: Logger;
  readonly stats: OmsStats;
}

/** A new order may not go out now; the message says why and what to do. */
export class OrderRefusedError extends Error {
  constructor(
    readonly symbol: string,
    readonly reason: string,
  ) {
    super(`new order on ${symbol} refused: ${reason}`);
    this.name = 'OrderRefusedError';
  }
}

/**
 * The order is not in a state the call needs (it filled or was canceled, or is not yet resolved)
 * because it moved on after the caller read it: a race the caller may expect, not a bug.
 */
export class OrderMovedOnError extends Error {
  constructor(
    readonly orderId: string,
    readonly state: OrderState,
    message: string,
  ) {
    super(message);
    this.name = 'OrderMovedOnError';
  }
}

/** An operator or caller named an order the store does not hold. */
export class UnknownOrderError extends Error {
  constructor(readonly reference: string) {
    super(
      `no order ${reference} in the store: check the id with btcbot orders, or run btcbot reconcile to adopt it`,
    );
    this.name = 'UnknownOrderError';
  }
}

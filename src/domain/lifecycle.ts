import type { Decimal } from 'decimal.js';
import { decText } from './decimal.ts';
import { ORDER_STATES, type OrderState } from './orders.ts';
import type { VenueOrderStatus } from './reports.ts';

// The order state machine of DESIGN §2, as one explicit table. Pure: the store checks every event
// against it before anything is written, so an order's journal can only ever hold allowed steps.

export type OrderEvent =
  /** The request is about to leave (recorded before the send, so a crash leaves SUBMITTED, never a silent send). */
  | { readonly type: 'sent' }
  /** The exchange's reply carried the order id. */
  | { readonly type: 'acked'; readonly exchangeOrderId: string }
  /** Timeout, reset after send, 5xx, unreadable reply: the order may or may not exist. */
  | { readonly type: 'send-ambiguous'; readonly reason: string }
  /** A definitive refusal: nothing was placed. */
  | { readonly type: 'rejected'; readonly reason: string }
  /** An ambiguous submit resolved by lookup as never placed. */
  | { readonly type: 'resolved-not-found'; readonly reason: string }
  /** One execution; `quantity` is this fill's own quantity, the machine keeps the running total. */
  | { readonly type: 'fill'; readonly quantity: Decimal; readonly exchangeOrderId?: string | undefined }
  /** The status the exchange shows (lookup, polling or the private stream). */
  | {
      readonly type: 'venue-status';
      readonly status: VenueOrderStatus;
      readonly exchangeOrderId?: string | undefined;
    }
  | { readonly type: 'cancel-requested' }
  /** The exchange refused the cancel and the order still rests. */
  | { readonly type: 'cancel-refused'; readonly reason: string }
  /** The cancel completed: the order left the book. */
  | {
      readonly type: 'canceled';
      readonly reason?: string | undefined;
      readonly exchangeOrderId?: string | undefined;
    };

export type OrderEventType = OrderEvent['type'];
export type FillEvent = Extract<OrderEvent, { type: 'fill' }>;
/** Every event except a fill: fills enter only with their (trade id, exchange order id), so they are counted once. */
export type StatusEvent = Exclude<OrderEvent, FillEvent>;

/** What the machine needs to know about an order besides its state. */
export interface OrderProgress {
  readonly state: OrderState;
  readonly quantity: Decimal;
  readonly filled: Decimal;
  readonly exchangeOrderId: string | null;
}

export type Transition =
  | {
      readonly ok: true;
      readonly state: OrderState;
      readonly filled: Decimal;
      readonly exchangeOrderId: string | null;
    }
  | { readonly ok: false; readonly error: string };

/** Venue statuses are separate rows of the table: what each one allows differs. */
type TransitionKey = Exclude<OrderEventType, 'venue-status'> | `venue-${VenueOrderStatus}`;

/**
 * A cell of the table: a state, or a rule that picks one from the fill progress.
 * `by-fill`: PARTIALLY_FILLED, or FILLED once the whole quantity has filled.
 * `by-progress`: OPEN while nothing has filled, PARTIALLY_FILLED after.
 * `filled-if-complete`: FILLED once the whole quantity has filled, otherwise the state stays.
 */
type Target = OrderState | 'by-fill' | 'by-progress' | 'filled-if-complete';

// A missing cell is a forbidden transition. Terminal states (FILLED, REJECTED) only ever map to
// themselves; CANCELED keeps counting late fills and moves only when the venue says FILLED.
const TABLE: Readonly<Record<TransitionKey, Readonly<Partial<Record<OrderState, Target>>>>> = {
  sent: { PENDING_SUBMIT: 'SUBMITTED' },
  'send-ambiguous': { SUBMITTED: 'UNKNOWN' },
  // A stream fill or cancel can overtake the HTTP reply, so a late ack only teaches the order id.
  acked: {
    SUBMITTED: 'OPEN',
    UNKNOWN: 'OPEN',
    OPEN: 'OPEN',
    PARTIALLY_FILLED: 'PARTIALLY_FILLED',
    PENDING_CANCEL: 'PENDING_CANCEL',
    FILLED: 'FILLED',
    CANCELED: 'CANCELED',
  },
  // From PENDING_SUBMIT: refused before it left (a local check, the rate limiter, or a restart
  // finding it there: `sent` is recorded before the send, so it never left).
  rejected: { PENDING_SUBMIT: 'REJECTED', SUBMITTED: 'REJECTED' },
  'resolved-not-found': { UNKNOWN: 'REJECTED' },
  fill: {
    PENDING_SUBMIT: 'by-fill',
    SUBMITTED: 'by-fill',
    UNKNOWN: 'by-fill',
    OPEN: 'by-fill',
    PARTIALLY_FILLED: 'by-fill',
    PENDING_CANCEL: 'filled-if-complete',
    FILLED: 'FILLED',
    CANCELED: 'CANCELED',
  },
  // What the venue shows is a fact: it also resolves PENDING_SUBMIT/SUBMITTED/UNKNOWN. A closed
  // order the venue shows resting is a divergence the caller must look into, not a state change.
  'venue-open': {
    PENDING_SUBMIT: 'by-progress',
    SUBMITTED: 'by-progress',
    UNKNOWN: 'by-progress',
    OPEN: 'by-progress',
    PARTIALLY_FILLED: 'PARTIALLY_FILLED',
    PENDING_CANCEL: 'PENDING_CANCEL',
  },
  'venue-partially_filled': {
    PENDING_SUBMIT: 'PARTIALLY_FILLED',
    SUBMITTED: 'PARTIALLY_FILLED',
    UNKNOWN: 'PARTIALLY_FILLED',
    OPEN: 'PARTIALLY_FILLED',
    PARTIALLY_FILLED: 'PARTIALLY_FILLED',
    PENDING_CANCEL: 'PENDING_CANCEL',
  },
  'venue-filled': {
    PENDING_SUBMIT: 'FILLED',
    SUBMITTED: 'FILLED',
    UNKNOWN: 'FILLED',
    OPEN: 'FILLED',
    PARTIALLY_FILLED: 'FILLED',
    PENDING_CANCEL: 'FILLED',
    FILLED: 'FILLED',
    CANCELED: 'FILLED',
  },
  // A FILLED order shown canceled: the last fill and the cancel crossed; the fills are the truth.
  'venue-canceled': {
    PENDING_SUBMIT: 'CANCELED',
    SUBMITTED: 'CANCELED',
    UNKNOWN: 'CANCELED',
    OPEN: 'CANCELED',
    PARTIALLY_FILLED: 'CANCELED',
    PENDING_CANCEL: 'CANCELED',
    FILLED: 'FILLED',
    CANCELED: 'CANCELED',
  },
  'cancel-requested': {
    OPEN: 'PENDING_CANCEL',
    PARTIALLY_FILLED: 'PENDING_CANCEL',
    PENDING_CANCEL: 'PENDING_CANCEL',
  },
  'cancel-refused': { PENDING_CANCEL: 'by-progress' },
  canceled: {
    SUBMITTED: 'CANCELED',
    UNKNOWN: 'CANCELED',
    OPEN: 'CANCELED',
    PARTIALLY_FILLED: 'CANCELED',
    PENDING_CANCEL: 'CANCELED',
    FILLED: 'FILLED',
    CANCELED: 'CANCELED',
  },
};

function transitionKey(event: OrderEvent): TransitionKey {
  return event.type === 'venue-status' ? `venue-${event.status}` : event.type;
}

function eventExchangeId(event: OrderEvent): string | undefined {
  switch (event.type) {
    case 'acked':
    case 'fill':
    case 'venue-status':
    case 'canceled':
      return event.exchangeOrderId;
    default:
      return undefined;
  }
}

/** Whether the event names an exchange order other than the one the order already has. */
function namesOtherOrder(current: OrderProgress, event: OrderEvent): boolean {
  const incoming = eventExchangeId(event);
  return incoming !== undefined && current.exchangeOrderId !== null && incoming !== current.exchangeOrderId;
}

/** Applies one event to an order. Never throws: a forbidden event comes back as `{ ok: false, error }`. */
export function transition(current: OrderProgress, event: OrderEvent): Transition {
  const key = transitionKey(event);
  const target = TABLE[key][current.state];
  if (target === undefined) {
    const from = ORDER_STATES.filter((s) => TABLE[key][s] !== undefined);
    return {
      ok: false,
      error: `event "${key}" is not allowed on an order in ${current.state} (allowed from: ${from.join(', ')})`,
    };
  }

  const incomingId = eventExchangeId(event);
  if (namesOtherOrder(current, event)) {
    return {
      ok: false,
      error: `event "${key}" names exchange order ${incomingId ?? ''}, but the order is exchange order ${current.exchangeOrderId}`,
    };
  }
  const exchangeOrderId = current.exchangeOrderId ?? incomingId ?? null;

  let filled = current.filled;
  if (event.type === 'fill') {
    if (!event.quantity.isFinite() || event.quantity.lte(0))
      return { ok: false, error: `fill quantity must be greater than 0, got ${decText(event.quantity)}` };
    filled = current.filled.add(event.quantity);
    if (filled.gt(current.quantity))
      return {
        ok: false,
        error:
          `fill of ${decText(event.quantity)} takes the filled quantity to ${decText(filled)}, ` +
          `above the order quantity ${decText(current.quantity)}: a fill counted twice or a wrong order link`,
      };
  }

  const complete = filled.gte(current.quantity);
  let state: OrderState;
  switch (target) {
    case 'by-fill':
      state = complete ? 'FILLED' : 'PARTIALLY_FILLED';
      break;
    case 'by-progress':
      state = filled.isZero() ? 'OPEN' : 'PARTIALLY_FILLED';
      break;
    case 'filled-if-complete':
      state = complete ? 'FILLED' : current.state;
      break;
    default:
      state = target;
  }
  return { ok: true, state, filled, exchangeOrderId };
}

/**
 * Whether the table allows the event from the state at all (fill sizes and exchange ids aside).
 * An event the state a caller read allowed, but the order's state now forbids, is late: another
 * path moved the order on in between (the stream overtook a reply, a lookup resolved it first).
 */
export function allowsFrom(state: OrderState, event: OrderEvent): boolean {
  return TABLE[transitionKey(event)][state] !== undefined;
}

/**
 * An event refused on `now` that was decided on `seen`: late rather than contradictory when the
 * order has changed state since, `seen` allowed the event, and it names no other exchange order.
 */
export function isLateEvent(seen: OrderProgress, now: OrderProgress, event: OrderEvent): boolean {
  if (seen.state === now.state || !allowsFrom(seen.state, event) || allowsFrom(now.state, event))
    return false;
  // Concluded never placed, and now the exchange says it exists: that is a contradiction.
  if (now.state === 'REJECTED' && (event.type === 'acked' || event.type === 'venue-status')) return false;
  return !namesOtherOrder(now, event);
}

/**
 * A resting status (open, partially filled) about an order already CANCELED or FILLED here: an
 * older read overtaken by the close (a REST read from before it, the insert half of a streamed
 * update). Information, not a state change; whether the order really still rests is for the
 * reconciliation to decide, which reads the exchange again before it reports a divergence.
 */
export function isStaleStatus(now: OrderProgress, event: OrderEvent): boolean {
  if (event.type !== 'venue-status' || (event.status !== 'open' && event.status !== 'partially_filled'))
    return false;
  if (now.state !== 'CANCELED' && now.state !== 'FILLED') return false;
  return !namesOtherOrder(now, event);
}

/** No transition leaves these states. */
export function isTerminal(state: OrderState): boolean {
  return state === 'FILLED' || state === 'REJECTED';
}

/**
 * Off the book for good: terminal, or CANCELED (which still counts late fills but never rests
 * again). Orders in any other state still need the lifecycle's attention.
 */
export function isClosed(state: OrderState): boolean {
  return isTerminal(state) || state === 'CANCELED';
}

/** On the book as far as we know. */
export function isResting(state: OrderState): boolean {
  return state === 'OPEN' || state === 'PARTIALLY_FILLED' || state === 'PENDING_CANCEL';
}

/** Sent, with no answer yet: must be resolved by lookup before anything else is sent on its symbol. */
export function isUnresolved(state: OrderState): boolean {
  return state === 'SUBMITTED' || state === 'UNKNOWN';
}

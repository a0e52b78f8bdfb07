import type { Decimal } from 'decimal.js';
import type { Side } from '../domain/orders.ts';
import type { EscalationLevel, KillSwitchState } from '../ports/store.ts';

// Whether a new order may go out. Pure; cancels never pass through here: they always go.

export interface AdmissionInput {
  /** Start-up reconciliation has come out clean. */
  readonly ready: boolean;
  readonly killSwitch: KillSwitchState;
  readonly level: EscalationLevel;
  readonly side: Side;
  readonly quantity: Decimal;
  /** Net position in the base asset: positive long. */
  readonly position: Decimal;
  /** Quantity still resting in orders that already reduce the position (they use it up first). */
  readonly reducingResting: Decimal;
}

/** Why the order may not go, or null when it may. */
export function refusalReason(input: AdmissionInput): string | null {
  if (!input.ready)
    return 'start-up reconciliation has not come out clean yet: no new orders until it does (see btcbot reconcile)';
  if (input.killSwitch.on)
    return `the kill switch is on (${input.killSwitch.reason ?? 'no reason given'}); turn it off with btcbot kill-switch off`;
  if (input.level === 'HALTED') return 'the bot is HALTED: no new orders until an operator clears it';
  // A zero quantity adds nothing (a replace within the old order's size): only the switches above apply.
  if (input.level === 'REDUCE_ONLY' && input.quantity.gt(0)) {
    const reducible = (input.side === 'sell' ? input.position : input.position.neg()).sub(
      input.reducingResting,
    );
    if (input.quantity.gt(reducible))
      return (
        `REDUCE_ONLY: a ${input.side} of ${input.quantity.toFixed()} would add risk; only ` +
        `${reducible.isNegative() ? '0' : reducible.toFixed()} of the position is left to reduce`
      );
  }
  return null;
}

// ---------------------------------------------------------------- self-trade prevention

/**
 * One of our orders that rests (or may rest) on the book at a price. "Ours": placed by this bot or
 * adopted by its client id prefix. Foreign orders on the account (another process, a hand-placed
 * order) are not counted: the bot does not own them, cannot know they still rest (they are recorded,
 * never tracked), and a stray order must not be able to block trading. A self-match with one of them
 * can still happen; both fills are then booked, each on its own order (fill identity).
 */
export interface OwnRestingOrder {
  readonly id: string;
  readonly clientOrderId: string | null;
  readonly side: Side;
  readonly price: Decimal;
}

/** A new order as the self-trade check sees it: `price` null takes any price (a market order). */
export interface CrossingCandidate {
  readonly symbol: string;
  readonly side: Side;
  readonly price: Decimal | null;
}

/**
 * The resting order of ours a new order would trade with at once, or null: a buy at a price at or
 * above our lowest resting sell, a sell at or below our highest resting buy; a market order crosses
 * any resting opposite order. The one named is the best-priced of those it crosses (it meets that
 * one first).
 */
export function selfTradeConflict(
  order: CrossingCandidate,
  resting: readonly OwnRestingOrder[],
): OwnRestingOrder | null {
  let worst: OwnRestingOrder | null = null;
  for (const other of resting) {
    if (other.side === order.side) continue;
    const crosses =
      order.price === null ||
      (order.side === 'buy' ? order.price.gte(other.price) : order.price.lte(other.price));
    if (!crosses) continue;
    if (worst === null || (order.side === 'buy' ? other.price.lt(worst.price) : other.price.gt(worst.price)))
      worst = other;
  }
  return worst;
}

/** Why a crossing order is refused, naming the resting order and both prices. */
export function selfTradeReason(order: CrossingCandidate, resting: OwnRestingOrder): string {
  const what =
    order.price === null ? `a market ${order.side}` : `a ${order.side} at ${order.price.toFixed()}`;
  const opposite = resting.side === 'buy' ? 'buy' : 'sell';
  return (
    `self-trade prevented: ${what} on ${order.symbol} would cross our own resting ${opposite} ` +
    `${resting.id} (client id ${resting.clientOrderId ?? '-'}) at ${resting.price.toFixed()}; ` +
    'cancel or move that order first'
  );
}

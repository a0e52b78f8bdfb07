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

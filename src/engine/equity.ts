import { Dec, ZERO } from '../domain/decimal.ts';
import type { EquitySnapshot } from '../ports/store.ts';
import type { Valuation } from './portfolio.ts';
import { ladderFor, type LadderStep, type LossLimits } from './risk.ts';

// The equity curve and the loss ladder it feeds. Pure: the engine values the account, this says
// what to persist and which escalation level today's loss and the fall from the peak demand.

const DAY_MS = 86_400_000;

/** Midnight UTC of the day `at` falls in: the loss ladder's day. */
export function dayStart(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** The snapshot of a valuation; the peak carries on from the previous snapshot. */
export function equitySnapshotOf(
  valuation: Valuation,
  at: number,
  previous: EquitySnapshot | undefined,
): EquitySnapshot {
  const peak =
    previous && previous.currency === valuation.currency
      ? Dec.max(previous.peakEquity, valuation.equity)
      : valuation.equity;
  return {
    at,
    currency: valuation.currency,
    equity: valuation.equity,
    cash: valuation.cash,
    realised: valuation.realised,
    unrealised: valuation.unrealised,
    fees: valuation.fees,
    peakEquity: peak,
  };
}

/**
 * The level the loss limits demand now. Today's result is the bot's own (realised plus unrealised
 * of its fills) since the first snapshot of the day, so deposits and the drift of holdings it never
 * traded do not count as its loss; the drawdown is the account's equity against its peak.
 */
export function lossLadder(
  now: EquitySnapshot,
  dayOpen: EquitySnapshot | undefined,
  limits: LossLimits,
): LadderStep {
  const result = (s: EquitySnapshot) => s.realised.add(s.unrealised);
  const pnlToday = dayOpen && dayOpen.currency === now.currency ? result(now).sub(result(dayOpen)) : ZERO;
  return ladderFor(pnlToday, now.peakEquity, now.equity, limits);
}

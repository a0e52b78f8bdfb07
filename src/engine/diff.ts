import type { Decimal } from 'decimal.js';
import type { OrderState } from '../domain/orders.ts';
import type { QuoteTolerance, RestingOrder, WantedOrder } from '../strategies/types.ts';

// Wanted vs resting: the order actions that make the resting set what the strategy wants. Quotes
// close enough stay in the queue, so the order budget (300/min on BTCTurk) is spent on real changes.

/** Orders whose outcome is still open: nothing may be sent about them until they settle. */
const IN_FLIGHT: ReadonlySet<OrderState> = new Set([
  'PENDING_SUBMIT',
  'SUBMITTED',
  'UNKNOWN',
  'PENDING_CANCEL',
]);
const SETTLED_RESTING: ReadonlySet<OrderState> = new Set(['OPEN', 'PARTIALLY_FILLED']);

/** Exchange requests each action spends: a replace is a cancel and a new order. */
export const ACTION_COST = { cancel: 1, replace: 2, submit: 1 } as const;

export interface RateBudget {
  /** Order requests (cancels and new orders) that may be sent now. */
  readonly ordersAvailable: number;
}

export interface Pairing {
  readonly resting: RestingOrder;
  readonly wanted: WantedOrder;
}

export interface OrderDiff {
  readonly cancels: RestingOrder[];
  readonly replaces: Pairing[];
  readonly submits: WantedOrder[];
  /** Resting orders close enough to a wanted one to stay; an untagged one is adopted into the slot. */
  readonly keeps: Pairing[];
  /** In-flight orders, left alone until they settle. */
  readonly inFlight: RestingOrder[];
  /** Wanted orders held back because an in-flight order may already serve their slot. */
  readonly waiting: WantedOrder[];
  /** Actions the rate budget did not cover; the next diff asks for them again. */
  readonly deferred: {
    readonly cancels: RestingOrder[];
    readonly replaces: Pairing[];
    readonly submits: WantedOrder[];
  };
}

function withinTolerance(resting: RestingOrder, wanted: WantedOrder, tolerance: QuoteTolerance): boolean {
  if (resting.symbol !== wanted.symbol || resting.side !== wanted.side) return false;
  const priceSlack = wanted.price.mul(tolerance.requoteThresholdBps).div(10_000);
  const quantitySlack = wanted.quantity.mul(tolerance.quantityTolerancePct).div(100);
  return (
    resting.price.sub(wanted.price).abs().lte(priceSlack) &&
    resting.quantityLeft.sub(wanted.quantity).abs().lte(quantitySlack)
  );
}

function sameMarketSide(a: { symbol: string; side: string }, b: { symbol: string; side: string }): boolean {
  return a.symbol === b.symbol && a.side === b.side;
}

function priceGap(resting: RestingOrder, wanted: WantedOrder): Decimal {
  return resting.price.sub(wanted.price).abs();
}

/** Removes and returns, of the items passing `test`, the one lowest by `rank`. */
function takeBest<T>(pool: T[], test: (item: T) => boolean, rank: (item: T) => Decimal): T | undefined {
  let best: T | undefined;
  for (const item of pool) if (test(item) && (best === undefined || rank(item).lt(rank(best)))) best = item;
  if (best !== undefined) pool.splice(pool.indexOf(best), 1);
  return best;
}

function assertUniqueTags(wanted: readonly WantedOrder[]): void {
  const seen = new Set<string>();
  for (const w of wanted) {
    if (seen.has(w.tag))
      throw new Error(
        `strategy wants two orders for the slot "${w.tag}": every wanted order needs its own tag`,
      );
    seen.add(w.tag);
  }
}

/** Cancels, then replaces, then submits, in that order of priority, until the budget runs out. */
function applyBudget(diff: OrderDiff, budget: RateBudget | undefined): OrderDiff {
  if (budget === undefined) return diff;
  let left = budget.ordersAvailable;
  let open = true; // once one action does not fit, no later one may jump ahead of it
  const cut = <T>(items: T[], cost: number): [T[], T[]] => {
    const sent: T[] = [];
    const deferred: T[] = [];
    for (const item of items) {
      if (open && left >= cost) {
        sent.push(item);
        left -= cost;
      } else {
        open = false;
        deferred.push(item);
      }
    }
    return [sent, deferred];
  };
  const [cancels, deferredCancels] = cut(diff.cancels, ACTION_COST.cancel);
  const [replaces, deferredReplaces] = cut(diff.replaces, ACTION_COST.replace);
  const [submits, deferredSubmits] = cut(diff.submits, ACTION_COST.submit);
  return {
    ...diff,
    cancels,
    replaces,
    submits,
    deferred: { cancels: deferredCancels, replaces: deferredReplaces, submits: deferredSubmits },
  };
}

/**
 * Compares what the strategy wants with what rests. Per slot (tag): a settled order within the
 * tolerance is kept; else one on the same symbol and side is replaced; else the wanted order is
 * submitted. Settled orders nothing wants are canceled. An in-flight order is never touched, and
 * its slot waits for it (as does every slot on its symbol and side when its slot is unknown).
 * Untagged settled orders may be kept for a slot that has no order of its own.
 */
export function diffOrders(
  wanted: readonly WantedOrder[],
  resting: readonly RestingOrder[],
  tolerance: QuoteTolerance,
  budget?: RateBudget,
): OrderDiff {
  assertUniqueTags(wanted);
  const inFlight = resting.filter((r) => IN_FLIGHT.has(r.state));
  const settled = resting.filter((r) => SETTLED_RESTING.has(r.state));
  const byTag = new Map<string, RestingOrder[]>();
  const untagged: RestingOrder[] = [];
  for (const r of settled) {
    if (r.tag === null) untagged.push(r);
    else byTag.set(r.tag, [...(byTag.get(r.tag) ?? []), r]);
  }
  const slotBusy = (w: WantedOrder) =>
    inFlight.some((r) => r.tag === w.tag || (r.tag === null && sameMarketSide(r, w)));

  const out: OrderDiff = {
    cancels: [],
    replaces: [],
    submits: [],
    keeps: [],
    inFlight,
    waiting: [],
    deferred: { cancels: [], replaces: [], submits: [] },
  };
  const unslotted: WantedOrder[] = [];
  for (const w of wanted) {
    const pool = byTag.get(w.tag) ?? [];
    byTag.delete(w.tag);
    const busy = slotBusy(w);
    const kept = takeBest(
      pool,
      (r) => withinTolerance(r, w, tolerance),
      (r) => priceGap(r, w),
    );
    // A busy slot gets no new order; its settled leftovers can only be canceled.
    const old =
      kept || busy
        ? undefined
        : takeBest(
            pool,
            (r) => sameMarketSide(r, w),
            (r) => priceGap(r, w),
          );
    out.cancels.push(...pool);
    if (kept) out.keeps.push({ resting: kept, wanted: w });
    else if (old) out.replaces.push({ resting: old, wanted: w });
    else if (busy) out.waiting.push(w);
    else unslotted.push(w);
  }
  for (const w of unslotted) {
    const adopted = takeBest(
      untagged,
      (r) => withinTolerance(r, w, tolerance),
      (r) => priceGap(r, w),
    );
    if (adopted) out.keeps.push({ resting: adopted, wanted: w });
    else out.submits.push(w);
  }
  for (const pool of byTag.values()) out.cancels.push(...pool);
  out.cancels.push(...untagged);
  return applyBudget(out, budget);
}

/** Order requests a diff will send (what the rate limiter must allow). */
export function diffCost(diff: Pick<OrderDiff, 'cancels' | 'replaces' | 'submits'>): number {
  return (
    diff.cancels.length * ACTION_COST.cancel +
    diff.replaces.length * ACTION_COST.replace +
    diff.submits.length * ACTION_COST.submit
  );
}

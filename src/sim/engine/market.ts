import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';
import type { Random } from '../../domain/random.ts';
import { quantizePrice, quantizeQuantity, type Side, type SymbolRules } from '../../domain/symbols.ts';
import {
  SimRejection,
  type MarketShare,
  type PlaceOrderInput,
  type SimMarketConfig,
  type SimOrder,
} from './api.ts';

// Synthetic participants: market makers quote a ladder around a random-walk mid and a taker now and
// then sends a market order. Together they make resting user orders near the touch fill: the taker
// hits the touch, and when the mid walks through a user's price the makers' new quotes cross it.

export const SIM_MAKER_ACCOUNTS = ['__sim_maker_1__', '__sim_maker_2__'] as const;
export const SIM_TAKER_ACCOUNT = '__sim_taker__';

const LEVELS = 6; // per side, alternating between the makers
const HALF_SPREAD = new Dec('0.0004'); // of the mid, to the first level
const LEVEL_STEP = new Dec('0.0005'); // of the mid, between levels
const TAKER_PROBABILITY = 0.4; // per market per step
// Order sizes in multiples of the pair's minimum order value, so they scale with its quote currency.
// The ladder is thin at the touch and thicker with each level, as real books are, so an ordinary
// taker reaches through the first levels to the user orders resting among them.
const MAKER_SIZE = [20, 200] as const; // times 2^level
const TAKER_SIZE = [50, 1500] as const;
const FUNDING = new Dec('1e8'); // each participant holds this many minimum values per market
const FALLBACK_MIN_VALUE = new Dec(100);

/** What the participants may do: the same calls a user makes, each its own change set. */
export interface ParticipantVenue {
  place(input: PlaceOrderInput): SimOrder;
  cancel(orderId: string): void;
  isOpen(orderId: string): boolean;
  bestPrice(symbol: string, side: Side): Decimal | null;
}

interface Quote {
  readonly accountId: string;
  readonly price: Decimal;
}

interface LiveQuote extends Quote {
  readonly orderId: string;
}

interface QuotedMarket {
  readonly symbol: string;
  readonly rules: SymbolRules;
  readonly volatility: Decimal;
  readonly minValue: Decimal;
  mid: Decimal;
  quotes: LiveQuote[];
}

function minValue(rules: SymbolRules): Decimal {
  return new Dec(rules.minExchangeValue ?? FALLBACK_MIN_VALUE);
}

/** Balances each participant starts with: deep enough that a long run never exhausts them. */
export function participantFunding(markets: readonly SimMarketConfig[]): Record<string, Decimal> {
  const out: Record<string, Decimal> = {};
  const add = (asset: string, amount: Decimal) => (out[asset] = (out[asset] ?? new Dec(0)).plus(amount));
  for (const { rules, initialMid } of markets) {
    const value = minValue(rules).mul(FUNDING);
    add(rules.quote, value);
    add(rules.base, quantizeQuantity(rules, value.div(new Dec(initialMid))));
  }
  return out;
}

/** The makers' ladder for a mid: strictly ordered prices on the grid, within the pair's price limits. */
export function quoteLadder(rules: SymbolRules, mid: Decimal): { bids: Quote[]; asks: Quote[] } {
  const bids: Quote[] = [];
  const asks: Quote[] = [];
  const inLimits = (p: Decimal) =>
    p.gt(0) &&
    (rules.minPrice === null || p.gte(rules.minPrice)) &&
    (rules.maxPrice === null || p.lte(rules.maxPrice));
  let bid: Decimal | null = null;
  let ask: Decimal | null = null;
  for (let level = 0; level < LEVELS; level++) {
    const offset = HALF_SPREAD.plus(LEVEL_STEP.mul(level));
    const accountId = SIM_MAKER_ACCOUNTS[level % SIM_MAKER_ACCOUNTS.length] ?? SIM_MAKER_ACCOUNTS[0];
    // On a coarse grid two levels can round to one price: step them a tick apart instead.
    let b = quantizePrice(rules, 'buy', mid.mul(new Dec(1).minus(offset)));
    if (bid !== null && b.gte(bid)) b = bid.minus(rules.tickSize);
    let a = quantizePrice(rules, 'sell', mid.mul(offset.plus(1)));
    if (ask !== null && a.lte(ask)) a = ask.plus(rules.tickSize);
    else if (ask === null && a.lte(b)) a = b.plus(rules.tickSize);
    bid = b;
    ask = a;
    if (inLimits(b)) bids.push({ accountId, price: b });
    if (inLimits(a)) asks.push({ accountId, price: a });
  }
  return { bids, asks };
}

export class SyntheticMarket {
  private readonly markets: QuotedMarket[];

  constructor(
    configs: readonly SimMarketConfig[],
    private readonly random: Random,
    private readonly venue: ParticipantVenue,
  ) {
    this.markets = configs.map((c) => ({
      symbol: c.symbol,
      rules: c.rules,
      volatility: new Dec(c.volatility),
      minValue: minValue(c.rules),
      mid: new Dec(c.initialMid),
      quotes: [],
    }));
  }

  /** One round for every market (or a share of them), in configuration order: walk the mid, requote, maybe take. */
  step(share?: MarketShare): void {
    for (let index = share?.part ?? 0; index < this.markets.length; index += share?.of ?? 1) {
      const m = this.markets[index];
      if (m === undefined) continue;
      this.walk(m);
      this.requote(m);
      if (this.random.next() < TAKER_PROBABILITY) this.take(m);
    }
  }

  /**
   * Geometric random walk. The normal draw is the sum of twelve uniforms minus six (exact in binary
   * floating point), and the exponential is Decimal's: the walk replays bit for bit on any platform.
   */
  private walk(m: QuotedMarket): void {
    let z = -6;
    for (let i = 0; i < 12; i++) z += this.random.next();
    m.mid = m.mid.mul(m.volatility.mul(z).exp()).toSignificantDigits(15);
  }

  private requote(m: QuotedMarket): void {
    const { bids, asks } = quoteLadder(m.rules, m.mid);
    const wanted = [
      ...bids.map((q, level) => ({ ...q, level, side: 'buy' as const })),
      ...asks.map((q, level) => ({ ...q, level, side: 'sell' as const })),
    ];
    const kept: LiveQuote[] = [];
    for (const quote of m.quotes) {
      if (!this.venue.isOpen(quote.orderId)) continue;
      if (wanted.some((w) => w.accountId === quote.accountId && w.price.eq(quote.price))) kept.push(quote);
      else this.venue.cancel(quote.orderId);
    }
    for (const w of wanted) {
      if (kept.some((k) => k.accountId === w.accountId && k.price.eq(w.price))) continue;
      const notional = this.size(m, MAKER_SIZE).mul(2 ** w.level);
      const quantity = quantizeQuantity(m.rules, notional.div(w.price));
      const order = this.tryPlace({
        accountId: w.accountId,
        symbol: m.symbol,
        side: w.side,
        method: 'limit',
        price: w.price,
        quantity,
      });
      if (order && this.venue.isOpen(order.id))
        kept.push({ accountId: w.accountId, price: w.price, orderId: order.id });
    }
    m.quotes = kept;
  }

  private take(m: QuotedMarket): void {
    const side: Side = this.random.next() < 0.5 ? 'buy' : 'sell';
    const notional = this.size(m, TAKER_SIZE);
    let quantity: Decimal;
    if (side === 'buy') quantity = notional.toDecimalPlaces(m.rules.quantityScale, Dec.ROUND_DOWN);
    else {
      const bid = this.venue.bestPrice(m.symbol, 'buy');
      if (bid === null) return;
      quantity = quantizeQuantity(m.rules, notional.div(bid));
    }
    this.tryPlace({ accountId: SIM_TAKER_ACCOUNT, symbol: m.symbol, side, method: 'market', quantity });
  }

  private size(m: QuotedMarket, [low, high]: readonly [number, number]): Decimal {
    return m.minValue.mul(new Dec(low + (high - low) * this.random.next()).toDecimalPlaces(2));
  }

  /** A participant's refusal (empty book, exhausted balance) just means it sits this one out. */
  private tryPlace(input: PlaceOrderInput): SimOrder | undefined {
    try {
      return this.venue.place(input);
    } catch (error) {
      if (error instanceof SimRejection) return undefined;
      throw error;
    }
  }
}

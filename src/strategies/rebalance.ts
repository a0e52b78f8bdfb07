import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { Dec, ZERO } from '../domain/decimal.ts';
import { decimalParam, numberParam, parameterDocs, parseParams } from './params.ts';
import { fitQuantity, midPrice, passivePrice, placeable, shiftBps } from './pricing.ts';
import type { Strategy, StrategyDefinition, StrategySnapshot, WantedOrder } from './types.ts';

// Holds target weights across assets, valued at the mid in the quote currency. An asset whose
// weight leaves the band is traded back toward its target against the quote currency, with a limit
// order just behind the touch, at most `maxOrderQuote` at a time.

const ASSET = /^[A-Z0-9]{2,12}$/;

export const rebalanceSchema = z
  .strictObject({
    targets: z
      .record(
        z.string().regex(ASSET, 'asset codes are upper-case letters and digits, e.g. "BTC"'),
        decimalParam({ min: 0, max: 1 }),
      )
      .describe('target weight per asset, summing to 1, e.g. {"BTC":0.5,"TRY":0.5}'),
    quote: z
      .string()
      .regex(ASSET, 'must be an upper-case asset code, e.g. "TRY"')
      .prefault('TRY')
      .describe('the currency the portfolio is valued in; every other asset trades on ASSET+quote'),
    bandPct: numberParam({ above: 0, max: 50 })
      .prefault(5)
      .describe('no order while every weight is within this many percentage points of its target'),
    maxOrderQuote: decimalParam({ above: 0 })
      .prefault('1000')
      .describe('largest order value, in the quote currency'),
    offsetBps: numberParam({ min: 0, max: 1000 })
      .prefault(5)
      .describe('a buy rests this many basis points under the best bid, a sell as far over the best ask'),
    requoteThresholdBps: numberParam({ min: 0 })
      .prefault(10)
      .describe('a resting order within this many basis points of the wanted price is kept, not replaced'),
    quantityTolerancePct: numberParam({ min: 0, max: 100 })
      .prefault(20)
      .describe('a resting order whose quantity left is within this percent of the wanted one is kept'),
  })
  .superRefine((p, ctx) => {
    const weights = Object.values(p.targets);
    const sum = weights.reduce((a, b) => a.add(b), ZERO);
    if (weights.length < 2 || !sum.eq(1))
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: `needs at least two assets whose weights sum to 1 (they sum to ${sum.toFixed()})`,
      });
    if (!(p.quote in p.targets))
      ctx.addIssue({
        code: 'custom',
        path: ['targets'],
        message: `must include the quote currency ${p.quote}`,
      });
  });

export type RebalanceParams = z.output<typeof rebalanceSchema>;

export function rebalanceTag(symbol: string): string {
  return `rb:${symbol}`;
}

interface Holding {
  readonly asset: string;
  readonly symbol: string;
  readonly amount: Decimal;
  readonly value: Decimal; // in the quote currency
}

function held(snapshot: StrategySnapshot, asset: string): Decimal {
  const balance = snapshot.balances.get(asset);
  return balance ? balance.free.add(balance.locked) : ZERO;
}

/** Every non-quote target asset valued at its mid; null when one cannot be valued (stale, no book). */
function holdings(p: RebalanceParams, snapshot: StrategySnapshot): Holding[] | null {
  const out: Holding[] = [];
  for (const asset of Object.keys(p.targets)) {
    if (asset === p.quote) continue;
    const symbol = asset + p.quote;
    const market = snapshot.markets.get(symbol);
    const mid = market && market.status !== 'stale' ? midPrice(market) : null;
    if (mid === null || !snapshot.rules.has(symbol)) return null;
    const amount = held(snapshot, asset);
    out.push({ asset, symbol, amount, value: amount.mul(mid) });
  }
  return out;
}

function orderFor(
  p: RebalanceParams,
  snapshot: StrategySnapshot,
  h: Holding,
  total: Decimal,
): WantedOrder | null {
  const target = p.targets[h.asset] ?? ZERO;
  const gap = target.sub(h.value.div(total)); // positive: buy
  if (gap.abs().mul(100).lte(p.bandPct)) return null;
  const rules = snapshot.rules.get(h.symbol);
  const market = snapshot.markets.get(h.symbol);
  if (!rules || !market) return null;
  const side = gap.gt(0) ? 'buy' : 'sell';
  const touch = side === 'buy' ? market.bestBid : market.bestAsk;
  if (touch === null) return null;
  const raw = shiftBps(touch, side === 'buy' ? -p.offsetBps : p.offsetBps);
  const price = passivePrice(rules, side, raw, market);
  if (price === null) return null;
  const value = Dec.min(gap.abs().mul(total), p.maxOrderQuote);
  const wanted = value.div(price);
  const quantity = fitQuantity(rules, side === 'sell' ? Dec.min(wanted, h.amount) : wanted);
  const order = { symbol: h.symbol, side, price, quantity, tag: rebalanceTag(h.symbol) } as const;
  return placeable(rules, order) ? order : null;
}

export function rebalance(p: RebalanceParams): Strategy {
  return {
    name: 'rebalance',
    tolerance: { requoteThresholdBps: p.requoteThresholdBps, quantityTolerancePct: p.quantityTolerancePct },
    // Only its assets' pairs are valued and traded: a bot following other pairs too (a dashboard,
    // a recording) evaluates the portfolio when one of these moves, not on every other pair's tick.
    reads: new Set(
      Object.keys(p.targets)
        .filter((asset) => asset !== p.quote)
        .map((asset) => asset + p.quote),
    ),
    want(snapshot: StrategySnapshot): WantedOrder[] {
      const assets = holdings(p, snapshot);
      if (assets === null) return [];
      const total = assets.reduce((sum, h) => sum.add(h.value), held(snapshot, p.quote));
      if (total.lte(0)) return [];
      return assets.flatMap((h) => orderFor(p, snapshot, h, total) ?? []);
    },
  };
}

export const rebalanceDefinition: StrategyDefinition = {
  name: 'rebalance',
  summary: 'holds target weights across assets with limit orders near the touch',
  create: (params) => rebalance(parseParams('strategy "rebalance"', rebalanceSchema, params)),
  parameters: () => parameterDocs(rebalanceSchema),
};

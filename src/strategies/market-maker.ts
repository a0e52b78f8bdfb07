import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { Dec, ZERO } from '../domain/decimal.ts';
import type { Side } from '../domain/orders.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import { decimalParam, numberParam, parameterDocs, parseParams } from './params.ts';
import { fitQuantity, midPrice, passivePrice, placeable, shiftBps } from './pricing.ts';
import type { MarketView, Strategy, StrategyDefinition, StrategySnapshot, WantedOrder } from './types.ts';

// Quotes a ladder of bids and asks around the mid of every symbol with fresh data. Holding more
// than `targetBase` moves both quotes down (sell sooner, buy later), holding less moves them up.

export const marketMakerSchema = z
  .strictObject({
    spreadBps: numberParam({ above: 0, max: 5000 })
      .prefault(50)
      .describe('full distance between the level-0 bid and ask, in basis points of the mid'),
    levels: numberParam({ int: true, min: 1, max: 10 }).prefault(1).describe('quotes per side'),
    levelStepBps: numberParam({ min: 0, max: 1000 })
      .prefault(10)
      .describe('each further level sits this many basis points further from the mid'),
    size: decimalParam({ above: 0 })
      .optional()
      .describe('base quantity per level; when given it takes precedence over sizeQuote'),
    sizeQuote: decimalParam({ above: 0 })
      .prefault('500')
      .describe('value per level in the quote currency (TRY), used when size is not given'),
    targetBase: decimalParam({ min: 0 })
      .prefault('0')
      .describe('base quantity the maker aims to hold; inventory skew is measured from it'),
    inventorySkewBps: numberParam({ min: 0, max: 1000 })
      .prefault(0)
      .describe('basis points both quotes move against each base unit held away from targetBase'),
    maxInventoryBase: decimalParam({ min: 0 })
      .optional()
      .describe(
        'no bid may take the base position above this; unset: only the risk limits bound the position',
      ),
    requoteThresholdBps: numberParam({ min: 0 })
      .prefault(5)
      .describe('a resting quote within this many basis points of the wanted price is kept, not replaced'),
    quantityTolerancePct: numberParam({ min: 0, max: 100 })
      .prefault(20)
      .describe('a resting quote whose quantity left is within this percent of the wanted size is kept'),
  })
  .superRefine((p, ctx) => {
    if (p.requoteThresholdBps >= p.spreadBps / 2)
      ctx.addIssue({
        code: 'custom',
        path: ['requoteThresholdBps'],
        message: `must be below half the spread (${p.spreadBps} / 2 = ${p.spreadBps / 2} bps), or a kept quote could sit at the mid`,
      });
    if (p.maxInventoryBase && p.targetBase.gt(p.maxInventoryBase))
      ctx.addIssue({
        code: 'custom',
        path: ['targetBase'],
        message: `must not exceed maxInventoryBase (${p.maxInventoryBase.toFixed()})`,
      });
  });

export type MarketMakerParams = z.output<typeof marketMakerSchema>;

export function marketMakerTag(symbol: string, side: Side, level: number): string {
  return `mm:${symbol}:${side === 'buy' ? 'bid' : 'ask'}:${level}`;
}

function quoteSide(
  p: MarketMakerParams,
  rules: SymbolRules,
  market: MarketView,
  side: Side,
  rawPrices: readonly Decimal[],
  room: Decimal,
): WantedOrder[] {
  const out: WantedOrder[] = [];
  let left = room;
  rawPrices.forEach((raw, level) => {
    const price = passivePrice(rules, side, raw, market);
    if (price === null || left.lte(0)) return;
    const quantity = fitQuantity(rules, Dec.min(p.size ?? p.sizeQuote.div(price), left));
    const order = {
      symbol: rules.symbol,
      side,
      price,
      quantity,
      tag: marketMakerTag(rules.symbol, side, level),
    };
    if (!placeable(rules, order)) return;
    out.push(order);
    left = left.sub(quantity);
  });
  return out;
}

/** Each level's distance from the mid in basis points (before the skew): fixed by the parameters. */
function levelOffsets(p: MarketMakerParams): readonly Decimal[] {
  return Array.from({ length: p.levels }, (_, level) =>
    new Dec(p.spreadBps).div(2).add(new Dec(p.levelStepBps).mul(level)),
  );
}

const UNBOUNDED = new Dec(Infinity);

function quotesFor(
  p: MarketMakerParams,
  offsets: readonly Decimal[],
  rules: SymbolRules,
  market: MarketView,
  held: Decimal,
): WantedOrder[] {
  if (market.status === 'stale') return [];
  const mid = midPrice(market);
  if (mid === null) return [];
  const skewBps = held.sub(p.targetBase).mul(p.inventorySkewBps);
  const bids = offsets.map((offset) => shiftBps(mid, offset.neg().sub(skewBps)));
  const asks = offsets.map((offset) => shiftBps(mid, offset.sub(skewBps)));
  // Bids never take the position past its cap; asks never sell more than is held (spot).
  const bidRoom = p.maxInventoryBase ? Dec.max(ZERO, p.maxInventoryBase.sub(held)) : UNBOUNDED;
  const askRoom = Dec.max(ZERO, held);
  return [
    ...quoteSide(p, rules, market, 'buy', bids, bidRoom),
    ...quoteSide(p, rules, market, 'sell', asks, askRoom),
  ];
}

/** One symbol's last inputs and the quotes they gave. */
interface Quoted {
  readonly rules: SymbolRules;
  readonly bestBid: Decimal | null;
  readonly bestAsk: Decimal | null;
  readonly status: MarketView['status'];
  readonly held: Decimal;
  readonly orders: readonly WantedOrder[];
}

const samePrice = (a: Decimal | null, b: Decimal | null): boolean =>
  a === b || (a !== null && b !== null && a.eq(b));

export function marketMaker(p: MarketMakerParams): Strategy {
  const offsets = levelOffsets(p);
  // The quotes are a function of the symbol's rules, touch, data status and position alone: the
  // engine asks several times a second and the touch moves far less often, so each symbol's last
  // answer is kept and given again while those inputs are unchanged (the same orders, computed once).
  const last = new Map<string, Quoted>();
  return {
    name: 'market-maker',
    tolerance: { requoteThresholdBps: p.requoteThresholdBps, quantityTolerancePct: p.quantityTolerancePct },
    perSymbol: true, // each symbol's quotes from its own market and position only
    want(snapshot: StrategySnapshot): WantedOrder[] {
      const out: WantedOrder[] = [];
      for (const [symbol, market] of snapshot.markets) {
        const rules = snapshot.rules.get(symbol);
        if (!rules) continue;
        const held = snapshot.positions.get(symbol)?.base ?? ZERO;
        let quoted = last.get(symbol);
        if (
          quoted === undefined ||
          quoted.rules !== rules ||
          quoted.status !== market.status ||
          !samePrice(quoted.bestBid, market.bestBid) ||
          !samePrice(quoted.bestAsk, market.bestAsk) ||
          !quoted.held.eq(held)
        ) {
          quoted = {
            rules,
            bestBid: market.bestBid,
            bestAsk: market.bestAsk,
            status: market.status,
            held,
            orders: quotesFor(p, offsets, rules, market, held),
          };
          last.set(symbol, quoted);
        }
        for (const order of quoted.orders) out.push(order);
      }
      return out;
    },
  };
}

export const marketMakerDefinition: StrategyDefinition = {
  name: 'market-maker',
  summary: 'quotes bid and ask ladders around the mid, skewed against inventory',
  create: (params) => marketMaker(parseParams('strategy "market-maker"', marketMakerSchema, params)),
  parameters: () => parameterDocs(marketMakerSchema),
};

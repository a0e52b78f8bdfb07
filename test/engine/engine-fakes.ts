import { EventEmitter } from 'node:events';
import type { TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { FillReport, OrderStatusReport } from '../../src/domain/reports.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import { Engine, type EngineMarket, type EngineOms } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import type { MarketStatus } from '../../src/market/freshness.ts';
import type { MarketDataEvents, TopOfBook } from '../../src/market/service.ts';
import type {
  CancelResult,
  OrderRef,
  ReconcileReport,
  ReplaceRequest,
  ReplaceResult,
  SubmitIntent,
} from '../../src/oms/index.ts';
import type { Store, StoredOrder } from '../../src/ports/store.ts';
import type { Strategy } from '../../src/strategies/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';

// Fakes for the engine's unit tests: an execution core that carries out every action at once in a
// real (in-memory) store, and a market whose top and status a test sets.

export function btcRules(symbol = 'BTCTRY', base = 'BTC'): SymbolRules {
  return {
    symbol,
    base,
    quote: 'TRY',
    status: 'TRADING',
    quantityScale: 8,
    priceScale: 0,
    tickSize: new Dec(1),
    minPrice: new Dec(1),
    maxPrice: new Dec('100000000'),
    minExchangeValue: new Dec(100),
    minQuantity: null,
    maxQuantity: null,
    orderMethods: ['limit', 'market'],
  };
}

export class FakeMarket extends EventEmitter<MarketDataEvents> implements EngineMarket {
  readonly tops = new Map<string, TopOfBook>();

  setTop(symbol: string, bid: string, ask: string, status: MarketStatus = 'live'): TopOfBook {
    const top: TopOfBook = {
      symbol,
      bid: { price: new Dec(bid), quantity: new Dec(1) },
      ask: { price: new Dec(ask), quantity: new Dec(1) },
      ageMs: 0,
      status,
      source: 'stream',
      changeSet: 1,
    };
    this.tops.set(symbol, top);
    return top;
  }

  top(symbol: string): TopOfBook | null {
    return this.tops.get(symbol) ?? null;
  }

  canTrade(symbol: string): boolean {
    return (this.tops.get(symbol)?.status ?? 'stale') !== 'stale';
  }
}

export class FakeOms implements EngineOms {
  ready = true;
  readonly calls: string[] = [];
  #n = 0;

  constructor(private readonly store: Store) {}

  async #place(fields: {
    symbol: string;
    side: 'buy' | 'sell';
    quantity: Dec;
    price?: Dec | undefined;
    intentId: string | null | undefined;
    replaceOf?: string;
  }): Promise<StoredOrder> {
    this.#n += 1;
    const journaled = await this.store.journalOrder({
      clientOrderId: `bb-fake${this.#n}`,
      symbol: fields.symbol,
      side: fields.side,
      method: 'limit',
      quantity: fields.quantity,
      price: fields.price,
      intentId: fields.intentId,
      strategy: 'test',
      replaceOf: fields.replaceOf,
    });
    await this.store.applyEvent(journaled.id, { type: 'sent' });
    const acked = await this.store.applyEvent(journaled.id, {
      type: 'acked',
      exchangeOrderId: String(10_000 + this.#n),
    });
    return acked.order;
  }

  async submit(intent: SubmitIntent): Promise<StoredOrder> {
    this.calls.push(
      `submit ${intent.intentId ?? '-'} ${intent.side} ${intent.quantity.toFixed()}@${intent.price?.toFixed() ?? '-'}`,
    );
    return this.#place({ ...intent, intentId: intent.intentId });
  }

  async #close(order: StoredOrder): Promise<StoredOrder> {
    await this.store.applyEvent(order.id, { type: 'cancel-requested' });
    return (await this.store.applyEvent(order.id, { type: 'canceled' })).order;
  }

  async cancel(ref: OrderRef): Promise<CancelResult> {
    const order = 'clientOrderId' in ref ? await this.store.orderByClientId(ref.clientOrderId) : undefined;
    if (!order) throw new Error(`fake oms: unknown order ${JSON.stringify(ref)}`);
    this.calls.push(`cancel ${order.intentId ?? '-'}`);
    return { order: await this.#close(order), outcome: 'canceled' };
  }

  async replace(orderId: string, request: ReplaceRequest): Promise<ReplaceResult> {
    const old = await this.store.order(orderId);
    if (!old) throw new Error(`fake oms: unknown order ${orderId}`);
    this.calls.push(`replace ${old.intentId ?? '-'} -> ${request.price?.toFixed() ?? '-'}`);
    const quantity = request.quantity ?? old.quantity.sub(old.filledQuantity);
    const begun = await this.store.beginReplace({
      oldOrderId: old.id,
      newClientOrderId: `bb-repl${orderId}`,
      wantedQuantity: quantity,
      newPrice: request.price ?? null,
      newStopPrice: null,
      mode: 'safe',
    });
    if (!begun.ok) throw new Error(begun.message);
    const closed = await this.#close(old);
    const replacement = await this.#place({
      symbol: old.symbol,
      side: old.side,
      quantity,
      price: request.price,
      intentId: old.intentId,
      replaceOf: old.id,
    });
    let txn = begun.txn;
    for (const change of [
      { step: 'cancel-sent' as const },
      { step: 'old-closed' as const },
      { step: 'new-journaled' as const, newOrderId: replacement.id },
      { step: 'done' as const, outcome: 'replaced' as const },
    ]) {
      const next = await this.store.advanceReplace(txn.id, change, txn.version);
      if (!next.ok) throw new Error(next.message);
      txn = next.txn;
    }
    return { txn, old: closed, replacement };
  }

  onFill(fill: FillReport): Promise<void> {
    this.calls.push(`fill ${fill.tradeId}`);
    return Promise.resolve();
  }

  onOrderReport(report: OrderStatusReport): Promise<void> {
    this.calls.push(`report ${report.exchangeOrderId} ${report.status}`);
    return Promise.resolve();
  }

  reconcile(): Promise<ReconcileReport> {
    this.calls.push('reconcile');
    return Promise.resolve({
      clean: true,
      symbols: [],
      actions: {},
      failures: [],
      divergences: [],
      unresolved: 0,
      openReplaces: 0,
      escalation: { level: 'NORMAL', reason: null, at: null },
    });
  }
}

/** Lets every pending promise callback and immediate run. */
export const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * An engine on an in-memory store whose strategy wants nothing and notes the best BTCTRY bid each
 * evaluation showed it (`seen`), started and past its first evaluation (the first balance read
 * asks for one). `symbols` (BTCTRY by default) each get btcRules with their own base asset; `reads`
 * is the strategy's Strategy.reads. `nextEvaluation()` resolves when the next evaluation reaches the strategy.
 */
export async function probeEngine(
  t: TestContext,
  options: { debounceMs: number; symbols?: readonly string[]; reads?: ReadonlySet<string> },
) {
  const symbols = options.symbols ?? ['BTCTRY'];
  const store: Store = await openSqliteStore({ path: ':memory:' });
  t.after(() => store.close());
  const market = new FakeMarket();
  market.setTop('BTCTRY', '3500000', '3500100');
  if (symbols.includes('ETHTRY')) market.setTop('ETHTRY', '100000', '100010');
  const seen: string[] = [];
  let wake: (() => void) | null = null;
  const strategy: Strategy = {
    name: 'probe',
    tolerance: { requoteThresholdBps: 5, quantityTolerancePct: 10 },
    ...(options.reads === undefined ? {} : { reads: options.reads }),
    want: (snapshot) => {
      seen.push(snapshot.markets.get('BTCTRY')?.bestBid?.toFixed() ?? 'none');
      wake?.();
      return [];
    },
  };
  const nextEvaluation = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  const engine = new Engine({
    oms: new FakeOms(store),
    store,
    exchange: { balances: () => Promise.resolve([]) },
    market,
    strategy,
    limits: parseRiskLimits({}),
    symbols: [...symbols],
    rules: new Map(symbols.map((symbol) => [symbol, btcRules(symbol, symbol.replace(/TRY$/, ''))])),
    budget: new OrderRateBudget(120),
    timings: {
      debounceMs: options.debounceMs,
      evaluateEveryMs: 3_600_000,
      balancesEveryMs: 3_600_000,
      equityEveryMs: 3_600_000,
    },
  });
  t.after(() => engine.stop());
  const started = nextEvaluation();
  engine.start();
  await started;
  await drain();
  return { market, engine, seen, nextEvaluation };
}

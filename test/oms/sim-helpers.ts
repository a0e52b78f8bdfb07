import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Decimal } from 'decimal.js';
import { BtcturkExchange, type BtcturkExchangeOptions } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { Side } from '../../src/domain/orders.ts';
import { Oms, type OmsOptions } from '../../src/oms/index.ts';
import type { Store, StoredOrder } from '../../src/ports/store.ts';
import type { SimOrder } from '../../src/sim/engine/api.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/sim/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';

// The OMS against the simulator over real HTTP on loopback, with short timings so each scenario
// takes a second or two. Everything random is seeded.

export const PREFIX = 'tst';
export const SYMBOL = 'BTCTRY';

export const FAST_TIMINGS: OmsOptions['timings'] = {
  notFoundAfterMs: 1_500,
  lookupBaseMs: 40,
  lookupCapMs: 250,
  cancelConfirmMs: 1_500,
  cancelAttempts: 3,
  cancelRetryAfterMs: 2_000,
};

export interface Rig {
  readonly sim: RunningSimulator;
  readonly exchange: BtcturkExchange;
  readonly store: Store;
  readonly oms: Oms;
  /** Another account on the simulator, to trade against our orders. */
  readonly counterparty: string;
  /** Our account's orders as the simulator holds them. */
  ourOrders(): SimOrder[];
  /** A price inside the spread: an order there rests as the best on its side, alone. */
  insidePrice(side: Side): Decimal;
  /** A price that crosses the spread by a margin: a limit order there fills at once. */
  crossingPrice(side: Side): Decimal;
  /** The counterparty trades `quantity` against the book at `price` (our order, if it is best there). */
  hit(side: Side, quantity: string, price: Decimal): void;
  /** A new OMS on the same store and exchange (what a restart builds). */
  newOms(options?: Partial<OmsOptions>): Oms;
}

export interface RigOptions {
  readonly seed: number;
  readonly faults?: SimulatorOptions['faults'];
  readonly oms?: Partial<OmsOptions>;
  readonly exchange?: Partial<BtcturkExchangeOptions>;
  readonly storePath?: string;
}

export function exchangeFor(
  sim: RunningSimulator,
  seed: number,
  extra: Partial<BtcturkExchangeOptions> = {},
) {
  return new BtcturkExchange({
    baseUrl: sim.restUrl,
    credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    requestTimeoutMs: 400,
    deadlineMs: 3_000,
    random: seededRandom(seed),
    backoff: { baseMs: 20, capMs: 200 },
    ...extra,
  });
}

export async function rig(t: { after(fn: () => Promise<void>): void }, options: RigOptions): Promise<Rig> {
  const sim = await startSimulator({ seed: options.seed, autoMarket: false, faults: options.faults });
  const exchange = exchangeFor(sim, options.seed, options.exchange);
  const store = await openSqliteStore({ path: options.storePath ?? ':memory:' });
  const counterparty = sim.openAccount({ balances: { TRY: '100000000', BTC: '100' } }).accountId;
  const omsOptions = (extra: Partial<OmsOptions> = {}): OmsOptions => ({
    store,
    exchange,
    prefix: PREFIX,
    symbols: [SYMBOL],
    random: seededRandom(options.seed),
    timings: FAST_TIMINGS,
    ...options.oms,
    ...extra,
  });
  const oms = new Oms(omsOptions());
  t.after(async () => {
    await oms.stop();
    await exchange.close();
    await store.close();
    await sim.stop();
  });
  const best = (side: Side): Decimal => {
    const book = sim.engine.book(SYMBOL, 1);
    const level = side === 'buy' ? book.bids[0] : book.asks[0];
    if (!level) throw new Error(`the simulator's ${SYMBOL} book has no ${side === 'buy' ? 'bid' : 'ask'}`);
    return level.price;
  };
  return {
    sim,
    exchange,
    store,
    oms,
    counterparty,
    ourOrders: () => sim.groundTruth().orders.filter((o) => o.accountId === sim.accountId),
    insidePrice: (side) => (side === 'buy' ? best('buy').add(1) : best('sell').sub(1)),
    crossingPrice: (side) =>
      side === 'buy'
        ? best('sell').mul('1.01').toDecimalPlaces(0)
        : best('buy').mul('0.99').toDecimalPlaces(0),
    hit: (side, quantity, price) => {
      sim.engine.placeOrder({
        accountId: counterparty,
        symbol: SYMBOL,
        side,
        method: 'limit',
        quantity: new Dec(quantity),
        price,
      });
    },
    newOms: (extra) => new Oms(omsOptions(extra)),
  };
}

/** Starts the execution core and places a limit buy one tick inside the best bid: an order that rests. */
export async function restingBuy(r: Rig, quantity = '0.001', intentId = 'rest'): Promise<StoredOrder> {
  await r.oms.start();
  return r.oms.submit({
    symbol: SYMBOL,
    side: 'buy',
    method: 'limit',
    quantity: new Dec(quantity),
    price: r.insidePrice('buy'),
    intentId,
  });
}

export interface WireRequest {
  readonly method: string;
  readonly path: string;
  readonly sentAt: number;
  status?: number;
  retryAfterMs?: number;
}

/** Every HTTP request the process sends, as undici reports it: what really went over the wire. */
export function wireLog(t: { after(fn: () => void): void }): WireRequest[] {
  const log: WireRequest[] = [];
  const byRequest = new WeakMap<object, WireRequest>();
  const onCreate = (message: unknown): void => {
    const { request } = message as { request: { method: string; path: string } };
    const entry: WireRequest = { method: request.method, path: request.path, sentAt: Date.now() };
    byRequest.set(request, entry);
    log.push(entry);
  };
  const onHeaders = (message: unknown): void => {
    const { request, response } = message as {
      request: object;
      response: { statusCode: number; headers: Buffer[] };
    };
    const entry = byRequest.get(request);
    if (!entry) return;
    entry.status = response.statusCode;
    for (let i = 0; i + 1 < response.headers.length; i += 2)
      if (String(response.headers[i]).toLowerCase() === 'retry-after')
        entry.retryAfterMs = Number(String(response.headers[i + 1])) * 1000;
  };
  subscribe('undici:request:create', onCreate);
  subscribe('undici:request:headers', onHeaders);
  t.after(() => {
    unsubscribe('undici:request:create', onCreate);
    unsubscribe('undici:request:headers', onHeaders);
  });
  return log;
}

export const posts = (log: readonly WireRequest[]) =>
  log.filter((r) => r.method === 'POST' && r.path.startsWith('/api/v1/order'));
export const deletes = (log: readonly WireRequest[]) =>
  log.filter((r) => r.method === 'DELETE' && r.path.startsWith('/api/v1/order'));

/** Waits until `check` holds, polling; fails with `what` after the guard. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  guardMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

import type { TestContext } from 'node:test';
import { WsCredentials } from '../../src/btcturk/websocket/auth.ts';
import { BtcturkWsClient } from '../../src/btcturk/websocket/client.ts';
import { BtcturkUserStream } from '../../src/btcturk/websocket/user-stream.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Engine } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import type { StoredFill } from '../../src/ports/store.ts';
import type { UserStreamEvent } from '../../src/ports/user-stream.ts';
import type { SimFill } from '../../src/sim/engine/api.ts';
import type { Strategy } from '../../src/strategies/types.ts';
import { FakeMarket } from '../engine/engine-fakes.ts';
import {
  rig,
  SYMBOL,
  until,
  wireLog,
  type Rig,
  type RigOptions,
  type WireRequest,
} from '../oms/sim-helpers.ts';

// The bot's private-stream wiring, as src/ops/session.ts builds it, against the simulator over
// real HTTP and WebSocket: one logged-in BtcturkWsClient, a BtcturkUserStream on it handed to the
// Engine, the Engine routing its events into the Oms (fills with source 'stream', order reports,
// `resync` → reconcile). The market is a fake that never announces a reconnect, so the only path
// from a lost socket to a reconciliation is the private stream's own `resync`.

/** Continuous reconciliation this rarely is, for a test's length, no polling at all. */
export const RECONCILE_OFF_MS = 600_000;

/**
 * Wants exactly what rests, so the engine's diff never cancels, replaces or places anything: the
 * engine only routes the private stream into the execution core, which is what is under test.
 */
const holdStrategy: Strategy = {
  name: 'hold',
  tolerance: { requoteThresholdBps: 0, quantityTolerancePct: 0 },
  want: (snapshot) =>
    snapshot.resting
      .filter((r) => r.state === 'OPEN' || r.state === 'PARTIALLY_FILLED')
      .map((r) => ({
        symbol: r.symbol,
        side: r.side,
        price: r.price,
        quantity: r.quantityLeft,
        tag: r.tag ?? r.clientOrderId,
      })),
};

export interface StreamRig extends Rig {
  readonly client: BtcturkWsClient;
  readonly engine: Engine;
  readonly userStream: BtcturkUserStream;
  /** Every private event the socket delivered, in order (a listener beside the engine's). */
  readonly events: UserStreamEvent[];
  /** Every HTTP request the process sent. */
  readonly wire: WireRequest[];
  /** Our account's fills as the simulator holds them: the ground truth. */
  truthFills(): SimFill[];
  /** Waits until the socket has logged in `times` times in all. */
  loggedIn(times: number): Promise<void>;
}

/** REST reads that can tell the bot about an order or a fill: what "polling" means here. */
export function orderReads(wire: readonly WireRequest[]): WireRequest[] {
  return wire.filter(
    (r) =>
      r.method === 'GET' &&
      (r.path.startsWith('/api/v1/order/') ||
        r.path.startsWith('/api/v1/openOrders') ||
        r.path.startsWith('/api/v1/allOrders') ||
        r.path.startsWith('/api/v1/users/transactions/trade')),
  );
}

/** Trade ids, sorted, with repeats kept: a fill counted twice shows twice. */
export const tradeIds = (fills: readonly (StoredFill | SimFill)[]): string[] =>
  fills.map((f) => f.tradeId).sort();

export async function streamRig(t: TestContext, options: RigOptions): Promise<StreamRig> {
  // Registered before the rig's own teardown, so the engine and socket stop while the simulator,
  // store and exchange they use are still up (after-hooks run in the order they were added).
  const stops: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const stop of stops) await stop();
  });
  const wire = wireLog(t);
  const base = await rig(t, options);
  const { sim, oms, store, exchange } = base;
  const info = await exchange.exchangeInfo();
  const rules = new Map(info.symbols.filter((r) => r.symbol === SYMBOL).map((r) => [r.symbol, r]));

  const client = new BtcturkWsClient({
    url: sim.wsUrl,
    credentials: new WsCredentials(sim.apiKey, sim.apiSecret),
    random: seededRandom(options.seed),
    backoff: { initialMs: 20, maxMs: 100 },
  });
  const userStream = new BtcturkUserStream(client);
  const events: UserStreamEvent[] = [];
  userStream.onUserEvent((event) => {
    events.push(event);
  });
  const engine = new Engine({
    oms,
    store,
    exchange,
    market: new FakeMarket(),
    userStream,
    strategy: holdStrategy,
    limits: parseRiskLimits({}),
    symbols: [SYMBOL],
    rules,
    budget: new OrderRateBudget(),
  });
  stops.push(
    () => engine.stop(),
    () => client.stop(),
  );

  // The session's order: the engine listens, the socket connects, start-up reconciliation, then
  // continuous reconciliation (here too rare to matter).
  engine.start();
  client.start();
  const startup = await oms.start();
  if (!startup.clean)
    throw new Error(
      `start-up reconciliation against a fresh simulator was not clean: ${JSON.stringify(startup)}`,
    );
  oms.startContinuous(RECONCILE_OFF_MS);

  const loggedIn = (times: number) =>
    until(`login number ${times} on the private socket`, () => {
      return events.filter((e) => e.kind === 'logged-in').length >= times;
    });
  await loggedIn(1);
  return {
    ...base,
    client,
    engine,
    userStream,
    events,
    wire,
    truthFills: () => sim.groundTruth().fills.filter((f) => f.accountId === sim.accountId),
    loggedIn,
  };
}

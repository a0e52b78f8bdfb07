import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtcturkExchange } from '../../src/btcturk/exchange.ts';
import { BtcturkWsClient, type WsClientOptions } from '../../src/btcturk/websocket/client.ts';
import { BtcturkMarketFeed } from '../../src/btcturk/websocket/feed.ts';
import { ConnectBudget } from '../../src/btcturk/websocket/reconnect.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { BookLevel } from '../../src/domain/reports.ts';
import { MarketDataService, type MarketDataOptions } from '../../src/market/service.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { until } from '../btcturk-ws/local-server.ts';

// The market layer against the simulator over real loopback WebSocket and HTTP, with the feed
// faults switched on. The synthetic market moves only when a test steps it, so "quiet" is exact:
// after the last step the simulator's book is fixed and the local one must come to equal it.

const SYMBOL = 'BTCTRY';

interface Rig {
  readonly sim: RunningSimulator;
  readonly client: BtcturkWsClient;
  readonly service: MarketDataService;
}

async function withRig(
  setup: {
    faults?: Record<string, string | number>;
    client?: Partial<WsClientOptions>;
    service?: Partial<MarketDataOptions>;
  },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({ seed: 7, autoMarket: false, symbols: [SYMBOL], faults: setup.faults });
  const client = new BtcturkWsClient({
    url: sim.wsUrl,
    random: seededRandom(5),
    backoff: { initialMs: 20, maxMs: 200 },
    ...setup.client,
  });
  const exchange = new BtcturkExchange({ baseUrl: sim.restUrl });
  const service = new MarketDataService({
    feed: new BtcturkMarketFeed(client),
    fetchBook: (symbol) => exchange.orderBook(symbol, 1000),
    symbols: [SYMBOL],
    tickMs: 20,
    ...setup.service,
  });
  service.start();
  client.start();
  try {
    await body({ sim, client, service });
  } finally {
    await service.stop();
    await client.stop();
    await exchange.close();
    await sim.stop();
  }
}

const show = (levels: readonly BookLevel[]) =>
  levels.map((l) => `${l.quantity.toFixed()}@${l.price.toFixed()}`);

/** The difference between the local book and the simulator's, or null when they are equal. */
function bookDifference(rig: Rig): string | null {
  const local = rig.service.book(SYMBOL);
  if (local === null) return 'no usable local book';
  const truth = rig.sim.engine.book(SYMBOL, 10_000);
  const mine = { bids: show(local.bids), asks: show(local.asks) };
  const theirs = { bids: show(truth.bids), asks: show(truth.asks) };
  return JSON.stringify(mine) === JSON.stringify(theirs)
    ? null
    : `local ${JSON.stringify(mine).slice(0, 300)} vs simulator ${JSON.stringify(theirs).slice(0, 300)}`;
}

async function expectEqualBooks(rig: Rig, guardMs = 5_000): Promise<void> {
  try {
    await until('the local book to equal the simulator’s', () => bookDifference(rig) === null, guardMs);
  } catch (error) {
    assert.fail(`${(error as Error).message}: ${bookDifference(rig) ?? ''}`);
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Moves the synthetic market `steps` times, letting frames flow in between. */
async function churn(sim: RunningSimulator, steps: number, everyMs = 10): Promise<void> {
  for (let i = 0; i < steps; i++) {
    sim.engine.stepMarket();
    await pause(everyMs);
  }
}

/** A budget that also keeps the time of every connect attempt it let through. */
class RecordingBudget extends ConnectBudget {
  readonly connectTimes: number[] = [];

  override record(now: number): void {
    this.connectTimes.push(now);
    super.record(now);
  }
}

/** Most entries in any window (t - windowMs, t]. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let max = 0;
  for (const end of times) max = Math.max(max, times.filter((t) => t > end - windowMs && t <= end).length);
  return max;
}

describe('market data against the simulator', () => {
  it('ws-gap: every skipped change set is detected and resynced, and the book then equals the exchange’s', async () => {
    // Without the periodic full book, only the CS sequence can reveal the hole.
    await withRig({ service: { streams: { periodicBook: false } } }, async (rig) => {
      const { sim, service } = rig;
      await until('a live book', () => service.status(SYMBOL) === 'live');
      for (let round = 1; round <= 4; round++) {
        const gapsBefore = service.stats().gaps;
        sim.setFault('ws-gap', 1);
        await churn(sim, 2);
        sim.setFault('ws-gap', null);
        await until(`gap ${round} to be seen`, () => {
          sim.engine.stepMarket();
          return service.stats().gaps > gapsBefore;
        });
        await expectEqualBooks(rig);
      }
      const stats = service.stats();
      assert.ok(stats.gaps >= 4);
      assert.ok(stats.resyncs >= stats.gaps, 'every gap was resynced');
      assert.equal(service.status(SYMBOL), 'live');
    });
  });

  it('ws-gap at random with the periodic full book: the cross-check heals too, and nothing is left behind', async () => {
    await withRig({ faults: { 'ws-gap': 0.3 } }, async (rig) => {
      await until('a live book', () => rig.service.status(SYMBOL) === 'live');
      await churn(rig.sim, 60);
      rig.sim.setFault('ws-gap', null);
      await churn(rig.sim, 3);
      await expectEqualBooks(rig);
      const stats = rig.service.stats();
      assert.ok((stats.symbols[SYMBOL]?.snapshots ?? 0) > 1, 'full books were adopted or resynced');
    });
  });

  it('ws-drop-every: reconnects stay within the connect budget, and the book recovers', async () => {
    // A scaled-down budget (4 per 2 s) makes the limit bite within a short test; the whole run also
    // stays under BTCTurk's 15 connects in its 60 s window, which the simulator enforces with 429.
    const budget = new RecordingBudget({ maxConnects: 4, windowMs: 2_000 });
    await withRig({ faults: { 'ws-drop-every': '300ms' }, client: { budget } }, async (rig) => {
      await churn(rig.sim, 150, 20); // about 4 s of frequent drops
      rig.sim.setFault('ws-drop-every', null);
      await churn(rig.sim, 3);
      await expectEqualBooks(rig);
      const stats = rig.client.stats();
      assert.ok(stats.reconnects >= 3, `reconnected ${stats.reconnects} times`);
      const busiest = maxInWindow(budget.connectTimes, 2_000);
      assert.ok(busiest <= 4, `${busiest} connects in 2 s`);
      assert.equal(budget.connectTimes.length, stats.connects);
      assert.ok(stats.connects <= 14, `${stats.connects} connects`);
      assert.equal(stats.rateLimited, 0, 'the simulator never had to refuse a connect');
      assert.equal(rig.service.stats().reconnects, stats.reconnects);
    });
  });

  it('ws-silence-every: a silent connection is replaced and the book recovers', async () => {
    await withRig(
      { faults: { 'ws-silence-every': '1s' }, client: { silenceMs: 300, pingEveryMs: 100 } },
      async (rig) => {
        await churn(rig.sim, 120, 20);
        rig.sim.setFault('ws-silence-every', null);
        await churn(rig.sim, 3);
        await expectEqualBooks(rig);
        const stats = rig.client.stats();
        assert.ok(stats.silences >= 1, `${stats.silences} silences`);
        assert.ok(stats.reconnects >= 1);
      },
    );
  });

  it('a symbol goes stale without data and can trade again when data returns', async () => {
    await withRig({ service: { freshnessMs: 300 } }, async (rig) => {
      const { sim, service } = rig;
      await until('a live book', () => service.canTrade(SYMBOL));
      await until('the data to age past the limit', () => !service.canTrade(SYMBOL));
      assert.equal(service.status(SYMBOL), 'stale');
      sim.engine.stepMarket();
      await until('fresh data', () => service.canTrade(SYMBOL));
      assert.equal(service.status(SYMBOL), 'live');
    });
  });

  it('while the socket is down, REST books keep the symbol tradable, then the stream takes over', async () => {
    // One connect per 3 s: after the drop the socket stays down long enough for the fallback.
    const budget = new ConnectBudget({ maxConnects: 1, windowMs: 3_000 });
    await withRig(
      { client: { budget }, service: { fallbackAfterMs: 100, freshnessMs: 1_500 } },
      async (rig) => {
        const { sim, service, client } = rig;
        await until('a live book', () => service.status(SYMBOL) === 'live');
        sim.setFault('ws-drop-every', '100ms');
        await until('the drop', () => !client.connected);
        sim.setFault('ws-drop-every', null);
        await churn(sim, 3);
        await until('a REST book', () => service.top(SYMBOL)?.source === 'rest');
        assert.equal(service.status(SYMBOL), 'fallback');
        assert.ok(service.canTrade(SYMBOL));
        await expectEqualBooks(rig);
        await until('the stream back', () => service.status(SYMBOL) === 'live', 6_000);
        assert.equal(service.top(SYMBOL)?.source, 'stream');
        assert.ok(service.stats().restPolls >= 1);
        assert.ok(service.stats().fallbackMs > 0);
      },
    );
  });
});

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
// after the last step the simulator's book is fixed and the local one must come to equal it. The
// simulator conflates book changes like BTCTurk (one change set per pair per interval, 764 ms by
// default); the tests run it at 50 ms.

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
    symbols?: readonly string[];
    bookWindow?: number;
  },
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({
    seed: 7,
    autoMarket: false,
    symbols: [SYMBOL],
    faults: setup.faults,
    bookIntervalMs: 50,
    bookWindow: setup.bookWindow,
  });
  const client = new BtcturkWsClient({
    url: sim.wsUrl,
    random: seededRandom(5),
    backoff: { initialMs: 20, maxMs: 200 },
    ...setup.client,
  });
  const exchange = new BtcturkExchange({ baseUrl: sim.restUrl });
  const service = new MarketDataService({
    feed: new BtcturkMarketFeed(client),
    fetchBook: (symbol) => exchange.orderBook(symbol, 100),
    symbols: setup.symbols ?? [SYMBOL],
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

/** The difference between the local book and the simulator's window, or null when they are equal. */
function bookDifference(rig: Rig, window = 100): string | null {
  const local = rig.service.book(SYMBOL);
  if (local === null) return 'no usable local book';
  const truth = rig.sim.engine.book(SYMBOL, window);
  const mine = { bids: show(local.bids), asks: show(local.asks) };
  const theirs = { bids: show(truth.bids), asks: show(truth.asks) };
  return JSON.stringify(mine) === JSON.stringify(theirs)
    ? null
    : `local ${JSON.stringify(mine).slice(0, 300)} vs simulator ${JSON.stringify(theirs).slice(0, 300)}`;
}

async function expectEqualBooks(rig: Rig, guardMs = 5_000, window = 100): Promise<void> {
  try {
    await until(
      'the local book to equal the simulator’s',
      () => bookDifference(rig, window) === null,
      guardMs,
    );
  } catch (error) {
    assert.fail(`${(error as Error).message}: ${bookDifference(rig, window) ?? ''}`);
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
    // The periodic full book is off by default: only the CS sequence reveals the hole.
    await withRig({}, async (rig) => {
      const { sim, service } = rig;
      await until('a live book', () => service.status(SYMBOL) === 'live');
      for (let round = 1; round <= 4; round++) {
        const gapsBefore = service.stats().gaps;
        sim.setFault('ws-gap', 1);
        await churn(sim, 2);
        sim.flushBooks(); // the conflated change set goes out (and is lost) while the fault is on
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

  it('ws-gap at random with the periodic full book on: its CS (another subscription’s) is never compared, gaps heal by resync', async () => {
    await withRig(
      { faults: { 'ws-gap': 0.3 }, service: { streams: { periodicBook: true } } },
      async (rig) => {
        await until('a live book', () => rig.service.status(SYMBOL) === 'live');
        await churn(rig.sim, 60, 30);
        rig.sim.setFault('ws-gap', null);
        await churn(rig.sim, 3);
        await expectEqualBooks(rig);
        const stats = rig.service.stats().symbols[SYMBOL];
        assert.ok((stats?.snapshots ?? 0) > 1, 'resync snapshots');
        assert.ok((stats?.gaps ?? 0) >= 1);
        // Once quiet, the periodic full book agrees with the local one: no confirmed difference.
        const resyncs = stats?.resyncs ?? 0;
        await pause(500);
        assert.equal(rig.service.stats().symbols[SYMBOL]?.resyncs, resyncs);
        assert.equal(rig.service.status(SYMBOL), 'live');
      },
    );
  });

  it('a window smaller than the book: churn at the edge (CP 1 in, CP 3 out) keeps the book equal to the window', async () => {
    await withRig({ bookWindow: 4, service: { windowLevels: 4 } }, async (rig) => {
      await until('a live book', () => rig.service.status(SYMBOL) === 'live');
      await churn(rig.sim, 80, 15);
      await expectEqualBooks(rig, 5_000, 4);
      const stats = rig.service.stats().symbols[SYMBOL];
      assert.ok(stats);
      assert.equal(stats.windowOverflows, 0);
      assert.equal(stats.gaps, 0);
      assert.equal(stats.resyncs, 0);
      assert.ok(stats.diffs > 10);
    });
  });

  it('REST spot checks on a busy book find no difference that the conflation does not explain', async () => {
    // REST answers at once, the stream up to one 50 ms batch later: every check may see the two
    // out of step, and none of it may count as a mismatch.
    await withRig(
      { service: { spotCheckMs: 150, spotConfirmMs: 300, restBooksPerMinute: 90 } },
      async (rig) => {
        await until('a live book', () => rig.service.status(SYMBOL) === 'live');
        await churn(rig.sim, 200, 15);
        const stats = rig.service.stats().symbols[SYMBOL];
        assert.ok(stats);
        assert.ok(stats.spotChecks >= 3, `${stats.spotChecks} spot checks`);
        assert.equal(stats.spotMismatches, 0);
        assert.equal(stats.resyncs, 0);
        await expectEqualBooks(rig);
      },
    );
  });

  it('an unknown or lower-case pair is acknowledged and then silent: reported as subscription-silent, naming it', async () => {
    await withRig(
      {
        symbols: [SYMBOL, 'NOPETRY', 'btctry'],
        service: { snapshotTimeoutMs: 400, fallbackAfterMs: 60_000 },
      },
      async (rig) => {
        const silent: string[] = [];
        rig.service.on('subscription-silent', (symbol, message) => silent.push(`${symbol}: ${message}`));
        rig.service.on('problem', () => undefined);
        await until('both reported', () => silent.length >= 2);
        assert.deepEqual(silent.map((line) => line.split(':')[0]).sort(), ['NOPETRY', 'btctry']);
        assert.match(silent.join('\n'), /no order book snapshot for NOPETRY within [\d.]+ s of subscribing/);
        assert.equal(rig.service.status(SYMBOL), 'live', 'the known pair is unaffected');
        assert.equal(rig.client.stats().refusedSubscriptions, 0, 'BTCTurk acknowledged them');
      },
    );
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

  it('a quiet pair stays live while the connection proves itself alive, and goes stale when it stops', async () => {
    // The book never changes (no market steps): the simulator, like BTCTurk, sends nothing for it.
    await withRig(
      { service: { freshnessMs: 1_000 }, client: { pingEveryMs: 100, silenceMs: 3_000 } },
      async (rig) => {
        const { sim, service } = rig;
        await until('a live book', () => service.canTrade(SYMBOL));
        const diffs = service.stats().symbols[SYMBOL]?.diffs;
        await pause(2_000);
        assert.equal(service.stats().symbols[SYMBOL]?.diffs, diffs, 'no book frame came');
        assert.equal(service.status(SYMBOL), 'live', 'pongs keep a quiet book current');
        sim.setFault('ws-silence-every', '100ms'); // a dead path: no frames, no pings, no pongs
        await until('the data to age past the limit', () => !service.canTrade(SYMBOL));
        assert.equal(service.status(SYMBOL), 'stale');
        sim.setFault('ws-silence-every', null);
        await until('a new connection and a fresh snapshot', () => service.canTrade(SYMBOL), 10_000);
        assert.equal(service.status(SYMBOL), 'live');
        assert.ok(rig.client.stats().silences >= 1);
      },
    );
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

import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { ExchangeError } from '../../src/domain/errors.ts';
import type { Side } from '../../src/domain/orders.ts';
import { seededRandom } from '../../src/domain/random.ts';
import {
  OrderMovedOnError,
  reconcileDiff,
  type LocalOrder,
  type Oms,
  type OmsOptions,
} from '../../src/oms/index.ts';
import type { Exchange } from '../../src/ports/exchange.ts';
import type { Store, StoredOrder } from '../../src/ports/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { submitRestingBuy } from './resting-order.ts';
import { PREFIX, posts, rig, SYMBOL, until, wireLog, type Rig } from './sim-helpers.ts';

// Issue 10, item 8 (races): one owner at a time per replace transaction and per order. The engine
// (Oms.replace/submit), the private stream (Oms.onOrderReport/onFill) and the reconciler meet on one
// replace or one order, against the simulator over real HTTP on loopback. Where the race needs a
// precise interleaving, a gate in front of the real exchange holds one path while the other runs:
// nothing here waits on the clock.

/** The same object with some methods replaced; the rest still run on the object itself. */
function intercept<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, key) {
      if (Object.hasOwn(overrides, key)) return (overrides as Record<string | symbol, unknown>)[key];
      const value: unknown = Reflect.get(object, key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
    },
  });
}

interface Gate {
  /** Resolves when the gated call arrived (and now waits). */
  readonly reached: Promise<void>;
  readonly open: () => void;
  /** Held until opened. */
  readonly pass: () => Promise<void>;
}

function gate(): Gate {
  let arrive = (): void => undefined;
  let open = (): void => undefined;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    reached,
    open,
    pass: async () => {
      arrive();
      await opened;
    },
  };
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

function captureLogs(): { logger: OmsOptions['logger']; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines };
}

const ERROR = 50;

/** A second OMS on the rig's store (or another), stopped with the test. */
function omsOf(t: { after(fn: () => Promise<void>): void }, r: Rig, options: Partial<OmsOptions>): Oms {
  const oms = r.newOms(options);
  t.after(() => oms.stop());
  return oms;
}

describe('races: one owner at a time per replace transaction and per order', () => {
  it('the engine replaces while two reconciliation passes and a stream report reach the same txn: done once, one replacement', async (t) => {
    const r = await rig(t, { seed: 1001 });
    const wire = wireLog(t);
    const { logger, lines } = captureLogs();
    const hold = gate();
    let reads = 0;
    const live: { oms?: Oms } = {};
    const store = intercept<Store>(r.store, {
      openReplaces: () => {
        reads += 1;
        return r.store.openReplaces();
      },
    });
    const exchange = intercept<Exchange>(r.exchange, {
      // The replace's DELETE waits at the gate; once it is through, the private stream reports the
      // old order before the replace's own confirmation lookup reads it.
      cancelOrder: async (id: string) => {
        await hold.pass();
        await r.exchange.cancelOrder(id);
        await live.oms?.onOrderReport(await r.exchange.order(id));
      },
    });
    const oms = omsOf(t, r, { store, exchange, logger });
    live.oms = oms;
    await oms.start();
    const old = await submitRestingBuy(oms, r);
    assert.equal(old.state, 'OPEN');
    const price = (old.price ?? new Dec(0)).sub(5);
    const replace = oms.replace(old.id, { price });
    await hold.reached;
    // The txn is at cancel-sent and the engine owns it: two passes list it as open meanwhile.
    const before = reads;
    const passes = [oms.reconcile(), oms.reconcile()];
    await until('both passes listed the open replace', () => reads >= before + 2);
    const [open] = await r.store.openReplaces();
    assert.equal(open?.step, 'cancel-sent');
    hold.open();

    const result = await replace;
    const reports = await Promise.all(passes);
    assert.equal(result.txn.step, 'done');
    assert.equal(result.txn.outcome, 'replaced');
    for (const report of reports) {
      assert.deepEqual(report.failures, []);
      assert.deepEqual(report.divergences, []);
      assert.equal(report.clean, true);
    }
    const stored = await r.store.replace(result.txn.id);
    assert.equal(stored?.step, 'done');
    // Begun at cancel-sent (with the cancel request) → new-journaled (with the old order's close and
    // the replacement's journal) → done: each step taken once.
    assert.equal(stored.version, 3);
    assert.deepEqual(await r.store.openReplaces(), []);
    const ours = r.ourOrders();
    assert.equal(ours.length, 2, 'one replacement on the exchange');
    assert.equal(ours.filter((o) => o.status === 'open').length, 1);
    assert.equal(posts(wire).length, 2);
    assert.equal(result.old.state, 'CANCELED');
    assert.equal(result.replacement?.state, 'OPEN');
    assert.equal(oms.stats().divergences, 0);
    assert.deepEqual(
      lines.filter((l) => l.level >= ERROR).map((l) => l.msg),
      [],
    );
  });

  it('another owner (a second process on the same store) finishes the replace first: the engine goes on from where it is', async (t) => {
    const r = await rig(t, { seed: 1002 });
    const wire = wireLog(t);
    const hold = gate();
    const engineSide = intercept<Exchange>(r.exchange, {
      cancelOrder: async (id: string) => {
        await hold.pass();
        await r.exchange.cancelOrder(id);
      },
    });
    const engine = omsOf(t, r, { exchange: engineSide });
    await engine.start();
    const old = await engine.submit({
      symbol: SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: r.insidePrice('sell'),
    });
    const replace = engine.replace(old.id, { price: (old.price ?? new Dec(0)).add(5) });
    await hold.reached;
    // The other process's reconciliation resumes the same txn and takes it all the way.
    const other = await r.oms.reconcile();
    assert.deepEqual(other.failures, []);
    assert.equal(other.openReplaces, 0);
    hold.open();
    const result = await replace;
    assert.equal(result.txn.step, 'done');
    assert.equal(result.txn.outcome, 'replaced');
    assert.ok(engine.stats().replaceConflicts >= 1, 'the stale step was counted as a conflict');
    assert.equal(r.ourOrders().length, 2, 'one replacement on the exchange');
    assert.equal(posts(wire).length, 2);
    const after = await engine.reconcile();
    assert.equal(after.clean, true, JSON.stringify(after));
  });

  it('two processes on one store resume the same replace at once: whatever the interleaving, one replacement, done once', async (t) => {
    const r = await rig(t, { seed: 1009 });
    const wire = wireLog(t);
    await r.oms.start();
    const old = await submitRestingBuy(r.oms, r);
    // Left at its first step by a process that stopped right after journaling it.
    const begun = await r.store.beginReplace({
      oldOrderId: old.id,
      newClientOrderId: newClientOrderId(PREFIX, seededRandom(99), systemClock),
      wantedQuantity: old.quantity,
      newPrice: (old.price ?? new Dec(0)).sub(5),
      newStopPrice: null,
      mode: 'safe',
    });
    assert.ok(begun.ok);
    const other = omsOf(t, r, {});
    const before = posts(wire).length;
    const [a, b] = await Promise.all([r.oms.reconcile(), other.reconcile()]);
    assert.deepEqual([...a.failures, ...b.failures], []);
    const txn = await r.store.replace(begun.txn.id);
    assert.equal(txn?.step, 'done');
    assert.equal(txn.outcome, 'replaced');
    assert.equal(posts(wire).length - before, 1, 'one replacement sent');
    assert.equal(r.ourOrders().length, 2);
    assert.equal((await r.store.orders()).filter((o) => o.replaceOf === old.id).length, 1);
    assert.equal((await r.oms.reconcile()).clean, true);
  });

  for (const outcome of ['OPEN', 'FILLED'] as const) {
    it(`a timeout reply arrives after the stream made the order ${outcome}: information, counted, no divergence, no error`, async (t) => {
      const r = await rig(t, { seed: outcome === 'OPEN' ? 1003 : 1004 });
      const { logger, lines } = captureLogs();
      const live: { oms?: Oms } = {};
      const exchange = intercept<Exchange>(r.exchange, {
        // The order is placed; the private stream reports it (and its fills) before the HTTP reply,
        // and the reply is then lost to a timeout.
        submitOrder: async (request) => {
          const ack = await r.exchange.submitOrder(request);
          const report = await r.exchange.order(ack.exchangeOrderId);
          await live.oms?.onOrderReport(report);
          for (const fill of await r.exchange.fills({
            symbol: SYMBOL,
            exchangeOrderId: ack.exchangeOrderId,
            startTime: 0,
          }))
            await live.oms?.onFill(fill);
          throw new ExchangeError('ambiguous', 'POST /api/v1/order timed out after 400 ms', {
            operation: 'POST /api/v1/order',
          });
        },
      });
      const oms = omsOf(t, r, { exchange, logger });
      live.oms = oms;
      await oms.start();
      const side = outcome === 'OPEN' ? 'buy' : 'sell';
      const order = await oms.submit({
        symbol: SYMBOL,
        side,
        method: 'limit',
        quantity: new Dec('0.001'),
        price: outcome === 'OPEN' ? r.insidePrice(side) : r.crossingPrice(side),
      });
      assert.equal(order.state, outcome);
      const stats = oms.stats();
      assert.equal(stats.lateReplies, 1);
      assert.equal(stats.ambiguous, 1);
      assert.equal(stats.divergences, 0);
      assert.deepEqual(
        lines.filter((l) => l.level >= ERROR).map((l) => l.msg),
        [],
      );
      assert.ok(lines.some((l) => l.msg.startsWith('late event about an order that has moved on')));
      const events = await r.store.orderEvents(order.id);
      assert.ok(!events.some((e) => e.type === 'send-ambiguous'), 'the late reply changed nothing');
      const report = await oms.reconcile();
      assert.equal(report.clean, true, JSON.stringify(report));
      assert.equal(r.ourOrders().length, 1);
    });
  }

  /** Our order, placed and filled by a process whose database is gone: the rig's store never saw it. */
  async function filledElsewhere(t: TestContext, r: Rig, side: Side): Promise<StoredOrder> {
    const lost = await openSqliteStore({ path: ':memory:' });
    t.after(() => lost.close());
    const before = omsOf(t, r, { store: lost });
    await before.start();
    const placed = await before.submit({
      symbol: SYMBOL,
      side,
      method: 'limit',
      quantity: new Dec('0.002'),
      price: r.insidePrice(side),
    });
    r.hit(side === 'buy' ? 'sell' : 'buy', '0.002', placed.price ?? new Dec(0));
    await until('the order filled', () => r.ourOrders()[0]?.status === 'filled');
    await before.stop();
    return placed;
  }

  it('an adopted order whose fills are not all visible yet: the first reconciliation is not clean, the one after records them and is', async (t) => {
    const r = await rig(t, { seed: 1005 });
    const placed = await filledElsewhere(t, r, 'buy');

    // The exchange's trade list lags: the order's fills are not there on the first pass.
    let fillsVisible = false;
    const exchange = intercept<Exchange>(r.exchange, {
      fills: async (query) => (fillsVisible ? r.exchange.fills(query) : []),
    });
    const oms = omsOf(t, r, { exchange, random: seededRandom(7) });
    const first = await oms.start();
    assert.equal(first.clean, false, 'clean with a shortfall');
    assert.equal(first.actions.adopt, 1);
    assert.equal(first.divergences.length, 1);
    assert.match(first.divergences[0] ?? '', /executed, but its fills account for 0$/);
    assert.equal(oms.ready, false);
    const adopted = await r.store.orderByClientId(placed.clientOrderId ?? '');
    assert.equal(adopted?.origin, 'adopted');

    fillsVisible = true;
    const second = await oms.reconcile();
    assert.equal(second.clean, true, JSON.stringify(second));
    const settled = await r.store.order(adopted.id);
    assert.equal(settled?.state, 'FILLED');
    assert.equal(settled.filledQuantity.toFixed(), '0.002');
    assert.equal(oms.ready, true);
  });

  it('adoption with every fill visible records them and is clean at once', async (t) => {
    const r = await rig(t, { seed: 1006 });
    const placed = await filledElsewhere(t, r, 'sell');
    const first = await r.oms.start();
    assert.equal(first.clean, true, JSON.stringify(first));
    const adopted = await r.store.orderByClientId(placed.clientOrderId ?? '');
    assert.equal(adopted?.filledQuantity.toFixed(), '0.002');
    assert.ok(adopted.clientOrderId?.startsWith(PREFIX));
  });

  it('a stale resting status arrives from the stream after the order is CANCELED: information, no divergence', async (t) => {
    const r = await rig(t, { seed: 1007 });
    const { logger, lines } = captureLogs();
    const oms = omsOf(t, r, { logger });
    await oms.start();
    const order = await submitRestingBuy(oms, r);
    const openReport = await r.exchange.order(order.exchangeOrderId ?? '');
    assert.equal(openReport.status, 'open');
    const canceled = await oms.cancel({ orderId: order.id });
    assert.equal(canceled.outcome, 'canceled');
    // The insert half of a streamed update (or a duplicate frame) lands after the close.
    await oms.onOrderReport(openReport);
    await oms.onOrderReport({ ...openReport, status: 'partially_filled' });
    assert.equal((await r.store.order(order.id))?.state, 'CANCELED');
    assert.equal(oms.stats().lateReplies, 2);
    assert.equal(oms.stats().divergences, 0);
    assert.deepEqual(
      lines.filter((l) => l.level >= ERROR).map((l) => l.msg),
      [],
    );
    assert.equal((await oms.reconcile()).clean, true);
  });

  it('replacing an order that filled since the caller read it: a typed moved-on error, nothing sent', async (t) => {
    const r = await rig(t, { seed: 1008 });
    const wire = wireLog(t);
    await r.oms.start();
    const order = await submitRestingBuy(r.oms, r);
    r.hit('sell', '0.001', order.price ?? new Dec(0));
    await r.oms.reconcile();
    assert.equal((await r.store.order(order.id))?.state, 'FILLED');
    const before = wire.length;
    await assert.rejects(r.oms.replace(order.id, { price: r.insidePrice('buy') }), OrderMovedOnError);
    assert.equal(posts(wire.slice(before)).length, 0);
  });

  it('a resting order the exchange does not show yet is no divergence until the visibility horizon has passed', () => {
    const now = 1_000_000;
    const order = (createdAt: number): LocalOrder => ({
      id: `o${createdAt}`,
      clientOrderId: `${PREFIX}-c${createdAt}`,
      exchangeOrderId: `x${createdAt}`,
      state: 'OPEN',
      origin: 'local',
      filledQuantity: new Dec(0),
      updatedAt: createdAt,
      createdAt,
    });
    const actions = reconcileDiff({
      prefix: PREFIX,
      now,
      local: [order(now - 400), order(now - 15_000)],
      reports: [],
      replaceOwned: new Set(),
      notFoundAfterMs: 15_000,
      cancelRetryAfterMs: 15_000,
    });
    assert.deepEqual(
      actions.map((a) => `${a.kind} ${'order' in a ? a.order.id : ''}`),
      [`divergence o${now - 15_000}`],
    );
  });
});

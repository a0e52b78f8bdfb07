import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms, OrderRefusedError } from '../../src/oms/index.ts';
import type { Store, StoredOrder } from '../../src/ports/store.ts';
import { liveViewOf, openLiveStore, type LiveStore } from '../../src/store/live-view.ts';
import { openPostgresStore, openPostgresStoreControl } from '../../src/store/postgres/open.ts';
import { leasesOf } from '../../src/store/sql/sql-store.ts';
import { openSqliteStore, openSqliteStoreControl } from '../../src/store/sqlite/open.ts';
import { Engine } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import { marketMakerDefinition } from '../../src/strategies/market-maker.ts';
import { btcRules, FakeMarket, FakeOms } from '../engine/engine-fakes.ts';
import { FakeExchange, steppingClock } from '../oms/fakes.ts';
import { BUY } from '../oms/intents.ts';
import { dropSchema, findPostgres, schemaName } from '../store-pg/helpers.ts';

// The live view (src/store/live-view.ts): active orders, kill switch and escalation answered from
// memory, fed by the store's own writes, and still seeing what another process changes.

const shape = (orders: readonly StoredOrder[]) => orders.map((o) => `${o.id}@${o.version}:${o.state}`);

/** The view answers exactly what the database does (ids, versions, states, order). */
async function assertSame(live: Store, inner: Store, symbol?: string): Promise<void> {
  assert.deepEqual(shape(await live.activeOrders(symbol)), shape(await inner.activeOrders(symbol)));
}

const NEW = (clientOrderId: string, symbol = 'BTCTRY') => ({
  clientOrderId,
  symbol,
  side: 'buy' as const,
  method: 'limit' as const,
  price: new Dec(100),
  quantity: new Dec(1),
});

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-live-view-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('live store view: orders', () => {
  it('follows the OMS through submits, acks, fills and cancels, version for version', async () => {
    const clock = steppingClock();
    const inner = await openSqliteStore({ path: ':memory:', clock });
    const live = await openLiveStore(inner, { watch: { kind: 'none' }, clock });
    const exchange = new FakeExchange(clock);
    const oms = new Oms({
      store: live,
      exchange,
      prefix: 'lv',
      clock,
      random: seededRandom(3),
      symbols: ['BTCTRY'],
    });
    try {
      await oms.start();
      const a = await oms.submit(BUY);
      const b = await oms.submit({ ...BUY, intentId: 'intent-2', price: new Dec('99') });
      await assertSame(live, inner);
      assert.equal((await live.activeOrders()).length, 2);
      // A partial fill moves the order's version and filled quantity; the view holds that version.
      const fill = exchange.fill(a.exchangeOrderId ?? '', '0.0005');
      await oms.onFill(fill, 'stream');
      await assertSame(live, inner);
      const [first] = await live.activeOrders();
      assert.equal(first?.state, 'PARTIALLY_FILLED');
      assert.equal(first.version, (await inner.order(a.id))?.version);
      // A cancel takes the order out of the active ones.
      await oms.cancel({ clientOrderId: b.clientOrderId ?? '' });
      await assertSame(live, inner);
      assert.deepEqual(
        (await live.activeOrders()).map((o) => o.id),
        [a.id],
      );
      await oms.reconcile();
      await assertSame(live, inner);
      await assertSame(live, inner, 'BTCTRY');
      assert.deepEqual(await live.activeOrders('ETHTRY'), []);
    } finally {
      await oms.stop();
      await live.close();
    }
  });

  it('never lets an older copy of an order replace a newer one', async () => {
    const inner = await openSqliteStore({ path: ':memory:' });
    const live = await openLiveStore(inner, { watch: { kind: 'none' } });
    try {
      const journaled = await live.journalOrder(NEW('lv-1'));
      const sent = await live.applyEvent(journaled.id, { type: 'sent' });
      assert.ok(sent.ok);
      const view = liveViewOf(live);
      view?.offer(journaled); // a late answer carrying version 1
      assert.equal((await live.activeOrders())[0]?.version, sent.order.version);
      // A refused write still tells the order as it is now.
      const stale = await live.applyEvent(journaled.id, { type: 'sent' }, journaled.version);
      assert.equal(stale.ok, false);
      await assertSame(live, inner);
    } finally {
      await live.close();
    }
  });

  it('loads everything again after a failed write or a method it does not know', async () => {
    const inner = await openSqliteStore({ path: ':memory:' });
    const live = await openLiveStore(inner, { watch: { kind: 'none' } });
    const view = liveViewOf(live);
    assert.ok(view);
    try {
      await live.journalOrder(NEW('lv-1'));
      const loads = view.stats.orderLoads;
      await live.activeOrders();
      assert.equal(view.stats.orderLoads, loads, 'answered from memory');
      await assert.rejects(live.journalOrder(NEW('lv-1')), /already journaled/);
      await live.activeOrders();
      assert.equal(view.stats.orderLoads, loads + 1, 'a failed write: loaded again');
      // Written behind the view's back through a method it does not know: seen after a load.
      const sneaky = inner as Store & { sneak?: () => Promise<StoredOrder> };
      sneaky.sneak = () => inner.journalOrder(NEW('lv-2'));
      await (live as LiveStore & { sneak: () => Promise<StoredOrder> }).sneak();
      await assertSame(live, inner);
      assert.equal((await live.activeOrders()).length, 2);
    } finally {
      await live.close();
    }
  });

  it('keeps the SQL store reachable through it (instanceof, leases), and reloads a symbol whose lease it takes', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'cluster.db');
    const inner = await openSqliteStore({ path, cluster: { holder: 'p1' } });
    const peer = await openSqliteStore({ path, cluster: { holder: 'p2' } });
    const live = await openLiveStore(inner, { watch: { kind: 'sqlite', path } });
    try {
      const peerLeases = leasesOf(peer);
      assert.ok(peerLeases);
      assert.equal((await peerLeases.acquireLease('ETHTRY', 60_000)).ok, true);
      // The peer, holding ETHTRY, journals an order there: this process's view cannot know of it.
      const theirs = await peer.journalOrder(NEW('p2-1', 'ETHTRY'));
      assert.deepEqual(await live.activeOrders('ETHTRY'), []);
      await peerLeases.releaseLease('ETHTRY', 1);
      const leases = leasesOf(live);
      assert.ok(leases, 'the decorated store still has its leases');
      assert.equal((await leases.acquireLease('ETHTRY', 60_000)).ok, true);
      // Taking the lease read the symbol again: the previous holder's order is there.
      assert.deepEqual(
        (await live.activeOrders('ETHTRY')).map((o) => o.id),
        [theirs.id],
      );
      await assertSame(live, inner);
    } finally {
      await live.close();
      await peer.close();
    }
  });
});

describe('live store view: a kill switch set by another process', () => {
  it('SQLite: the next read sees a switch another connection set (data_version), and the OMS refuses the next order', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'bot.db');
    const clock = steppingClock();
    const inner = await openSqliteStore({ path, clock });
    const live = await openLiveStore(inner, { watch: { kind: 'sqlite', path }, clock });
    const view = liveViewOf(live);
    assert.ok(view);
    const exchange = new FakeExchange(clock);
    const oms = new Oms({
      store: live,
      exchange,
      prefix: 'lv',
      clock,
      random: seededRandom(5),
      symbols: ['BTCTRY'],
    });
    const operator = await openSqliteStoreControl({ path });
    try {
      await oms.start();
      await oms.submit(BUY);
      // Nothing changed: answered from memory, no read of the control rows.
      await live.killSwitch();
      const reads = view.stats.controlReads;
      assert.equal((await live.killSwitch()).on, false);
      assert.equal(view.stats.controlReads, reads);
      await operator.setKillSwitch(true, 'operator beside the bot');
      assert.deepEqual(
        { on: (await live.killSwitch()).on, reason: (await live.killSwitch()).reason },
        { on: true, reason: 'operator beside the bot' },
      );
      const posts = exchange.calls.filter((c) => c.startsWith('POST')).length;
      await assert.rejects(oms.submit({ ...BUY, intentId: 'intent-2' }), OrderRefusedError);
      assert.equal(exchange.calls.filter((c) => c.startsWith('POST')).length, posts, 'nothing sent');
      await operator.clearKillSwitch('back on');
      assert.equal((await live.killSwitch()).on, false);
      assert.equal((await live.escalation()).level, 'NORMAL');
    } finally {
      await oms.stop();
      await operator.close();
      await live.close();
    }
  });

  it("SQLite: this process's own commits cost no read of the switch; another's commit does", async (t) => {
    const path = join(tempDir(t), 'bot.db');
    const clock = steppingClock();
    const inner = await openSqliteStore({ path, clock });
    const live = await openLiveStore(inner, { watch: { kind: 'sqlite', path }, clock });
    const view = liveViewOf(live);
    assert.ok(view);
    const oms = new Oms({
      store: live,
      exchange: new FakeExchange(clock),
      prefix: 'lv',
      clock,
      random: seededRandom(6),
      symbols: ['BTCTRY'],
    });
    const operator = await openSqliteStoreControl({ path });
    try {
      await oms.start();
      await live.killSwitch();
      const reads = view.stats.controlReads;
      // Journal, sent mark and ack of three orders: several commits of this process's writer.
      for (let i = 1; i <= 3; i += 1) {
        await oms.submit({ ...BUY, intentId: `own-${i}` });
        assert.equal((await live.killSwitch()).on, false);
        assert.equal((await live.escalation()).level, 'NORMAL');
      }
      assert.equal(view.stats.controlReads, reads, 'no read of the switch after our own commits');
      await operator.setKillSwitch(true, 'operator beside the bot');
      assert.equal((await live.killSwitch()).on, true);
      assert.equal(view.stats.controlReads, reads + 1, "another connection's commit is read once");
    } finally {
      await oms.stop();
      await operator.close();
      await live.close();
    }
  });

  it('SQLite: the engine refuses its next order once another connection set the switch', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'bot.db');
    const live = await openLiveStore(await openSqliteStore({ path }), { watch: { kind: 'sqlite', path } });
    const market = new FakeMarket();
    const oms = new FakeOms(live);
    const engine = new Engine({
      oms,
      store: live,
      exchange: {
        balances: () =>
          Promise.resolve([{ asset: 'TRY', total: new Dec(1e6), free: new Dec(1e6), locked: new Dec(0) }]),
      },
      market,
      strategy: marketMakerDefinition.create({}),
      limits: parseRiskLimits({}),
      symbols: ['BTCTRY', 'ETHTRY'],
      rules: new Map([
        ['BTCTRY', btcRules()],
        ['ETHTRY', btcRules('ETHTRY', 'ETH')],
      ]),
      budget: new OrderRateBudget(120),
      timings: { evaluateEveryMs: 3_600_000, balancesEveryMs: 3_600_000, equityEveryMs: 3_600_000 },
    });
    const operator = await openSqliteStoreControl({ path });
    try {
      await engine.refreshBalances();
      market.setTop('BTCTRY', '3500000', '3500100');
      await engine.evaluate();
      await engine.settle();
      assert.equal(oms.calls.length, 1, 'the BTCTRY bid went out');
      await engine.evaluate(); // after the one its finished actions asked for
      await operator.setKillSwitch(true, 'operator beside the bot');
      market.setTop('ETHTRY', '120000', '120010');
      const plan = await engine.evaluate();
      assert.deepEqual(
        plan?.refusals.map((r) => `${r.gate}:${r.tag}`),
        ['kill-switch:mm:ETHTRY:bid:0'],
      );
      assert.equal(oms.calls.length, 1, 'nothing more sent');
    } finally {
      await engine.stop();
      await operator.close();
      await live.close();
    }
  });

  it('its own switch and escalation are seen at once (HALTED turns the switch on with it)', async () => {
    const inner = await openSqliteStore({ path: ':memory:' });
    const live = await openLiveStore(inner, { watch: { kind: 'none' } });
    try {
      await live.setEscalation('HALTED', 'loss');
      assert.equal((await live.escalation()).level, 'HALTED');
      assert.equal((await live.killSwitch()).on, true);
      await live.clearKillSwitch('ok');
      assert.equal((await live.killSwitch()).on, false);
      assert.equal((await live.escalation()).level, 'NORMAL');
      await live.setKillSwitch(true, 'me');
      assert.equal((await live.killSwitch()).reason, 'me');
    } finally {
      await live.close();
    }
  });

  it('PostgreSQL: a switch another connection set is seen once the bound has passed since the last read', async (t) => {
    const target = await findPostgres();
    if (target.skip) {
      t.skip(target.skip);
      return;
    }
    const schema = schemaName();
    t.after(() => dropSchema(target.url, schema));
    let now = 0;
    const clock = {
      now: () => 1_700_000_000_000 + now,
      monotonic: () => now,
      sleep: () => Promise.resolve(),
    };
    const inner = await openPostgresStore({ url: target.url, schema });
    // No background poll in this test (an hour apart): only the bound makes the read go out.
    const live = await openLiveStore(inner, {
      watch: { kind: 'poll', pollMs: 3_600_000, boundMs: 300 },
      clock,
    });
    const operator = await openPostgresStoreControl({ url: target.url, schema });
    try {
      assert.equal((await live.killSwitch()).on, false);
      await operator.setKillSwitch(true, 'operator beside the bot');
      now += 300;
      assert.equal((await live.killSwitch()).on, false, 'within the bound: the last read stands');
      now += 1;
      assert.equal((await live.killSwitch()).on, true, 'past the bound: read again, switch seen');
      assert.equal((await live.escalation()).level, 'NORMAL');
    } finally {
      await operator.close();
      await live.close();
    }
  });
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { StaleLeaseError, type LeaseStore } from '../../src/ports/leases.ts';
import type { Store } from '../../src/ports/store.ts';
import { LeaseManager, type LostInfo } from '../../src/ops/leases/manager.ts';
import { openPostgresStore } from '../../src/store/postgres/open.ts';
import { leasesOf } from '../../src/store/sql/sql-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, newOrder, tempDir } from '../store/helpers.ts';
import { dropSchema, findPostgres, schemaName } from '../store-pg/helpers.ts';

// The lease manager over real stores (both dialects), one manual clock, heartbeats driven by hand.

const LEASE_MS = 9_000;
const SYMBOLS = ['ADATRY', 'AVAXTRY', 'BTCTRY', 'ETHTRY', 'SOLTRY', 'XRPTRY'];

type Clock = ReturnType<typeof manualClock>;
type OpenProcess = (holder: string) => Promise<Store>;

interface Proc {
  readonly store: Store;
  readonly leases: LeaseStore;
  readonly manager: LeaseManager;
  readonly acquired: [string, number][];
  readonly lost: [string, LostInfo, number][];
  /** Symbols whose onAcquired has not been let finish yet (when `holdBack`). */
  readonly gates: Map<string, () => void>;
}

async function backend(t: TestContext, name: string): Promise<OpenProcess | undefined> {
  if (name === 'SQLite') {
    const path = join(tempDir(t), 'cluster.db');
    return (holder) => openSqliteStore({ path, clock: clockOf(t), cluster: { holder } });
  }
  const target = await findPostgres();
  if (target.skip) {
    t.skip(target.skip);
    return undefined;
  }
  const schema = schemaName();
  t.after(() => dropSchema(target.url, schema));
  return (holder) => openPostgresStore({ url: target.url, schema, clock: clockOf(t), cluster: { holder } });
}

const clocks = new WeakMap<TestContext, Clock>();
function clockOf(t: TestContext): Clock {
  let clock = clocks.get(t);
  if (!clock) {
    clock = manualClock();
    clocks.set(t, clock);
  }
  return clock;
}

async function proc(
  t: TestContext,
  open: OpenProcess,
  holder: string,
  options: { maxSymbols?: number; holdBack?: boolean; wrap?: (l: LeaseStore) => LeaseStore } = {},
): Promise<Proc> {
  const store = await open(holder);
  t.after(() => store.close());
  const found = leasesOf(store);
  assert.ok(found);
  const leases = options.wrap ? options.wrap(found) : found;
  const clock = clockOf(t);
  const acquired: [string, number][] = [];
  const lost: [string, LostInfo, number][] = [];
  const gates = new Map<string, () => void>();
  const manager = new LeaseManager({
    leases,
    symbols: SYMBOLS,
    maxSymbols: options.maxSymbols ?? SYMBOLS.length,
    leaseMs: LEASE_MS,
    clock,
    host: 'test',
    pid: 1,
    onAcquired: async (symbol, epoch) => {
      acquired.push([symbol, epoch]);
      if (options.holdBack === true)
        await new Promise<void>((resolve) => {
          gates.set(symbol, resolve);
        });
    },
    onLost: (symbol, info) => {
      lost.push([symbol, info, clock.now()]);
      return Promise.resolve();
    },
  });
  return { store, leases, manager, acquired, lost, gates };
}

async function beat(...procs: Proc[]): Promise<void> {
  for (const p of procs) {
    await p.manager.tick();
    await p.manager.settled();
  }
}

const tradable = (p: Proc): string[] => [...p.manager.tradable().keys()].sort();

for (const name of ['SQLite', 'PostgreSQL'])
  describe(`lease manager on ${name}`, () => {
    it('shares the symbols out fairly and never lets two processes trade one symbol', async (t) => {
      const open = await backend(t, name);
      if (!open) return;
      const clock = clockOf(t);
      const procs = [await proc(t, open, 'p1'), await proc(t, open, 'p2'), await proc(t, open, 'p3')];
      for (let round = 0; round < 4; round += 1) {
        for (const p of procs) {
          await beat(p);
          const seen = procs.flatMap(tradable);
          assert.equal(
            new Set(seen).size,
            seen.length,
            `round ${round}: a symbol traded twice: ${seen.join()}`,
          );
        }
        clock.advance(LEASE_MS / 3);
      }
      assert.deepEqual(
        procs.map((p) => tradable(p).length),
        [2, 2, 2],
      );
      assert.deepEqual(procs.flatMap(tradable).sort(), SYMBOLS);
      // The first process took everything while alone, then gave its excess up (cancelling first).
      assert.ok(procs[0]?.lost.every(([, info]) => info.stillHeld));
    });

    it('a symbol is tradable only once onAcquired (reconciliation) has finished', async (t) => {
      const open = await backend(t, name);
      if (!open) return;
      const p = await proc(t, open, 'solo', { maxSymbols: 1, holdBack: true });
      await p.manager.tick();
      assert.equal(p.acquired.length, 1);
      const [symbol] = p.acquired[0] ?? [];
      assert.ok(symbol !== undefined);
      assert.equal(p.manager.holds(symbol), false, 'not tradable while reconciling');
      p.gates.get(symbol)?.();
      await p.manager.settled();
      assert.equal(p.manager.holds(symbol), true);
    });

    it("takes a crashed process's symbols over after the lease time, with a new epoch", async (t) => {
      const open = await backend(t, name);
      if (!open) return;
      const clock = clockOf(t);
      const a = await proc(t, open, 'a');
      const b = await proc(t, open, 'b');
      for (let i = 0; i < 3; i += 1) {
        await beat(a, b);
        clock.advance(LEASE_MS / 3);
      }
      const aHeld = tradable(a);
      assert.equal(aHeld.length, 3);
      const crashedAt = clock.now();
      // `a` crashes: it heartbeats no more. Until its leases expire nobody takes its symbols.
      await beat(b);
      assert.equal(tradable(b).length, 3);
      clock.advance(LEASE_MS);
      await beat(b);
      assert.deepEqual(tradable(b), SYMBOLS, 'every symbol of the crashed process taken over');
      assert.ok(clock.now() - crashedAt <= LEASE_MS + LEASE_MS / 3, 'within the lease time and a heartbeat');
      for (const symbol of aHeld)
        assert.ok(
          b.acquired.some(([s, epoch]) => s === symbol && epoch === 2),
          `${symbol} taken with epoch 2`,
        );
      // Should the crashed process come back, its store refuses its orders there.
      await assert.rejects(a.store.journalOrder(newOrder({ symbol: aHeld[0] ?? '' })), StaleLeaseError);
      // ...and its manager stops without cancelling what is now b's.
      await beat(a);
      assert.deepEqual(tradable(a), []);
      const stopped = a.lost.filter(([, info]) => !info.stillHeld).map(([symbol]) => symbol);
      assert.deepEqual(stopped.sort(), aHeld);
    });

    it('gives a symbol up (cancels) before its lease can expire when renewals fail', async (t) => {
      const open = await backend(t, name);
      if (!open) return;
      const clock = clockOf(t);
      let failing = false;
      const p = await proc(t, open, 'flaky', {
        maxSymbols: 1,
        wrap: (inner) => ({
          ...inner,
          holder: inner.holder,
          renewLease: (symbol, epoch, ttl) =>
            failing ? Promise.reject(new Error('store unreachable')) : inner.renewLease(symbol, epoch, ttl),
        }),
      });
      await beat(p);
      const [symbol] = tradable(p);
      assert.ok(symbol !== undefined);
      const expiresAt = (await p.leases.leases()).find((l) => l.symbol === symbol)?.expiresAt ?? 0;
      failing = true;
      for (let i = 0; i < 6 && p.lost.length === 0; i += 1) {
        clock.advance(LEASE_MS / 3);
        await beat(p);
      }
      const [lostSymbol, info, at] = p.lost[0] ?? [];
      assert.equal(lostSymbol, symbol);
      assert.equal(info?.stillHeld, true, 'still ours: its orders are cancelled');
      assert.ok((at ?? Infinity) < expiresAt, `gave up at ${at} before the lease expired at ${expiresAt}`);
      assert.equal(p.manager.holds(symbol), false);
      // Released: another process may take it at once instead of waiting out the expiry.
      const other = await proc(t, open, 'other', { maxSymbols: 6 });
      await beat(other);
      assert.ok(tradable(other).includes(symbol));
    });

    it('stop cancels, releases and leaves the process table', async (t) => {
      const open = await backend(t, name);
      if (!open) return;
      const p = await proc(t, open, 'leaver', { maxSymbols: 2 });
      await beat(p);
      assert.equal(tradable(p).length, 2);
      await p.manager.stop();
      assert.equal(p.lost.length, 2);
      assert.deepEqual(await p.leases.processes(), []);
      const next = await proc(t, open, 'next', { maxSymbols: 6 });
      await beat(next);
      assert.equal(tradable(next).length, 6, 'released leases are free at once');
    });
  });

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  InMemoryLimiterStore,
  type LimiterStore,
  type RateWindow,
} from '../../src/btcturk/common/rate-limiter.ts';
import { DEFER_MS, WAITER_GRACE_MS } from '../../src/btcturk/common/limiter-log.ts';
import { SqliteLimiterStore } from '../../src/btcturk/common/sqlite-limiter-store.ts';
import type { Clock } from '../../src/domain/clock.ts';

// Priorities at the store, with the time in the test's hands: whoever asks first, when a slot
// frees, a cancel gets it before a new order, and a new order before a read — whichever process
// each one is in (a waiter's name stands for its process).

const POOL: RateWindow[] = [{ limit: 2, periodMs: 1_000 }];
const CANCEL = { priority: 0, waiter: 'proc-a:order-cancel' };
const SUBMIT = { priority: 1, waiter: 'proc-b:order-submit' };
const READ = { priority: 2, waiter: 'proc-c:order-get' };

function fakeClock(): Clock & { set(ms: number): void } {
  let now = 0;
  return { now: () => now, monotonic: () => now, sleep: () => Promise.resolve(), set: (ms) => (now = ms) };
}

interface Subject {
  readonly store: LimiterStore;
  readonly at: (ms: number) => void;
}

function inMemory(): Subject {
  const store = new InMemoryLimiterStore();
  let now = 0;
  const wrapped: LimiterStore = {
    tryAcquire: (keys, windows, _now, claim) => store.tryAcquire(keys, windows, now, claim),
    withdraw: (waiter, pools, priority) => store.withdraw(waiter, pools, priority),
    block: (key, until) => store.block(key, until),
  };
  return { store: wrapped, at: (ms) => (now = ms) };
}

function sqlite(t: TestContext): Subject {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-budget-'));
  const clock = fakeClock();
  const store = new SqliteLimiterStore({ path: join(dir, 'store.db.budget'), namespace: 'ns:', clock });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    store,
    at: (ms) => {
      clock.set(ms);
    },
  };
}

const linked = (claim: { priority: number; waiter: string }) => ({
  ...claim,
  linked: [{ key: 'order', windows: POOL }],
});

async function scenario(subject: Subject): Promise<void> {
  const { store, at } = subject;
  const take = (group: string, claim: { priority: number; waiter: string }) =>
    store.tryAcquire([group], [], 0, linked(claim));
  at(0);
  assert.deepEqual(await take('order-submit', SUBMIT), { ok: true });
  assert.deepEqual(await take('order-submit', SUBMIT), { ok: true });
  // The pool is full until t = 1000. All three ask, lowest priority first.
  at(10);
  assert.deepEqual(await take('order-get', READ), { ok: false, waitMs: 990 });
  // (nobody of higher priority waits yet for the first two: their wait is the slot's)
  assert.deepEqual(await take('order-submit', SUBMIT), { ok: false, waitMs: 990 });
  assert.deepEqual(await take('order-cancel', CANCEL), { ok: false, waitMs: 990 });
  // At 1000 both slots are free: the read and the submit ask first and still defer.
  at(1_000);
  assert.deepEqual(await take('order-get', READ), { ok: false, waitMs: DEFER_MS });
  assert.deepEqual(await take('order-submit', SUBMIT), { ok: false, waitMs: DEFER_MS });
  assert.deepEqual(await take('order-cancel', CANCEL), { ok: true });
  // The cancel is served: the submit goes, the read still defers to it until it has gone.
  at(1_001);
  assert.deepEqual(await take('order-get', READ), { ok: false, waitMs: DEFER_MS });
  assert.deepEqual(await take('order-submit', SUBMIT), { ok: true });
  at(1_002);
  assert.deepEqual(await take('order-get', READ), { ok: false, waitMs: 998 }, 'pool full again');
  at(2_000);
  assert.deepEqual(await take('order-get', READ), { ok: true });
}

async function abandoned(subject: Subject): Promise<void> {
  const { store, at } = subject;
  const take = (group: string, claim: { priority: number; waiter: string }) =>
    store.tryAcquire([group], [], 0, linked(claim));
  at(0);
  await take('order-submit', SUBMIT);
  await take('order-submit', SUBMIT);
  at(10);
  assert.equal((await take('order-cancel', CANCEL)).ok, false);
  // The cancel's process dies without withdrawing: the submit defers only until the
  // registration expires (its wait plus the grace), then goes.
  at(1_000 + WAITER_GRACE_MS - 1);
  assert.equal((await take('order-submit', SUBMIT)).ok, false);
  at(1_000 + WAITER_GRACE_MS);
  assert.deepEqual(await take('order-submit', SUBMIT), { ok: true });
  // A withdrawn waiter holds nobody back.
  at(10_000);
  await take('order-submit', SUBMIT);
  await take('order-submit', SUBMIT);
  assert.equal((await take('order-cancel', CANCEL)).ok, false);
  await store.withdraw?.(CANCEL.waiter, ['order-cancel', 'order'], CANCEL.priority);
  at(11_000);
  assert.deepEqual(await take('order-get', READ), { ok: true });
}

describe('limiter priorities at the store', () => {
  it('in memory: cancels, then new orders, then reads', async () => scenario(inMemory()));
  it('SQLite: cancels, then new orders, then reads', async (t) => scenario(sqlite(t)));
  it('in memory: an abandoned waiter expires, a withdrawn one is gone', async () => abandoned(inMemory()));
  it('SQLite: an abandoned waiter expires, a withdrawn one is gone', async (t) => abandoned(sqlite(t)));

  it('a lower priority is not held back by a higher one waiting on another pool only', async () => {
    const { store, at } = inMemory();
    at(0);
    await store.block('order-cancel', 60_000);
    // The cancel waits for its 429 block, not for the shared pool: the submit still goes.
    assert.equal((await store.tryAcquire(['order-cancel'], [], 0, linked(CANCEL))).ok, false);
    assert.deepEqual(await store.tryAcquire(['order-submit'], [], 0, linked(SUBMIT)), { ok: true });
  });
});

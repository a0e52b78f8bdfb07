import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/backtest/virtual-clock.ts';

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('VirtualClock', () => {
  it('fires timers in time order, ties in the order they were set, only when time is advanced', async () => {
    const clock = new VirtualClock(1_000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => seen.push(`c@${clock.now()}`), 20);
    const cancelled = clock.setTimeout(() => seen.push('never'), 15);
    clock.clearTimeout(cancelled);
    await settle();
    assert.deepEqual(seen, [], 'nothing fires on the wall clock');
    await clock.advanceTo(1_015, settle);
    assert.deepEqual(seen, ['a@1010']);
    assert.equal(clock.now(), 1_015);
    await clock.advanceTo(1_100, settle);
    assert.deepEqual(seen, ['a@1010', 'b@1020', 'c@1020']);
    assert.equal(clock.nextDue(), null);
  });

  it('re-arms intervals until cleared, and sleeps resolve at their virtual time', async () => {
    const clock = new VirtualClock(0);
    const ticks: number[] = [];
    const id = clock.setInterval(() => ticks.push(clock.now()), 100);
    let woke = -1;
    void clock.sleep(250).then(() => {
      woke = clock.now();
    });
    await clock.advanceTo(350, settle);
    assert.deepEqual(ticks, [100, 200, 300]);
    assert.equal(woke, 250);
    clock.clearInterval(id);
    await clock.advanceTo(1_000, settle);
    assert.deepEqual(ticks, [100, 200, 300]);
  });

  it('rejects a sleep whose signal aborts, and never goes back in time', async () => {
    const clock = new VirtualClock(500);
    const stop = new AbortController();
    const sleeping = clock.sleep(1_000, stop.signal);
    stop.abort();
    await assert.rejects(sleeping, { name: 'AbortError' });
    assert.equal(clock.nextDue(), null, 'the aborted sleep left no timer');
    await clock.advanceTo(400, settle);
    assert.equal(clock.now(), 500);
  });
});

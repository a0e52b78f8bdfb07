import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StampSource, clockOffset } from '../../src/btcturk/common/stamps.ts';
import { FakeClock } from './helpers.ts';

const T0 = 1_700_000_000_000;

function increasing(stamps: number[]): boolean {
  return stamps.every((s, i) => i === 0 || s > (stamps[i - 1] ?? 0));
}

describe('stamps', () => {
  it('never repeat or go back when the wall clock steps backwards', async () => {
    const clock = new FakeClock(T0);
    const stamps = new StampSource(clock);
    const seen = [stamps.next(), stamps.next()]; // same millisecond: still distinct
    clock.setWall(T0 - 8_000); // NTP steps the wall clock back by 8 s
    seen.push(stamps.next(), stamps.next());
    await clock.advance(5);
    seen.push(stamps.next());
    assert.ok(increasing(seen), seen.join(','));
    assert.deepEqual(seen, [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 5]);
  });

  it('stay increasing when a new measurement moves the estimate back a little', () => {
    const clock = new FakeClock(T0);
    const stamps = new StampSource(clock);
    const first = stamps.next();
    stamps.setOffset(T0 - 3_000); // the server turns out 3 s behind: earlier stamps may have been accepted
    assert.ok(stamps.next() > first);
  });

  it('restart after a measurement shows they ran beyond the ±5 s window (all refused anyway)', () => {
    const clock = new FakeClock(T0);
    const stamps = new StampSource(clock);
    stamps.next();
    stamps.setOffset(T0 - 9_000);
    assert.equal(stamps.next(), T0 - 9_000);
  });

  it('are the monotonic clock moved by the measured offset, the wall clock until measured', async () => {
    const clock = new FakeClock(T0);
    const stamps = new StampSource(clock);
    assert.equal(stamps.serverNow(), T0);
    await clock.advance(1_000);
    stamps.setOffset(clockOffset(T0 + 9_000 + 50, 1_000, 1_100)); // server 8 s ahead of the wall clock
    assert.equal(stamps.next(), T0 + 9_000);
    assert.equal(stamps.skewMs(), 8_000);
  });
});

describe('clock offset', () => {
  it('compares the server time with the midpoint of the local send and receive readings', () => {
    assert.equal(clockOffset(1_000_900, 1_000_000, 1_000_200), 800);
    assert.equal(clockOffset(1_000_000, 1_000_000, 1_000_000), 0);
    assert.equal(clockOffset(992_000, 1_000_000, 1_000_020), -8_010);
  });
});

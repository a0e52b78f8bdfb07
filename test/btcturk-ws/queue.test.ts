import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedQueue } from '../../src/btcturk/websocket/queue.ts';

type Item = { kind: 'n'; n: number } | { kind: 'resync'; dropped: number };

describe('bounded event queue', () => {
  it('hands items over in order, waiting while empty', async () => {
    const queue = new BoundedQueue<Item>(10, (dropped) => ({ kind: 'resync', dropped }));
    const waiting = queue.next();
    queue.push({ kind: 'n', n: 1 });
    queue.push({ kind: 'n', n: 2 });
    assert.deepEqual(await waiting, { kind: 'n', n: 1 });
    assert.deepEqual(await queue.next(), { kind: 'n', n: 2 });
  });

  it('on overflow drops the backlog and leaves one resync marker, never a silent gap', async () => {
    const queue = new BoundedQueue<Item>(3, (dropped) => ({ kind: 'resync', dropped }));
    for (let n = 1; n <= 4; n++) queue.push({ kind: 'n', n });
    queue.push({ kind: 'n', n: 5 });
    assert.equal(queue.overflows, 1);
    assert.deepEqual(await queue.next(), { kind: 'resync', dropped: 4 });
    assert.deepEqual(await queue.next(), { kind: 'n', n: 5 });
    assert.equal(queue.size, 0);
  });

  it('ends iteration when closed and detaches its producer once', async () => {
    let detached = 0;
    const queue = new BoundedQueue<Item>(
      5,
      (dropped) => ({ kind: 'resync', dropped }),
      () => detached++,
    );
    queue.push({ kind: 'n', n: 1 });
    const seen: number[] = [];
    const reading = (async () => {
      for await (const item of queue) if (item.kind === 'n') seen.push(item.n);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    queue.close();
    queue.close();
    await reading;
    assert.deepEqual(seen, [1]);
    assert.equal(detached, 1);
    queue.push({ kind: 'n', n: 2 });
    assert.equal(queue.size, 0, 'a closed queue takes nothing');
  });

  it('refuses a capacity below 1', () => {
    assert.throws(() => new BoundedQueue<Item>(0, (dropped) => ({ kind: 'resync', dropped })), /at least 1/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { Exchange } from '../../src/ports/exchange.ts';
import type { ReplaceChange, ReplaceWriteOptions, Store } from '../../src/ports/store.ts';
import { restingBuy, rig, SYMBOL } from './sim-helpers.ts';

// #14: the replace's path to each of its requests. Safe mode waits for one synced commit before its
// DELETE (the transaction begun with the old order's cancel request) and one before its POST (the
// replacement journaled marked sent, with the step and the old order's close), and reads nothing
// from the store on the way when the caller gives the order it holds. What follows the POST is
// only written without a sync of its own (the ack, `done`): a restart learns it again.

const WRITES = new Set(['journalOrder', 'applyEvent', 'recordFill', 'beginReplace', 'advanceReplace']);

/** Every store call and every order request, in the order they were made. */
function traced(store: Store, exchange: Exchange, log: string[]): { store: Store; exchange: Exchange } {
  const wrap = <T extends object>(target: T, describe: (key: string, args: unknown[]) => string): T =>
    new Proxy(target, {
      get(object, key) {
        const value: unknown = Reflect.get(object, key);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        return (...args: unknown[]) => {
          const entry = describe(key, args);
          if (entry !== '') log.push(entry);
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  return {
    store: wrap(store, (key, args) => {
      if (!WRITES.has(key)) return `read ${key}`;
      if (key === 'applyEvent') return `write applyEvent ${(args[1] as { type: string }).type}`;
      if (key !== 'advanceReplace') return `write ${key}`;
      const change = args[1] as ReplaceChange;
      const options = args[3] as ReplaceWriteOptions | undefined;
      const extra = [
        change.oldEvent ? `old:${change.oldEvent.type}` : '',
        change.newOrder ? 'journal' : '',
        options?.durable === false ? 'unsynced' : '',
      ].filter((s) => s !== '');
      return `write advanceReplace ${change.step}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
    }),
    exchange: wrap(exchange, (key) =>
      key === 'cancelOrder' ? 'DELETE' : key === 'submitOrder' ? 'POST' : '',
    ),
  };
}

describe('replace path (#14): one synced commit before each request, no store reads on the way', () => {
  it('safe mode: begin+cancel request → DELETE → journal+close → POST; after it only unsynced marks', async (t) => {
    // The simulator completes the cancel at once (as the latency bench's exchange does): the first
    // confirmation lookup sees it gone. (Polls while it still rests read the store; that is the
    // exchange's time, not the path's.)
    const r = await rig(t, { seed: 331, faults: { 'cancel-delay-ms': 0 } });
    const old = await restingBuy(r, '0.001', 'quote-1');
    const log: string[] = [];
    const { store, exchange } = traced(r.store, r.exchange, log);
    const oms = r.newOms({ store, exchange });
    await oms.start();
    log.length = 0;
    const result = await oms.replace(old, { price: (old.price ?? new Dec(0)).sub(5) });
    assert.equal(result.txn.outcome, 'replaced');
    assert.equal(result.old.state, 'CANCELED');
    assert.equal(result.replacement?.state, 'OPEN');
    const del = log.indexOf('DELETE');
    const post = log.indexOf('POST');
    assert.ok(del > 0 && post > del, log.join('\n'));
    assert.deepEqual(log.slice(0, del), ['write beginReplace'], 'before the DELETE');
    assert.deepEqual(
      log.slice(del + 1, post),
      ['write advanceReplace new-journaled (old:venue-status, journal)'],
      'between the DELETE and the POST',
    );
    assert.deepEqual(
      log.slice(post + 1),
      ['write applyEvent acked', 'write advanceReplace done (unsynced)'],
      'after the POST',
    );
    // What the writes left is what the store holds: nothing was skipped.
    const stored = await r.store.replace(result.txn.id);
    assert.equal(stored?.step, 'done');
    assert.equal(stored.version, 3);
    assert.equal((await r.store.order(old.id))?.state, 'CANCELED');
    const events = (await r.store.orderEvents(result.replacement.id)).map((e) => e.type);
    assert.deepEqual(events.slice(0, 2), ['journaled', 'sent']);
  });

  it('fast mode: begin → journal → POST → cancel request → DELETE, one synced commit before each', async (t) => {
    const r = await rig(t, { seed: 332, faults: { 'cancel-delay-ms': 0 } });
    const old = await restingBuy(r, '0.001', 'quote-1');
    const log: string[] = [];
    const { store, exchange } = traced(r.store, r.exchange, log);
    const oms = r.newOms({ store, exchange, riskBudget: () => true });
    await oms.start();
    log.length = 0;
    const result = await oms.replace(old, { price: (old.price ?? new Dec(0)).sub(5), mode: 'fast' });
    assert.equal(result.txn.outcome, 'replaced');
    const post = log.indexOf('POST');
    const del = log.indexOf('DELETE');
    assert.ok(post > 0 && del > post, log.join('\n'));
    const writes = (from: number, to: number) => log.slice(from, to).filter((e) => e.startsWith('write'));
    // Fast mode reads the old order's executed quantity from the exchange (it still rests), not the store.
    assert.deepEqual(
      log.slice(0, post).filter((e) => e.startsWith('read')),
      [],
      'no store reads',
    );
    assert.deepEqual(writes(0, post), ['write beginReplace', 'write advanceReplace new-journaled (journal)']);
    assert.deepEqual(
      log.slice(post + 1, del),
      ['write applyEvent acked', 'write advanceReplace cancel-sent (old:cancel-requested)'],
      'between the POST and the DELETE',
    );
    assert.equal((await r.store.order(old.id))?.state, 'CANCELED');
  });

  it('a copy of the old order that is no longer current is refused by the write and decided again on the stored one', async (t) => {
    const r = await rig(t, { seed: 333 });
    const old = await restingBuy(r, '0.001', 'quote-1');
    const stale = { ...old, version: old.version - 1 };
    const result = await r.oms.replace(stale, { price: (old.price ?? new Dec(0)).sub(5) });
    assert.equal(result.txn.outcome, 'replaced');
    assert.equal(result.txn.oldFilledAtStart.toFixed(), '0');
    assert.equal(r.ourOrders().length, 2, 'one replacement');
    assert.equal(r.ourOrders().filter((o) => o.status === 'open').length, 1);
    const txns = await r.store.openReplaces();
    assert.deepEqual(txns, []);
    assert.equal(SYMBOL, result.replacement?.symbol);
  });

  it('the kill switch on at the begin refuses the replace inside its write: nothing written, nothing sent', async (t) => {
    const r = await rig(t, { seed: 334 });
    const old = await restingBuy(r, '0.001', 'quote-1');
    await r.store.setKillSwitch(true, 'operator');
    await assert.rejects(
      r.oms.replace(old, { price: (old.price ?? new Dec(0)).sub(5) }),
      /kill switch is on \(operator\)/,
    );
    assert.equal((await r.store.order(old.id))?.state, 'OPEN');
    assert.deepEqual(await r.store.openReplaces(), []);
    assert.equal(r.ourOrders().filter((o) => o.status === 'open').length, 1);
  });
});

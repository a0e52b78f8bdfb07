import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { FAST_TIMINGS, PREFIX, rig, until } from '../oms/sim-helpers.ts';

// Per-symbol readiness in the execution core, in process against the simulator: after a crash that
// left an order of unknown outcome on BTCTRY, a restart may trade ETHTRY as soon as ETHTRY's part
// of the start-up reconciliation is clean, while BTCTRY waits (and says why) until the order is
// settled. RESTART_SEED replays a failure.

const SEED = Number(process.env.RESTART_SEED ?? 77);

describe('execution core restart: per-symbol readiness', () => {
  it('makes a symbol ready once its own part is clean; the one with an unresolved order waits and says why', async (t) => {
    const r = await rig(t, { seed: SEED });
    // What a crash right after the sent mark leaves: journaled, marked sent, never on the exchange.
    const crashLeft = await r.store.journalOrder({
      clientOrderId: newClientOrderId(PREFIX, seededRandom(SEED)),
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: r.insidePrice('buy'),
      intentId: 'crash-left',
    });
    await r.store.applyEvent(crashLeft.id, { type: 'sent' });

    const oms = r.newOms({
      symbols: ['BTCTRY', 'ETHTRY'],
      timings: { ...FAST_TIMINGS, notFoundAfterMs: 3_000 },
    });
    t.after(() => oms.stop());
    assert.equal(oms.waitingFor('ETHTRY')?.reason, 'not reconciled yet');
    const startup = oms.start();
    await until('ETHTRY is ready', () => oms.readyFor('ETHTRY'));
    assert.equal(oms.readyFor('BTCTRY'), false, 'BTCTRY was ready with an order unresolved');
    assert.equal(oms.ready, false);
    assert.equal(oms.waitingFor('ETHTRY'), null);
    assert.match(oms.waitingFor('BTCTRY')?.reason ?? '', /^resolving 1 unresolved order$/);

    // ETHTRY trades meanwhile: its order goes out while BTCTRY's lookups still run.
    const bestBid = r.sim.engine.book('ETHTRY', 1).bids[0]?.price;
    assert.ok(bestBid);
    const eth = await oms.submit({
      symbol: 'ETHTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.01'),
      price: bestBid.sub(100),
      intentId: 'eth',
    });
    assert.equal(eth.state, 'OPEN');
    assert.equal(oms.readyFor('BTCTRY'), false, 'the ETHTRY order waited for BTCTRY');

    const report = await startup;
    assert.equal(report.clean, true, JSON.stringify(report));
    assert.equal((await r.store.order(crashLeft.id))?.state, 'REJECTED');
    assert.equal(oms.readyFor('BTCTRY'), true);
    assert.equal(oms.ready, true);
    assert.equal(oms.waitingFor('BTCTRY'), null);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Faults } from '../../src/sim/server/faults.ts';
import { startSimulator } from '../../src/sim/index.ts';
import { exchangeFor } from './sim-helpers.ts';

// The simulator counts the faults that actually struck (chaos runs report them), and the REST
// client recovers from the 401s a clock jump beyond the ±5 s stamp window causes by re-syncing.

describe('fault-hit counters', () => {
  it('count each strike of a probability fault, nothing while it is off', () => {
    const faults = new Faults(1, { 'error-5xx': 1 });
    for (let i = 0; i < 3; i += 1) assert.equal(faults.strikes('error-5xx'), true);
    assert.equal(faults.strikes('reset-before-accept'), false);
    faults.hit('latency-ms');
    const hits = faults.hits();
    assert.equal(hits['error-5xx'], 3);
    assert.equal(hits['reset-before-accept'], 0);
    assert.equal(hits['latency-ms'], 1);
    assert.equal(faults.isSet('cancel-delay-ms'), false, 'a default value is not a fault that was set');
  });

  it('count latency, stale stamps refused under a clock skew, and the REST client re-syncs and succeeds', async (t) => {
    const sim = await startSimulator({ seed: 5, autoMarket: false, faults: { 'clock-skew-ms': 8_000 } });
    t.after(() => sim.stop());
    const exchange = exchangeFor(sim, 5);
    t.after(() => exchange.close());
    // The first private call measures the skewed clock first: no 401.
    await exchange.openOrders('BTCTRY');
    assert.equal(sim.faultHits()['clock-skew-ms'], 0);
    sim.setFault('latency-ms', 5);
    // The clock jumps 8 s further: the next stamp is refused, the client re-syncs and the call succeeds.
    sim.setFault('clock-skew-ms', 16_000);
    await exchange.openOrders('BTCTRY');
    const hits = sim.faultHits();
    assert.equal(hits['clock-skew-ms'], 1, JSON.stringify(hits));
    assert.ok(hits['latency-ms'] >= 2, JSON.stringify(hits)); // the refused call, the sync, the retry
    assert.ok(Math.abs(exchange.serverNow() - (Date.now() + 16_000)) < 1_000, 'the offset was re-measured');
  });

  it('a clock jump with 5 private requests in flight does not stop private requests for good', async (t) => {
    const sim = await startSimulator({
      seed: 5,
      autoMarket: false,
      faults: { 'clock-skew-ms': 8_000, 'latency-ms': 100 },
    });
    t.after(() => sim.stop());
    const exchange = exchangeFor(sim, 5);
    t.after(() => exchange.close());
    await exchange.openOrders('BTCTRY');
    sim.setFault('clock-skew-ms', 16_000);
    // Five readers at once (reconciler, lookups, balances, two symbols' engines): each is refused once.
    await Promise.allSettled(Array.from({ length: 5 }, () => exchange.openOrders('BTCTRY')));
    // The offset was re-measured: the next call must go through.
    await exchange.openOrders('BTCTRY');
  });

  it('count WebSocket drops per socket cut', async (t) => {
    const sim = await startSimulator({ seed: 6, autoMarket: false });
    t.after(() => sim.stop());
    const ws = new WebSocket(sim.wsUrl);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    await new Promise((resolve) => ws.once('open', resolve));
    sim.setFault('ws-drop-every', 50);
    await closed;
    sim.setFault('ws-drop-every', null);
    assert.equal(sim.faultHits()['ws-drop-every'], 1);
  });
});

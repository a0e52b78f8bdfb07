import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import type { RunningSimulator } from '../../src/sim/index.ts';
import {
  loginFrame,
  manualClock,
  raw,
  settle,
  simAuth,
  subscribeFrame,
  withSim,
  WsClient,
  type Frame,
} from './helpers.ts';

// One test per fault of DESIGN §4, each showing the fault's effect on the wire or on the adapter.

function adapterFor(sim: RunningSimulator): BtcturkExchange {
  return new BtcturkExchange({
    baseUrl: sim.restUrl,
    credentials: simAuth(sim),
    requestTimeoutMs: 600,
    deadlineMs: 3_000,
  });
}

async function withAdapter(
  sim: RunningSimulator,
  body: (exchange: BtcturkExchange) => Promise<void>,
): Promise<void> {
  const exchange = adapterFor(sim);
  try {
    await body(exchange);
  } finally {
    await exchange.close();
  }
}

/** A buy far below the market: it rests, never fills. */
function restingBuy(sim: RunningSimulator, clientOrderId: string) {
  const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
  assert.ok(bid);
  return {
    symbol: 'BTCTRY',
    side: 'buy' as const,
    method: 'limit' as const,
    quantity: new Dec('0.001'),
    price: bid.minus(10_000),
    clientOrderId,
  };
}

function restingBody(sim: RunningSimulator, clientOrderId: string): Record<string, string> {
  const order = restingBuy(sim, clientOrderId);
  return {
    quantity: order.quantity.toFixed(),
    price: order.price.toFixed(),
    orderMethod: 'limit',
    orderType: 'buy',
    pairSymbol: 'BTCTRY',
    newOrderClientId: clientOrderId,
  };
}

function ordersWithClientId(sim: RunningSimulator, clientOrderId: string) {
  return sim.groundTruth().orders.filter((o) => o.clientOrderId === clientOrderId);
}

const changeSet = (frame: Frame): number => frame[1].CS as number;

describe('faults', () => {
  it('timeout-after-accept: the order is placed, the reply never comes, the adapter reports ambiguous', async () => {
    await withSim({ faults: { 'timeout-after-accept': 1 } }, async (sim) => {
      await withAdapter(sim, async (exchange) => {
        await assert.rejects(exchange.submitOrder(restingBuy(sim, 'timeout-1')), (error: unknown) =>
          isExchangeError(error, 'ambiguous'),
        );
      });
      const placed = ordersWithClientId(sim, 'timeout-1');
      assert.equal(placed.length, 1, 'exactly one order, placed');
      assert.equal(placed[0]?.status, 'open');
    });
  });

  it('reset-before-accept: the connection drops and nothing is placed', async () => {
    await withSim({ faults: { 'reset-before-accept': 1 } }, async (sim) => {
      await assert.rejects(
        raw(sim.restUrl, 'POST', '/api/v1/order', { auth: simAuth(sim), body: restingBody(sim, 'reset-1') }),
      );
      await withAdapter(sim, async (exchange) => {
        await assert.rejects(exchange.submitOrder(restingBuy(sim, 'reset-2')), (error: unknown) =>
          isExchangeError(error, 'ambiguous'),
        );
      });
      assert.equal(ordersWithClientId(sim, 'reset-1').length, 0);
      assert.equal(ordersWithClientId(sim, 'reset-2').length, 0);
    });
  });

  it('error-5xx: 503 or 500 on any request, with no effect; decisions replay from the seed', async () => {
    const statuses = async (seed: number): Promise<number[]> => {
      let out: number[] = [];
      await withSim({ seed, faults: { 'error-5xx': 0.5 } }, async (sim) => {
        const replies = [];
        for (let i = 0; i < 16; i++)
          replies.push(await raw(sim.restUrl, 'GET', '/api/v2/ticker?pairSymbol=BTCTRY'));
        out = replies.map((r) => r.status);
      });
      return out;
    };
    const first = await statuses(5);
    assert.deepEqual(await statuses(5), first, 'the same seed, the same faults');
    assert.ok(first.includes(200) && first.some((s) => s >= 500), `a mix of answers: ${first.join(',')}`);

    await withSim({ faults: { 'error-5xx': 1 } }, async (sim) => {
      const reply = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth: simAuth(sim),
        body: restingBody(sim, 'e5xx-1'),
      });
      assert.ok(reply.status === 500 || reply.status === 503, `got ${reply.status}`);
      assert.equal(ordersWithClientId(sim, 'e5xx-1').length, 0, 'nothing placed');
    });
  });

  it('error-5xx-after-accept: answers 500 although the order was placed (S4)', async () => {
    await withSim({ faults: { 'error-5xx-after-accept': 1 } }, async (sim) => {
      const reply = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth: simAuth(sim),
        body: restingBody(sim, 's4-1'),
      });
      assert.equal(reply.status, 500);
      assert.equal(ordersWithClientId(sim, 's4-1').length, 1);
      await withAdapter(sim, async (exchange) => {
        await assert.rejects(exchange.submitOrder(restingBuy(sim, 's4-2')), (error: unknown) =>
          isExchangeError(error, 'ambiguous'),
        );
      });
      assert.equal(ordersWithClientId(sim, 's4-2').length, 1, 'placed once, not re-sent');
    });
  });

  it('reply-200-failure: HTTP 200 with success:false and a BTCTurk code, nothing placed', async () => {
    await withSim({ faults: { 'reply-200-failure': 1 } }, async (sim) => {
      const reply = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth: simAuth(sim),
        body: restingBody(sim, 's5-1'),
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json(), { success: false, message: 'FAILED_LIMIT_ORDER', code: 1120 });
      await withAdapter(sim, async (exchange) => {
        await assert.rejects(exchange.submitOrder(restingBuy(sim, 's5-2')), (error: unknown) =>
          isExchangeError(error, 'exchange-failure'),
        );
      });
      assert.equal(ordersWithClientId(sim, 's5-1').length + ordersWithClientId(sim, 's5-2').length, 0);
    });
  });

  it('rate-limit-storm: a spurious 429 with Retry-After that blocks its group until then', async () => {
    const clock = manualClock();
    await withSim({ clock, faults: { 'rate-limit-storm': 1 } }, async (sim) => {
      const stormed = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: simAuth(sim) });
      assert.equal(stormed.status, 429);
      const retryAfter = Number(stormed.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter}`);
      assert.equal((stormed.json() as { message: string }).message, 'TOO_MANY_REQUESTS');
      sim.setFault('rate-limit-storm', null);
      const early = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: simAuth(sim) });
      assert.equal(early.status, 429, 'a client that does not wait is refused again');
      clock.advance(retryAfter * 1000);
      const later = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: simAuth(sim) });
      assert.equal(later.status, 200);
      assert.equal(
        (await raw(sim.restUrl, 'GET', '/api/v2/server/exchangeinfo')).status,
        200,
        'unlimited routes are not stormed',
      );

      sim.setFault('rate-limit-storm', 1);
      await withAdapter(sim, async (exchange) => {
        await assert.rejects(
          exchange.submitOrder(restingBuy(sim, 'storm-1')),
          (error: unknown) => isExchangeError(error, 'rate-limited') && (error.retryAfterMs ?? 0) >= 1000,
        );
      });
      assert.equal(ordersWithClientId(sim, 'storm-1').length, 0);
    });
  });

  it('ws-drop-every: open sockets are cut without a close frame', async () => {
    await withSim({ faults: { 'ws-drop-every': '150ms' } }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      const code = await new Promise<number>((resolve) =>
        client.socket.once('close', (c: number) => {
          resolve(c);
        }),
      );
      assert.equal(code, 1006, 'abnormal closure: no close frame');
    });
  });

  it('ws-gap: a change set is not delivered while CS moves on', async () => {
    await withSim({ seed: 3, bookIntervalMs: 3_600_000 }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        sim.setFault('ws-gap', 1);
        sim.engine.stepMarket();
        sim.flushBooks();
        sim.setFault('ws-gap', null);
        sim.engine.stepMarket();
        sim.flushBooks();
        const diff = await client.nextOfType(432);
        assert.equal(
          changeSet(diff),
          changeSet(snapshot) + 2,
          `CS jumped from ${changeSet(snapshot)} to ${changeSet(diff)}: one change set was skipped`,
        );
        // A second join on the same socket is refused as a duplicate: leave, then join again.
        client.send(subscribeFrame('obdiff', 'BTCTRY', false));
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const fresh = await client.nextOfType(431);
        assert.equal(
          changeSet(fresh),
          changeSet(diff),
          'a resubscribe brings a fresh snapshot at the current CS',
        );
      } finally {
        client.close();
      }
    });
  });

  it('ws-silence-every: an open socket stops receiving frames and answering pings', async () => {
    await withSim({ seed: 4 }, async (sim) => {
      const silent = await WsClient.connect(sim.wsUrl);
      try {
        silent.send(subscribeFrame('obdiff', 'BTCTRY'));
        await silent.nextOfType(431);
        sim.setFault('ws-silence-every', '100ms');
        // Pings are answered until the silence begins; the first unanswered one marks it.
        for (let answered = true; answered;) {
          const pong = new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              resolve(false);
            }, 500);
            silent.socket.once('pong', () => {
              clearTimeout(timer);
              resolve(true);
            });
          });
          silent.socket.ping();
          answered = await pong;
        }
        sim.setFault('ws-silence-every', null);
        const seen = silent.frames.length;
        const fresh = await WsClient.connect(sim.wsUrl);
        try {
          fresh.send(subscribeFrame('obdiff', 'BTCTRY'));
          await fresh.nextOfType(431);
          sim.engine.stepMarket();
          await settle();
          await fresh.nextOfType(432);
          await new Promise((resolve) => setTimeout(resolve, 100));
          assert.equal(silent.frames.length, seen, 'the silenced socket got nothing');
          assert.equal(silent.closed, false, 'and it is still open');
        } finally {
          fresh.close();
        }
      } finally {
        silent.close();
      }
    });
  });

  it('clock-skew-ms: server time moves; a stamp from the local clock 6 s off is refused, a synced client works', async () => {
    await withSim({ faults: { 'clock-skew-ms': 6_000 } }, async (sim) => {
      const time = (await raw(sim.restUrl, 'GET', '/api/v2/server/time')).json() as { serverTime: number };
      assert.ok(time.serverTime - Date.now() > 5_000, 'the server clock runs ahead');
      const local = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: simAuth(sim) });
      assert.equal(local.status, 401);
      const synced = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', {
        auth: { ...simAuth(sim), stamp: Date.now() + 6_000 },
      });
      assert.equal(synced.status, 200);
      await withAdapter(sim, async (exchange) => {
        await exchange.syncClock();
        assert.ok(
          (await exchange.balances()).length > 0,
          'the adapter re-synced its stamps to server time (M5)',
        );
      });
      sim.setFault('clock-skew-ms', 3_000);
      const within = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: simAuth(sim) });
      assert.equal(within.status, 200, '3 s of skew is inside the ±5 s window');
    });
  });

  it('latency-ms: every /api request waits before it is processed', async () => {
    await withSim({ faults: { 'latency-ms': 300 } }, async (sim) => {
      const started = performance.now();
      const reply = await raw(sim.restUrl, 'GET', '/api/v2/server/time');
      assert.equal(reply.status, 200);
      assert.ok(performance.now() - started >= 290, 'the reply came no sooner than the latency');
      await assert.rejects(
        raw(sim.restUrl, 'GET', '/api/v2/server/time', { timeoutMs: 100 }),
        /abort|timeout/i,
      );
      sim.setFault('latency-ms', null);
      assert.equal((await raw(sim.restUrl, 'GET', '/api/v2/server/time', { timeoutMs: 2_000 })).status, 200);
    });
  });

  it('cancel-delay-ms: a cancel is accepted at once and completes later, announced by a 452', async () => {
    await withSim({ faults: { 'cancel-delay-ms': '400ms' } }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        await client.nextOfType(114);
        const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: simAuth(sim),
          body: restingBody(sim, 'cd-1'),
        });
        const id = /"id":(\d+)/.exec(placed.text)?.[1];
        assert.ok(id);
        const accepted = performance.now();
        const cancel = await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${id}`, { auth: simAuth(sim) });
        assert.equal(cancel.status, 200);
        const order = ordersWithClientId(sim, 'cd-1')[0];
        assert.ok(order);
        assert.equal(order.status, 'open');
        assert.equal(order.cancelRequested, true);
        const deleted = await client.nextOfType(452);
        assert.ok(performance.now() - accepted >= 390, 'completed no sooner than the delay');
        assert.equal(deleted[1].newOrderClientId, 'cd-1');
        assert.equal(ordersWithClientId(sim, 'cd-1')[0]?.status, 'canceled');
      } finally {
        client.close();
      }
    });
  });

  it('visibility-delay-ms: a new order shows in openOrders, allOrders and order/{id} only after the delay (S7)', async () => {
    const clock = manualClock();
    await withSim({ clock, faults: { 'visibility-delay-ms': '2s' } }, async (sim) => {
      const auth = simAuth(sim);
      const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth,
        body: restingBody(sim, 's7-1'),
      });
      const id = /"id":(\d+)/.exec(placed.text)?.[1];
      assert.ok(id);
      const open = async () => raw(sim.restUrl, 'GET', '/api/v1/openOrders?pairSymbol=BTCTRY', { auth });
      const history = async () => raw(sim.restUrl, 'GET', '/api/v1/allOrders?pairSymbol=BTCTRY', { auth });
      assert.doesNotMatch((await open()).text, /s7-1/);
      assert.doesNotMatch((await history()).text, /s7-1/);
      assert.equal((await raw(sim.restUrl, 'GET', `/api/v1/order/${id}`, { auth })).status, 400);
      assert.equal(ordersWithClientId(sim, 's7-1').length, 1, 'it exists all along');
      clock.advance(2_000);
      assert.match((await open()).text, /s7-1/);
      assert.match((await history()).text, /s7-1/);
      assert.equal((await raw(sim.restUrl, 'GET', `/api/v1/order/${id}`, { auth })).status, 200);
    });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Dec } from '../../src/domain/decimal.ts';
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

async function connected(sim: RunningSimulator): Promise<WsClient> {
  const client = await WsClient.connect(sim.wsUrl);
  await client.nextOfType(991);
  return client;
}

async function step(sim: RunningSimulator, times: number): Promise<void> {
  for (let i = 0; i < times; i++) sim.engine.stepMarket();
  await settle();
}

const changeSet = (frame: Frame): number => frame[1].CS as number;

describe('WebSocket feed', () => {
  it('welcomes, logs in with the account key pair, refuses a bad signature, and ignores unknown frames', async () => {
    await withSim({}, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        const welcome = await client.nextOfType(991);
        assert.equal(welcome[1].type, 991);
        client.send('not json');
        client.send([999, { type: 999 }]);
        client.send({ type: 151 });
        client.send(loginFrame(sim.apiKey, Buffer.from('wrong').toString('base64')));
        const refused = await client.nextOfType(114);
        assert.equal(refused[1].ok, false);
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        const accepted = await client.nextOfType(114);
        assert.deepEqual(accepted[1], { type: 114, ok: true, message: 'success' });
        assert.deepEqual(client.types(), [991, 114, 114], 'the unknown frames got no answer');
      } finally {
        client.close();
      }
    });
  });

  it('answers a subscription with 100 join|channel:event and an unknown pair with ok:false', async () => {
    await withSim({}, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('trade', 'BTCTRY'));
        assert.deepEqual((await client.nextOfType(100))[1], {
          type: 100,
          ok: true,
          message: 'join|trade:BTCTRY',
        });
        const recent = await client.nextOfType(421);
        assert.ok(Array.isArray(recent[1].items));
        client.send(subscribeFrame('trade', 'DOGETRY'));
        assert.equal((await client.nextOfType(100))[1].ok, false);
        client.send(subscribeFrame('trade', 'BTCTRY', false));
        assert.deepEqual((await client.nextOfType(100))[1], {
          type: 100,
          ok: true,
          message: 'leave|trade:BTCTRY',
        });
      } finally {
        client.close();
      }
    });
  });

  it('streams obdiff as a 431 snapshot then 432 diffs whose CS rises by exactly one', async () => {
    await withSim({ seed: 11 }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        assert.equal(snapshot[1].channel, 'obdiff');
        await step(sim, 8);
        let expected = changeSet(snapshot) + 1;
        for (let i = 0; i < 8; i++) {
          const diff = await client.nextOfType(432);
          assert.equal(changeSet(diff), expected, 'CS continues without a gap');
          expected += 1;
        }
      } finally {
        client.close();
      }
    });
  });

  it('a book rebuilt from the snapshot and diffs equals the exchange book', async () => {
    await withSim({ seed: 12 }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        const bids = new Map<string, string>();
        const asks = new Map<string, string>();
        const rows = (value: unknown) => value as { A: string; P: string; CP?: number }[];
        for (const row of rows(snapshot[1].BO)) bids.set(new Dec(row.P).toFixed(), row.A);
        for (const row of rows(snapshot[1].AO)) asks.set(new Dec(row.P).toFixed(), row.A);
        await step(sim, 20);
        // A second subscriber's snapshot carries the current CS: replay the first one's diffs up to it.
        const probe = await connected(sim);
        probe.send(subscribeFrame('obdiff', 'BTCTRY'));
        const current = changeSet(await probe.nextOfType(431));
        probe.close();
        assert.ok(current > changeSet(snapshot) + 20, 'every step made change sets');
        const book = sim.engine.book('BTCTRY', 10_000);
        let seen = changeSet(snapshot);
        while (seen < current) {
          const diff = await client.nextOfType(432);
          assert.equal(changeSet(diff), seen + 1);
          seen = changeSet(diff);
          for (const [side, levels] of [
            [diff[1].BO, bids],
            [diff[1].AO, asks],
          ] as const)
            for (const row of rows(side)) {
              if (row.CP === 2) levels.delete(new Dec(row.P).toFixed());
              else levels.set(new Dec(row.P).toFixed(), row.A);
            }
        }
        const view = (levels: Map<string, string>) =>
          [...levels].map(([p, a]) => `${p}@${new Dec(a).toFixed()}`).sort();
        assert.deepEqual(
          view(bids),
          book.bids.map((l) => `${l.price.toFixed()}@${l.quantity.toFixed()}`).sort(),
        );
        assert.deepEqual(
          view(asks),
          book.asks.map((l) => `${l.price.toFixed()}@${l.quantity.toFixed()}`).sort(),
        );
      } finally {
        client.close();
      }
    });
  });

  it('after login, delivers insert, match, user trade, update and balance events for a fill, and delete for a cancel', async () => {
    await withSim({ faults: { 'cancel-delay-ms': '20ms' } }, async (sim) => {
      const client = await connected(sim);
      const other = sim.openAccount({ balances: { BTC: '1', TRY: '0' } });
      try {
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        assert.equal((await client.nextOfType(114))[1].ok, true);
        const best = sim.engine.book('BTCTRY', 1);
        const bid = best.bids[0]?.price;
        assert.ok(bid);
        const price = bid.plus(1).toFixed();
        const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: simAuth(sim),
          body: {
            quantity: '0.01',
            price,
            orderMethod: 'limit',
            orderType: 'buy',
            pairSymbol: 'BTCTRY',
            newOrderClientId: 'ws-1',
          },
        });
        assert.equal(placed.status, 200);
        const insert = await client.nextOfType(451);
        assert.equal(insert[1].newOrderClientId, 'ws-1');
        assert.equal(insert[1].orderType, 0);
        await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: other,
          body: { quantity: '0.004', price, orderMethod: 'limit', orderType: 'sell', pairSymbol: 'BTCTRY' },
        });
        const trade = await client.nextOfType(423);
        assert.equal(trade[1].orderClientId, 'ws-1');
        assert.equal(trade[1].amount, '0.00400000');
        const match = await client.nextOfType(441);
        assert.equal(match[1].isBid, true);
        assert.equal(match[1].clientId, 'ws-1');
        const update = await client.nextOfType(453);
        assert.equal(update[1].numLeft, '0.00600000');
        const balance = await client.nextOfType(201);
        assert.ok(Array.isArray(balance[1].balances));

        const id = /"id":(\d+)/.exec(placed.text)?.[1];
        assert.ok(id);
        const cancel = await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${id}`, { auth: simAuth(sim) });
        assert.equal(cancel.status, 200);
        const deleted = await client.nextOfType(452);
        assert.equal(deleted[1].newOrderClientId, 'ws-1');
        assert.ok(
          !client.frames.some((f) => f[0] === 451 && f[1].newOrderClientId !== 'ws-1'),
          'no other account events',
        );
      } finally {
        client.close();
      }
    });
  });

  it('refuses the 16th connect within a minute with HTTP 429', async () => {
    const clock = manualClock();
    await withSim({ clock }, async (sim) => {
      const clients: WsClient[] = [];
      try {
        for (let i = 0; i < 15; i++) clients.push(await WsClient.connect(sim.wsUrl));
        const status = await new Promise<number>((resolve, reject) => {
          const socket = new WebSocket(sim.wsUrl);
          socket.on('unexpected-response', (_request, response) => {
            resolve(response.statusCode ?? 0);
            socket.terminate();
          });
          socket.on('open', () => {
            reject(new Error('the 16th connect was accepted'));
          });
          socket.on('error', () => undefined);
        });
        assert.equal(status, 429);
        clock.advance(59_000);
        await assert.rejects(WsClient.connect(sim.wsUrl), /429/, 'still blocked within 60 s of the refusal');
        clock.advance(2_000);
        clients.push(await WsClient.connect(sim.wsUrl));
      } finally {
        for (const client of clients) client.close();
      }
    });
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Dec } from '../../src/domain/decimal.ts';
import { randomInt, seededRandom } from '../../src/domain/random.ts';
import { SimRejection, type SimOrder } from '../../src/sim/engine/api.ts';
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

const changeSet = (frame: Frame): number => frame[1].CS as number;

/** Book change sets only at flushBooks(): the timer's interval is longer than any test. */
const MANUAL_BOOKS = { bookIntervalMs: 3_600_000 } as const;

interface Row {
  readonly P: string;
  readonly A: string;
  readonly CP?: number;
}
const rows = (value: unknown): Row[] => value as Row[];

/**
 * A client's copy of one pair's book from its obdiff frames, checking each row against what it holds
 * as it goes: CP 1 adds a level it does not have, CP 0 changes one it has, CP 3 deletes one it has and
 * still carries that level's (non-zero) amount.
 */
class Mirror {
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();
  changeSet: number | null = null;
  private read = 0;
  readonly kinds = { 0: 0, 1: 0, 3: 0 } as Record<number, number>;

  constructor(
    private readonly client: WsClient,
    private readonly symbol: string,
  ) {}

  /** Applies every obdiff frame received since the last call; the caller has waited on a barrier. */
  catchUp(): number {
    let applied = 0;
    for (; this.read < this.client.frames.length; this.read++) {
      const frame = this.client.frames[this.read];
      if (!frame || frame[1].PS !== this.symbol || frame[1].channel !== 'obdiff') continue;
      if (frame[0] === 431) {
        this.bids.clear();
        this.asks.clear();
        for (const row of rows(frame[1].BO)) this.bids.set(new Dec(row.P).toFixed(), row.A);
        for (const row of rows(frame[1].AO)) this.asks.set(new Dec(row.P).toFixed(), row.A);
        this.changeSet = changeSet(frame);
      } else if (frame[0] === 432) {
        assert.notEqual(this.changeSet, null, 'a 432 before any 431');
        assert.equal(changeSet(frame), (this.changeSet ?? 0) + 1, 'CS rises by exactly one');
        this.changeSet = changeSet(frame);
        this.apply(rows(frame[1].BO), this.bids);
        this.apply(rows(frame[1].AO), this.asks);
        applied += 1;
      }
    }
    return applied;
  }

  private apply(changes: readonly Row[], levels: Map<string, string>): void {
    for (const row of changes) {
      const price = new Dec(row.P).toFixed();
      const held = levels.get(price);
      assert.ok(new Dec(row.A).gt(0), `row ${JSON.stringify(row)}: A is never zero`);
      assert.ok(row.CP !== undefined);
      this.kinds[row.CP] = (this.kinds[row.CP] ?? 0) + 1;
      switch (row.CP) {
        case 1:
          assert.equal(held, undefined, `CP 1 at ${price}: the level is new`);
          levels.set(price, row.A);
          break;
        case 0:
          assert.ok(held !== undefined && !new Dec(held).eq(row.A), `CP 0 at ${price} changes a held level`);
          levels.set(price, row.A);
          break;
        case 3:
          assert.ok(held !== undefined, `CP 3 at ${price} deletes a held level`);
          assert.ok(new Dec(held).eq(row.A), `CP 3 at ${price} carries the level's last amount`);
          levels.delete(price);
          break;
        default:
          assert.fail(`CP ${row.CP} is not one of BTCTurk's 0, 1, 3`);
      }
    }
  }

  /** Both sides as sorted "price@amount" lines. */
  view(): { bids: string[]; asks: string[] } {
    const side = (levels: Map<string, string>) =>
      [...levels].map(([p, a]) => `${p}@${new Dec(a).toFixed()}`).sort();
    return { bids: side(this.bids), asks: side(this.asks) };
  }
}

function topOf(sim: RunningSimulator, symbol: string, depth: number): { bids: string[]; asks: string[] } {
  const book = sim.engine.book(symbol, depth);
  const side = (levels: typeof book.bids) =>
    levels.map((l) => `${l.price.toFixed()}@${l.quantity.toFixed()}`).sort();
  return { bids: side(book.bids), asks: side(book.asks) };
}

function placeUserLimit(
  sim: RunningSimulator,
  side: 'buy' | 'sell',
  price: string,
  quantity = '0.001',
): SimOrder | null {
  try {
    return sim.engine.placeOrder({
      accountId: sim.accountId,
      symbol: 'BTCTRY',
      side,
      method: 'limit',
      quantity: new Dec(quantity),
      price: new Dec(price),
    });
  } catch (error) {
    if (error instanceof SimRejection) return null; // out of funds or off the price band: no change
    throw error;
  }
}

function cancelNow(sim: RunningSimulator, order: SimOrder): void {
  try {
    sim.engine.requestCancel(sim.accountId, order.id);
    sim.engine.completeCancel(order.id);
  } catch (error) {
    if (!(error instanceof SimRejection)) throw error; // filled meanwhile
  }
}

describe('WebSocket feed: session', () => {
  it('welcomes as BTCTurk does and ignores malformed and unknown frames', async () => {
    await withSim({}, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        const welcome = await client.nextOfType(991);
        assert.equal(client.textOf(welcome), '[991,{"type":991,"current":"6.0.0","min":"2.3.0"}]');
        client.send('not json');
        client.send([999, { type: 999 }]);
        client.send({ type: 151 });
        client.send([151, { type: 151, channel: 'obdiff' }]);
        await client.barrier();
        assert.deepEqual(
          client.types().filter((t) => t !== 100),
          [991],
          'no reply to any of them',
        );
        assert.equal(client.closed, false, 'and the socket stays open');
      } finally {
        client.close();
      }
    });
  });

  it('logs in with nonce 3000 and a synced stamp; refuses, in BTCTurk’s words, a bad nonce, stamp, key or signature', async () => {
    await withSim({ faults: { 'clock-skew-ms': 20_000 } }, async (sim) => {
      const client = await connected(sim);
      const serverNow = (): number => Date.now() + 20_000;
      const refusal = (message: string) => `[114,{"type":114,"ok":false,"id":0,"message":"${message}"}]`;
      const login = async (frame: Frame): Promise<string> => {
        client.send(frame);
        return client.textOf(await client.nextOfType(114));
      };
      try {
        const { apiKey, apiSecret } = sim;
        for (const nonce of [1_700_000_000_000, 99, 60_001, 3000.5])
          assert.equal(
            await login(loginFrame(apiKey, apiSecret, nonce, serverNow())),
            refusal('Unauthorized - Invalid Request'),
            `nonce ${nonce}`,
          );
        assert.equal(
          await login(loginFrame(apiKey, apiSecret, 3000, Date.now())),
          refusal('Unauthorized - Invalid Nonce'),
          'a stamp from the local clock, 20 s behind the server',
        );
        assert.equal(
          await login(loginFrame('no-such-key', apiSecret, 3000, serverNow())),
          refusal('Unauthorized - Invalid Public key'),
        );
        assert.equal(
          await login(loginFrame(apiKey, Buffer.from('wrong').toString('base64'), 3000, serverNow())),
          refusal('Unauthorized - Invalid Signature'),
        );
        for (const nonce of [100, 3000, 60_000]) {
          const accepted = JSON.parse(
            await login(loginFrame(apiKey, apiSecret, nonce, serverNow())),
          ) as Frame;
          assert.deepEqual(accepted, [114, { type: 114, id: accepted[1].id, ok: true, message: null }]);
          assert.equal(typeof accepted[1].id, 'number', 'the user id is a number');
        }
      } finally {
        client.close();
      }
    });
  });

  it('pings every interval and closes with 1000 a socket that stops answering', async () => {
    await withSim({ pingIntervalMs: 30, pongTimeoutMs: 150 }, async (sim) => {
      const answering = await WsClient.connect(sim.wsUrl);
      const mute = await WsClient.connect(sim.wsUrl, { autoPong: false });
      try {
        let pings = 0;
        answering.socket.on('ping', () => (pings += 1));
        const [code] = (await once(mute.socket, 'close')) as [number];
        assert.equal(code, 1000, 'a normal close, not a drop');
        // The answering socket saw pings over the same time and is still open.
        assert.ok(pings > 0);
        assert.equal(answering.closed, false);
        await answering.barrier();
      } finally {
        answering.close();
        mute.close();
      }
    });
  });

  it('refuses the 16th connect within a minute of the first with HTTP 429', async () => {
    const clock = manualClock(1_000_500); // mid-second: the window starts at the first connect
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

describe('WebSocket feed: subscriptions', () => {
  it('acknowledges unknown and lower-case pairs and unknown channels, then sends nothing; refuses a duplicate join', async () => {
    await withSim(MANUAL_BOOKS, async (sim) => {
      const client = await connected(sim);
      try {
        const joins = [
          ['obdiff', 'NOPETRY'],
          ['obdiff', 'btctry'],
          ['orderbook', 'BTC_TRY'],
          ['trade', 'DOGETRY'],
          ['nonsense', 'BTCTRY'],
        ] as const;
        for (const [channel, event] of joins) {
          client.send(subscribeFrame(channel, event));
          const reply = await client.nextOfType(100);
          assert.equal(
            client.textOf(reply),
            `[100,{"type":100,"ok":true,"message":"join|${channel}:${event}"}]`,
          );
        }
        for (let i = 0; i < 5; i++) sim.engine.stepMarket();
        sim.flushBooks();
        client.send(subscribeFrame('obdiff', 'NOPETRY'));
        const duplicate = await client.nextOfType(100);
        assert.equal(
          client.textOf(duplicate),
          '[100,{"type":100,"ok":false,"message":"join|obdiff:NOPETRY"}]',
        );
        await client.barrier();
        assert.deepEqual(
          client.types().filter((t) => t !== 100),
          [991],
          'nothing but acknowledgements: no snapshot, no book, no trades',
        );

        client.send(subscribeFrame('trade', 'BTCTRY'));
        assert.equal((await client.nextOfType(100))[1].message, 'join|trade:BTCTRY');
        assert.ok(Array.isArray((await client.nextOfType(421))[1].items));
        client.send(subscribeFrame('trade', 'BTCTRY'));
        assert.equal((await client.nextOfType(100))[1].ok, false, 'a second join of a real pair too');
        client.send(subscribeFrame('trade', 'BTCTRY', false));
        assert.deepEqual((await client.nextOfType(100))[1], {
          type: 100,
          ok: true,
          message: 'leave|trade:BTCTRY',
        });
        client.send([151, { type: 151, channel: true, event: 'all', join: true }]);
        const malformed = await client.nextOfType(100);
        assert.equal(client.textOf(malformed), '[100,{"type":100,"ok":false,"message":"join|true:all"}]');
      } finally {
        client.close();
      }
    });
  });
});

describe('WebSocket feed: order books', () => {
  it('obdiff: a 431 snapshot on join, then one 432 per flush with the net change and CS + 1', async () => {
    await withSim({ seed: 11, ...MANUAL_BOOKS }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        assert.equal(snapshot[1].channel, 'obdiff');
        let expected = changeSet(snapshot) + 1;
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 3; i++) sim.engine.stepMarket();
          sim.flushBooks();
          const diff = await client.nextOfType(432);
          assert.equal(changeSet(diff), expected, 'CS continues without a gap');
          expected += 1;
        }
        sim.flushBooks(); // nothing changed since the last flush
        await client.barrier();
        assert.equal(
          client.frames.filter((f) => f[0] === 432).length,
          4,
          'three market steps make one change set; an unchanged book sends nothing',
        );
      } finally {
        client.close();
      }
    });
  });

  it('conflates: a level added and removed within a batch sends nothing, one changed twice sends its last amount', async () => {
    await withSim({ seed: 13, ...MANUAL_BOOKS }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
        assert.ok(bid);
        const price = bid.minus(1).toFixed(); // inside the makers' first gap: a new level
        const transient = placeUserLimit(sim, 'buy', price);
        assert.ok(transient);
        cancelNow(sim, transient);
        sim.flushBooks();
        await client.barrier();
        assert.equal(client.frames.filter((f) => f[0] === 432).length, 0, 'added then removed: nothing');

        assert.ok(placeUserLimit(sim, 'buy', price, '0.001'));
        assert.ok(placeUserLimit(sim, 'buy', price, '0.002'));
        sim.flushBooks();
        const diff = await client.nextOfType(432);
        assert.equal(changeSet(diff), changeSet(snapshot) + 1, 'the empty batch used no CS');
        assert.deepEqual(diff[1].BO, [{ CP: 1, P: price, A: '0.003' }]);
        assert.deepEqual(diff[1].AO, []);

        assert.ok(placeUserLimit(sim, 'buy', price, '0.001'));
        assert.ok(placeUserLimit(sim, 'buy', price, '0.001'));
        sim.flushBooks();
        assert.deepEqual((await client.nextOfType(432))[1].BO, [{ CP: 0, P: price, A: '0.005' }]);
      } finally {
        client.close();
      }
    });
  });

  it('a client that applies every change set holds the top of the exchange book at every CS, window churn included', async () => {
    const WINDOW = 4;
    await withSim({ seed: 12, bookWindow: WINDOW, ...MANUAL_BOOKS }, async (sim) => {
      const client = await connected(sim);
      const random = seededRandom(99);
      const mine: SimOrder[] = [];
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        await client.nextOfType(431);
        const mirror = new Mirror(client, 'BTCTRY');
        mirror.catchUp();
        assert.deepEqual(mirror.view(), topOf(sim, 'BTCTRY', WINDOW), 'the snapshot is the window');
        assert.ok(mirror.bids.size <= WINDOW && mirror.asks.size <= WINDOW);
        let changeSets = 0;
        for (let round = 0; round < 60; round++) {
          for (let actions = randomInt(random, 1, 4); actions > 0; actions--) {
            const action = randomInt(random, 0, 9);
            if (action <= 2) sim.engine.stepMarket();
            else if (action <= 7) {
              const book = sim.engine.book('BTCTRY', 1);
              const buy = random.next() < 0.5;
              const touch = (buy ? book.bids[0]?.price : book.asks[0]?.price) ?? new Dec(3_500_000);
              // From inside the touch to past the window's far edge, so levels enter and leave it; on
              // a coarse grid, so orders also stack at one price (CP 0).
              const offset = randomInt(random, -1, 12) * 500;
              const price = buy ? touch.minus(offset) : touch.plus(offset);
              const order = placeUserLimit(sim, buy ? 'buy' : 'sell', price.toFixed());
              if (order) mine.push(order);
            } else if (mine.length > 0) {
              const [order] = mine.splice(randomInt(random, 0, mine.length - 1), 1);
              if (order) cancelNow(sim, order);
            }
          }
          sim.flushBooks();
          await client.barrier();
          changeSets += mirror.catchUp();
          assert.deepEqual(mirror.view(), topOf(sim, 'BTCTRY', WINDOW), `after round ${round}`);
          assert.ok(mirror.bids.size <= WINDOW && mirror.asks.size <= WINDOW, 'never more than the window');
        }
        assert.ok(changeSets > 30, `${changeSets} change sets`);
        const { kinds } = mirror;
        assert.ok(
          [0, 1, 3].every((kind) => (kinds[kind] ?? 0) > 0),
          `every change kind occurred: ${JSON.stringify(kinds)}`,
        );
      } finally {
        client.close();
      }
    });
  });

  it('a level entering a full window pushes the last one out (CP 3 far from the touch) and its leaving lets it back (CP 1)', async () => {
    await withSim({ seed: 14, bookWindow: 3, ...MANUAL_BOOKS }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        const bids = rows(snapshot[1].BO);
        assert.equal(bids.length, 3, 'three of the six maker levels');
        const [best, , last] = bids;
        assert.ok(best && last);
        const inside = new Dec(best.P).minus(1).toFixed();
        const order = placeUserLimit(sim, 'buy', inside);
        assert.ok(order);
        sim.flushBooks();
        const entered = await client.nextOfType(432);
        assert.deepEqual(entered[1].BO, [
          { CP: 1, P: inside, A: '0.001' },
          { CP: 3, P: last.P, A: last.A },
        ]);
        cancelNow(sim, order);
        sim.flushBooks();
        const left = await client.nextOfType(432);
        assert.deepEqual(left[1].BO, [
          { CP: 3, P: inside, A: '0.001' },
          { CP: 1, P: last.P, A: last.A },
        ]);
      } finally {
        client.close();
      }
    });
  });

  it('orderbook: a full 431 only when the book changed, its CS a fixed distance from obdiff’s', async () => {
    await withSim({ seed: 15, ...MANUAL_BOOKS }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('orderbook', 'BTCTRY'));
        const first = await client.next((f) => f[0] === 431 && f[1].channel === 'orderbook');
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.next((f) => f[0] === 431 && f[1].channel === 'obdiff');
        const offset = changeSet(first) - changeSet(snapshot);
        assert.notEqual(offset, 0, 'the two channels count apart');
        sim.flushBooks();
        for (let round = 0; round < 3; round++) {
          sim.engine.stepMarket();
          sim.flushBooks();
          // Sent in this order: the obdiff change set, then the orderbook's full book.
          const diff = await client.nextOfType(432);
          const full = await client.next((f) => f[0] === 431 && f[1].channel === 'orderbook');
          assert.equal(changeSet(full) - changeSet(diff), offset, 'a fixed distance');
          assert.deepEqual(
            rows(full[1].BO).map((r) => `${r.P}@${r.A}`),
            sim.engine.book('BTCTRY', 100).bids.map((l) => `${l.price.toFixed()}@${l.quantity.toFixed()}`),
          );
        }
        sim.flushBooks();
        await client.barrier();
        assert.equal(
          client.frames.filter((f) => f[0] === 431 && f[1].channel === 'orderbook').length,
          4,
          'the join and three changes; none for the unchanged book',
        );
      } finally {
        client.close();
      }
    });
  });

  it('sends change sets on its own at the book interval', async () => {
    await withSim({ seed: 16, bookIntervalMs: 10 }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await client.nextOfType(431);
        sim.engine.stepMarket();
        const diff = await client.nextOfType(432);
        assert.equal(changeSet(diff), changeSet(snapshot) + 1);
      } finally {
        client.close();
      }
    });
  });
});

describe('WebSocket feed: private events', () => {
  it('after login, 451 on insert, 423 and 441 per fill, 452 then 451 for an update, 452 alone for a cancel', async () => {
    await withSim({ faults: { 'cancel-delay-ms': '20ms' } }, async (sim) => {
      const client = await connected(sim);
      const other = sim.openAccount({ balances: { BTC: '1', TRY: '0' } });
      try {
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        const login = await client.nextOfType(114);
        assert.equal(login[1].ok, true);
        const userId = login[1].id as number;
        const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
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
        const id = /"id":(\d+)/.exec(placed.text)?.[1];
        assert.ok(id);
        const insert = await client.nextOfType(451);
        assert.equal(
          client.textOf(insert),
          `[451,{"type":451,"pairId":1,"symbol":"BTCTRY","id":${id},"method":0,"userId":${userId},"orderType":0,` +
            `"price":"${price}","amount":"0.01","numLeft":"0.01","denomLeft":"${new Dec(price).mul('0.01').toFixed()}","newOrderClientId":"ws-1"}]`,
        );
        await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: other,
          body: { quantity: '0.004', price, orderMethod: 'limit', orderType: 'sell', pairSymbol: 'BTCTRY' },
        });
        const trade = await client.nextOfType(423);
        assert.equal(trade[1].type, undefined, 'no type inside a 423');
        assert.equal(trade[1].orderClientId, 'ws-1');
        assert.equal(trade[1].amount, '0.00400000');
        assert.equal(trade[1].preciseAmount, 0.004);
        assert.match(client.textOf(trade), /"orderId":\d+,/, 'ids are bare integers');
        assert.match(client.textOf(trade), /"fee":"-[\d.]+","tax":"-[\d.]+"/);
        const match = await client.nextOfType(441);
        assert.equal(match[1].id, Number(id), 'a 441 names the order, not the trade');
        assert.equal(match[1].user, userId);
        assert.equal(match[1].isBid, true);
        assert.equal(match[1].pair, 1);
        assert.equal(match[1].clientId, 'ws-1');
        assert.equal(typeof match[1].timestamp, 'string');
        const deleted = await client.next((f) => f[0] === 452 || f[0] === 451);
        assert.equal(deleted[0], 452, 'an update begins with a 452');
        assert.equal(new Dec(deleted[1].numLeft as string).toFixed(), '0.006');
        assert.match(String(deleted[1].numLeft), /^0\.0060000000000000$/, 'a 452 pads to 16 places');
        const inserted = await client.nextOfType(451);
        assert.equal(inserted[1].numLeft, '0.006', 'then the order as it stands, in a 451');
        assert.ok(!client.frames.some((f) => f[0] === 453), 'no 453 on the wire');
        const balance = await client.nextOfType(201);
        assert.ok(Array.isArray(balance[1].balances));

        const cancel = await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${id}`, { auth: simAuth(sim) });
        assert.equal(cancel.status, 200);
        const gone = await client.nextOfType(452);
        assert.equal(gone[1].newOrderClientId, 'ws-1');
        await client.barrier();
        assert.equal(
          client.frames.filter((f) => f[0] === 451 && f[1].id === Number(id)).length,
          2,
          'the cancel brought no 451',
        );
        assert.ok(
          !client.frames.some((f) => f[0] === 451 && f[1].newOrderClientId !== 'ws-1'),
          'no other account events',
        );
      } finally {
        client.close();
      }
    });
  });

  it('a sell fill: amount, fee and tax negative strings, preciseAmount the exact negative number', async () => {
    await withSim({ seed: 5 }, async (sim) => {
      const client = await connected(sim);
      try {
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        await client.nextOfType(114);
        const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: simAuth(sim),
          body: { quantity: '0.00123', orderMethod: 'market', orderType: 'sell', pairSymbol: 'BTCTRY' },
        });
        assert.equal(placed.status, 200, placed.text);
        const trade = await client.nextOfType(423);
        assert.equal(trade[1].orderType, 'sell');
        assert.match(String(trade[1].amount), /^-0\.\d{8}$/);
        assert.match(String(trade[1].fee), /^-/);
        assert.match(String(trade[1].tax), /^-/);
        assert.equal(typeof trade[1].preciseAmount, 'number');
        assert.ok((trade[1].preciseAmount as number) < 0);
        assert.equal(new Dec(trade[1].amount as string).toNumber(), trade[1].preciseAmount);
        const filled = await client.next((f) => f[0] === 452 || f[0] === 451);
        assert.equal(filled[0], 452, 'a market order that filled leaves the book with a 452');
        await settle();
      } finally {
        client.close();
      }
    });
  });
});

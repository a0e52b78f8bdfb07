import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { randomInt, seededRandom } from '../../src/domain/random.ts';
import { SimRejection, type SimOrder } from '../../src/sim/engine/api.ts';
import type { RunningSimulator } from '../../src/sim/index.ts';
import { loginFrame, raw, simAuth, subscribeFrame, withSim, WsClient, type Frame } from '../sim/helpers.ts';
import { WIRE, wireText } from './corpus.ts';

// The simulator's own frames held to the rules BTCTurk's real frames follow. Every expected layout
// is read from frames.jsonl at run time, never written here, so the simulator cannot drift from the
// corpus without this failing. The simulator is reached with raw `ws` and fetch, not our client.

type Body = Record<string, unknown>;

/** The body of a corpus frame, keys in the order the real server wrote them. */
function realBody(id: string): Body {
  const parsed = JSON.parse(wireText(id)) as unknown;
  if (Array.isArray(parsed)) return parsed[1] as Body;
  return parsed as Body;
}

const keysOf = (value: unknown): string[] => Object.keys(value as Body);

/** The key order every row of a corpus book frame shares (asserting that they do share one). */
function realRowKeys(ids: readonly string[]): string[] {
  const orders = ids.flatMap((id) => {
    const body = realBody(id);
    return [...(body.AO as Body[]), ...(body.BO as Body[])].map(keysOf);
  });
  const [first] = orders;
  assert.ok(first, `no rows in ${ids.join(', ')}`);
  for (const order of orders) assert.deepEqual(order, first, 'the corpus rows share one key order');
  return first;
}

const SNAPSHOTS = WIRE.filter((e) => e.kind === 'ws' && e.text.startsWith('[431,')).map((e) => e.id);
const DELTAS = WIRE.filter((e) => e.kind === 'ws' && e.text.startsWith('[432,')).map((e) => e.id);

/** Decimal text as the real book feed writes it: no padding, no exponent, no sign. */
const UNPADDED = /^(0|[1-9]\d*)(\.\d*[1-9])?$/;
const WINDOW = 100;

function placeLimit(sim: RunningSimulator, side: 'buy' | 'sell', price: Dec): SimOrder | null {
  try {
    return sim.engine.placeOrder({
      accountId: sim.accountId,
      symbol: 'BTCTRY',
      side,
      method: 'limit',
      quantity: new Dec('0.001'),
      price,
    });
  } catch (error) {
    if (error instanceof SimRejection) return null;
    throw error;
  }
}

/**
 * A busy session: a book deeper than the window on both sides, then rounds of market steps and user
 * orders placed and canceled near the touch, one flush per round.
 */
async function busySession(sim: RunningSimulator, clients: readonly WsClient[]): Promise<void> {
  const book = sim.engine.book('BTCTRY', 1);
  const bid = book.bids[0]?.price;
  const ask = book.asks[0]?.price;
  assert.ok(bid && ask);
  for (let i = 1; i <= WINDOW + 20; i++) {
    placeLimit(sim, 'buy', bid.minus(i * 7));
    placeLimit(sim, 'sell', ask.plus(i * 7));
  }
  const random = seededRandom(2026);
  const mine: SimOrder[] = [];
  for (let round = 0; round < 25; round++) {
    if (random.next() < 0.5) sim.engine.stepMarket();
    for (let n = randomInt(random, 0, 4); n > 0; n--) {
      const buy = random.next() < 0.5;
      const touch = sim.engine.book('BTCTRY', 1)[buy ? 'bids' : 'asks'][0]?.price ?? bid;
      const offset = randomInt(random, 1, 40) * 3;
      const order = placeLimit(sim, buy ? 'buy' : 'sell', buy ? touch.minus(offset) : touch.plus(offset));
      if (order) mine.push(order);
    }
    if (mine.length > 0 && random.next() < 0.6) {
      const [order] = mine.splice(randomInt(random, 0, mine.length - 1), 1);
      if (order)
        try {
          sim.engine.requestCancel(sim.accountId, order.id);
          sim.engine.completeCancel(order.id);
        } catch (error) {
          if (!(error instanceof SimRejection)) throw error;
        }
    }
    sim.flushBooks();
  }
  for (const client of clients) await client.barrier();
}

/** The levels a client holds from obdiff frames (deletes by CP 3, whatever A says). */
class HeldBook {
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();

  apply(frame: Frame): void {
    for (const [rows, side] of [
      [frame[1].BO, this.bids],
      [frame[1].AO, this.asks],
    ] as const) {
      if (frame[0] === 431) side.clear();
      for (const row of rows as Body[]) {
        if (row.CP === 3) side.delete(row.P as string);
        else side.set(row.P as string, row.A as string);
      }
    }
  }
}

const bookFrames = (client: WsClient, channel: string) =>
  client.frames
    .map((frame, index) => ({ frame, text: client.texts[index] ?? '' }))
    .filter(({ frame }) => (frame[0] === 431 || frame[0] === 432) && frame[1].channel === channel);

describe('the simulator against the rules of the real wire (frames.jsonl)', () => {
  it('book frames: the real key order of bodies and rows, CP 0/1/3, non-zero deletes, unpadded decimals, ≤ 100 levels', async () => {
    const snapshotKeys = keysOf(realBody(SNAPSHOTS[0] ?? ''));
    for (const id of SNAPSHOTS) assert.deepEqual(keysOf(realBody(id)), snapshotKeys);
    const deltaKeys = keysOf(realBody(DELTAS[0] ?? ''));
    for (const id of DELTAS) assert.deepEqual(keysOf(realBody(id)), deltaKeys);
    const snapshotRowKeys = realRowKeys(SNAPSHOTS);
    const deltaRowKeys = realRowKeys(DELTAS);
    const realKinds = new Set(
      DELTAS.flatMap((id) => {
        const body = realBody(id);
        return [...(body.AO as Body[]), ...(body.BO as Body[])].map((row) => row.CP);
      }),
    );

    await withSim({ seed: 31, bookIntervalMs: 3_600_000 }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        client.send(subscribeFrame('obdiff', 'BTCTRY'));
        client.send(subscribeFrame('orderbook', 'BTCTRY'));
        await client.next((f) => f[0] === 431 && f[1].channel === 'orderbook');
        await busySession(sim, [client]);
        const frames = [...bookFrames(client, 'obdiff'), ...bookFrames(client, 'orderbook')];
        assert.ok(frames.filter(({ frame }) => frame[0] === 432).length >= 20, 'a busy session');
        let deletes = 0;
        let widest = 0;
        const held = new HeldBook();
        for (const { frame, text } of frames) {
          const body = JSON.parse(text) as Frame;
          const bodyKeys = keysOf(body[1]);
          const rows = [...(body[1].AO as Body[]), ...(body[1].BO as Body[])];
          if (frame[0] === 431) {
            assert.deepEqual(bodyKeys, snapshotKeys, `431 body keys: ${text.slice(0, 120)}`);
            for (const row of rows) assert.deepEqual(keysOf(row), snapshotRowKeys, '431 row keys');
          } else {
            assert.deepEqual(bodyKeys, deltaKeys, `432 body keys: ${text.slice(0, 120)}`);
            for (const row of rows) {
              assert.deepEqual(keysOf(row), deltaRowKeys, '432 row keys');
              assert.ok(realKinds.has(row.CP), `CP ${String(row.CP)} is a kind the real feed uses`);
              assert.ok([0, 1, 3].includes(row.CP as number), `CP ${String(row.CP)} is one of 0, 1, 3`);
              assert.ok(new Dec(row.A as string).gt(0), `a CP ${String(row.CP)} row's A is not zero`);
              if (row.CP === 3) deletes += 1;
            }
          }
          for (const row of rows) {
            assert.match(row.P as string, UNPADDED, 'prices unpadded, as "2900"');
            assert.match(row.A as string, UNPADDED, 'amounts unpadded, as "0.0092056"');
          }
          if (frame[0] === 431) {
            const asks = (body[1].AO as Body[]).length;
            const bids = (body[1].BO as Body[]).length;
            assert.ok(asks <= WINDOW && bids <= WINDOW, `a 431 holds at most ${WINDOW} levels a side`);
            widest = Math.max(widest, asks, bids);
          }
          if (frame[1].channel === 'obdiff') {
            held.apply(frame);
            assert.ok(
              held.asks.size <= WINDOW && held.bids.size <= WINDOW,
              `a client holds at most ${WINDOW}`,
            );
          }
        }
        assert.equal(widest, WINDOW, 'the book is deeper than the window: the window is full');
        assert.ok(deletes > 0, 'levels were deleted');
      } finally {
        client.close();
      }
    });
  });

  it('CS: the snapshot comes on join, each delta is CS + 1 per subscription, orderbook and obdiff count apart', async () => {
    await withSim({ seed: 32, bookIntervalMs: 3_600_000 }, async (sim) => {
      const first = await WsClient.connect(sim.wsUrl);
      const second = await WsClient.connect(sim.wsUrl);
      try {
        first.send(subscribeFrame('obdiff', 'BTCTRY'));
        first.send(subscribeFrame('orderbook', 'BTCTRY'));
        const joined = await first.next((f) => f[0] === 431 && f[1].channel === 'obdiff');
        assert.deepEqual(
          first.frames.slice(0, first.frames.indexOf(joined)).map((f) => f[0]),
          [991, 100],
          'the obdiff snapshot follows the join at once',
        );
        await first.next((f) => f[0] === 431 && f[1].channel === 'orderbook');
        await busySession(sim, [first]);
        second.send(subscribeFrame('obdiff', 'BTCTRY'));
        await second.next((f) => f[0] === 431 && f[1].channel === 'obdiff');
        await busySession(sim, [first, second]);

        for (const client of [first, second])
          for (const channel of ['obdiff', 'orderbook']) {
            const frames = bookFrames(client, channel).map(({ frame }) => frame);
            if (frames.length === 0) continue;
            assert.equal(frames[0]?.[0], 431, `${channel}: the first frame is a snapshot`);
            for (let i = 1; i < frames.length; i++)
              assert.equal(
                frames[i]?.[1].CS,
                (frames[i - 1]?.[1].CS as number) + 1,
                `${channel}: CS rises by exactly one per frame`,
              );
          }
        const obdiff = bookFrames(first, 'obdiff').map(({ frame }) => frame[1].CS as number);
        const orderbook = bookFrames(first, 'orderbook').map(({ frame }) => frame[1].CS as number);
        assert.ok(obdiff.length > 20 && orderbook.length > 20);
        assert.notEqual(obdiff.at(-1), orderbook.at(-1), 'the two channels’ CS differ for one book');
        const later = bookFrames(second, 'obdiff').map(({ frame }) => frame[1].CS as number);
        assert.equal(later.at(-1), obdiff.at(-1), 'CS belongs to the channel and pair, not the socket');
      } finally {
        first.close();
        second.close();
      }
    });
  });

  it('session: the real welcome, unknown pair acknowledged then silent, duplicate join refused', async () => {
    const welcomeKeys = keysOf(realBody('ws-welcome'));
    await withSim({ seed: 33, bookIntervalMs: 3_600_000 }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        const welcome = await client.nextOfType(991);
        assert.deepEqual(keysOf((JSON.parse(client.textOf(welcome)) as Frame)[1]), welcomeKeys);
        assert.equal(client.textOf(welcome), wireText('ws-welcome'), 'the same versions as the capture');
        const subscribe = JSON.parse(wireText('ws-subscribe')) as Frame;
        const unknown: Frame = [subscribe[0], { ...subscribe[1], event: 'NOPETRY' }];
        client.send(unknown);
        assert.equal(client.textOf(await client.nextOfType(100)), wireText('ws-join-unknown-pair'));
        const real: Frame = [subscribe[0], { ...subscribe[1], event: 'BTCTRY' }];
        client.send(real);
        const ok = await client.nextOfType(100);
        assert.equal(client.textOf(ok), wireText('ws-join-ok').replace('BTCUSDT', 'BTCTRY'));
        client.send(real);
        const duplicate = await client.nextOfType(100);
        assert.equal(client.textOf(duplicate), wireText('ws-join-duplicate').replace('BTCUSDT', 'BTCTRY'));
        client.send(subscribeFrame('ticker', 'BTCTRY'));
        const ticker = await client.nextOfType(402);
        assert.deepEqual(keysOf(ticker[1]), keysOf(realBody('ws-ticker-pair')), '402 keys as the capture');
        for (let i = 0; i < 3; i++) sim.engine.stepMarket();
        sim.flushBooks();
        await client.barrier();
        assert.ok(
          !client.frames.some((f) => f[1].PS === 'NOPETRY' || f[1].event === 'NOPETRY'),
          'nothing ever comes for the unknown pair',
        );
        assert.ok(
          client.frames.some((f) => f[0] === 432 && f[1].PS === 'BTCTRY'),
          'while the real one streams',
        );
      } finally {
        client.close();
      }
    });
  });

  it('login: nonce 3000 accepted, a millisecond nonce refused in the real refusal’s layout and words', async () => {
    await withSim({ seed: 34 }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      try {
        await client.nextOfType(991);
        client.send(loginFrame(sim.apiKey, sim.apiSecret, 1_700_000_000_000));
        const refused = await client.nextOfType(114);
        assert.equal(client.textOf(refused), wireText('ws-login-refused-request'));
        client.send(loginFrame('no-such-key', sim.apiSecret, 3000));
        assert.equal(client.textOf(await client.nextOfType(114)), wireText('ws-login-refused'));
        client.send(loginFrame(sim.apiKey, sim.apiSecret, 3000));
        const accepted = await client.nextOfType(114);
        assert.deepEqual(keysOf(accepted[1]), ['type', 'id', 'ok', 'message'], 'as reported');
        assert.equal(accepted[1].ok, true);
        assert.equal(accepted[1].message, null);
        assert.equal(typeof accepted[1].id, 'number');
      } finally {
        client.close();
      }
    });
  });

  it('private events: 423, 441, 451 and 452 with the real frames’ keys, in their order', async () => {
    await withSim({ seed: 35, faults: { 'cancel-delay-ms': '10ms' } }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      const other = sim.openAccount({ balances: { TRY: '1000000', BTC: '0' } });
      try {
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        await client.nextOfType(114);
        const ask = sim.engine.book('BTCTRY', 1).asks[0]?.price;
        assert.ok(ask);
        const price = ask.minus(1).toFixed();
        const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: simAuth(sim),
          body: { quantity: '0.01', price, orderMethod: 'limit', orderType: 'sell', pairSymbol: 'BTCTRY' },
        });
        assert.equal(placed.status, 200, placed.text);
        await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: other,
          body: { quantity: '0.004', price, orderMethod: 'limit', orderType: 'buy', pairSymbol: 'BTCTRY' },
        });
        const id = /"id":(\d+)/.exec(placed.text)?.[1];
        await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${id ?? ''}`, { auth: simAuth(sim) });
        await client.next(
          (f) => f[0] === 452 && f[1].numLeft !== undefined && new Dec(f[1].numLeft as string).eq('0.006'),
        );
        await client.barrier();

        const sample = (type: number): string => {
          const index = client.frames.findIndex((f) => f[0] === type);
          assert.ok(index >= 0, `a ${type} was sent`);
          return client.texts[index] ?? '';
        };
        const layouts: [number, string][] = [
          [423, 'ws-user-trade-423'],
          [441, 'ws-order-match-441-ts'],
          [451, 'ws-order-insert-451'],
          [452, 'ws-order-delete-452'],
        ];
        for (const [type, id] of layouts)
          assert.deepEqual(
            keysOf((JSON.parse(sample(type)) as Frame)[1]),
            keysOf(realBody(id)),
            `${type} keys as ${id}`,
          );
        const trade = sample(423);
        assert.match(trade, /"amount":"-[\d.]+","fee":"-[\d.]+","tax":"-[\d.]+"/, 'a sell: negative strings');
        assert.match(trade, /"preciseAmount":-[\d.]+}/, 'preciseAmount a negative JSON number');
        assert.match(trade, /^\[423,\{"id":\d+,"orderId":\d+,/, 'ids bare integers');
        assert.ok(!client.frames.some((f) => f[0] === 453), 'no 453 on the real wire');
      } finally {
        client.close();
      }
    });
  });

  it('trade frames: 421 and 422 in the real key order and token types, padded A/P, the newest 50 first', async () => {
    const realList = realBody('ws-trade-list-421');
    const realSingle = realBody('ws-trade-single-422');
    const realRows = realList.items as Body[];
    const listKeys = keysOf(realList);
    const singleKeys = keysOf(realSingle);
    const rowKeys = keysOf(realRows[0]);
    for (const row of realRows) assert.deepEqual(keysOf(row), rowKeys, 'the corpus rows share one key order');
    /** A token's kind as the real frame writes it: a digit string is not a decimal string. */
    const tokenKind = (value: unknown): string =>
      typeof value === 'string' ? (/^\d+$/.test(value) ? 'digits' : 'string') : typeof value;
    const kinds = (body: Body): Record<string, string> =>
      Object.fromEntries(Object.entries(body).map(([key, value]) => [key, tokenKind(value)]));
    const rowKinds = kinds(realRows[0] ?? {});
    const singleKinds = kinds(realSingle);
    const placesOf = (text: string): number => text.split('.')[1]?.length ?? 0;
    const places = placesOf(realSingle.A as string);
    for (const row of [...realRows, realSingle])
      for (const key of ['A', 'P'])
        assert.equal(placesOf(row[key] as string), places, 'the corpus pads A and P alike');
    assert.ok(places > 0);

    await withSim({ seed: 37, bookIntervalMs: 3_600_000 }, async (sim) => {
      const watcher = await WsClient.connect(sim.wsUrl);
      const late = await WsClient.connect(sim.wsUrl);
      try {
        watcher.send(subscribeFrame('trade', 'BTCTRY'));
        const first = await watcher.nextOfType(421);
        assert.deepEqual(keysOf((JSON.parse(watcher.textOf(first)) as Frame)[1]), listKeys);
        for (let steps = 0; sim.engine.recentTrades('BTCTRY', 80).length < 80; steps++) {
          assert.ok(steps < 5_000, 'the market trades');
          sim.engine.stepMarket();
        }
        await watcher.barrier();
        late.send(subscribeFrame('trade', 'BTCTRY'));
        const list = await late.nextOfType(421);
        const listText = late.textOf(list);

        const singles = watcher.frames
          .map((frame, index) => ({ frame, text: watcher.texts[index] ?? '' }))
          .filter(({ frame }) => frame[0] === 422);
        assert.ok(singles.length >= 80, `every trade streamed as a 422 (${singles.length})`);
        for (const { text } of singles) {
          const body = (JSON.parse(text) as Frame)[1];
          assert.deepEqual(keysOf(body), singleKeys, `422 keys: ${text}`);
          assert.deepEqual(kinds(body), singleKinds, `422 token types: ${text}`);
          assert.equal(body.PS, 'BTCTRY');
          assert.equal(body.event, 'BTCTRY');
          assert.equal(placesOf(body.A as string), places, `422 A padded: ${text}`);
          assert.equal(placesOf(body.P as string), places, `422 P padded: ${text}`);
          assert.match(text, /"D":"\d+","I":"\d+",/, 'D and I written as strings');
        }

        const body = (JSON.parse(listText) as Frame)[1];
        assert.deepEqual(keysOf(body), listKeys, `421 keys: ${listText.slice(0, 120)}`);
        assert.equal(body.symbol, 'BTCTRY', 'the 421 names its pair in symbol');
        assert.equal(body.event, 'BTCTRY', 'and in event');
        const rows = body.items as Body[];
        assert.equal(rows.length, 50, 'the last 50 trades');
        for (const row of rows) {
          assert.deepEqual(keysOf(row), rowKeys, '421 row keys (no PS on a row)');
          assert.deepEqual(kinds(row), rowKinds, '421 row token types');
          assert.equal(placesOf(row.A as string), places, '421 A padded');
          assert.equal(placesOf(row.P as string), places, '421 P padded');
        }
        for (let i = 1; i < rows.length; i++) {
          assert.ok(BigInt(rows[i - 1]?.I as string) > BigInt(rows[i]?.I as string), 'newest first (I)');
          assert.ok(Number(rows[i - 1]?.D) >= Number(rows[i]?.D), 'newest first (D)');
        }
        // The list is exactly the newest 50 of the trades the watcher saw one by one.
        const newest = singles
          .slice(-50)
          .reverse()
          .map(({ frame }) => ({
            D: frame[1].D,
            I: frame[1].I,
            A: frame[1].A,
            P: frame[1].P,
            S: frame[1].S,
          }));
        assert.deepEqual(rows, newest);
      } finally {
        watcher.close();
        late.close();
      }
    });
  });

  it('REST errors and the cancel acknowledgement: the corpus replies, status and text', async () => {
    await withSim({ seed: 36 }, async (sim) => {
      const status = (id: string): number => WIRE.find((e) => e.id === id)?.status ?? 200;
      const cases: [string, string, string][] = [
        ['rest-orderbook-unknown-pair', 'GET', '/api/v2/orderbook?pairSymbol=NOPEUSDT'],
        ['rest-orderbook-no-pair', 'GET', '/api/v2/orderbook'],
        ['rest-ticker-unknown-pair', 'GET', '/api/v2/ticker?pairSymbol=NOPEUSDT'],
        ['rest-order-delete-not-found-1052', 'DELETE', '/api/v1/order?id=42'],
      ];
      for (const [id, method, path] of cases) {
        const reply = await raw(sim.restUrl, method, path, { auth: simAuth(sim) });
        assert.equal(reply.status, status(id), `${method} ${path}: status as ${id}`);
        assert.equal(reply.text, wireText(id), `${method} ${path}: body as ${id}`);
      }
      const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
      assert.ok(bid);
      const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth: simAuth(sim),
        body: {
          quantity: '0.001',
          price: bid.minus(100).toFixed(),
          orderMethod: 'limit',
          orderType: 'buy',
          pairSymbol: 'BTCTRY',
        },
      });
      const orderId = /"id":(\d+)/.exec(placed.text)?.[1];
      const cancel = await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${orderId ?? ''}`, {
        auth: simAuth(sim),
      });
      assert.equal(cancel.status, 200);
      assert.equal(cancel.text, wireText('rest-cancel-ok'));
      // Since about November 2024 a cancel of an order already canceled is the same success.
      sim.engine.completeCancel(orderId ?? '');
      const again = await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${orderId ?? ''}`, {
        auth: simAuth(sim),
      });
      assert.equal(again.status, 200);
      assert.equal(again.text, wireText('rest-order-delete-accepted'));
    });
  });
});

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { BtcturkWsClient } from '../../src/btcturk/websocket/client.ts';
import { bookDiffPath, scanBookSnapshot } from '../../src/btcturk/websocket/diff-scanner.ts';
import { parseFrame, parseFrameGeneral, type ParsedFrame } from '../../src/btcturk/websocket/messages.ts';
import { OrderBook } from '../../src/market/book.ts';
import { WIRE, wireText } from './corpus.ts';

// Every WebSocket frame of BTCTurk's real corpus (frames.jsonl), read through the adapter's frame
// reader, with the exact events it must yield. The map below is keyed by corpus id and the first
// test insists that every `ws` / `ws-sent` entry has an expectation: a frame added to the corpus
// without one fails here.

const NOW = 1_758_600_000_000;

/** Decimals compared by value, shown as text; everything else as is. */
function plain(value: unknown): unknown {
  if (value && typeof value === 'object' && 'toFixed' in value && 'isZero' in value)
    return (value as { toFixed(): string }).toFixed();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

const level = (price: string, quantity: string) => ({ price, quantity });
const change = (price: string, quantity: string, remove: boolean) => ({ price, quantity, remove });

/** What each received frame must read as: the exact parse result, decimals as text. */
const RECEIVED: Readonly<Record<string, unknown>> = {
  'ws-welcome': { ok: true, messages: [{ kind: 'welcome' }] },
  'ws-join-ok': {
    ok: true,
    messages: [{ kind: 'subscription-result', ok: true, message: 'join|obdiff:BTCUSDT' }],
  },
  'ws-join-duplicate': {
    ok: true,
    messages: [{ kind: 'subscription-result', ok: false, message: 'join|obdiff:BTCUSDT' }],
  },
  // Acknowledged although the pair does not exist: the market layer must notice the silence.
  'ws-join-unknown-pair': {
    ok: true,
    messages: [{ kind: 'subscription-result', ok: true, message: 'join|obdiff:NOPETRY' }],
  },
  'ws-join-refused-malformed': {
    ok: true,
    messages: [{ kind: 'subscription-result', ok: false, message: 'join|true:all' }],
  },
  'ws-obdiff-snapshot': {
    ok: true,
    messages: [
      {
        kind: 'book-snapshot',
        symbol: 'BTCUSDT',
        changeSet: 3999242,
        periodic: false,
        bids: [level('86689', '0.00863785'), level('86688', '0.02307124'), level('86684', '0.0230723')],
        asks: [level('86699', '0.00288357'), level('86718', '0.06358459'), level('86719', '0.0092056')],
      },
    ],
  },
  // CP 1 adds near each touch; CP 3 deletes at the far edge of the 100-level window, A non-zero.
  'ws-obdiff-delta-window': {
    ok: true,
    messages: [
      {
        kind: 'book-diff',
        symbol: 'ETHUSDT',
        changeSet: 4097621,
        bids: [change('2765', '0.32885056', false), change('2550', '15.86046305', true)],
        asks: [change('2770.7', '1.8371010', false), change('2900', '9.05374161', true)],
      },
    ],
  },
  // CP 0 replaces the amount at 2770.3; CP 3 deletes 2769.6 and 2765.9 though A is not zero.
  'ws-obdiff-delta-update': {
    ok: true,
    messages: [
      {
        kind: 'book-diff',
        symbol: 'ETHUSDT',
        changeSet: 4008255,
        bids: [change('2765.9', '2.86453815', true), change('2531.9', '0.00789131', false)],
        asks: [
          change('2769', '1.98627663', false),
          change('2769.6', '1.98584633', true),
          change('2770.3', '0.400488', false),
        ],
      },
    ],
  },
  'ws-ticker-pair': {
    ok: true,
    messages: [
      {
        kind: 'ticker',
        ticker: {
          symbol: 'BTCUSDT',
          timestamp: NOW,
          last: '86766',
          bid: '86689',
          ask: '86699',
          high: '86800',
          low: '85148',
          open: '85459',
          volume: '16.43392495',
        },
      },
    ],
  },
  'ws-login-refused': {
    ok: true,
    messages: [{ kind: 'login-result', ok: false, message: 'Unauthorized - Invalid Public key' }],
  },
  'ws-login-refused-request': {
    ok: true,
    messages: [{ kind: 'login-result', ok: false, message: 'Unauthorized - Invalid Request' }],
  },
  // No "type" inside; ids above 2^53 exact; a sell's negative amount read as a positive quantity
  // from the exact preciseAmount; fee and tax as positive costs.
  'ws-user-trade-423': {
    ok: true,
    messages: [
      {
        kind: 'fill',
        fill: {
          tradeId: '1149163839863900657',
          exchangeOrderId: '25327923517',
          clientOrderId: 'xxxxxx',
          symbol: 'APEUSDT',
          base: 'APE',
          quote: 'USDT',
          side: 'sell',
          price: '1.02',
          quantity: '205.24',
          fee: '0.1046724',
          tax: '0.02093448',
          feeAsset: 'USDT',
          timestamp: 1729396570700,
        },
      },
    ],
  },
  'ws-order-insert-451': {
    ok: true,
    messages: [
      {
        kind: 'order',
        change: 'inserted',
        exchangeOrderId: '7968322274',
        clientOrderId: 'e3670027-694c-4318-abb8-74112b3bfe7c',
        symbol: 'DOTUSDT',
        side: 'sell',
        method: 'limit',
        price: '20.97',
        quantity: '1',
        leftQuantity: '1',
      },
    ],
  },
  // id is the ORDER id (the same as the 451's); the 2022 shape has no timestamp.
  'ws-order-match-441-a': {
    ok: true,
    messages: [
      {
        kind: 'order-match',
        exchangeOrderId: '7968322274',
        clientOrderId: 'e3670027-694c-4318-abb8-74112b3bfe7c',
        symbol: 'DOTUSDT',
        pairId: 62,
        side: 'sell',
        price: '20.97',
        quantity: '0.6393864025',
        timestamp: null,
      },
    ],
  },
  'ws-order-match-441-b': {
    ok: true,
    messages: [
      {
        kind: 'order-match',
        exchangeOrderId: '7968322274',
        clientOrderId: 'e3670027-694c-4318-abb8-74112b3bfe7c',
        symbol: 'DOTUSDT',
        pairId: 62,
        side: 'sell',
        price: '20.97',
        quantity: '0.3606135975',
        timestamp: null,
      },
    ],
  },
  'ws-order-match-441-ts': {
    ok: true,
    messages: [
      {
        kind: 'order-match',
        exchangeOrderId: '26849465965',
        clientOrderId: '1735866257566',
        symbol: 'MEMEUSDT',
        pairId: 339,
        side: 'sell',
        price: '0.011082',
        quantity: '41040',
        timestamp: 1735866257711,
      },
    ],
  },
  'ws-order-match-441-market': {
    ok: true,
    messages: [
      {
        kind: 'order-match',
        exchangeOrderId: '4957199062',
        clientOrderId: '752529b2-b2fe-4e10-9c49-44380b871e51_2',
        symbol: 'XLMTRY',
        pairId: 31,
        side: 'sell',
        price: '3.8',
        quantity: '796.9342452278',
        timestamp: null,
      },
    ],
  },
  // Decimals padded to 16 places: read by value.
  'ws-order-delete-452': {
    ok: true,
    messages: [
      {
        kind: 'order',
        change: 'deleted',
        exchangeOrderId: '25338392433',
        clientOrderId: 'xxxxx',
        symbol: 'ARPAUSDT',
        side: 'buy',
        method: 'limit',
        price: '0.04573',
        quantity: '37154.7082',
        leftQuantity: '37154.7082',
      },
    ],
  },
  // D and I are strings; the list names its pair in symbol/event, newest first.
  'ws-trade-list-421': {
    ok: true,
    messages: [
      {
        kind: 'trades',
        symbol: 'BTCTRY',
        trades: [
          {
            tradeId: '100163785789620803',
            symbol: 'BTCTRY',
            price: '586484',
            quantity: '0.00728347',
            side: 'buy',
            timestamp: 1651204111661,
          },
          {
            tradeId: '100163785789620737',
            symbol: 'BTCTRY',
            price: '585778',
            quantity: '0.00041236',
            side: 'sell',
            timestamp: 1651202811844,
          },
        ],
      },
    ],
  },
  'ws-trade-single-422': {
    ok: true,
    messages: [
      {
        kind: 'trade',
        trade: {
          tradeId: '100163785789620825',
          symbol: 'BTCTRY',
          price: '586950',
          quantity: '0.00087777',
          side: 'sell',
          timestamp: 1651204593830,
        },
      },
    ],
  },
  // All zero, on a socket that never logged in: no order event.
  'ws-order-insert-451-zeroed-public': { ok: true, messages: [] },
};

/** Frames we send: the corpus text must be exactly what our client writes. */
const SENT: Readonly<Record<string, { channel: string; event: string }>> = {
  'ws-subscribe': { channel: 'obdiff', event: 'BTCUSDT' },
};

function read(id: string): ParsedFrame {
  return parseFrame(wireText(id), NOW);
}

describe('BTCTurk wire corpus: WebSocket frames', () => {
  it('has an expectation for every WebSocket entry of the corpus, and no stale one', () => {
    const received = WIRE.filter((e) => e.kind === 'ws').map((e) => e.id);
    const sent = WIRE.filter((e) => e.kind === 'ws-sent').map((e) => e.id);
    assert.deepEqual(
      received.filter((id) => !(id in RECEIVED)),
      [],
      'ws frames without an expectation',
    );
    assert.deepEqual(
      sent.filter((id) => !(id in SENT)),
      [],
      'ws-sent frames without an expectation',
    );
    assert.deepEqual(
      Object.keys(RECEIVED).filter((id) => !received.includes(id)),
      [],
      'expectations for frames not in the corpus',
    );
    assert.deepEqual(
      Object.keys(SENT).filter((id) => !sent.includes(id)),
      [],
    );
  });

  for (const entry of WIRE.filter((e) => e.kind === 'ws')) {
    it(`reads ${entry.id} into exactly the expected events`, () => {
      const parsed = parseFrame(entry.text, NOW);
      assert.deepEqual(plain(parsed), RECEIVED[entry.id]);
      // The general reader alone gives the same answer (the fast readers only ever speed it up).
      assert.deepEqual(plain(parseFrameGeneral(entry.text, NOW)), RECEIVED[entry.id]);
    });
  }

  it('reads every real book frame on the fast path', () => {
    assert.equal(bookDiffPath(wireText('ws-obdiff-delta-window')), 'canonical');
    assert.equal(bookDiffPath(wireText('ws-obdiff-delta-update')), 'canonical');
    assert.ok(scanBookSnapshot(wireText('ws-obdiff-snapshot')) !== undefined);
  });

  it('a CP 3 row deletes a level that exists (snapshot, then a delta in the real layout)', () => {
    const snapshot = read('ws-obdiff-snapshot');
    const opening = snapshot.ok ? snapshot.messages[0] : undefined;
    assert.ok(opening?.kind === 'book-snapshot');
    const book = new OrderBook(opening.symbol, 0);
    assert.equal(book.reset(opening), 'applied');
    assert.ok(book.levels().asks.some((l) => l.price.eq('86718')));
    // The next change set as BTCTurk writes it: the level at 86718 deleted with its old amount,
    // the best bid's amount replaced, a new ask level.
    const delta = parseFrame(
      '[432,{"CS":3999243,"PS":"BTCUSDT","AO":[{"CP":3,"P":"86718","A":"0.06358459"},{"CP":1,"P":"86720","A":"0.5"}],' +
        '"BO":[{"CP":0,"P":"86689","A":"0.01"}],"channel":"obdiff","event":"BTCUSDT","type":432}]',
      NOW,
    );
    const diff = delta.ok ? delta.messages[0] : undefined;
    assert.ok(diff?.kind === 'book-diff');
    assert.equal(book.applyDiff(diff), 'applied');
    const after = book.levels();
    assert.deepEqual(
      after.asks.map((l) => `${l.quantity.toFixed()}@${l.price.toFixed()}`),
      ['0.00288357@86699', '0.0092056@86719', '0.5@86720'],
    );
    assert.equal(after.bids[0]?.quantity.toFixed(), '0.01');
    assert.equal(book.changeSet, 3999243);
  });

  it('the real deltas delete the levels they name with CP 3 from a book that holds them', () => {
    // A book holding every level the captured delta touches, one change set before it.
    const book = new OrderBook('ETHUSDT', 0);
    assert.equal(
      book.reset({
        changeSet: 4008254,
        bids: [level('2765.9', '2.86453815'), level('2765', '1'), level('2531.9', '0.5')],
        asks: [level('2769.6', '1.98584633'), level('2770.3', '0.2'), level('2771', '3')],
      }),
      'applied',
    );
    const parsed = read('ws-obdiff-delta-update');
    const diff = parsed.ok ? parsed.messages[0] : undefined;
    assert.ok(diff?.kind === 'book-diff');
    assert.equal(book.applyDiff(diff), 'applied');
    const levels = book.levels();
    const text = (side: typeof levels.bids) =>
      side.map((l) => `${l.quantity.toFixed()}@${l.price.toFixed()}`);
    assert.deepEqual(text(levels.bids), ['1@2765', '0.00789131@2531.9']);
    assert.deepEqual(text(levels.asks), ['1.98627663@2769', '0.400488@2770.3', '3@2771']);
  });

  it('our subscribe frame is byte for byte the one in the corpus', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const first = new Promise<string>((resolve) => {
      wss.on('connection', (socket) => {
        socket.once('message', (data: Buffer) => {
          resolve(data.toString('utf8'));
        });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const client = new BtcturkWsClient({ url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}` });
    try {
      const { channel, event } = SENT['ws-subscribe'] ?? { channel: '', event: '' };
      client.subscribe(channel, event);
      client.start();
      const sent = await first;
      assert.equal(sent, wireText('ws-subscribe'));
      assert.equal(sent, JSON.stringify([151, { type: 151, channel, event, join: true }]));
    } finally {
      await client.stop();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
      });
    }
  });
});

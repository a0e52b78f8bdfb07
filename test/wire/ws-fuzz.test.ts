import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bookDiffPath, scanBookDiff, scanBookSnapshot } from '../../src/btcturk/websocket/diff-scanner.ts';
import { parseFrame, parseFrameGeneral } from '../../src/btcturk/websocket/messages.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { randomInt, seededRandom } from '../../src/domain/random.ts';
import { OrderBook } from '../../src/market/book.ts';
import { WIRE, wireText } from './corpus.ts';
import { checkFrame, frameTree, mutate, MUTATIONS, plain, serialize } from './ws-mutations.ts';

// Fuzzing the WebSocket frame reader with BTCTurk's real frames (seeded: a failure replays), and
// the hostile cases of issue 9 item 8 that concern WebSocket frames, each as a named test. The
// longer run is bench/wire-fuzz.ts.

const NOW = 1_758_600_000_000;
const SEEDS = WIRE.filter((e) => e.kind === 'ws').map((e) => ({ id: e.id, text: e.text }));

describe('WebSocket frame reader: fuzzing with mutated real frames', () => {
  it('round-trips every real frame through the mutation tree byte for byte (mutations start from the real bytes)', () => {
    for (const { id, text } of SEEDS) assert.equal(serialize(frameTree(text)), text, id);
  });

  it('never throws, answers events or a typed failure, and agrees with the general reader (3,000 inputs, seeded)', () => {
    const random = seededRandom(20260923);
    const seen = new Map<string, number>();
    let failures = 0;
    for (let i = 0; i < 3000; i++) {
      const seed = SEEDS[randomInt(random, 0, SEEDS.length - 1)];
      assert.ok(seed);
      let text = seed.text;
      const applied: string[] = [];
      for (let n = randomInt(random, 1, 3); n > 0; n--) {
        const kind = MUTATIONS[randomInt(random, 0, MUTATIONS.length - 1)] ?? 'flip';
        applied.push(kind);
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
        text = mutate(text, random, kind);
      }
      try {
        if (!checkFrame(text, NOW).ok) failures++;
      } catch (error) {
        assert.fail(
          `input ${i} (${seed.id}, ${applied.join(' + ')}): ${String(error)}\n${text.slice(0, 500)}`,
        );
      }
    }
    // Every mutation was tried, and the mix exercised both answers.
    assert.deepEqual(
      [...MUTATIONS].filter((m) => !seen.has(m)),
      [],
    );
    assert.ok(failures > 300 && failures < 2900, `${failures} typed failures of 3000`);
  });
});

// ---- differential: fast reader and general reader on frames in BTCTurk's layout ---------------

const PAIRS = ['BTCUSDT', 'ETHUSDT', 'BTCTRY', 'DOTUSDT', 'ARPAUSDT', 'MEMEUSDT', 'XLMTRY', 'A'];
/** Unpadded decimals as BTCTurk writes them ("2900", "2770.7", "0.0092056"); positive or not. */
const decimal = (min: number) =>
  fc.tuple(fc.integer({ min, max: 99_999_999 }), fc.integer({ min: 0, max: 8 })).map(([n, places]) => {
    const text = (n / 10 ** places).toFixed(places);
    return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  });
const diffRow = fc.record({ CP: fc.constantFrom(0, 1, 3), P: decimal(1), A: decimal(0) });
const rowText = (r: { CP: number; P: string; A: string }) => `{"CP":${r.CP},"P":"${r.P}","A":"${r.A}"}`;
const realDiff = fc
  .record({
    cs: fc.integer({ min: 0, max: 999_999_999_999_999 }),
    pair: fc.constantFrom(...PAIRS),
    asks: fc.array(diffRow, { maxLength: 16 }),
    bids: fc.array(diffRow, { maxLength: 16 }),
  })
  .map(
    ({ cs, pair, asks, bids }) =>
      `[432,{"CS":${cs},"PS":"${pair}","AO":[${asks.map(rowText).join(',')}],"BO":[${bids.map(rowText).join(',')}],` +
      `"channel":"obdiff","event":"${pair}","type":432}]`,
  );
const snapshotRow = fc.record({ A: decimal(0), P: decimal(1) });
const realSnapshot = fc
  .record({
    cs: fc.integer({ min: 0, max: 999_999_999_999_999 }),
    pair: fc.constantFrom(...PAIRS),
    asks: fc.array(snapshotRow, { maxLength: 100 }),
    bids: fc.array(snapshotRow, { maxLength: 100 }),
    channel: fc.constantFrom('obdiff', 'orderbook'),
  })
  .map(
    ({ cs, pair, asks, bids, channel }) =>
      `[431,{"CS":${cs},"PS":"${pair}","AO":[${asks.map((r) => `{"A":"${r.A}","P":"${r.P}"}`).join(',')}],` +
      `"BO":[${bids.map((r) => `{"A":"${r.A}","P":"${r.P}"}`).join(',')}],"channel":"${channel}","event":"${pair}","type":431}]`,
  );

/** The mapping from the wire as documented, from a JSON.parse reading: the oracle for both readers. */
function documented(text: string): unknown {
  const [, body] = JSON.parse(text) as [number, { CS: number; PS: string; AO: Row[]; BO: Row[] }];
  const rows = (list: Row[]) => list.map((r) => ({ price: r.P, quantity: r.A, remove: r.CP === 3 }));
  return { kind: 'book-diff', symbol: body.PS, changeSet: body.CS, bids: rows(body.BO), asks: rows(body.AO) };
}
interface Row {
  readonly CP: number;
  readonly P: string;
  readonly A: string;
}

describe('WebSocket frame reader: the fast and the general reader agree on BTCTurk layout (seeded)', () => {
  it('change sets: the canonical path reads every one, as the general reader and the documented mapping do', () => {
    fc.assert(
      fc.property(realDiff, (text) => {
        assert.equal(bookDiffPath(text), 'canonical');
        const general = parseFrameGeneral(text, NOW);
        assert.ok(general.ok);
        assert.deepEqual(scanBookDiff(text), general.messages[0]);
        assert.deepEqual(general.messages[0], documented(text));
        assert.deepEqual(parseFrame(text, NOW), general);
      }),
      { seed: 432, numRuns: 1000 },
    );
  });

  it('snapshots: the fast snapshot reader reads every one as the general reader does', () => {
    fc.assert(
      fc.property(realSnapshot, (text) => {
        const fast = scanBookSnapshot(text);
        const general = parseFrameGeneral(text, NOW);
        assert.ok(fast !== undefined && general.ok);
        assert.deepEqual(fast, general.messages[0]);
      }),
      { seed: 431, numRuns: 200 },
    );
  });

  it('change sets with one wrong row (a kind BTCTurk does not send, a zero price, a sign): same failure on both paths', () => {
    const wrong = fc.record({
      frame: realDiff.filter((t) => t.includes('"CP"')),
      kind: fc.constantFrom('cp', 'price', 'amount'),
      cp: fc.integer({ min: -5, max: 12 }).filter((cp) => cp !== 0 && cp !== 1 && cp !== 3),
      price: fc.constantFrom('0', '0.0', '-1', '-0.5', '00', '.0'),
    });
    fc.assert(
      fc.property(wrong, ({ frame, kind, cp, price }) => {
        const text =
          kind === 'cp'
            ? frame.replace(/"CP":\d/, `"CP":${cp}`)
            : kind === 'price'
              ? frame.replace(/"P":"[^"]*"/, `"P":"${price}"`)
              : frame.replace(/"A":"/, '"A":"-');
        const parsed = parseFrame(text, NOW);
        assert.deepEqual(parsed, parseFrameGeneral(text, NOW));
        assert.ok(!parsed.ok);
        assert.equal(parsed.cause, kind === 'cp' ? 'unknown-change-kind' : 'unreadable');
        if (kind === 'cp') assert.match(parsed.reason, new RegExp(`CP ${cp}`));
        assert.equal(parsed.symbol, (JSON.parse(text) as [number, { PS: string }])[1].PS);
      }),
      { seed: 2, numRuns: 300 },
    );
  });
});

// ---- the hostile cases of issue 9 item 8 that concern WebSocket frames -------------------------

describe('WebSocket frame reader: hostile input (issue 9 item 8)', () => {
  it('a 14.5 KB obdiff frame with an extra member nested 7,000 arrays deep is read, not a crash', () => {
    const real = wireText('ws-obdiff-delta-update');
    const deep = `${'['.repeat(7000)}${']'.repeat(7000)}`;
    const frame = real.replace(',"channel"', `,"extra":${deep},"channel"`);
    assert.ok(frame.length > 14_000 && frame.length < 15_000, `${frame.length} bytes`);
    const parsed = checkFrame(frame, NOW);
    assert.deepEqual(parsed, parseFrame(real, NOW), 'the extra member changes nothing');
    // Nested inside a row, unbalanced, or in a private frame: a typed answer every time.
    checkFrame(real.replace('"CP":0,', `"CP":0,"x":${deep},`), NOW);
    const unbalanced = checkFrame(
      real.replace(',"channel"', `,"extra":${deep.slice(0, 10_000)},"channel"`),
      NOW,
    );
    assert.ok(!unbalanced.ok && unbalanced.symbol === 'ETHUSDT' && unbalanced.cause === 'unreadable');
    const user = checkFrame(wireText('ws-user-trade-423').replace('"orderId"', `"x":${deep},"orderId"`), NOW);
    assert.ok(!user.ok && /nests deeper/.test(user.reason));
    const objects = `${'{"a":'.repeat(7000)}1${'}'.repeat(7000)}`;
    assert.ok(checkFrame(real.replace(',"channel"', `,"extra":${objects},"channel"`), NOW).ok);
  });

  it('private events without a client id, and a 441 with a pair id but no symbol, are read', () => {
    const cases: [string, string, string][] = [
      ['ws-user-trade-423', ',"orderClientId":"xxxxxx"', 'fill'],
      ['ws-order-insert-451', ',"newOrderClientId":"e3670027-694c-4318-abb8-74112b3bfe7c"', 'order'],
      ['ws-order-delete-452', ',"newOrderClientId":"xxxxx"', 'order'],
      ['ws-order-match-441-ts', ',"clientId":"1735866257566"', 'order-match'],
      ['ws-order-match-441-a', ',"symbol":"DOTUSDT"', 'order-match'],
    ];
    for (const [id, member, kind] of cases) {
      const text = wireText(id).replace(member, '');
      assert.notEqual(text, wireText(id), `${id}: the member was removed`);
      const parsed = checkFrame(text, NOW);
      assert.ok(parsed.ok, parsed.ok ? '' : `${id}: ${parsed.reason}`);
      const [event] = parsed.messages;
      assert.equal(event?.kind, kind, id);
    }
    const noSymbol = parseFrame(wireText('ws-order-match-441-a').replace(',"symbol":"DOTUSDT"', ''), NOW);
    assert.ok(noSymbol.ok);
    assert.deepEqual(plain(noSymbol.messages[0]), {
      kind: 'order-match',
      exchangeOrderId: '7968322274',
      clientOrderId: 'e3670027-694c-4318-abb8-74112b3bfe7c',
      symbol: null,
      pairId: 62,
      side: 'sell',
      price: '20.97',
      quantity: '0.6393864025',
      timestamp: null,
    });
  });

  it('zero or negative prices and negative book amounts are failures: a price of "0" never becomes a level', () => {
    const snapshot = wireText('ws-obdiff-snapshot');
    const delta = wireText('ws-obdiff-delta-window');
    const cases: [string, RegExp][] = [
      [snapshot.replace('"P":"86689"', '"P":"0"'), /BO\.0\.P: .* got "0"/],
      [snapshot.replace('"P":"86699"', '"P":"-86699"'), /AO\.0\.P: .* got "-86699"/],
      [snapshot.replace('"A":"0.00288357"', '"A":"-0.00288357"'), /AO\.0\.A: .* got "-0\.00288357"/],
      [delta.replace('"P":"2765"', '"P":"0"'), /BO\.0\.P: .* got "0"/],
      [delta.replace('"P":"2765"', '"P":"0.00"'), /BO\.0\.P: .* got "0\.00"/],
      [delta.replace('"A":"0.32885056"', '"A":"-0.32885056"'), /BO\.0\.A: .* got "-0\.32885056"/],
    ];
    for (const [text, reason] of cases) {
      const parsed = checkFrame(text, NOW);
      assert.ok(!parsed.ok, text);
      assert.equal(parsed.cause, 'unreadable');
      assert.match(parsed.reason, reason);
    }
    // And a book fed only what the reader accepts never holds a level at 0.
    const book = new OrderBook('BTCUSDT', 0);
    const opening = parseFrame(snapshot, NOW);
    assert.ok(opening.ok && opening.messages[0]?.kind === 'book-snapshot');
    book.reset(opening.messages[0]);
    const zero = parseFrame(
      '[432,{"CS":3999243,"PS":"BTCUSDT","AO":[],"BO":[{"CP":1,"P":"0","A":"5"}],"channel":"obdiff","event":"BTCUSDT","type":432}]',
      NOW,
    );
    assert.ok(!zero.ok);
    assert.ok(book.levels().bids.every((l) => l.price.gt(0)));
  });

  it('a fill whose amount contradicts its side is a failure, not silently flipped', () => {
    const sell = wireText('ws-user-trade-423');
    for (const text of [
      sell.replace('"amount":"-205.24"', '"amount":"205.24"'),
      sell.replace('"preciseAmount":-205.24', '"preciseAmount":205.24'),
      sell.replace('"orderType":"sell"', '"orderType":"buy"'),
    ]) {
      const parsed = checkFrame(text, NOW);
      assert.ok(!parsed.ok, text);
      assert.match(parsed.reason, /(amount|preciseAmount): -?205\.24 on a (sell|buy) fill/);
    }
  });

  it('a decimal with an exponent of trillions is refused (found by this fuzzing: printing it exhausted the heap)', () => {
    const cases: [string, string, string][] = [
      ['ws-order-match-441-b', '"price":"20.9700000000"', '"price":"20e9700000000"'],
      ['ws-order-insert-451', '"amount":"1"', '"amount":"1e-9000000000"'],
      ['ws-user-trade-423', '"fee":"-0.10467240"', '"fee":"-1E+40"'],
      ['ws-ticker-pair', '"V":"16.43392495"', '"V":"1e99999"'],
    ];
    for (const [id, member, hostile] of cases) {
      const text = wireText(id).replace(member, hostile);
      assert.notEqual(text, wireText(id), id);
      const parsed = checkFrame(text, NOW);
      assert.ok(!parsed.ok, id);
      assert.match(parsed.reason, /expected a decimal within 1e±30/);
    }
  });

  it('an all-zero 451 (a socket that never logged in) is no order event', () => {
    assert.deepEqual(checkFrame(wireText('ws-order-insert-451-zeroed-public'), NOW), {
      ok: true,
      messages: [],
    });
  });

  it('a frame as large as the client admits (4 MiB) is read in one pass, valid or not', () => {
    const rows: string[] = [];
    for (let i = 0, length = 0; length < 4 * 1024 * 1024 - 200; i++) {
      const row = `{"CP":${i % 2},"P":"${(10_000 + i / 10).toFixed(1)}","A":"0.${i}"}`;
      rows.push(row);
      length += row.length + 1;
    }
    const big = `[432,{"CS":1,"PS":"BTCUSDT","AO":[${rows.join(',')}],"BO":[],"channel":"obdiff","event":"BTCUSDT","type":432}]`;
    assert.ok(big.length > 4_000_000 && big.length <= 4 * 1024 * 1024, `${big.length} bytes`);
    assert.equal(bookDiffPath(big), 'canonical');
    const read = checkFrame(big, NOW, false);
    assert.ok(
      read.ok && read.messages[0]?.kind === 'book-diff' && read.messages[0].asks.length === rows.length,
    );
    // A near miss at the very end makes the pattern fail after reading everything: still one answer.
    const last = big.lastIndexOf('"CP":1');
    const miss = checkFrame(`${big.slice(0, last)}"CP":2${big.slice(last + 6)}`, NOW, false);
    assert.ok(!miss.ok && miss.cause === 'unknown-change-kind');
    const giant = checkFrame(
      `[432,{"CS":1,"PS":"BTCUSDT","AO":[],"BO":[],"x":"${'a'.repeat(4_000_000)}"}]`,
      NOW,
      false,
    );
    assert.ok(giant.ok);
  });

  it('values beyond a double, exponents and huge numbers in book rows are failures or exact, never rounded silently', () => {
    const delta = wireText('ws-obdiff-delta-window');
    const exact = checkFrame(delta.replace('"A":"1.8371010"', '"A":"1.83710100000000000000000001"'), NOW);
    assert.ok(exact.ok && exact.messages[0]?.kind === 'book-diff');
    assert.ok(new Dec(exact.messages[0].asks[0]?.quantity ?? '0').eq('1.83710100000000000000000001'));
    for (const value of ['"1e5"', '"Infinity"', '1e400', '-1', 'null']) {
      const parsed = checkFrame(delta.replace('"A":"1.8371010"', `"A":${value}`), NOW);
      assert.ok(!parsed.ok, value);
    }
  });
});

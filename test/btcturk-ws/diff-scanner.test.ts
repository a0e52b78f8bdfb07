import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  bookDiffPath,
  isKnownChangeKind,
  scanBookDiff,
  scanBookSnapshot,
} from '../../src/btcturk/websocket/diff-scanner.ts';
import { parseFrame, parseFrameGeneral } from '../../src/btcturk/websocket/messages.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type { FeedBookDiff } from '../../src/ports/market-feed.ts';

// The fast obdiff readers must agree with a plain JSON.parse reading of the same frame whenever they
// answer, and give up (undefined) rather than guess whenever they are unsure: the frame then takes
// the general path, which reads it or names the problem.

interface Row {
  readonly P: string | number;
  readonly A: string | number;
  readonly CP: number;
}

/**
 * The reference reading: JSON.parse and BTCTurk's documented mapping (CP 0/1 set, 3 deletes),
 * values compared as decimals. Undefined for what must be refused: an unknown CP, a price of zero
 * or below, a negative amount.
 */
function reference(text: string): FeedBookDiff | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const [type, body] = parsed as [number, { CS: number; PS: string; AO: Row[]; BO: Row[] }];
  if (type !== 432) return undefined;
  const rows = (list: Row[]) =>
    list.map((r) => ({ price: String(r.P), quantity: String(r.A), remove: r.CP === 3 }));
  const valid = (list: Row[]) =>
    list.every((r) => isKnownChangeKind(r.CP) && new Dec(r.P).gt(0) && !new Dec(r.A).isNeg());
  if (!valid(body.BO) || !valid(body.AO)) return undefined;
  return { kind: 'book-diff', symbol: body.PS, changeSet: body.CS, bids: rows(body.BO), asks: rows(body.AO) };
}

function sameValue(a: FeedBookDiff, b: FeedBookDiff): boolean {
  const side = (x: FeedBookDiff['bids'], y: FeedBookDiff['bids']) =>
    x.length === y.length &&
    x.every((r, i) => {
      const s = y[i];
      return (
        s !== undefined &&
        new Dec(r.price).eq(s.price) &&
        new Dec(r.quantity).eq(s.quantity) &&
        r.remove === s.remove
      );
    });
  return a.symbol === b.symbol && a.changeSet === b.changeSet && side(a.bids, b.bids) && side(a.asks, b.asks);
}

/** Decimals as BTCTurk writes them: unpadded ("2900", "0.0092056") or padded ("20.9700000000"). */
const decimalText = (min: number) =>
  fc
    .tuple(fc.integer({ min, max: 9_999_999 }), fc.integer({ min: 0, max: 8 }), fc.boolean())
    .map(([n, places, padded]) => {
      const text = (n / 10 ** places).toFixed(places);
      return padded || !text.includes('.') ? text : text.replace(/\.?0+$/, '');
    });
const value = (text: string, asNumber: boolean) => (asNumber ? text : JSON.stringify(text));
const space = fc.constantFrom('', ' ', '\n  ');
const row = fc.record({
  P: decimalText(1),
  A: decimalText(0),
  CP: fc.constantFrom(0, 1, 3),
  order: fc.constantFrom('real', 'old', 'reversed'),
  extra: fc.boolean(),
});
type GenRow = { P: string; A: string; CP: number; order: string; extra: boolean };

function rowText(r: GenRow, s: string, bare: boolean): string {
  const cp = `"CP":${r.CP}`;
  const p = `"P":${value(r.P, bare)}`;
  const a = `"A":${s}${value(r.A, bare)}`;
  const members = r.order === 'real' ? [cp, p, a] : r.order === 'old' ? [a, p, cp] : [a, cp, p];
  if (r.extra) members.push(`"X":{"nested":[1,"a b",null,true,{"k":-1.5e3}],"e":{}}`);
  return `{${s}${members.join(`,${s}`)}${s}}`;
}

const frameOf = (bare: boolean) =>
  fc
    .record({
      cs: fc.integer({ min: 0, max: 2 ** 40 }),
      asks: fc.array(row, { maxLength: 6 }),
      bids: fc.array(row, { maxLength: 6 }),
      s: space,
      reverse: fc.boolean(),
    })
    .map(({ cs, asks, bids, s, reverse }) => {
      const members = [
        `"CS":${cs}`,
        `"PS":"BTCTRY"`,
        `"AO":[${asks.map((r) => rowText(r, s, bare)).join(',')}]`,
        `"BO":[${s}${bids.map((r) => rowText(r, s, bare)).join(`,${s}`)}]`,
        `"channel":"obdiff"`,
        `"event":"BTCTRY"`,
        `"type":432`,
      ];
      if (reverse) members.reverse();
      return `[432,${s}{${members.join(`,${s}`)}}]${s}`;
    });
const frame = frameOf(false);

describe('obdiff fast reader', () => {
  it('reads any well-formed change set with quoted decimals exactly as JSON.parse does (seeded)', () => {
    fc.assert(
      fc.property(frame, (text) => {
        const fast = scanBookDiff(text);
        const ref = reference(text);
        return fast !== undefined && ref !== undefined && sameValue(fast, ref);
      }),
      { seed: 4321, numRuns: 1000 },
    );
  });

  it('leaves bare-number decimals to the general path, which reads them by value (seeded)', () => {
    fc.assert(
      fc.property(frameOf(true), (text) => {
        const ref = reference(text);
        const parsed = parseFrame(text, 0);
        const hasRows = /"CP"/.test(text);
        const message = parsed.ok ? parsed.messages[0] : undefined;
        return (
          (!hasRows || scanBookDiff(text) === undefined) &&
          ref !== undefined &&
          message?.kind === 'book-diff' &&
          sameValue(message, ref)
        );
      }),
      { seed: 77, numRuns: 300 },
    );
  });

  it('never throws on damaged frames, and answers only frames JSON.parse reads the same way (seeded)', () => {
    const damaged = fc
      .tuple(
        frame,
        fc.nat(),
        fc.constantFrom('', '"', '\\', ',', '}', ']', '-', '.', 'x', '1e5', '2', '0', '\u0001'),
      )
      .map(([text, at, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + 1);
      });
    fc.assert(
      fc.property(damaged, (text) => {
        const fast = scanBookDiff(text);
        if (fast === undefined) return true;
        const ref = reference(text);
        return ref !== undefined && sameValue(fast, ref);
      }),
      { seed: 99, numRuns: 3000 },
    );
  });

  it('takes the canonical path for the layout BTCTurk sends, the character reader for the old one', () => {
    const real =
      '[432,{"CS":4097621,"PS":"ETHUSDT","AO":[{"CP":1,"P":"2770.7","A":"1.8371010"},{"CP":3,"P":"2900","A":"9.05374161"}],' +
      '"BO":[{"CP":0,"P":"2765","A":"0.32885056"}],"channel":"obdiff","event":"ETHUSDT","type":432}]';
    assert.equal(bookDiffPath(real), 'canonical');
    assert.deepEqual(scanBookDiff(real), {
      kind: 'book-diff',
      symbol: 'ETHUSDT',
      changeSet: 4097621,
      asks: [
        { price: '2770.7', quantity: '1.8371010', remove: false },
        { price: '2900', quantity: '9.05374161', remove: true },
      ],
      bids: [{ price: '2765', quantity: '0.32885056', remove: false }],
    });
    const old = real.replace(/\{"CP":(\d),"P":("[^"]*"),"A":("[^"]*")\}/g, '{"A":$3,"P":$2,"CP":$1}');
    assert.equal(bookDiffPath(old), 'scanned');
    assert.deepEqual(scanBookDiff(old), scanBookDiff(real));
    assert.equal(bookDiffPath(real.replace('"CP":0', '"CP":2')), 'general');
  });

  it('reads the layout BTCTurk sends at its edges exactly as JSON.parse does', () => {
    const head = '[432,{"CS":7,"PS":"BTCTRY","AO":';
    const tail = ',"channel":"obdiff","event":"BTCTRY","type":432}]';
    const frames = [
      `${head}[{"CP":3,"P":"5","A":"0"},{"CP":1,"P":"6","A":"1"},{"CP":0,"P":"7","A":"2"}],"BO":[]${tail}`,
      `${head}[{"CP":0,"P":"5.","A":".5"}],"BO":[{"CP":1,"P":"0.25","A":"0.5"}]${tail}`,
      `${head}[{"CP":0,"P":"0.001","A":"1"}],"BO":[{"CP":0,"P":"00.10","A":"0"}]${tail}`,
      `${head}[],"BO":[{"CP":1,"P":"4","A":"1"}],"CS":9}]`, // a second CS after the book: the last one counts
      `${head}[],"BO":[],"x":-1.5e3,"":"","long":"a b"}]`,
      `[432,{"CS":123456789012345,"PS":"X","AO":[],"BO":[]}]`,
    ];
    for (const text of frames) {
      const fast = scanBookDiff(text);
      const ref = reference(text);
      assert.ok(fast !== undefined && ref !== undefined, text);
      assert.deepEqual(fast, ref, text);
    }
    const refused = [
      `${head}[{"CP":1,"P":"-5","A":"1"}],"BO":[]${tail}`, // a negative price
      `${head}[{"CP":1,"P":"0","A":"1"}],"BO":[]${tail}`, // a zero price
      `${head}[{"CP":1,"P":"0.000","A":"1"}],"BO":[]${tail}`,
      `${head}[{"CP":1,"P":"5","A":"-1"}],"BO":[]${tail}`, // a negative amount
      `${head}[{"CP":2,"P":"5","A":"0"}],"BO":[]${tail}`, // a change kind BTCTurk does not send
      `${head}[{"CP":20,"P":"5","A":"1"}],"BO":[]${tail}`,
      `${head}[{"CP":-3,"P":"5","A":"1"}],"BO":[]${tail}`,
      `${head}[{"CP":02,"P":"5","A":"1"}],"BO":[]${tail}`, // not JSON
      `${head}[{"CP":1,"P":"5","A":"1.2.3"}],"BO":[]${tail}`,
      `${head}[{"CP":1,"P":"5","A":"."}],"BO":[]${tail}`,
      `${head}[],"BO":[]${tail}x`, // text after the frame
      `[432,{"CS":7,"PS":"","AO":[],"BO":[]}]`, // an empty pair name
      `[432,{"CS":7,"PS":"BTC\u0001TRY","AO":[],"BO":[]}]`, // a raw control character JSON.parse refuses
      `[432,{"CS":7,"PS":"BTCTRY","AO":[],"BO":[],"x":"a\u0001b"}]`,
    ];
    for (const text of refused) assert.equal(scanBookDiff(text), undefined, text);
  });

  it('gives up on what it does not read with certainty, leaving the decision to the general path', () => {
    const cases = [
      '[432,{"CS":5,"PS":"BTC\\u0054RY","AO":[],"BO":[]}]', // an escape in a string
      '[432,{"CS":5,"PS":"BTCTRY","AO":[{"CP":1,"P":"12,5","A":"1"}],"BO":[]}]', // not a plain decimal
      '[432,{"CS":5,"PS":"BTCTRY","AO":[{"A":"1","P":"12"}],"BO":[]}]', // no CP
      '[432,{"CS":5.5,"PS":"BTCTRY","AO":[],"BO":[]}]', // CS not whole
      '[432,{"CS":5,"PS":"BTCTRY","AO":[]}]', // no BO
      '[432,{"CS":5,"PS":"BTCTRY","AO":[],"BO":[]}] trailing',
      '[432,{"CS":5,"PS":"BTCTRY","AO":[{"CP":2,"P":"12","A":"0"}],"BO":[]}]', // CP 2
    ];
    for (const text of cases) assert.equal(scanBookDiff(text), undefined, text);
    // The general path then reads what is readable and names what is not.
    const escaped = parseFrame(cases[0] ?? '', 0);
    assert.ok(
      escaped.ok && escaped.messages[0]?.kind === 'book-diff' && escaped.messages[0].symbol === 'BTCTRY',
    );
    const noBids = parseFrame(cases[4] ?? '', 0);
    assert.ok(noBids.ok, 'missing sides are empty');
    const badPrice = parseFrame(cases[1] ?? '', 0);
    assert.ok(!badPrice.ok && badPrice.symbol === 'BTCTRY' && badPrice.cause === 'unreadable');
    const cp2 = parseFrame(cases[6] ?? '', 0);
    assert.ok(!cp2.ok && cp2.cause === 'unknown-change-kind' && /CP 2/.test(cp2.reason));
  });

  it('skips a member nested 7,000 arrays (or objects) deep without recursion', () => {
    for (const [open, close] of [
      ['[', ']'],
      ['{"k":', '}'],
    ] as const) {
      const deep = `${open.repeat(7000)}1${close.repeat(7000)}`;
      const text = `[432,{"CS":5,"PS":"BTCTRY","AO":[{"CP":1,"P":"12","A":"1","x":${deep}}],"BO":[],"y":${deep}}]`;
      const fast = scanBookDiff(text);
      assert.ok(fast !== undefined, 'the character reader reads past it');
      assert.deepEqual(fast, reference(text));
      // Unbalanced: gives up, and the general path fails the frame without throwing.
      const broken = text.slice(0, text.length - 100);
      assert.equal(scanBookDiff(broken), undefined);
      const parsed = parseFrame(broken, 0);
      assert.ok(!parsed.ok && parsed.cause === 'unreadable');
    }
  });
});

/** The one event the general reader makes of a frame (failing the test when it makes none). */
function generalMessage(text: string): unknown {
  const parsed = parseFrameGeneral(text, 0);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  return parsed.messages[0];
}

describe('obdiff snapshot fast reader', () => {
  const snapshot =
    '[431,{"CS":3999242,"PS":"BTCUSDT","AO":[{"A":"0.00288357","P":"86699"},{"A":"0.0092056","P":"86719"}],' +
    '"BO":[{"A":"0.00863785","P":"86689"}],"channel":"obdiff","event":"BTCUSDT","type":431}]';

  it('reads a snapshot in BTCTurk layout as the general path does', () => {
    const fast = scanBookSnapshot(snapshot);
    assert.ok(fast);
    assert.deepEqual(fast, generalMessage(snapshot));
    assert.equal(fast.periodic, false);
    const periodic = snapshot.replace('"channel":"obdiff"', '"channel":"orderbook"');
    const read = scanBookSnapshot(periodic);
    assert.ok(read?.periodic === true);
    assert.deepEqual(read, generalMessage(periodic));
    const empty = '[431,{"CS":1,"PS":"X","AO":[],"BO":[],"channel":"obdiff","event":"X","type":431}]';
    assert.deepEqual(scanBookSnapshot(empty), generalMessage(empty));
  });

  it('leaves anything else to the general path', () => {
    for (const text of [
      snapshot.replace('"P":"86689"', '"P":"0"'),
      snapshot.replace('"A":"0.00863785"', '"A":"-1"'),
      snapshot.replace('"channel":"obdiff"', '"channel":"other"'),
      snapshot.replace(',"type":431}', ',"type":431,"channel":"orderbook"}'), // a second channel wins in JSON
      snapshot.replace('{"A":"0.00288357","P":"86699"}', '{"P":"86699","A":"0.00288357"}'),
      snapshot.replace('"CS":3999242', '"CS":3999242.5'),
    ])
      assert.equal(scanBookSnapshot(text), undefined, text);
    const parsed = parseFrame(snapshot.replace('"P":"86689"', '"P":"0"'), 0);
    assert.ok(!parsed.ok && /BO\.0\.P: .*got "0"/.test(parsed.reason));
  });
});

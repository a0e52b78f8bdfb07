import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { scanBookDiff } from '../../src/btcturk/websocket/diff-scanner.ts';
import { parseFrame } from '../../src/btcturk/websocket/messages.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type { FeedBookDiff } from '../../src/ports/market-feed.ts';

// The fast obdiff reader must agree with a plain JSON.parse reading of the same frame whenever it
// answers, and give up (undefined) rather than guess whenever it is unsure.

interface Row {
  readonly P: string | number;
  readonly A: string | number;
  readonly CP: number;
}

/** The reference reading: JSON.parse and the documented mapping, values compared as decimals. */
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
    list.map((r) => ({ price: String(r.P), quantity: String(r.A), remove: r.CP === 2 }));
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

const decimalText = fc
  .tuple(fc.integer({ min: 0, max: 9_999_999 }), fc.integer({ min: 0, max: 8 }))
  .map(([n, places]) => (n / 10 ** places).toFixed(places));
const value = (text: string, asNumber: boolean) => (asNumber ? text : JSON.stringify(text));
const space = fc.constantFrom('', ' ', '\n  ');
const row = fc.record({
  P: decimalText,
  A: decimalText,
  CP: fc.integer({ min: 0, max: 3 }),
  pNum: fc.boolean(),
  aNum: fc.boolean(),
  extra: fc.boolean(),
});

function rowText(
  r: { P: string; A: string; CP: number; pNum: boolean; aNum: boolean; extra: boolean },
  s: string,
): string {
  const members = [`"A":${s}${value(r.A, r.aNum)}`, `"P":${value(r.P, r.pNum)}`, `"CP":${r.CP}`];
  if (r.extra) members.push(`"X":{"nested":[1,"a b",null,true,{"k":-1.5e3}],"e":{}}`);
  return `{${s}${members.join(`,${s}`)}${s}}`;
}

const frame = fc
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
      `"AO":[${asks.map((r) => rowText(r, s)).join(',')}]`,
      `"BO":[${s}${bids.map((r) => rowText(r, s)).join(`,${s}`)}]`,
      `"channel":"obdiff"`,
      `"event":"BTCTRY"`,
      `"type":432`,
    ];
    if (reverse) members.reverse();
    return `[432,${s}{${members.join(`,${s}`)}}]${s}`;
  });

describe('obdiff fast reader', () => {
  it('reads any well-formed change set exactly as JSON.parse does (seeded)', () => {
    fc.assert(
      fc.property(frame, (text) => {
        const fast = scanBookDiff(text);
        const ref = reference(text);
        return fast !== undefined && ref !== undefined && sameValue(fast, ref);
      }),
      { seed: 4321, numRuns: 1000 },
    );
  });

  it('never throws on damaged frames, and answers only frames JSON.parse reads the same way (seeded)', () => {
    const damaged = fc
      .tuple(frame, fc.nat(), fc.constantFrom('', '"', '\\', ',', '}', ']', '-', '.', 'x', '1e5'))
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

  it('reads the layout BTCTurk sends at its edges exactly as JSON.parse does', () => {
    const head = '[432,{"CS":7,"PS":"BTCTRY","AO":';
    const tail = ',"channel":"obdiff","event":"BTCTRY","type":432}]';
    const frames = [
      `${head}[{"A":"0","P":"5","CP":2},{"A":"1","P":"6","CP":20},{"A":"1","P":"7","CP":-2}],"BO":[]${tail}`,
      `${head}[{"A":".5","P":"5.","CP":0}],"BO":[{"A":"-0.5","P":"0.25","CP":1}]${tail}`,
      `${head}[],"BO":[{"A":"1","P":"4","CP":1}],"CS":9}]`, // a second CS after the book: the last one counts
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
      `${head}[{"A":"1","P":"-5","CP":1}],"BO":[]${tail}`, // a negative price
      `${head}[{"A":"1","P":"5","CP":02}],"BO":[]${tail}`, // not JSON
      `${head}[{"A":"1.2.3","P":"5","CP":1}],"BO":[]${tail}`,
      `${head}[{"A":".","P":"5","CP":1}],"BO":[]${tail}`,
      `${head}[],"BO":[]${tail}x`, // text after the frame
    ];
    for (const text of refused) assert.equal(scanBookDiff(text), undefined, text);
  });

  it('gives up on what it does not read with certainty, leaving the decision to the zod path', () => {
    const cases = [
      '[432,{"CS":5,"PS":"BTC\\u0054RY","AO":[],"BO":[]}]', // an escape in a string
      '[432,{"CS":5,"PS":"BTCTRY","AO":[{"A":"1","P":"12,5","CP":1}],"BO":[]}]', // not a plain decimal
      '[432,{"CS":5,"PS":"BTCTRY","AO":[{"A":"1","P":"12"}],"BO":[]}]', // no CP
      '[432,{"CS":5.5,"PS":"BTCTRY","AO":[],"BO":[]}]', // CS not whole
      '[432,{"CS":5,"PS":"BTCTRY","AO":[]}]', // no BO
      '[432,{"CS":5,"PS":"BTCTRY","AO":[],"BO":[]}] trailing',
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
    assert.ok(!badPrice.ok && badPrice.symbol === 'BTCTRY');
  });
});

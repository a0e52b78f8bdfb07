import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import type { SimBook } from '../../src/sim/engine/api.ts';
import { Accounts, hmacBase64, WS_LOGIN_REFUSAL } from '../../src/sim/server/auth.ts';
import { BookWindow } from '../../src/sim/server/book-window.ts';
import { Faults, parseFaultArg, parseFaultValue } from '../../src/sim/server/faults.ts';
import { jsonText, rawNumber } from '../../src/sim/server/json.ts';
import { AnchoredWindowLimiter, REST_LIMITS, WS_CONNECT_LIMIT } from '../../src/sim/server/rate-limits.ts';
import { CHANGE_KIND } from '../../src/sim/server/ws-frames.ts';

describe('jsonText', () => {
  it('writes raw numbers verbatim so ids above 2^53 reach the wire as bare literals', () => {
    const text = jsonText({
      id: rawNumber('1181163798924649598'),
      price: '20000.00',
      n: null,
      skip: undefined,
    });
    assert.equal(text, '{"id":1181163798924649598,"price":"20000.00","n":null}');
    // A naive client loses precision, exactly as against BTCTurk.
    assert.notEqual(String((JSON.parse(text) as { id: number }).id), '1181163798924649598');
  });

  it('refuses text that is not a number literal', () => {
    assert.throws(() => rawNumber('12a'), /not a JSON number literal/);
    assert.throws(() => rawNumber(''), /not a JSON number literal/);
  });
});

describe('fault settings', () => {
  it('parses probabilities and durations with units', () => {
    assert.equal(parseFaultValue('error-5xx', '0.25'), 0.25);
    assert.equal(parseFaultValue('ws-drop-every', '30s'), 30_000);
    assert.equal(parseFaultValue('cancel-delay-ms', '500ms'), 500);
    assert.equal(parseFaultValue('latency-ms', 20), 20);
    assert.equal(parseFaultValue('ws-silence-every', '1m'), 60_000);
    assert.equal(parseFaultValue('clock-skew-ms', '-3000'), -3000);
    assert.deepEqual(parseFaultArg('visibility-delay-ms=1.5s'), ['visibility-delay-ms', 1500]);
  });

  it('rejects unknown names and bad values with a message naming the fault', () => {
    const named = (fn: () => unknown, pattern: RegExp) => {
      assert.throws(fn, (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    };
    named(() => parseFaultArg('error-6xx=0.1'), /unknown fault "error-6xx"/);
    named(() => parseFaultValue('error-5xx', '1.5'), /fault error-5xx: expected a probability/);
    named(() => parseFaultValue('ws-gap', 'often'), /fault ws-gap/);
    named(() => parseFaultValue('latency-ms', '-5'), /fault latency-ms: must not be negative/);
    // A period is off at 0 (as GET /sim/faults shows it) and needs a unit otherwise.
    assert.equal(parseFaultValue('ws-drop-every', '0s'), 0);
    assert.equal(parseFaultValue('ws-drop-every', 0), 0);
    named(() => parseFaultValue('ws-drop-every', '-1s'), /fault ws-drop-every: must not be negative/);
    named(() => parseFaultValue('ws-drop-every', '30'), /fault ws-drop-every: "30" has no unit: add ms or s/);
    named(() => parseFaultValue('cancel-delay-ms', '3 hours'), /fault cancel-delay-ms: expected a duration/);
    // A timer past 2^31-1 ms fires at once: a huge period would drop every socket every millisecond.
    named(
      () => parseFaultValue('ws-drop-every', '99999999m'),
      /fault ws-drop-every: must be at most 2147483647 ms/,
    );
    named(() => parseFaultArg('latency-ms'), /--fault: expected NAME=VALUE/);
  });

  it('clears to the default with null; cancels stay asynchronous by default', () => {
    const faults = new Faults(1, { 'cancel-delay-ms': '500ms' });
    assert.equal(faults.value('cancel-delay-ms'), 500);
    faults.set('cancel-delay-ms', null);
    assert.equal(faults.value('cancel-delay-ms'), 50);
  });

  it('replays its decisions from the seed, each fault on its own stream', () => {
    const decisions = (seed: number, alsoGap: boolean) => {
      const faults = new Faults(seed, { 'error-5xx': 0.5, 'ws-gap': alsoGap ? 0.5 : 0 });
      return Array.from({ length: 40 }, () => {
        if (alsoGap) faults.strikes('ws-gap');
        return faults.strikes('error-5xx');
      });
    };
    assert.deepEqual(decisions(42, false), decisions(42, false));
    assert.deepEqual(decisions(42, false), decisions(42, true));
    assert.notDeepEqual(decisions(42, false), decisions(43, false));
    const hits = decisions(42, false).filter(Boolean).length;
    assert.ok(hits > 5 && hits < 35, `about half should strike, got ${hits}/40`);
  });
});

describe('rate limits with windows anchored at the first request', () => {
  const orderPost = REST_LIMITS['POST /api/v1/order'];
  if (!orderPost) throw new Error('order POST limit missing');

  it('allows 10 order POSTs a second and blocks the 11th for the rest of that second', () => {
    const limiter = new AnchoredWindowLimiter();
    const start = 1_700_000_000_000;
    for (let i = 0; i < 10; i++) assert.equal(limiter.take(orderPost, 'a', start + i).ok, true);
    const refused = limiter.take(orderPost, 'a', start + 300);
    assert.ok(!refused.ok);
    assert.equal(refused.retryAfterMs, 700);
    assert.equal(refused.window.label, '1s');
    assert.equal(limiter.take(orderPost, 'b', start + 300).ok, true, 'another account has its own budget');
    assert.equal(limiter.take(orderPost, 'a', start + 1000).ok, true, 'the next window is open again');
  });

  it('starts a window at the first request, not on a clock boundary', () => {
    const limiter = new AnchoredWindowLimiter();
    const start = 1_700_000_000_700; // 700 ms into a clock second
    for (let i = 0; i < 10; i++) assert.equal(limiter.take(orderPost, 'a', start + i).ok, true);
    // A clock-aligned window would have reopened at ...001_000; the anchored one runs to start + 1 s.
    const refused = limiter.take(orderPost, 'a', 1_700_000_001_200);
    assert.ok(!refused.ok, 'still the window that began at the first request');
    assert.equal(refused.retryAfterMs, 500, 'blocked until that window ends');
    assert.equal(limiter.take(orderPost, 'a', start + 1000).ok, true, 'a new window from the next request');
    for (let i = 1; i < 10; i++) assert.equal(limiter.take(orderPost, 'a', start + 1500 + i).ok, true);
    assert.equal(limiter.take(orderPost, 'a', start + 1999).ok, false, 'ten in the window that began then');
  });

  it('counts the minute window too: 300 a minute even at 10 a second', () => {
    const limiter = new AnchoredWindowLimiter();
    const minuteStart = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
    let accepted = 0;
    let refusal;
    for (let second = 0; second < 31; second++)
      for (let i = 0; i < 10; i++) {
        const decision = limiter.take(orderPost, 'a', minuteStart + second * 1000 + i);
        if (decision.ok) accepted++;
        else refusal ??= decision;
      }
    assert.equal(accepted, 300);
    assert.ok(refusal && !refusal.ok);
    assert.equal(refusal.window.label, '1m');
    assert.equal(refusal.retryAfterMs, 30_000, 'blocked until the minute window ends');
  });

  it('blocks WebSocket connects for 60 s after the 16th in a minute', () => {
    const limiter = new AnchoredWindowLimiter();
    const start = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);
    for (let i = 0; i < 15; i++)
      assert.equal(limiter.take(WS_CONNECT_LIMIT, 'ip', start + i * 1000).ok, true);
    const refused = limiter.take(WS_CONNECT_LIMIT, 'ip', start + 20_000);
    assert.equal(!refused.ok && refused.retryAfterMs, 60_000);
    assert.equal(
      limiter.take(WS_CONNECT_LIMIT, 'ip', start + 61_000).ok,
      false,
      'still blocked in the next window',
    );
    assert.equal(limiter.take(WS_CONNECT_LIMIT, 'ip', start + 80_000).ok, true);
  });

  it('forgets subjects whose windows ended: the maps do not grow with every IP or account seen', () => {
    const limiter = new AnchoredWindowLimiter();
    const start = 1_700_000_000_000;
    let peak = 0;
    // 10,000 subjects, a new one every 100 ms, some of them blocked (WebSocket connects).
    for (let i = 0; i < 10_000; i++) {
      const now = start + i * 100;
      limiter.take(orderPost, `account-${i}`, now);
      for (let n = 0; n < 16; n++) limiter.take(WS_CONNECT_LIMIT, `10.0.${i % 256}.${i >> 8}`, now);
      peak = Math.max(peak, limiter.size);
    }
    // An entry lives at most its window (1 min) plus the sweep period (1 min): two minutes of
    // subjects (1,200) with four entries each (two order windows, a connect window, a block) is
    // under 5,000, where keeping them all would hold 40,000.
    assert.ok(peak < 5_000, `the limiter held ${peak} entries`);
    assert.equal(limiter.take(WS_CONNECT_LIMIT, '10.0.0.0', start + 10_000 * 100).ok, true);
  });
});

describe('authentication', () => {
  it('matches the test vector of btcturk-api.md §2', () => {
    const secret = Buffer.from('c3VwZXItc2VjcmV0LWJ5dGVz', 'base64');
    assert.equal(hmacBase64(secret, 'demo-key1700000000123'), 'n3vM0/3V67fMgjxxsjekOrLRULK/nctpnHuw3WsgssE=');
  });

  it('accepts a stamp within ±5 s and refuses one outside, a wrong signature or an unknown key', () => {
    const accounts = new Accounts();
    accounts.add({ accountId: 'a', apiKey: 'demo-key', apiSecret: 'c3VwZXItc2VjcmV0LWJ5dGVz' });
    const headers = {
      pck: 'demo-key',
      stamp: '1700000000123',
      signature: 'n3vM0/3V67fMgjxxsjekOrLRULK/nctpnHuw3WsgssE=',
    };
    assert.equal(accounts.verifyRest(headers, 1_700_000_005_000).ok, true);
    const late = accounts.verifyRest(headers, 1_700_000_006_123);
    assert.ok(!late.ok);
    assert.match(late.reason, /-6000 ms from server time/);
    assert.equal(accounts.verifyRest({ ...headers, signature: 'AAAA' }, 1_700_000_000_123).ok, false);
    assert.equal(accounts.verifyRest({ ...headers, pck: 'other' }, 1_700_000_000_123).ok, false);
  });

  it('refuses a secret that is not standard base64', () => {
    assert.throws(
      () => new Accounts().add({ accountId: 'a', apiKey: 'k', apiSecret: 'not base64!' }),
      (error: unknown) => error instanceof ConfigError && error.setting === 'api-secret',
    );
  });
});

describe('WebSocket login', () => {
  const accounts = new Accounts();
  const secret = 'c3VwZXItc2VjcmV0LWJ5dGVz';
  const account = accounts.add({ accountId: 'a', apiKey: 'demo-key', apiSecret: secret });
  const now = 1_700_000_000_000;
  const login = (nonce: unknown, timestamp: unknown = now, key = 'demo-key') => ({
    publicKey: key,
    nonce,
    timestamp,
    signature: hmacBase64(Buffer.from(secret, 'base64'), `demo-key${String(nonce)}`),
  });
  const reason = (result: ReturnType<Accounts['verifyWsLogin']>): string =>
    result.ok ? 'ok' : result.reason;

  it('accepts a nonce from 100 to 60000 with a stamp within ±5 s, signed over key + nonce', () => {
    for (const nonce of [100, 3000, 60_000]) {
      const result = accounts.verifyWsLogin(login(nonce, now + 5_000), now);
      assert.ok(result.ok);
      assert.equal(result.account.userId, account.userId);
    }
  });

  it('refuses with BTCTurk’s own words: nonce, stamp, key, signature', () => {
    for (const nonce of [99, 60_001, 1_700_000_000_000, 3000.5, '3000', null])
      assert.equal(reason(accounts.verifyWsLogin(login(nonce), now)), WS_LOGIN_REFUSAL.request);
    for (const timestamp of [now - 5_001, now + 5_001, null, 'soon'])
      assert.equal(reason(accounts.verifyWsLogin(login(3000, timestamp), now)), WS_LOGIN_REFUSAL.nonce);
    const { timestamp: _omitted, ...unstamped } = login(3000);
    assert.equal(reason(accounts.verifyWsLogin(unstamped, now)), WS_LOGIN_REFUSAL.nonce, 'no timestamp');
    assert.equal(reason(accounts.verifyWsLogin(login(3000, now, 'other'), now)), WS_LOGIN_REFUSAL.publicKey);
    assert.equal(
      reason(accounts.verifyWsLogin({ ...login(3000), signature: 'AAAA' }, now)),
      WS_LOGIN_REFUSAL.signature,
    );
    assert.equal(WS_LOGIN_REFUSAL.request, 'Unauthorized - Invalid Request');
  });

  it('gives every account its own numeric user id', () => {
    const more = new Accounts();
    const ids = ['x', 'y', 'z'].map(
      (id) => more.add({ accountId: id, apiKey: id, apiSecret: secret }).userId,
    );
    assert.equal(new Set(ids).size, 3);
    assert.ok(ids.every((id) => Number.isSafeInteger(id) && id > 0));
    assert.equal(more.account('y')?.userId, ids[1]);
  });
});

describe('book window', () => {
  const level = (price: string, quantity: string) => ({ price: new Dec(price), quantity: new Dec(quantity) });
  const book = (bids: [string, string][], asks: [string, string][]): SimBook => ({
    symbol: 'BTCTRY',
    timestamp: 0,
    bids: bids.map(([p, q]) => level(p, q)),
    asks: asks.map(([p, q]) => level(p, q)),
  });
  const show = (rows: readonly { kind: number; price: Dec; quantity: Dec }[]) =>
    rows.map((row) => `${row.kind} ${row.price.toFixed()} ${row.quantity.toFixed()}`);

  it('publishes the net change as CP 0/1/3 rows, best first, and uses no CS when nothing changed', () => {
    const window = new BookWindow(
      3,
      book(
        [
          ['100', '1'],
          ['99', '2'],
        ],
        [['101', '2']],
      ),
      { obdiff: 500, orderbookOffset: 1129 },
    );
    assert.equal(window.changeSet, 500);
    assert.equal(window.orderbookChangeSet, 1629);
    const first = window.publish(
      book(
        [
          ['100', '3'],
          ['99.5', '1'],
          ['99', '2'],
        ],
        [],
      ),
    );
    assert.ok(first);
    assert.equal(first.changeSet, 501);
    assert.deepEqual(show(first.bids), ['0 100 3', '1 99.5 1']);
    assert.deepEqual(show(first.asks), [`${CHANGE_KIND.deleted} 101 2`], 'a delete carries the last amount');
    assert.equal(window.orderbookChangeSet, 1630, 'both channels advance together');
    assert.equal(
      window.publish(
        book(
          [
            ['100', '3'],
            ['99.5', '1'],
            ['99', '2'],
          ],
          [],
        ),
      ),
      null,
    );
    assert.equal(window.changeSet, 501);
  });

  it('keeps the window: a level entering pushes the last out, one leaving lets the next in', () => {
    const deep = book(
      [
        ['100', '1'],
        ['99', '1'],
        ['98', '1'],
        ['97', '1'],
      ],
      [
        ['101', '1'],
        ['102', '1'],
        ['103', '1'],
        ['104', '1'],
      ],
    );
    const window = new BookWindow(3, deep, { obdiff: 1, orderbookOffset: 7 });
    assert.deepEqual(
      window.levels().bids.map((l) => l.price.toFixed()),
      ['100', '99', '98'],
    );
    const entered = window.publish(
      book(
        [
          ['100.5', '4'],
          ['100', '1'],
          ['99', '1'],
          ['98', '1'],
          ['97', '1'],
        ],
        deep.asks.map((l) => [l.price.toFixed(), l.quantity.toFixed()]),
      ),
    );
    assert.deepEqual(show(entered?.bids ?? []), ['1 100.5 4', '3 98 1']);
    assert.deepEqual(show(entered?.asks ?? []), []);
    const left = window.publish(
      book(
        [
          ['100.5', '4'],
          ['99', '1'],
          ['98', '1'],
          ['97', '1'],
        ],
        deep.asks.map((l) => [l.price.toFixed(), l.quantity.toFixed()]),
      ),
    );
    assert.deepEqual(show(left?.bids ?? []), ['3 100 1', '1 98 1']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { Accounts, hmacBase64 } from '../../src/sim/server/auth.ts';
import { BookSequence } from '../../src/sim/server/book-sequence.ts';
import { Faults, parseFaultArg, parseFaultValue } from '../../src/sim/server/faults.ts';
import { jsonText, rawNumber } from '../../src/sim/server/json.ts';
import { FixedWindowLimiter, REST_LIMITS, WS_CONNECT_LIMIT } from '../../src/sim/server/rate-limits.ts';
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
    named(
      () => parseFaultValue('ws-drop-every', '0s'),
      /fault ws-drop-every: the period must be greater than 0/,
    );
    named(() => parseFaultValue('cancel-delay-ms', '3 hours'), /fault cancel-delay-ms: expected a duration/);
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

describe('fixed-window rate limits', () => {
  const orderPost = REST_LIMITS['POST /api/v1/order'];
  if (!orderPost) throw new Error('order POST limit missing');

  it('allows 10 order POSTs a second and blocks the 11th for the rest of that second', () => {
    const limiter = new FixedWindowLimiter();
    const start = 1_700_000_000_000;
    for (let i = 0; i < 10; i++) assert.equal(limiter.take(orderPost, 'a', start + i).ok, true);
    const refused = limiter.take(orderPost, 'a', start + 300);
    assert.ok(!refused.ok);
    assert.equal(refused.retryAfterMs, 700);
    assert.equal(refused.window.label, '1s');
    assert.equal(limiter.take(orderPost, 'b', start + 300).ok, true, 'another account has its own budget');
    assert.equal(limiter.take(orderPost, 'a', start + 1000).ok, true, 'the next window is open again');
  });

  it('counts the minute window too: 300 a minute even at 10 a second', () => {
    const limiter = new FixedWindowLimiter();
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
    const limiter = new FixedWindowLimiter();
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
    const limiter = new FixedWindowLimiter();
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

describe('obdiff change sets', () => {
  it('numbers every change set and tells new, changed and removed levels apart', () => {
    const level = (price: string, quantity: string) => ({
      price: new Dec(price),
      quantity: new Dec(quantity),
    });
    const sequence = new BookSequence({
      symbol: 'BTCTRY',
      timestamp: 0,
      bids: [level('100', '1')],
      asks: [level('101', '2')],
    });
    assert.equal(sequence.changeSet, 0);
    const first = sequence.apply([
      { side: 'buy', ...level('100', '3') },
      { side: 'buy', ...level('99', '1') },
      { side: 'sell', ...level('101', '0') },
    ]);
    assert.equal(first.changeSet, 1);
    assert.deepEqual(
      first.bids.map((row) => row.kind),
      [CHANGE_KIND.updated, CHANGE_KIND.added],
    );
    assert.deepEqual(
      first.asks.map((row) => row.kind),
      [CHANGE_KIND.removed],
    );
    const second = sequence.apply([{ side: 'sell', ...level('101', '1') }]);
    assert.equal(second.changeSet, 2);
    assert.equal(second.asks[0]?.kind, CHANGE_KIND.added, 'a removed level that returns is new again');
  });
});

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isExchangeError } from '../../src/domain/errors.ts';
import {
  FakeClock,
  LIMIT_BUY,
  UNAUTHORIZED,
  authProblem,
  exchangeFor,
  fakeVenue,
  ok,
  privateRequests,
  raw,
  withServerTime,
  type FakeVenue,
  type SeenRequest,
} from './helpers.ts';

const venues: FakeVenue[] = [];
after(async () => {
  await Promise.all(venues.map((v) => v.close()));
});

/** A venue whose clock runs `skew()` ms ahead of `clock` and that enforces BTCTurk's auth. */
async function skewedVenue(
  clock: () => number,
  skew: () => number,
): Promise<{ venue: FakeVenue; refused: string[] }> {
  const refused: string[] = [];
  const venue = await fakeVenue(
    withServerTime(
      () => clock() + skew(),
      (request: SeenRequest) => {
        const problem = authProblem(request, clock() + skew());
        if (problem) {
          refused.push(problem);
          return UNAUTHORIZED;
        }
        return raw('balances');
      },
    ),
  );
  venues.push(venue);
  return { venue, refused };
}

const paths = (venue: FakeVenue) => venue.seen.map((r) => `${r.method} ${r.path}`);

describe('clock sync', () => {
  it('measures the offset before the first private call, so stamps land although the local clock is 8 s behind', async () => {
    const { venue, refused } = await skewedVenue(
      () => Date.now(),
      () => 8_000,
    );
    const exchange = exchangeFor(venue.url);
    assert.equal((await exchange.balances()).length, 3);
    assert.deepEqual(refused, []);
    assert.deepEqual(paths(venue), ['GET /api/v2/server/time', 'GET /api/v1/users/balances']);
    const stamp = Number(privateRequests(venue)[0]?.headers['x-stamp']);
    assert.ok(
      Math.abs(stamp - (Date.now() + 8_000)) < 1_000,
      `stamp ${stamp} should be near the server's time`,
    );
    await exchange.close();
  });

  it('without the offset the same stamps are refused (the skew is real)', async () => {
    const { venue, refused } = await skewedVenue(
      () => Date.now(),
      () => 8_000,
    );
    // A front whose /server/time lies ("no skew") and passes everything else on leaves stamps 8 s off.
    const lying = await fakeVenue(async (r) => {
      if (r.path === '/api/v2/server/time') return ok({ serverTime: Date.now() });
      const auth = ['x-pck', 'x-stamp', 'x-signature'].map((h): [string, string] => [
        h,
        String(r.headers[h]),
      ]);
      const res = await fetch(`${venue.url}${r.path}`, { headers: Object.fromEntries(auth) });
      return { status: res.status, body: await res.text() };
    });
    venues.push(lying);
    const misled = exchangeFor(lying.url, { maxConsecutiveAuthFailures: 50 });
    await assert.rejects(misled.balances(), (e: unknown) => isExchangeError(e, 'auth'));
    assert.deepEqual(refused, ['stamp outside ±5 s', 'stamp outside ±5 s']);
    await misled.close();
  });

  it('falls back to exchangeinfo.serverTime when /server/time is unavailable', async () => {
    const skew = 8_000;
    const venue = await fakeVenue((request) => {
      if (request.path === '/api/v2/server/time') return { status: 404, body: 'Not Found' };
      if (request.path === '/api/v2/server/exchangeinfo')
        return ok({ timeZone: 'UTC', serverTime: Date.now() + skew, symbols: [], currencies: [] });
      return authProblem(request, Date.now() + skew) ? UNAUTHORIZED : raw('balances');
    });
    venues.push(venue);
    const exchange = exchangeFor(venue.url);
    assert.equal((await exchange.balances()).length, 3);
    assert.deepEqual(paths(venue), [
      'GET /api/v2/server/time',
      'GET /api/v2/server/exchangeinfo',
      'GET /api/v1/users/balances',
    ]);
    await exchange.close();
  });

  it('re-measures once the interval has passed', async () => {
    const clock = new FakeClock();
    const { venue, refused } = await skewedVenue(
      () => clock.now(),
      () => 8_000,
    );
    const exchange = exchangeFor(venue.url, { clock, clockSyncIntervalMs: 300_000 });
    await exchange.balances();
    await clock.advance(299_999);
    await exchange.balances();
    assert.equal(venue.seen.filter((r) => r.path === '/api/v2/server/time').length, 1);
    await clock.advance(1);
    await exchange.balances();
    assert.equal(venue.seen.filter((r) => r.path === '/api/v2/server/time').length, 2);
    assert.deepEqual(refused, []);
    await exchange.close();
  });

  it('after a 401, re-syncs at once and retries once with a fresh stamp', async () => {
    let skew = 0;
    const { venue, refused } = await skewedVenue(
      () => Date.now(),
      () => skew,
    );
    const exchange = exchangeFor(venue.url, { clockSyncIntervalMs: 3_600_000 });
    await exchange.balances();
    skew = 8_000; // the local clock drifts 8 s behind the exchange's
    assert.equal((await exchange.balances()).length, 3);
    assert.deepEqual(refused, ['stamp outside ±5 s']);
    assert.deepEqual(paths(venue), [
      'GET /api/v2/server/time',
      'GET /api/v1/users/balances',
      'GET /api/v1/users/balances', // 401
      'GET /api/v2/server/time',
      'GET /api/v1/users/balances',
    ]);
    const [, refusedStamp, acceptedStamp] = privateRequests(venue).map((r) => Number(r.headers['x-stamp']));
    assert.ok((acceptedStamp ?? 0) - (refusedStamp ?? 0) > 7_000, 'the retry carries a re-synced stamp');
    await exchange.close();
  });

  it('retries a POST /order once after a 401 (not processed), even when the server clock stepped back 9 s', async () => {
    let skew = 0;
    let posts = 0;
    const venue = await fakeVenue(
      withServerTime(
        () => Date.now() + skew,
        (request) => {
          if (authProblem(request, Date.now() + skew)) return UNAUTHORIZED;
          posts += 1;
          return raw('order-submit');
        },
      ),
    );
    venues.push(venue);
    const exchange = exchangeFor(venue.url, { clockSyncIntervalMs: 3_600_000 });
    await exchange.syncClock();
    skew = -9_000;
    const ack = await exchange.submitOrder(LIMIT_BUY);
    assert.equal(ack.exchangeOrderId, '21469236290');
    assert.equal(posts, 1);
    assert.equal(venue.seen.filter((r) => r.method === 'POST').length, 2);
    await exchange.close();
  });

  it('stops sending private requests after 5 consecutive 401s and fails fast, saying why and what to check', async () => {
    const venue = await fakeVenue(
      withServerTime(
        () => Date.now(),
        () => UNAUTHORIZED,
      ),
    );
    venues.push(venue);
    const exchange = exchangeFor(venue.url);
    const failures: string[] = [];
    for (let call = 0; call < 5; call += 1) {
      const error = await exchange.balances().catch((e: unknown) => e);
      assert.ok(isExchangeError(error, 'auth'));
      failures.push(error.message);
    }
    assert.equal(privateRequests(venue).length, 5, 'no private request after the fifth 401');
    const stopped = failures.at(-1) ?? '';
    assert.match(stopped, /stopped after 5 consecutive HTTP 401/);
    assert.match(stopped, /ban/);
    assert.match(stopped, /BTCTURK_API_KEY/);
    assert.match(stopped, /clock/);
    // Public data still flows; private calls keep failing without touching the network.
    await exchange.serverTime();
    await assert.rejects(exchange.openOrders('BTCTRY'), /stopped after 5 consecutive/);
    assert.equal(privateRequests(venue).length, 5);
    await exchange.close();
  });

  it('counts only consecutive 401s: a success in between resets the count', async () => {
    let n = 0;
    const venue = await fakeVenue(
      withServerTime(
        () => Date.now(),
        () => {
          n += 1;
          return n % 2 === 1 ? UNAUTHORIZED : raw('balances'); // each call: a 401, then success on the retry
        },
      ),
    );
    venues.push(venue);
    const exchange = exchangeFor(venue.url, { maxConsecutiveAuthFailures: 2 });
    for (let call = 0; call < 4; call += 1) assert.equal((await exchange.balances()).length, 3);
    assert.equal(privateRequests(venue).length, 8);
    await exchange.close();
  });
});

describe('serverNow', () => {
  it('is the local wall clock corrected by the measured offset: a server 8 s ahead reads 8 s ahead, and stays so', async () => {
    const clock = new FakeClock();
    const { venue } = await skewedVenue(
      () => clock.now(),
      () => 8_000,
    );
    const exchange = exchangeFor(venue.url, { clock });
    // Nothing measured yet: the local wall clock stands in.
    assert.equal(exchange.serverNow(), clock.now());
    await exchange.syncClock();
    // The fake clock does not move during the round trip, so the midpoint estimate is exact.
    assert.equal(exchange.serverNow() - clock.now(), 8_000);
    await clock.advance(5_000);
    assert.equal(exchange.serverNow() - clock.now(), 8_000, 'the offset holds as time passes');
    // The same offset signs REST stamps: a private call lands inside the server's ±5 s.
    await exchange.balances();
    assert.equal(privateRequests(venue).length, 1);
    assert.equal(Number(privateRequests(venue)[0]?.headers['x-stamp']), exchange.serverNow());
    const before = exchange.serverNow();
    clock.setWall(clock.now() - 60_000); // NTP steps the local wall clock back a minute
    assert.equal(exchange.serverNow(), before, 'a stepped wall clock does not move the server estimate');
    await exchange.close();
  });
});

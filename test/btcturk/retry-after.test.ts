import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { classifyReply, parseRetryAfter } from '../../src/btcturk/common/errors.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { FakeClock, eventually, exchangeFor, fakeVenue, fixture, raw, type FakeVenue } from './helpers.ts';

const venues: FakeVenue[] = [];
after(async () => {
  await Promise.all(venues.map((v) => v.close()));
});

/** A venue whose order book answers 429 (with `retryAfter`) the first time and normally after. */
async function throttlingVenue(retryAfter: () => string): Promise<FakeVenue> {
  const venue = await fakeVenue(() =>
    venue.seen.length === 1
      ? raw('error-rate-limit', 429, { 'retry-after': retryAfter() })
      : raw('orderbook'),
  );
  venues.push(venue);
  return venue;
}

async function blocksForTheFullRetryAfter(clock: FakeClock, venue: FakeVenue): Promise<void> {
  const exchange = exchangeFor(venue.url, { clock, deadlineMs: 120_000 });
  const book = exchange.orderBook('BTCTRY');
  await eventually(() => venue.seen.length === 1, 'the first request');
  await clock.advance(59_999);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(venue.seen.length, 1, 'nothing may be sent before the Retry-After has fully passed');
  await clock.advance(1);
  await eventually(() => venue.seen.length === 2, 'the request after the block');
  assert.equal((await book).bids.length, 3);
  await exchange.close();
}

describe('429 and Retry-After', () => {
  it('blocks the endpoint group for a Retry-After given in seconds, uncapped', async () => {
    const clock = new FakeClock();
    await blocksForTheFullRetryAfter(clock, await throttlingVenue(() => '60'));
  });

  it('blocks the endpoint group for a Retry-After given as an HTTP date', async () => {
    const clock = new FakeClock(1_700_000_000_000); // a whole second: HTTP dates have no milliseconds
    await blocksForTheFullRetryAfter(
      clock,
      await throttlingVenue(() => new Date(clock.now() + 60_000).toUTCString()),
    );
  });

  it('fails fast when the block outlasts the deadline, and sends nothing to that group until it ends', async () => {
    const clock = new FakeClock();
    const venue = await throttlingVenue(() => '60');
    const exchange = exchangeFor(venue.url, { clock, deadlineMs: 30_000 });
    await assert.rejects(exchange.orderBook('BTCTRY'), (e: unknown) => {
      assert.ok(isExchangeError(e, 'rate-limited'));
      assert.equal(e.retryAfterMs, 60_000);
      return true;
    });
    await assert.rejects(exchange.orderBook('BTCTRY'), (e: unknown) => {
      assert.ok(isExchangeError(e, 'not-sent'), String(e));
      assert.ok((e.retryAfterMs ?? 0) > 59_000);
      return true;
    });
    assert.equal(venue.seen.length, 1);
    await clock.advance(60_000);
    assert.equal((await exchange.orderBook('BTCTRY')).asks.length, 2);
    await exchange.close();
  });
});

describe('Retry-After parsing', () => {
  const now = Date.parse('2023-11-14T22:13:20.000Z');

  it('reads delta-seconds and HTTP dates against the server clock', () => {
    assert.equal(parseRetryAfter('60', now), 60_000);
    assert.equal(parseRetryAfter(' 2.5 ', now), 2_500);
    assert.equal(parseRetryAfter('Tue, 14 Nov 2023 22:14:20 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Tue, 14 Nov 2023 22:13:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });

  it("falls back to the body's quota period, then to a full minute", () => {
    const call = { operation: 'GET /api/v1/users/balances', effect: 'read' as const, secrets: [] };
    const fromBody = classifyReply(
      { status: 429, retryAfter: undefined, text: fixture('error-rate-limit') },
      call,
      {
        serverNow: now,
        fallbackMs: 60_000,
      },
    );
    assert.ok(!fromBody.ok && fromBody.error.retryAfterMs === 60_000);
    const perSecond = fixture('error-rate-limit').replace('"1m"', '"1s"');
    const short = classifyReply({ status: 429, retryAfter: undefined, text: perSecond }, call, {
      serverNow: now,
      fallbackMs: 60_000,
    });
    assert.ok(!short.ok && short.error.retryAfterMs === 1_000);
    const bare = classifyReply({ status: 429, retryAfter: undefined, text: '' }, call, {
      serverNow: now,
      fallbackMs: 60_000,
    });
    assert.ok(!bare.ok && bare.error.kind === 'rate-limited' && bare.error.retryAfterMs === 60_000);
  });
});

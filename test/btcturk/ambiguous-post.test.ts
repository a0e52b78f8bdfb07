import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isExchangeError } from '../../src/domain/errors.ts';
import { LIMIT_BUY, exchangeFor, fakeVenue, ok } from './helpers.ts';

describe('an order whose reply is lost', () => {
  it('is sent exactly once and reported as ambiguous when the connection drops after the body was read', async () => {
    const venue = await fakeVenue((request) =>
      request.method === 'POST' && request.path === '/api/v1/order' ? 'drop' : ok({ serverTime: Date.now() }),
    );
    const exchange = exchangeFor(venue.url, { deadlineMs: 5_000 });
    const error = await exchange.submitOrder(LIMIT_BUY).catch((e: unknown) => e);
    assert.ok(isExchangeError(error, 'ambiguous'), String(error));
    assert.equal(error.unprocessed, false);
    assert.match(error.message, /do not send it again blindly/);
    const posts = venue.seen.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1);
    assert.equal(
      (JSON.parse(posts[0]?.body ?? '{}') as { newOrderClientId?: string }).newOrderClientId,
      'bb-7f3a9c01',
    );
    await exchange.close();
    await venue.close();
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExchangeError, type RefusalReason } from '../../src/domain/errors.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms } from '../../src/oms/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { FakeExchange, steppingClock } from '../oms/fakes.ts';
import { BUY } from '../oms/intents.ts';

// The execution core acts on a refusal's venue-neutral reason and on nothing a venue wrote: the
// same cancel refusal means "already gone, look it up" or "blocked for now" by its reason alone,
// and a venue's message string with no reason is just an unexplained refusal.

/** A fake whose next cancel is refused with the given reason and venue words, and lookups say `after`. */
class RefusingExchange extends FakeExchange {
  refusal: { reason: RefusalReason | undefined; venueMessage?: string } | null = null;

  override cancelOrder(exchangeOrderId: string): Promise<void> {
    if (this.refusal === null) return super.cancelOrder(exchangeOrderId);
    this.calls.push('cancel refused');
    const { reason, venueMessage } = this.refusal;
    return Promise.reject(
      new ExchangeError('rejected', `cancel of ${exchangeOrderId} refused`, {
        operation: 'cancel',
        reason,
        venueMessage,
        httpStatus: 400,
      }),
    );
  }
}

async function setup() {
  const clock = steppingClock();
  const store = await openSqliteStore({ path: ':memory:', clock });
  const exchange = new RefusingExchange(clock);
  const oms = new Oms({
    store,
    exchange,
    prefix: 'rr',
    clock,
    random: seededRandom(5),
    symbols: ['BTCTRY'],
    timings: { notFoundAfterMs: 5_000, cancelConfirmMs: 2_000, cancelAttempts: 2 },
  });
  await oms.start();
  const order = await oms.submit(BUY);
  assert.equal(order.state, 'OPEN');
  const id = order.exchangeOrderId ?? '';
  return { exchange, oms, order, id, close: () => Promise.all([oms.stop(), store.close()]) };
}

describe('the OMS reads refusal reasons, not venue words', () => {
  it('order-closed on a cancel: the order is looked up and recorded filled, no error', async () => {
    const { exchange, oms, order, id, close } = await setup();
    exchange.fill(id, '0.5');
    exchange.refusal = { reason: 'order-closed' };
    const result = await oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'filled');
    assert.equal(result.order.state, 'FILLED');
    await close();
  });

  it('order-not-found on a cancel of an order the venue shows canceled: recorded CANCELED', async () => {
    const { exchange, oms, order, id, close } = await setup();
    const venue = exchange.orders.get(id);
    assert.ok(venue);
    venue.status = 'canceled';
    exchange.refusal = { reason: 'order-not-found' };
    const result = await oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'canceled');
    await close();
  });

  it('cancel-blocked: refused for now after one request, the order still resting', async () => {
    const { exchange, oms, order, close } = await setup();
    exchange.refusal = { reason: 'cancel-blocked' };
    const result = await oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'refused');
    assert.equal(exchange.calls.filter((c) => c === 'cancel refused').length, 1, 'not hammered');
    await close();
  });

  it("a venue's 'order closed' words without a reason are not read: refused like any refusal", async () => {
    const { exchange, oms, order, close } = await setup();
    exchange.refusal = { reason: undefined, venueMessage: 'ORDER_COULD_NOT_BE_CANCELED' };
    const result = await oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'refused');
    await close();
  });
});

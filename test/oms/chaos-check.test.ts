import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { OrderState } from '../../src/domain/orders.ts';
import type { StoredFill, StoredOrder } from '../../src/ports/store.ts';
import type { SimFill, SimGroundTruth, SimOrder } from '../../src/sim/engine/api.ts';
import { compareBothWays } from './crash-check.ts';

// The chaos run's two-way check must be able to fail: each kind of disagreement between the store
// and the exchange, made on purpose, is found and counted, and an agreeing pair counts 0.

const PREFIX = 'chk';
const ACCOUNT = 'account-1';
const random = seededRandom(3);

/** What a pair's two sides have in common: a limit buy of 1 BTCTRY at 100. */
const LIMIT_BUY_OF_ONE = {
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  price: new Dec(100),
  stopPrice: null,
  quantity: new Dec(1),
} as const;

interface Pair {
  readonly local: StoredOrder;
  readonly sim: SimOrder;
}

function pair(id: number, over: { state?: OrderState; filled?: string } = {}): Pair {
  const clientOrderId = newClientOrderId(PREFIX, random);
  const filled = new Dec(over.filled ?? '0');
  const state = over.state ?? (filled.gt(0) ? 'FILLED' : 'OPEN');
  const local: StoredOrder = {
    id: `local-${id}`,
    clientOrderId,
    exchangeOrderId: String(id),
    ...LIMIT_BUY_OF_ONE,
    quoteAmount: null,
    filledQuantity: filled,
    filledQuote: filled.mul(100),
    averagePrice: filled.gt(0) ? new Dec(100) : null,
    state,
    stateReason: null,
    intentId: `intent-${id}`,
    strategy: null,
    replaceOf: null,
    origin: 'local',
    createdAt: 1,
    updatedAt: 1,
    version: 1,
  };
  const sim: SimOrder = {
    id: String(id),
    accountId: ACCOUNT,
    clientOrderId,
    ...LIMIT_BUY_OF_ONE,
    filled,
    status: filled.gt(0) ? 'filled' : 'open',
    cancelRequested: false,
    createdAt: 1,
    updatedAt: 1,
  };
  return { local, sim };
}

function fills(p: Pair, tradeId: string): { local: StoredFill; sim: SimFill } {
  const common = {
    tradeId,
    clientOrderId: p.sim.clientOrderId,
    symbol: 'BTCTRY',
    side: 'buy' as const,
    price: new Dec(100),
    quantity: p.sim.filled,
    fee: new Dec(0),
    tax: new Dec(0),
    feeAsset: 'TRY',
    timestamp: 1,
  };
  return {
    local: {
      ...common,
      exchangeOrderId: p.sim.id,
      base: 'BTC',
      quote: 'TRY',
      orderId: p.local.id,
      source: 'stream',
      recordedAt: 1,
    },
    sim: { ...common, orderId: p.sim.id, accountId: ACCOUNT, maker: true },
  };
}

function check(
  localOrders: StoredOrder[],
  localFills: StoredFill[],
  simOrders: SimOrder[],
  simFills: SimFill[],
) {
  const store = {
    orders: () => Promise.resolve(localOrders),
    orderByClientId: (id: string) => Promise.resolve(localOrders.find((o) => o.clientOrderId === id)),
    fills: () => Promise.resolve(localFills),
  };
  const truth: SimGroundTruth = { orders: simOrders, fills: simFills, trades: [], balances: {} };
  return compareBothWays(store, truth, ACCOUNT, PREFIX);
}

describe('compareBothWays', () => {
  const open = pair(1);
  const filled = pair(2, { filled: '1' });
  const fill = fills(filled, '900');

  it('counts nothing when the store and the exchange agree', async () => {
    const d = await check([open.local, filled.local], [fill.local], [open.sim, filled.sim], [fill.sim]);
    assert.equal(d.total, 0, d.details.join('\n'));
  });

  it('finds an exchange order missing from the store (lost) and a store order the exchange lacks (phantom)', async () => {
    const d = await check([filled.local, pair(3).local], [fill.local], [open.sim, filled.sim], [fill.sim]);
    assert.equal(d.lost, 1, d.details.join('\n'));
    assert.equal(d.phantom, 1, d.details.join('\n'));
  });

  it('finds an exchange order stored twice', async () => {
    const twice = { ...open.local, id: 'local-1b', intentId: 'other' };
    const d = await check([open.local, twice], [], [open.sim], []);
    assert.equal(d.duplicates, 1, d.details.join('\n'));
  });

  it('finds a fill lost, a fill stored twice and a fill the exchange never made', async () => {
    const lostFill = await check([open.local, filled.local], [], [open.sim, filled.sim], [fill.sim]);
    assert.ok(lostFill.fillMismatches >= 1, lostFill.details.join('\n'));
    const twice = await check([filled.local], [fill.local, fill.local], [filled.sim], [fill.sim]);
    assert.equal(twice.duplicates, 1, twice.details.join('\n'));
    const phantom = fills(filled, '901').local;
    const extra = await check([filled.local], [fill.local, phantom], [filled.sim], [fill.sim]);
    assert.equal(extra.phantom, 1, extra.details.join('\n'));
  });

  it('tells the two sides of a self-match apart by (trade id, order id)', async () => {
    const other = pair(4, { filled: '1' });
    const a = fills(filled, '777');
    const b = fills(other, '777');
    const oneSide = await check(
      [filled.local, other.local],
      [a.local],
      [filled.sim, other.sim],
      [a.sim, b.sim],
    );
    assert.ok(oneSide.fillMismatches >= 1, oneSide.details.join('\n'));
    const both = await check(
      [filled.local, other.local],
      [a.local, b.local],
      [filled.sim, other.sim],
      [a.sim, b.sim],
    );
    assert.equal(both.total, 0, both.details.join('\n'));
  });

  it('finds orders left UNKNOWN or PENDING_CANCEL, a wrong state, and a REJECTED order that was placed', async () => {
    const unknown = { ...open.local, state: 'UNKNOWN' as const };
    const d1 = await check([unknown], [], [open.sim], []);
    assert.equal(d1.unsettled, 1, d1.details.join('\n'));
    assert.equal(d1.stateMismatches, 1, d1.details.join('\n'));
    const pending = { ...open.local, state: 'PENDING_CANCEL' as const };
    assert.equal((await check([pending], [], [open.sim], [])).unsettled, 1);
    const rejected = { ...open.local, state: 'REJECTED' as const, exchangeOrderId: null };
    const d2 = await check([rejected], [], [open.sim], []);
    assert.equal(d2.phantom, 1, d2.details.join('\n'));
  });
});

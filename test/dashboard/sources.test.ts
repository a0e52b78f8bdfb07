import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { EngineStats } from '../../src/engine/engine.ts';
import type { TopOfBook } from '../../src/market/service.ts';
import type { ReconcileReport } from '../../src/oms/oms.ts';
import {
  LiveDashboardSource,
  ReconciliationTracker,
  StoreDashboardSource,
  type LiveBot,
} from '../../src/ops/dashboard/sources.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { fillReport, tempDir } from '../store/helpers.ts';
import { PLANTED_SECRET, seededStore, T0 } from './fixture.ts';

test('store only: orders, fills, positions, decisions and charts; the rest is "not running"', async (t) => {
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const reader = await openSqliteStoreReader({ path });
  t.after(() => reader.close());
  const s = await new StoreDashboardSource(reader, { canControl: false, now: () => T0 + 60_000 }).snapshot();

  assert.equal(s.source, 'store');
  assert.equal(s.running, false);
  assert.equal(s.mode, null);
  assert.equal(s.engine, null);
  assert.equal(s.budget, null);
  assert.equal(s.limiter, null);
  assert.equal(s.reconciliation, null);
  assert.equal(s.canControl, false);
  assert.deepEqual(
    s.openOrders.map((o) => [o.clientOrderId, o.state, o.filled]),
    [['bb-bid', 'PARTIALLY_FILLED', '0.004']],
  );
  assert.deepEqual(
    s.fills.map((f) => [f.symbol, f.side, f.price, f.quantity]),
    [['BTCTRY', 'buy', '2000000', '0.004']],
  );
  const btc = s.symbols.find((x) => x.symbol === 'BTCTRY');
  assert.ok(btc);
  assert.equal(btc.position, '0.004');
  assert.equal(btc.ourBid, '2000000');
  assert.equal(btc.ourAsk, null); // the ask was canceled
  assert.equal(btc.status, null);
  assert.equal(btc.bookBid, null);
  assert.equal(btc.fees, '1.42'); // 1.2 fee + 0.216 tax, at the money scale
  assert.ok(s.pnl);
  assert.equal(s.pnl.from, 'store');
  assert.equal(s.pnl.equity, '1000040');

  const kinds = s.decisions.map((d) => d.kind);
  for (const kind of ['placed', 'canceled', 'rejected'] as const) assert.ok(kinds.includes(kind), kind);
  assert.ok(s.decisions.some((d) => d.kind === 'canceled' && d.text.endsWith(': quote moved')));
  assert.ok(s.decisions.some((d) => d.kind === 'rejected' && d.text.includes('insufficient balance')));
  assert.ok(s.decisions.some((d) => d.kind === 'placed' && d.text.includes('mm:BTCTRY:bid:0')));

  assert.match(s.charts.equity, /<svg id="equity-chart"/);
  assert.match(s.charts.equity, /class="series"/);
  const price = s.charts.prices.find((c) => c.symbol === 'BTCTRY');
  assert.ok(price);
  assert.equal((price.svg.match(/class="fill-marker"/g) ?? []).length, 1);
  assert.match(price.svg, /data-series="our bid"/);
  assert.ok(!JSON.stringify(s).includes(PLANTED_SECRET));
});

function stats(evaluations: number, refusals: EngineStats['refusals']): EngineStats {
  return {
    evaluations,
    evaluationFailures: 0,
    submits: 3,
    replaces: 1,
    replacesAborted: 0,
    cancels: 2,
    actionFailures: 0,
    refusals,
    streamFills: 0,
    resyncs: 0,
    escalations: 0,
    lastEvaluationAt: T0 + evaluations * 1_000,
  };
}

function top(bid: string, ask: string): TopOfBook {
  return {
    symbol: 'BTCTRY',
    bid: { price: new Dec(bid), quantity: new Dec(1) },
    ask: { price: new Dec(ask), quantity: new Dec(1) },
    ageMs: 42.4,
    status: 'live',
    source: 'stream',
    changeSet: 1,
  };
}

test('live: the running bot adds market data, the engine, the budgets, the last reconciliation and refusals', async (t) => {
  const { store } = await seededStore(tempDir(t));
  t.after(() => store.close());
  let now = T0 + 60_000;
  let evaluations = 10;
  let refusals: EngineStats['refusals'] = { 'not-ready': 2 };
  let book = top('1999000', '2001000');
  const tracker = new ReconciliationTracker(() => now);
  const bot: LiveBot = {
    mode: 'paper',
    symbols: ['BTCTRY'],
    engine: {
      stats: () => stats(evaluations, refusals),
      waiting: () => [
        { symbol: 'BTCTRY', blockers: [{ kind: 'market-data', reason: 'stale', since: null }] },
      ],
      budgetUse: () => ({ used: 20, limit: 120 }),
      valuation: () => Promise.resolve(null),
    },
    market: { top: () => book },
    limiter: {
      headroom: () =>
        Promise.resolve([
          { group: 'order', windows: [{ limit: 300, periodMs: 60_000, used: 12 }], blockedForMs: 0 },
        ]),
    },
    lastReconciliation: () => tracker.last(),
    target: (symbol) => (symbol === 'BTCTRY' ? new Dec('0.01') : null),
  };
  const source = new LiveDashboardSource(store, bot, { canControl: true, now: () => now });
  const first = await source.snapshot();
  assert.equal(first.running, true);
  assert.equal(first.mode, 'paper');
  assert.equal(first.reconciliation, null);
  assert.deepEqual(first.budget, { used: 20, limit: 120, headroom: 100 });
  assert.deepEqual(first.limiter, [
    { group: 'order', periodMs: 60_000, limit: 300, used: 12, remaining: 288, blockedForMs: 0 },
  ]);
  const btc = first.symbols[0];
  assert.ok(btc);
  assert.deepEqual(
    [btc.symbol, btc.status, btc.dataAgeMs, btc.bookBid, btc.bookAsk, btc.ourBid, btc.target],
    ['BTCTRY', 'live', 42, '1999000', '2001000', '2000000', '0.01'],
  );
  assert.deepEqual(btc.blockers, ['market-data: stale']);
  assert.equal(first.engine?.evaluations, 10);
  assert.ok(first.decisions.some((d) => d.kind === 'refused' && d.text.includes('not-ready')));

  // The next snapshot: the loop went on, a refusal by another gate, a reconciliation finished.
  now += 1_000;
  evaluations = 11;
  refusals = { 'not-ready': 2, 'max-position': 1 };
  book = top('1998000', '2002000');
  const report: ReconcileReport = {
    clean: false,
    symbols: ['BTCTRY'],
    actions: {},
    failures: [],
    divergences: ['BTCTRY: order 5001 rests on the exchange with 0.005 filled, 0.004 here'],
    unresolved: 0,
    openReplaces: 0,
    escalation: { level: 'NORMAL', reason: null, at: null },
  };
  tracker.note(report);
  const second = await source.snapshot();
  assert.equal(second.engine?.evaluations, 11);
  assert.ok(second.reconciliation);
  assert.equal(second.reconciliation.clean, false);
  assert.match(second.reconciliation.found, /0\.005 filled/);
  assert.equal(second.reconciliation.at, now);
  const refused = second.decisions.filter((d) => d.kind === 'refused');
  assert.equal(refused.length, 2, 'the not-ready refusals are not counted twice');
  assert.ok(refused.some((d) => d.text.includes('max-position')));
  const chart = second.charts.prices[0]?.svg ?? '';
  assert.match(chart, /data-series="book bid"/);
  assert.match(chart, /data-series="our bid"/);
});

test('store only: what is written after a snapshot shows in the next (the incremental reads miss nothing)', async (t) => {
  const { path, store } = await seededStore(tempDir(t));
  t.after(() => store.close());
  const reader = await openSqliteStoreReader({ path });
  t.after(() => reader.close());
  const source = new StoreDashboardSource(reader, { canControl: false });
  const first = await source.snapshot();
  assert.equal(first.fills.length, 1);

  const bid = await store.orderByClientId('bb-bid');
  assert.ok(bid);
  await store.recordFill(
    fillReport({
      tradeId: 'tr-2',
      exchangeOrderId: '5001',
      clientOrderId: 'bb-bid',
      quantity: new Dec('0.001'),
      timestamp: T0 + 50_000,
    }),
    'poll',
  );
  await store.applyEvent(bid.id, { type: 'cancel-requested' });
  await store.applyEvent(bid.id, { type: 'canceled', reason: 'strategy stopped quoting' });
  await store.recordEquitySnapshot({
    at: T0 + 100_000,
    currency: 'TRY',
    equity: new Dec(999_000),
    cash: new Dec(990_000),
    realised: new Dec(0),
    unrealised: new Dec(0),
    fees: new Dec(0),
    peakEquity: new Dec(1_000_040),
  });
  const second = await source.snapshot();
  assert.equal(second.fills.length, 2);
  assert.equal(second.symbols.find((x) => x.symbol === 'BTCTRY')?.position, '0.005');
  assert.deepEqual(second.openOrders, []);
  assert.ok(second.decisions.some((d) => d.text.endsWith('canceled: strategy stopped quoting')));
  assert.equal(second.pnl?.equity, '999000');
  assert.notEqual(second.charts.equity, first.charts.equity);
});

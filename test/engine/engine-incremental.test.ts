import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { BalanceReport } from '../../src/domain/reports.ts';
import { Engine, type EngineTimings } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import type { ReplaceRequest, ReplaceResult } from '../../src/oms/index.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import { openLiveStore } from '../../src/store/live-view.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { marketMakerDefinition } from '../../src/strategies/market-maker.ts';
import type { Strategy } from '../../src/strategies/types.ts';
import { btcRules, FakeMarket, FakeOms } from './engine-fakes.ts';

// Incremental evaluation (Engine option `incremental`, a per-symbol strategy): the strategy and the
// diff see only the symbols whose market, position or orders changed, or that still had something
// to do; the plan's gates still see every order. What goes out must be what a whole-portfolio
// evaluation sends, step for step.

const QUIET: Partial<EngineTimings> = {
  evaluateEveryMs: 3_600_000,
  balancesEveryMs: 3_600_000,
  equityEveryMs: 3_600_000,
  debounceMs: 0,
};

const SYMBOLS = ['BTCTRY', 'ETHTRY', 'XRPTRY'] as const;

/** FakeOms taking the order itself too, as the engine passes it over a live store (as Oms does). */
class LiveFakeOms extends FakeOms {
  override replace(order: string | StoredOrder, request: ReplaceRequest): Promise<ReplaceResult> {
    return super.replace(typeof order === 'string' ? order : order.id, request);
  }
}

function balances(entries: Record<string, string>): BalanceReport[] {
  return Object.entries(entries).map(([asset, amount]) => ({
    asset,
    total: new Dec(amount),
    free: new Dec(amount),
    locked: new Dec(0),
  }));
}

async function rig(
  t: TestContext,
  incremental: boolean,
  risk: Record<string, unknown> = {},
  perMinute = 120,
) {
  const store = await openLiveStore(await openSqliteStore({ path: ':memory:' }), { watch: { kind: 'none' } });
  t.after(() => store.close());
  const market = new FakeMarket();
  const oms = new LiveFakeOms(store);
  const maker = marketMakerDefinition.create({ targetBase: '0', sizeQuote: '500' });
  const asked: string[][] = [];
  const strategy: Strategy = {
    ...maker,
    want: (snapshot) => {
      asked.push([...snapshot.markets.keys()]);
      return maker.want(snapshot);
    },
  };
  let wallet = balances({ TRY: '1000000', BTC: '1', ETH: '10', XRP: '1000' });
  const engine = new Engine({
    oms,
    store,
    exchange: { balances: () => Promise.resolve(wallet) },
    market,
    strategy,
    limits: parseRiskLimits(risk),
    symbols: SYMBOLS,
    rules: new Map([
      ['BTCTRY', btcRules()],
      ['ETHTRY', btcRules('ETHTRY', 'ETH')],
      ['XRPTRY', btcRules('XRPTRY', 'XRP')],
    ]),
    budget: new OrderRateBudget(perMinute),
    timings: QUIET,
    incremental,
  });
  t.after(() => engine.stop());
  await engine.refreshBalances();
  const step = async () => {
    const plan = await engine.evaluate();
    await engine.settle();
    return plan;
  };
  const setWallet = async (entries: Record<string, string>) => {
    wallet = balances(entries);
    await engine.refreshBalances();
  };
  return { store, market, oms, engine, step, asked, setWallet };
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** A script of market moves, switches and wallet changes; what each step sent and refused. */
async function script(r: Rig): Promise<string[]> {
  const out: string[] = [];
  const step = async (label: string) => {
    r.oms.calls.length = 0;
    const plan = await r.step();
    const refusals = (plan?.refusals ?? []).map((x) => `${x.gate}:${x.tag}`).sort();
    out.push(`${label}: ${r.oms.calls.join(' | ')} / refused ${refusals.join(',')}`);
  };
  // One symbol at a time at first: FakeOms numbers its acks from one counter shared by symbols.
  r.market.setTop('BTCTRY', '3500000', '3500100');
  r.market.setTop('ETHTRY', '120000', '120010', 'stale');
  r.market.setTop('XRPTRY', '20', '21', 'stale');
  await step('start');
  r.market.setTop('ETHTRY', '120000', '120010');
  await step('ETH fresh');
  await step('quiet again');
  r.market.setTop('ETHTRY', '121000', '121010');
  await step('ETH moves');
  r.market.setTop('XRPTRY', '20', '21');
  await step('XRP fresh');
  r.market.setTop('BTCTRY', '3500000', '3500100', 'stale');
  await step('BTC stale');
  await r.store.setKillSwitch(true, 'test');
  r.market.setTop('BTCTRY', '3520000', '3520100');
  await step('kill switch, BTC back and moved');
  await step('kill switch, quiet');
  await r.store.setKillSwitch(false, 'test');
  await step('kill switch off');
  await r.setWallet({ TRY: '50', BTC: '1', ETH: '10', XRP: '1000' });
  r.market.setTop('ETHTRY', '122000', '122010');
  await step('little TRY, ETH moves');
  r.market.setTop('BTCTRY', '3520000', '3520100', 'stale');
  await step('little TRY, BTC stale');
  r.market.setTop('BTCTRY', '3520000', '3520100');
  await step('little TRY, BTC back');
  await step('little TRY, quiet');
  await r.setWallet({ TRY: '1000000', BTC: '1', ETH: '10', XRP: '1000' });
  await step('TRY back');
  await step('quiet at the end');
  return out;
}

describe('engine: incremental evaluation', () => {
  it('asks the strategy only about the symbols whose inputs changed', async (t) => {
    const r = await rig(t, true);
    // One symbol at a time: FakeOms numbers its acks from one counter shared by symbols.
    r.market.setTop('BTCTRY', '3500000', '3500100');
    await r.step();
    assert.deepEqual(r.asked[0], [...SYMBOLS], 'the first evaluation asks about every symbol');
    r.market.setTop('ETHTRY', '120000', '120010');
    await r.step();
    r.market.setTop('XRPTRY', '20', '21');
    await r.step();
    assert.equal(r.oms.calls.length, 3, 'a bid on each');
    // Their orders changed since (the evaluation their actions asked for saw them): once settled,
    // an evaluation with nothing new asks about no symbol.
    r.oms.calls.length = 0;
    await r.step();
    assert.deepEqual(r.asked.at(-1), [], 'nothing changed: no symbol asked about');
    assert.deepEqual(r.oms.calls, []);
    let mark = r.asked.length;
    r.market.setTop('ETHTRY', '121000', '121010');
    await r.step();
    assert.deepEqual(r.asked[mark], ['ETHTRY'], 'only the symbol that moved');
    assert.ok(r.asked.slice(mark).every((a) => a.length === 0 || (a.length === 1 && a[0] === 'ETHTRY')));
    assert.deepEqual(r.oms.calls, ['replace mm:ETHTRY:bid:0 -> 120702']);
    await r.step();
    mark = r.asked.length;
    // A change of the quantity at the touch only: the strategy's inputs are the same.
    const top = r.market.setTop('ETHTRY', '121000', '121010');
    r.market.tops.set('ETHTRY', { ...top, bid: { price: new Dec('121000'), quantity: new Dec(9) } });
    await r.step();
    assert.deepEqual(r.asked.slice(mark), [[]]);
  });

  it('keeps asking about a symbol whose orders were refused, until they go out', async (t) => {
    const r = await rig(t, true, { maxOpenOrders: 2, maxOpenOrdersPerSymbol: 1 });
    r.market.setTop('BTCTRY', '3500000', '3500100');
    r.market.setTop('ETHTRY', '120000', '120010');
    r.market.setTop('XRPTRY', '20', '21');
    const plan = await r.step();
    assert.deepEqual(
      plan?.refusals.map((x) => `${x.gate}:${x.tag}`),
      ['max-open-orders:mm:XRPTRY:bid:0'],
    );
    await r.step();
    await r.step();
    assert.deepEqual(r.asked.at(-1), ['XRPTRY'], 'the refused symbol is asked about every time');
    const refusals = r.engine.stats().refusals['max-open-orders'];
    await r.step();
    assert.equal(r.engine.stats().refusals['max-open-orders'], (refusals ?? 0) + 1, 'and counted as before');
  });

  it('sends and refuses exactly what whole-portfolio evaluations do, step for step', async (t) => {
    const whole = await script(await rig(t, false, { maxOpenOrders: 5, maxOpenOrdersPerSymbol: 2 }, 120));
    const incremental = await script(
      await rig(t, true, { maxOpenOrders: 5, maxOpenOrdersPerSymbol: 2 }, 120),
    );
    assert.deepEqual(incremental, whole);
    // The script is not vacuous: it placed, replaced, cancelled and refused.
    const text = whole.join('\n');
    for (const what of ['submit', 'replace', 'cancel', 'kill-switch', 'balance'])
      assert.ok(text.includes(what), `the script exercises ${what}:\n${text}`);
  });
});

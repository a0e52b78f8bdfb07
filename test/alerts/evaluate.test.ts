import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, fillsCursor, type StateEntry } from '../../src/ops/alerts/evaluate.ts';
import type { AlertFigures } from '../../src/ops/alerts/figures.ts';
import { DEFAULT_THRESHOLDS, RULE_NAMES, type RuleName } from '../../src/ops/alerts/rules.ts';
import { figures, START } from './fixtures.ts';

const ALL = new Set<RuleName>(RULE_NAMES);

/** Evaluates tick after tick, carrying the state as the service does (put replaces, remove deletes). */
class Ticker {
  states: StateEntry[] = [];
  constructor(readonly enabled: ReadonlySet<RuleName> = ALL) {}

  tick(now: number, f: AlertFigures) {
    const out = evaluate({
      figures: f,
      states: this.states,
      now,
      thresholds: DEFAULT_THRESHOLDS,
      enabled: this.enabled,
    });
    const gone = new Set([...out.remove, ...out.put].map((e) => `${e.rule}/${e.key}`));
    // Through JSON, as the store keeps it.
    this.states = [
      ...this.states.filter((s) => !gone.has(`${s.rule}/${s.key}`)),
      ...out.put.map((e) => ({ ...e, state: JSON.parse(JSON.stringify(e.state)) as unknown })),
    ];
    return out;
  }
}

const said = (out: ReturnType<Ticker['tick']>) =>
  out.transitions.map((t) => `${t.status} ${t.rule}/${t.key}`);

describe('alert rules (pure evaluation)', () => {
  it('a healthy bot fires nothing', () => {
    const r = new Ticker();
    for (let i = 0; i < 5; i += 1)
      assert.deepEqual(said(r.tick(START + i * 5_000, figures(START + i * 5_000))), []);
  });

  it('HALTED fires once, stays quiet while it lasts, resolves once', () => {
    const r = new Ticker();
    const halted = { escalation: { level: 'HALTED' as const, reason: 'reconciliation failed 5 times' } };
    const first = r.tick(START, figures(START, halted));
    assert.deepEqual(said(first), ['firing halted/main']);
    assert.match(first.transitions[0]?.summary ?? '', /HALTED .*reconciliation failed 5 times/);
    assert.equal(first.transitions[0]?.severity, 'critical');
    assert.deepEqual(said(r.tick(START + 5_000, figures(START + 5_000, halted))), []);
    assert.deepEqual(said(r.tick(START + 10_000, figures(START + 10_000))), ['resolved halted/main']);
    assert.deepEqual(said(r.tick(START + 15_000, figures(START + 15_000))), []);
  });

  it('REDUCE_ONLY stepping up to HALTED resolves one and fires the other', () => {
    const r = new Ticker();
    r.tick(START, figures(START, { escalation: { level: 'REDUCE_ONLY', reason: 'x' } }));
    const out = r.tick(START + 1, figures(START + 1, { escalation: { level: 'HALTED', reason: 'y' } }));
    assert.deepEqual(said(out).sort(), ['firing halted/main', 'resolved reduce-only/main']);
  });

  it('an UNKNOWN order fires only once it is older than the threshold, per order', () => {
    const r = new Ticker();
    const unknown = { unknownOrders: [{ orderId: 'o-1', symbol: 'BTCTRY', since: START }] };
    assert.deepEqual(said(r.tick(START + 29_000, figures(START + 29_000, unknown))), []);
    assert.deepEqual(said(r.tick(START + 30_000, figures(START + 30_000, unknown))), [
      'firing unknown-order/o-1',
    ]);
    assert.deepEqual(said(r.tick(START + 35_000, figures(START + 35_000, unknown))), []);
    assert.deepEqual(said(r.tick(START + 40_000, figures(START + 40_000))), ['resolved unknown-order/o-1']);
  });

  it('a 429 burst is counted over a window kept across a restart (the counter restarts at 0)', () => {
    const r = new Ticker();
    // 3 in the first run...
    assert.deepEqual(said(r.tick(START + 1_000, figures(START + 1_000, { rateLimited: 3 }))), []);
    // ...the process restarts (new startedAt, counter from 0) and sees 2 more within the minute: 5.
    const restarted = START + 20_000;
    const out = r.tick(
      restarted + 1_000,
      figures(restarted + 1_000, { startedAt: restarted, rateLimited: 2 }),
    );
    assert.deepEqual(said(out), ['firing rate-limit-burst/main']);
    assert.match(out.transitions[0]?.summary ?? '', /^5 rate-limit \(429\) answers/);
    // No more 429s: once the first three leave the window, the burst is over.
    assert.deepEqual(
      said(r.tick(START + 50_000, figures(START + 50_000, { startedAt: restarted, rateLimited: 2 }))),
      [],
    );
    assert.deepEqual(
      said(r.tick(START + 61_001, figures(START + 61_001, { startedAt: restarted, rateLimited: 2 }))),
      ['resolved rate-limit-burst/main'],
    );
  });

  it('stale data must last its hold time; flapping before it fires nothing', () => {
    const r = new Ticker();
    const stale = { marketData: [{ symbol: 'BTCTRY', status: 'stale' as const, dataAgeMs: 12_000 }] };
    assert.deepEqual(said(r.tick(START, figures(START, stale))), []);
    assert.deepEqual(
      said(r.tick(START + 10_000, figures(START + 10_000))),
      [],
      'recovered before the hold: silent',
    );
    assert.deepEqual(said(r.tick(START + 20_000, figures(START + 20_000, stale))), []);
    assert.deepEqual(said(r.tick(START + 50_000, figures(START + 50_000, stale))), [
      'firing stale-data/BTCTRY',
    ]);
    assert.deepEqual(said(r.tick(START + 55_000, figures(START + 55_000))), ['resolved stale-data/BTCTRY']);
  });

  it('reconciliation failures and divergences fire on their windowed counts', () => {
    const r = new Ticker();
    const out = r.tick(START, figures(START, { reconcile: { runs: 9, failures: 3, divergences: 4 } }));
    assert.deepEqual(said(out).sort(), ['firing reconcile-diverging/main', 'firing reconcile-failing/main']);
  });

  it('each drawdown step fires once as it is crossed and resolves as equity recovers above it', () => {
    const r = new Ticker();
    const at = (equity: string) => ({ equity: { equity, peak: '1000000', currency: 'TRY' } });
    assert.deepEqual(said(r.tick(START, figures(START, at('970000')))), ['firing drawdown/2%']);
    assert.deepEqual(said(r.tick(START + 1, figures(START + 1, at('940000')))), ['firing drawdown/5%']);
    assert.deepEqual(said(r.tick(START + 2, figures(START + 2, at('945000')))), []);
    assert.deepEqual(said(r.tick(START + 3, figures(START + 3, at('990000')))).sort(), [
      'resolved drawdown/2%',
      'resolved drawdown/5%',
    ]);
  });

  it('a refused WebSocket login fires and stays up until a login succeeds', () => {
    const r = new Ticker();
    const refused = (n: number, loggedIn: boolean) => ({ privateStream: { loginRefusals: n, loggedIn } });
    assert.deepEqual(said(r.tick(START, figures(START, refused(1, false)))), [
      'firing ws-login-refused/main',
    ]);
    assert.deepEqual(said(r.tick(START + 120_000, figures(START + 120_000, refused(1, false)))), []);
    assert.deepEqual(said(r.tick(START + 130_000, figures(START + 130_000, refused(1, true)))), [
      'resolved ws-login-refused/main',
    ]);
  });

  it('a stalled engine loop fires; a loop that runs again resolves it', () => {
    const r = new Ticker();
    const stalled = (now: number) => figures(now, { lastLoopAt: START });
    assert.deepEqual(said(r.tick(START + 29_999, stalled(START + 29_999))), []);
    assert.deepEqual(said(r.tick(START + 30_000, stalled(START + 30_000))), ['firing loop-stalled/main']);
    assert.deepEqual(said(r.tick(START + 40_000, figures(START + 40_000))), ['resolved loop-stalled/main']);
  });

  it('a rule turned off neither fires nor keeps state', () => {
    const r = new Ticker(new Set(RULE_NAMES.filter((n) => n !== 'halted')));
    const out = r.tick(START, figures(START, { escalation: { level: 'HALTED', reason: 'x' } }));
    assert.deepEqual(said(out), []);
    assert.ok(!r.states.some((s) => s.rule === 'halted'));
  });

  it('fills are batched into one digest per interval, each fill counted once across re-reads', () => {
    const r = new Ticker();
    const fill = (id: string, recordedAt: number, side: 'buy' | 'sell' = 'buy') => ({
      tradeId: id,
      exchangeOrderId: 'x1',
      symbol: 'BTCTRY',
      side,
      price: '2000000',
      quantity: '0.01',
      fee: '20',
      feeAsset: 'TRY',
      recordedAt,
    });
    const a = fill('t1', START + 10);
    const b = fill('t2', START + 10);
    assert.equal(r.tick(START + 100, figures(START + 100, { fills: [a] })).digest, null);
    assert.equal(fillsCursor(r.states), START + 10);
    // The next read starts at the cursor, inclusive: t1 comes again and is not counted twice.
    assert.equal(r.tick(START + 200, figures(START + 200, { fills: [a, b] })).digest, null);
    const out = r.tick(
      START + 60_100,
      figures(START + 60_100, { fills: [a, b, fill('t3', START + 50_000, 'sell')] }),
    );
    assert.ok(out.digest);
    assert.equal(out.digest.count, 3);
    assert.deepEqual(out.digest.lines, [
      { symbol: 'BTCTRY', side: 'buy', count: 2, quantity: '0.02', quote: '40000', fees: { TRY: '40' } },
      { symbol: 'BTCTRY', side: 'sell', count: 1, quantity: '0.01', quote: '20000', fees: { TRY: '20' } },
    ]);
    assert.equal(r.tick(START + 130_000, figures(START + 130_000)).digest, null, 'nothing new: no digest');
  });
});

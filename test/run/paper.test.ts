import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Dec } from '../../src/domain/decimal.ts';
import type { FillReport } from '../../src/domain/reports.ts';
import { holdingsAfterFills } from '../../src/engine/portfolio.ts';
import { defaultBalances, simPairs } from '../../src/sim/server/markets.ts';
import { expectStoreAgrees, spawnBot, tempDir, type SimStateJson } from './helpers.ts';

// `npm start` in miniature: the real binary in paper mode, on its in-process simulator, for a
// fixed time. It must trade (place, fill, replace, cancel on two symbols), show what it does, stop
// by itself with exit 0, and leave a store that agrees with the simulator's ground truth.

describe('btcbot run --mode paper', () => {
  it('places, fills, replaces and cancels on two symbols, prints its summary, exits 0, and agrees with the simulator', async (t) => {
    const dir = tempDir(t);
    const truthFile = join(dir, 'truth.json');
    const bot = spawnBot([
      'run',
      '--mode',
      'paper',
      '--duration',
      '20s',
      '--speed',
      '3',
      '--seed',
      '11',
      '--db',
      join(dir, 'bot.db'),
      '--metrics-port',
      '0',
      '--paper-state-file',
      truthFile,
    ]);
    const metricsLine = await bot.waitFor(/^ {2}metrics: http/);
    const url = /http:\/\/\S+/.exec(metricsLine)?.[0] ?? '';
    const expected = [
      'btcbot_active_orders{',
      'btcbot_fills_total',
      'btcbot_market_data_age_seconds{symbol="BTCTRY"}',
      'btcbot_market_status{symbol="ETHTRY",status="live"} 1',
      'btcbot_escalation_level 0',
      'btcbot_rate_budget_orders{kind="limit"} 120',
      'btcbot_ws_reconnects_total',
      'btcbot_ws_connects_total',
      // The private stream logs in (nonce 3000, stamped with the server's clock): nothing refused.
      'btcbot_ws_logged_in 1',
      'btcbot_ws_login_refusals_total 0',
      'btcbot_market_book_events_total{symbol="BTCTRY",event="gap"}',
      // The simulator speaks BTCTurk's real layout: every frame reads, no change kind is unknown.
      'btcbot_ws_problems_total{kind="unreadable-frame"} 0',
      'btcbot_market_book_events_total{symbol="BTCTRY",event="unknown-change-kind"} 0',
      'btcbot_market_fallback_seconds_total{symbol="ETHTRY"}',
      'btcbot_account_value{kind="equity",currency="TRY"}',
    ];
    // Scraped while the bot runs until each has shown: a gauge without a sample is a true answer at
    // moments (no order active after fills, the account not yet valued), not a missing metric.
    let missing = expected;
    let metrics = '';
    for (let scrape = 0; scrape < 60 && missing.length > 0; scrape += 1) {
      metrics = await (await fetch(url)).text();
      missing = missing.filter((line) => !metrics.includes(line));
      if (missing.length > 0) await sleep(250);
    }
    assert.deepEqual(missing, [], `metrics lack ${missing.join(', ')}:\n${metrics.slice(0, 2000)}`);
    await bot.waitFor(/^\[\d+s\] equity \d+/);

    const { code } = await bot.exit;
    const stdout = bot.lines.join('\n');
    assert.equal(code, 0, `exit ${String(code)}\n${stdout}\n${bot.stderr().slice(-3000)}`);
    assert.match(stdout, /^btcbot paper mode: market-maker on BTCTRY, ETHTRY$/m);
    assert.match(stdout, /state: .*bot\.paper\.db \(fresh for this session\)/);
    assert.match(stdout, /book changes batched every 255 ms \(BTCTurk's ~764 ms at speed 3\)/);
    assert.doesNotMatch(stdout, /private stream:/, 'the private stream was down or refused');
    assert.match(stdout, /^start-up reconciliation: clean$/m);
    assert.match(stdout, /^stopped \(duration reached\) after 2\ds$/m);
    assert.match(stdout, /final reconciliation: clean/);
    assert.match(stdout, /open orders left: 0/);

    const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as SimStateJson;
    const { orders, fills } = await expectStoreAgrees(join(dir, 'bot.paper.db'), truth, 'account-1');
    for (const symbol of ['BTCTRY', 'ETHTRY']) {
      const on = orders.filter((o) => o.symbol === symbol);
      assert.ok(
        on.some((o) => o.replaceOf !== null),
        `no replace on ${symbol}`,
      );
      assert.ok(
        on.some((o) => o.state === 'CANCELED'),
        `no cancel on ${symbol}`,
      );
      assert.ok(
        on.every((o) => o.intentId?.startsWith(`mm:${symbol}:`)),
        `an order on ${symbol} lost its slot tag`,
      );
    }
    assert.ok(fills > 0, 'nothing filled');
    assert.ok(
      truth.orders.every(
        (o) => o.accountId !== 'account-1' || o.status === 'filled' || o.status === 'canceled',
      ),
      'an order of ours still rests on the simulator after the exit',
    );

    // The account holds exactly what its starting balances and its fills make.
    const start = new Map(Object.entries(defaultBalances(simPairs(['BTCTRY', 'ETHTRY']))));
    const ourFills: FillReport[] = truth.fills
      .filter((f) => f.accountId === 'account-1')
      .map((f) => ({
        ...f,
        exchangeOrderId: f.orderId,
        base: f.symbol.slice(0, 3),
        quote: 'TRY',
        price: new Dec(f.price),
        quantity: new Dec(f.quantity),
        fee: new Dec(f.fee),
        tax: new Dec(f.tax),
        timestamp: 0,
      }));
    const implied = holdingsAfterFills(start, ourFills);
    for (const balance of truth.balances['account-1'] ?? [])
      assert.equal(
        new Dec(balance.free).add(balance.locked).toFixed(),
        implied.get(balance.asset)?.toFixed(),
        `${balance.asset} balance`,
      );
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms } from '../../src/oms/index.ts';
import type { SimOrder } from '../../src/sim/engine/api.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { runCli } from '../helpers/cli.ts';
import { exchangeFor, FAST_TIMINGS } from './sim-helpers.ts';

// The operator commands as a user runs them: `btcbot …` child processes against the simulator, on
// a database file. X6 (a second process on the same database) is here too.

const HOLDER = fileURLToPath(new URL('../store/fixtures/store-process.ts', import.meta.url));
const PREFIX = 'cli';

interface StoredJson {
  id: string;
  clientOrderId: string;
  exchangeOrderId: string | null;
  state: string;
  filledQuantity: string;
}

describe('btcbot orders, fills, reconcile, cancel, cancel-all, kill-switch', () => {
  let sim: RunningSimulator;
  let dir: string;
  let db: string;
  let env: Record<string, string>;
  const placed: { clientOrderId: string; exchangeOrderId: string; id: string }[] = [];
  const ours = (): SimOrder[] => sim.groundTruth().orders.filter((o) => o.accountId === sim.accountId);

  before(async () => {
    sim = await startSimulator({ seed: 501, autoMarket: false });
    dir = mkdtempSync(join(tmpdir(), 'btcbot-cli-'));
    db = join(dir, 'nested', 'bot.db');
    env = {
      BTCTURK_BASE_URL: sim.restUrl,
      BTCTURK_API_KEY: sim.apiKey,
      BTCTURK_API_SECRET: sim.apiSecret,
      BTCBOT_CLIENT_ID_PREFIX: PREFIX,
    };
  });
  after(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reconcile refuses a database that does not exist (exit 2, --db named), then finds a new one clean', async () => {
    const missing = await runCli(['reconcile', '--db', db], env);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--db: no database at /);
    assert.ok(!existsSync(db), 'an operator command creates no store');
    await (await openSqliteStore({ path: db })).close();
    const res = await runCli(['reconcile', '--db', db], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^clean: symbols -; repairs \{\}; escalation NORMAL/);
  });

  it('orders and fills show what the store knows (a bot placed two orders, one partly filled)', async () => {
    const store = await openSqliteStore({ path: db });
    const exchange = exchangeFor(sim, 5);
    try {
      const oms = new Oms({
        store,
        exchange,
        prefix: PREFIX,
        symbols: ['BTCTRY'],
        timings: FAST_TIMINGS,
        random: seededRandom(5),
      });
      await oms.start();
      const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price ?? new Dec(0);
      for (const price of [bid.add(2), bid.add(1)]) {
        const order = await oms.submit({
          symbol: 'BTCTRY',
          side: 'buy',
          method: 'limit',
          quantity: new Dec('0.001'),
          price,
        });
        placed.push({
          id: order.id,
          clientOrderId: order.clientOrderId ?? '',
          exchangeOrderId: order.exchangeOrderId ?? '',
        });
      }
      const counterparty = sim.openAccount({ balances: { TRY: '1000000', BTC: '1' } }).accountId;
      sim.engine.placeOrder({
        accountId: counterparty,
        symbol: 'BTCTRY',
        side: 'sell',
        method: 'limit',
        quantity: new Dec('0.0004'),
        price: bid.add(2),
      });
      await oms.reconcile();
    } finally {
      await exchange.close();
      await store.close();
    }
    const orders = await runCli(['orders', '--db', db, '--json'], env);
    assert.equal(orders.code, 0, orders.stderr);
    const rows = (JSON.parse(orders.stdout) as { orders: StoredJson[] }).orders;
    assert.deepEqual(rows.map((r) => r.clientOrderId).sort(), placed.map((p) => p.clientOrderId).sort());
    const partial = await runCli(['orders', '--db', db, '--state', 'partially_filled', '--json'], env);
    assert.deepEqual(
      (JSON.parse(partial.stdout) as { orders: StoredJson[] }).orders.map((r) => r.filledQuantity),
      ['0.0004'],
    );
    const table = await runCli(['orders', '--db', db, '--symbol', 'btc_try'], env);
    assert.match(table.stdout, /clientOrderId .* state/);
    assert.match(table.stdout, /PARTIALLY_FILLED/);

    const fills = await runCli(['fills', '--db', db, '--json'], env);
    assert.equal(fills.code, 0, fills.stderr);
    const stored = (JSON.parse(fills.stdout) as { fills: { tradeId: string; source: string }[] }).fills;
    assert.equal(stored.length, 1);
    const fromExchange = await runCli(['fills', '--exchange', '--json', '--symbol', 'BTCTRY'], env);
    assert.equal(fromExchange.code, 0, fromExchange.stderr);
    assert.deepEqual(
      (JSON.parse(fromExchange.stdout) as { fills: { tradeId: string }[] }).fills.map((f) => f.tradeId),
      stored.map((f) => f.tradeId),
    );
  });

  it('cancel by exchange id and cancel --client-id confirm the cancel on the exchange', async () => {
    const [first, second] = placed;
    assert.ok(first && second);
    const byId = await runCli(['cancel', first.exchangeOrderId, '--db', db, '--json'], env);
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(
      (JSON.parse(byId.stdout) as { cancels: { outcome: string }[] }).cancels[0]?.outcome,
      'canceled',
    );
    const byClient = await runCli(['cancel', '--client-id', second.clientOrderId, '--db', db], env);
    assert.equal(byClient.code, 0, byClient.stderr);
    assert.match(byClient.stdout, /CANCELED\s+canceled/);
    assert.deepEqual(
      ours().map((o) => o.status),
      ['canceled', 'canceled'],
    );
    const unknown = await runCli(['cancel', '999999', '--db', db], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^btcbot: no order 999999 in the store/);
  });

  it('cancel-all cancels every resting order of ours, adopting the ones the store did not know', async () => {
    const exchange = exchangeFor(sim, 6);
    const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price ?? new Dec(0);
    await exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: bid.sub(10),
      clientOrderId: `${PREFIX}-zzzzzzzzzzzzzz`,
    });
    await exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: bid.sub(11),
      clientOrderId: 'by-hand',
    });
    await exchange.close();
    const res = await runCli(['cancel-all', '--db', db, '--symbol', 'BTCTRY'], env);
    assert.equal(res.code, 0, res.stderr);
    const statuses = new Map(ours().map((o) => [o.clientOrderId, o.status]));
    assert.equal(statuses.get(`${PREFIX}-zzzzzzzzzzzzzz`), 'canceled');
    assert.equal(statuses.get('by-hand'), 'open', 'a hand-placed order was touched');
  });

  it('kill-switch on, status and off; off also takes the ladder back to NORMAL', async () => {
    const on = await runCli(['kill-switch', 'on', '--db', db, '--reason', 'maintenance'], env);
    assert.equal(on.code, 0, on.stderr);
    const status = await runCli(['kill-switch', 'status', '--db', db, '--json'], env);
    const parsed = JSON.parse(status.stdout) as {
      killSwitch: { on: boolean; reason: string };
      escalation: { level: string };
    };
    assert.deepEqual([parsed.killSwitch.on, parsed.killSwitch.reason], [true, 'maintenance']);
    const off = await runCli(['kill-switch', 'off', '--db', db, '--reason', 'done'], env);
    assert.match(
      off.stdout,
      /^kill switch off \(done\); escalation NORMAL \(cleared by the operator: done\)/,
    );
    const bad = await runCli(['kill-switch', 'maybe', '--db', db], env);
    assert.equal(bad.code, 2);
  });

  it('X6: a second process on the database: reads and the kill switch work, other writes are refused with the lock error; a crashed holder is taken over', async () => {
    const holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, 'hold', db], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    try {
      const lines = createInterface({ input: holder.stdout })[Symbol.asyncIterator]();
      const first = await lines.next();
      assert.match(String(first.value), /"event":"holding"/);

      const refused = await runCli(['reconcile', '--db', db], env);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        new RegExp(
          `^btcbot: database .* is already open for writing by another btcbot process \\(pid ${holder.pid}`,
        ),
      );
      assert.doesNotMatch(refused.stderr, /\n\s+at /, 'a stack trace instead of a message');
      const read = await runCli(['orders', '--db', db, '--json'], env);
      assert.equal(read.code, 0, read.stderr);
      // The kill switch is the one write that does not need the lock: an operator needs it most
      // exactly while a bot holds the database.
      const on = await runCli(['kill-switch', 'on', '--db', db, '--reason', 'beside the holder'], env);
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /^kill switch ON \(beside the holder\)/);
      const off = await runCli(['kill-switch', 'off', '--db', db, '--reason', 'still beside'], env);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, /^kill switch off \(still beside\); escalation NORMAL/);

      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('close', resolve));
      const takeover = await runCli(['reconcile', '--db', db], env);
      assert.equal(takeover.code, 0, `${takeover.stdout}\n${takeover.stderr}`);
    } finally {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    }
  });

  it('reads of a database that does not exist fail with a message, not a stack', async () => {
    const res = await runCli(['orders', '--db', join(dir, 'missing.db')], env);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /^btcbot: configuration error: --db: no database at .*missing\.db/);
  });
});

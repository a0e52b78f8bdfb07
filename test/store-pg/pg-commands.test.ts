import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { Store } from '../../src/ports/store.ts';
import { openPostgresStore } from '../../src/store/postgres/open.ts';
import { runCli } from '../helpers/cli.ts';
import { fillReport, newOrder } from '../store/helpers.ts';
import { findPostgres, runSql } from './helpers.ts';

// The read-only operator commands and the kill switch with `--db postgres://…`, beside a process
// holding the store's writer lock (what a running bot does). The commands use the URL's database
// and its default schema, so the test gets a database of its own.

const target = await findPostgres();

describe('operator commands on a PostgreSQL store beside its writer', { skip: target.skip }, () => {
  const database = `btcbot_cli_${process.pid}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = (name: string) =>
    Object.assign(new URL(target.url), { pathname: `/${name}` }).toString();
  const url = databaseUrl(database);
  let writer: Store;
  let orderId: string;

  before(async () => {
    await runSql(target.url, `CREATE DATABASE "${database}"`);
    await runSql(target.url, `CREATE DATABASE "${database}_empty"`);
    writer = await openPostgresStore({ url });
    const order = await writer.journalOrder(newOrder({ quantity: new Dec('0.5') }));
    await writer.applyEvent(order.id, { type: 'sent' });
    await writer.applyEvent(order.id, { type: 'acked', exchangeOrderId: '7001' });
    await writer.recordFill(
      fillReport({ tradeId: 'pg-t1', exchangeOrderId: '7001', quantity: new Dec('0.2') }),
      'poll',
    );
    orderId = order.id;
  });
  after(async () => {
    await writer.close();
    await runSql(target.url, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await runSql(target.url, `DROP DATABASE IF EXISTS "${database}_empty" WITH (FORCE)`);
  });

  it('status, orders and fills read the store while the writer holds it', async () => {
    const status = await runCli(['status', '--db', url, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as {
      database: string;
      openOrders: { symbol: string; buy: number; states: Record<string, number> }[];
      fills: number;
      killSwitch: { on: boolean };
    };
    assert.match(shown.database, new RegExp(`/${database} \\(schema public\\)$`));
    assert.deepEqual(shown.openOrders, [
      { symbol: 'BTCTRY', buy: 1, sell: 0, states: { PARTIALLY_FILLED: 1 } },
    ]);
    assert.equal(shown.fills, 1);
    assert.equal(shown.killSwitch.on, false);

    const orders = await runCli(['orders', '--db', url, '--json']);
    assert.equal(orders.code, 0, orders.stderr);
    assert.deepEqual(
      (JSON.parse(orders.stdout) as { orders: { id: string; filledQuantity: string }[] }).orders.map((o) => [
        o.id,
        o.filledQuantity,
      ]),
      [[orderId, '0.2']],
    );
    const fills = await runCli(['fills', '--db', url, '--json']);
    assert.equal(fills.code, 0, fills.stderr);
    assert.deepEqual(
      (JSON.parse(fills.stdout) as { fills: { tradeId: string }[] }).fills.map((f) => f.tradeId),
      ['pg-t1'],
    );
  });

  it('kill-switch on and off work beside the writer, which sees them; other writes are refused', async () => {
    const on = await runCli(['kill-switch', 'on', '--db', url, '--reason', 'pg maintenance']);
    assert.equal(on.code, 0, on.stderr);
    assert.deepEqual(await writer.killSwitch().then((k) => [k.on, k.reason]), [true, 'pg maintenance']);
    const status = await runCli(['status', '--db', url]);
    assert.match(status.stdout, /^kill switch: ON \(pg maintenance\)$/m);
    const off = await runCli(['kill-switch', 'off', '--db', url, '--reason', 'done']);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^kill switch off \(done\); escalation NORMAL/);
    assert.equal((await writer.killSwitch()).on, false);

    const refused = await runCli(['reconcile', '--db', url]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^btcbot: store postgres:\/\/.* is already open for writing by another btcbot process/,
    );
  });

  it('says which store it could not read and why, in one line without a stack trace', async () => {
    const absent = databaseUrl(`${database}_absent`);
    const unreachable = await runCli(['status', '--db', absent]);
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      new RegExp(
        `^btcbot: could not connect to PostgreSQL store .*/${database}_absent \\(schema public\\): .*\\n$`,
      ),
    );
    const empty = await runCli(['orders', '--db', databaseUrl(`${database}_empty`)]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^btcbot: .* \(schema public\) holds no btcbot store .*check --db.*\n$/);
  });
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decimal } from 'decimal.js';
import { runCli } from '../helpers/cli.ts';
import { startSimProcess, tempDir, type SimProcess } from '../run/helpers.ts';

// Every operator action of the command line lands in the trail with its source, reason and what it
// was about: a manual order, a cancel and a cancel-all, as the real binary runs them against
// `btcbot sim`. The API secret the commands sign with is planted and looked for in every output.

const PLANTED_KEY = 'planted-key-audit-5c2e';
const PLANTED_SECRET = Buffer.from('planted-audit-secret-9f00d1-never-shown').toString('base64');

interface EntryJson {
  id: number;
  at: string;
  action: string;
  source: string;
  reason: string;
  detail: Record<string, unknown>;
}

describe('operator actions in the audit trail', () => {
  let sim: SimProcess;
  let env: Record<string, string>;

  before(async () => {
    sim = await startSimProcess([
      '--seed',
      '71',
      '--symbols',
      'BTCTRY',
      '--balances',
      'TRY=10000000,BTC=5',
      '--api-key',
      PLANTED_KEY,
      '--api-secret',
      PLANTED_SECRET,
    ]);
    env = {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_API_KEY: PLANTED_KEY,
      BTCTURK_API_SECRET: PLANTED_SECRET,
      BTCBOT_CLIENT_ID_PREFIX: 'au',
    };
  });
  after(async () => {
    await sim.stop();
  });

  it('records order, cancel and cancel-all with source cli, the reason and the order asked for', async (t) => {
    const db = join(tempDir(t), 'bot.db');
    const response = await fetch(`${sim.rest}/api/v2/orderbook?pairSymbol=BTCTRY&limit=1`);
    const book = (await response.json()) as { data: { bids: string[][] } };
    const price = new Decimal(book.data.bids[0]?.[0] ?? '0').mul('0.9').toDecimalPlaces(0).toFixed();
    const outputs: string[] = [];
    const cli = async (...args: string[]) => {
      const result = await runCli([...args, '--db', db], env);
      outputs.push(result.stdout, result.stderr);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      return result;
    };

    const first = await cli(
      'order',
      'buy',
      'BTCTRY',
      '0.001',
      '--price',
      price,
      '--reason',
      'hedge',
      '--json',
    );
    const placed = JSON.parse(first.stdout) as { id: string; state: string };
    assert.equal(placed.state, 'OPEN');
    await cli('cancel', placed.id, '--reason', 'wrong price');
    await cli('order', 'buy', 'BTCTRY', '0.002', '--price', price);
    await cli('cancel-all', '--reason', 'end of day');

    const audit = await cli('audit', '--json');
    const { entries } = JSON.parse(audit.stdout) as { entries: EntryJson[] };
    assert.deepEqual(
      entries.map((e) => [e.action, e.source, e.reason]),
      [
        ['cancel-all', 'cli', 'end of day'],
        ['order', 'cli', '(none given)'],
        ['cancel', 'cli', 'wrong price'],
        ['order', 'cli', 'hedge'],
      ],
    );
    assert.deepEqual(entries[3]?.detail, {
      side: 'buy',
      symbol: 'BTCTRY',
      method: 'limit',
      quantity: '0.001',
      price,
      stopPrice: null,
      quoteAmount: null,
    });
    assert.deepEqual(entries[2]?.detail, { orderId: placed.id, clientOrderId: null });
    assert.deepEqual(entries[0]?.detail, { symbol: null });
    await cli('audit');

    for (const text of outputs) {
      assert.ok(!text.includes(PLANTED_SECRET), 'the planted secret is in an output');
      assert.ok(!text.includes(PLANTED_KEY), 'the planted key is in an output');
    }
  });
});

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decimal } from 'decimal.js';
import { runCli } from '../helpers/cli.ts';
import { simState, startSimProcess, tempDir, type SimProcess } from '../run/helpers.ts';

// Issue 10, item 9: `btcbot order` as a user runs it (the real binary, a child process) against
// `btcbot sim` in its own process: through the OMS journal, its gates and its reconciliation.

interface OrderJson {
  id: string;
  exchangeOrderId: string | null;
  clientOrderId: string | null;
  side: string;
  method: string;
  state: string;
  quantity: string;
  quoteAmount: string | null;
  filledQuantity: string;
  filledQuote: string;
  price: string | null;
}

async function bestPrices(sim: SimProcess): Promise<{ bid: Decimal; ask: Decimal }> {
  const response = await fetch(`${sim.rest}/api/v2/orderbook?pairSymbol=BTCTRY&limit=1`);
  const body = (await response.json()) as { data: { bids: string[][]; asks: string[][] } };
  const bid = body.data.bids[0]?.[0];
  const ask = body.data.asks[0]?.[0];
  assert.ok(bid !== undefined && ask !== undefined, 'the simulator has a two-sided book');
  return { bid: new Decimal(bid), ask: new Decimal(ask) };
}

describe('btcbot order against btcbot sim', () => {
  let sim: SimProcess;
  let db: string;
  let env: Record<string, string>;
  let prefix = 'op';
  const order = (...args: string[]) =>
    runCli(['order', ...args, '--db', db], { ...env, BTCBOT_CLIENT_ID_PREFIX: prefix });
  /** A limit order of 0.001 BTCTRY at `price`, placed (exit 0) and read from its JSON. */
  const placeLimit = async (side: 'buy' | 'sell', price: string): Promise<OrderJson> => {
    const res = await order(side, 'BTCTRY', '0.001', '--price', price, '--json');
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as OrderJson;
  };

  before(async () => {
    sim = await startSimProcess(['--seed', '61', '--symbols', 'BTCTRY', '--balances', 'TRY=10000000,BTC=5']);
    env = {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_API_KEY: sim.apiKey,
      BTCTURK_API_SECRET: sim.apiSecret,
    };
  });
  after(async () => {
    await sim.stop();
  });

  it('places a limit order: journaled, acknowledged, printed; resting on the exchange', async (t) => {
    db = join(tempDir(t), 'bot.db');
    const { bid } = await bestPrices(sim);
    const price = bid.mul('0.95').toDecimalPlaces(0).toFixed();
    const placed = await placeLimit('buy', price);
    assert.equal(placed.state, 'OPEN');
    assert.equal(placed.method, 'limit');
    assert.equal(placed.price, price);
    assert.ok(placed.exchangeOrderId);
    assert.match(placed.clientOrderId ?? '', /^op-/);
    const onExchange = (await simState(sim.rest)).orders.find((o) => o.id === placed.exchangeOrderId);
    assert.equal(onExchange?.status, 'open');
    assert.equal(onExchange.clientOrderId, placed.clientOrderId);

    const human = await order(
      'sell',
      'BTCTRY',
      '0.001',
      '--price',
      bid.mul('1.5').toDecimalPlaces(0).toFixed(),
    );
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /^order \S+: sell BTCTRY limit 0\.001 @ \d+: OPEN, filled 0; exchange id \d+, client id op\S+\n$/,
    );
  });

  it('places a market buy by quote amount: FILLED, spends about the amount, fills stored, reconciliation clean', async (t) => {
    // Another instance (its own prefix and store): the orders resting from the test before are
    // foreign to it, so they neither count for its self-trade gate nor get adopted.
    prefix = 'mk';
    db = join(tempDir(t), 'bot.db');
    const res = await order('buy', 'BTCTRY', '--market', '--quote-amount', '1500', '--json');
    assert.equal(res.code, 0, res.stderr);
    const placed = JSON.parse(res.stdout) as OrderJson;
    assert.equal(placed.method, 'market');
    assert.equal(placed.quoteAmount, '1500');
    assert.equal(placed.state, 'FILLED');
    assert.ok(new Decimal(placed.filledQuantity).gt(0));
    const spent = new Decimal(placed.filledQuote);
    assert.ok(spent.lte(1500) && spent.gt('1499'), `spent ${spent.toFixed()} of 1500`);
    const state = await simState(sim.rest);
    const fills = state.fills.filter((f) => f.orderId === placed.exchangeOrderId);
    assert.ok(fills.length > 0);
    const onExchange = fills.reduce(
      (sum, f) => sum.add(new Decimal(f.price).mul(f.quantity)),
      new Decimal(0),
    );
    assert.equal(onExchange.toFixed(), spent.toFixed(), 'the store counted every fill the exchange booked');

    const stored = await runCli(['fills', '--db', db, '--json'], env);
    assert.equal(stored.code, 0, stored.stderr);
    assert.equal((JSON.parse(stored.stdout) as { fills: unknown[] }).fills.length, fills.length);
    const reconcile = await runCli(['reconcile', '--db', db, '--symbols', 'BTCTRY'], {
      ...env,
      BTCBOT_CLIENT_ID_PREFIX: prefix,
    });
    assert.equal(reconcile.code, 0, reconcile.stdout + reconcile.stderr);
    assert.match(reconcile.stdout, /^clean/);
  });

  it('refuses a crossing order with the self-trade gate reason (exit 1), and a kill-switched one', async (t) => {
    prefix = 'st';
    db = join(tempDir(t), 'bot.db');
    const { ask } = await bestPrices(sim);
    const price = ask.mul('1.2').toDecimalPlaces(0).toFixed();
    const resting = await placeLimit('sell', price);
    const ours = async () =>
      (await simState(sim.rest)).orders.filter((o) => o.clientOrderId?.startsWith('st-') === true).length;
    const before = await ours();

    const crossing = await order('buy', 'BTCTRY', '0.001', '--price', price);
    assert.equal(crossing.code, 1, crossing.stdout + crossing.stderr);
    assert.match(
      crossing.stderr,
      new RegExp(
        `refused: self-trade prevented: a buy at ${price} on BTCTRY would cross our own resting sell ${resting.id} ` +
          `\\(client id ${resting.clientOrderId ?? '-'}\\) at ${price}`,
      ),
    );
    const market = await order('buy', 'BTCTRY', '--market', '--quote-amount', '500');
    assert.equal(market.code, 1);
    assert.match(
      market.stderr,
      /self-trade prevented: a market buy on BTCTRY would cross our own resting sell/,
    );
    assert.equal(await ours(), before, 'nothing reached the exchange');

    const on = await runCli(['kill-switch', 'on', '--db', db, '--reason', 'test'], env);
    assert.equal(on.code, 0, on.stderr);
    const killed = await order('sell', 'BTCTRY', '0.001', '--price', price);
    assert.equal(killed.code, 1);
    assert.match(killed.stderr, /refused: the kill switch is on \(test\)/);
    await runCli(['kill-switch', 'off', '--db', db], env);
  });

  it('bad input exits 2 naming the argument or flag', async (t) => {
    prefix = 'bad';
    db = join(tempDir(t), 'bot.db');
    const cases: [string[], RegExp][] = [
      [['buy', 'BTCTRY', '0.001', '--market', '--price', '100'], /--price: not allowed with --market/],
      [['sell', 'BTCTRY', '--market', '--quote-amount', '100'], /--quote-amount: only on a buy/],
      [['buy', 'BTCTRY', '--quote-amount', '100', '--price', '5'], /--quote-amount: only with --market/],
      [['buy', 'BTCTRY', '0.001', '--market'], /QUANTITY: a market buy is sized in the quote currency/],
      [['buy', 'BTCTRY', '0.001'], /--price: required for a limit order/],
      [['buy', 'BTCTRY', '-1', '--price', '5'], /QUANTITY must be a positive decimal/],
      [['hold', 'BTCTRY', '1', '--price', '5'], /"hold" must be buy or sell/],
      [['buy', 'XYZTRY', '0.001', '--price', '5'], /SYMBOL: XYZTRY is not a pair the exchange lists/],
      [
        ['buy', 'BTCTRY', '--market', '--quote-amount', '50'],
        /--quote-amount: .*order value 50 TRY is below the minimum 100/,
      ],
    ];
    for (const [args, message] of cases) {
      const res = await order(...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
    }
  });
});

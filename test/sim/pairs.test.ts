import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PAIRS_FLAG, simPairsFlag } from '../../src/cli/commands/sim.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { SimEvent } from '../../src/sim/engine/api.ts';
import { createSimEngine, DEFAULT_FEES } from '../../src/sim/engine/index.ts';
import { startSimulator } from '../../src/sim/index.ts';
import { MAX_SIM_PAIRS, SIM_SYMBOLS, simPairsByCount } from '../../src/sim/server/markets.ts';
import { raw, subscribeFrame, withSim, WsClient } from './helpers.ts';

const refusal = (setting: string, message: RegExp) => (error: unknown) =>
  error instanceof ConfigError && error.setting === setting && message.test(error.message);

describe('a many-pairs listing (btcbot sim --pairs)', () => {
  it('lists the built-in pairs first, then synthetic TRY pairs with their own ids and valid rules', () => {
    const pairs = simPairsByCount(380);
    assert.equal(pairs.length, 380);
    assert.deepEqual(
      pairs.slice(0, SIM_SYMBOLS.length).map((p) => p.config.symbol),
      SIM_SYMBOLS,
    );
    assert.equal(new Set(pairs.map((p) => p.config.symbol)).size, 380);
    assert.deepEqual(
      pairs.map((p) => p.pairId),
      Array.from({ length: 380 }, (_, i) => i + 1),
    );
    const last = pairs.at(-1)?.config;
    assert.equal(last?.symbol, 'SYN380TRY');
    for (const { config } of pairs) {
      const { rules } = config;
      assert.equal(config.symbol, `${rules.base}${rules.quote}`);
      assert.equal(rules.quote, 'TRY');
      assert.ok(rules.tickSize.eq(rules.tickSize.toDecimalPlaces(rules.priceScale)), config.symbol);
      assert.ok(config.initialMid.gt(rules.tickSize.mul(100)), `${config.symbol}: mid far above a tick`);
      assert.ok(rules.maxPrice !== null && config.initialMid.lt(rules.maxPrice), config.symbol);
    }
    // Fewer than the built-in ones: the first of them.
    assert.deepEqual(
      simPairsByCount(2).map((p) => p.config.symbol),
      ['BTCTRY', 'ETHTRY'],
    );
  });

  it('refuses a count out of range or not whole, naming the setting', () => {
    for (const bad of [0, -1, 1.5, MAX_SIM_PAIRS + 1, Number.NaN])
      assert.throws(() => simPairsByCount(bad), refusal('pairs', /whole number of pairs from 1 to 1000/));
  });

  it('the command line takes --pairs as a whole number up to the simulator limit, and not with --symbols', () => {
    assert.equal(MAX_PAIRS_FLAG, MAX_SIM_PAIRS);
    assert.equal(simPairsFlag({}), undefined);
    assert.equal(simPairsFlag({ pairs: '380' }), 380);
    for (const bad of ['0', '1001', 'many', '3.5', ''])
      assert.throws(() => simPairsFlag({ pairs: bad }), refusal('--pairs', /whole number from 1 to 1000/));
    assert.throws(
      () => simPairsFlag({ pairs: '10', symbols: 'BTCTRY' }),
      refusal('--pairs', /either --pairs or --symbols, not both/),
    );
  });

  it('startSimulator refuses pairs and symbols together', async () => {
    await assert.rejects(
      startSimulator({ pairs: 10, symbols: ['BTCTRY'], autoMarket: false }),
      refusal('pairs', /either symbols or a number of pairs/),
    );
  });

  it('a market step can be limited to a share of the markets', () => {
    const pairs = simPairsByCount(40);
    const engine = createSimEngine({
      clock: systemClock,
      random: seededRandom(3),
      markets: pairs.map((p) => p.config),
      ...DEFAULT_FEES,
    });
    const booked = new Set<string>();
    engine.subscribe((event: SimEvent) => {
      if (event.type === 'book') booked.add(event.symbol);
    });
    engine.stepMarket({ part: 3, of: 16 });
    const expected = pairs.filter((_, index) => index % 16 === 3).map((p) => p.config.symbol);
    assert.deepEqual([...booked].sort(), [...expected].sort());
    booked.clear();
    engine.stepMarket();
    assert.equal(booked.size, 40);
  });

  it('serves every pair over REST and the WebSocket, each pair flushed in its own phase', async () => {
    await withSim({ pairs: 40, bookIntervalMs: 32 }, async (sim) => {
      const info = await raw(sim.restUrl, 'GET', '/api/v2/server/exchangeinfo');
      const names = [...info.text.matchAll(/"name":"([A-Z0-9]+TRY)"/g)].map((m) => m[1]);
      assert.equal(new Set(names).size, 40);
      assert.ok(names.includes('SYN040TRY'));
      const socket = await WsClient.connect(sim.wsUrl);
      try {
        // Pair 1 and pair 40 sit in different phases (0 and 7 of 16); both still get their change set.
        for (const symbol of ['BTCTRY', 'SYN040TRY']) {
          socket.send(subscribeFrame('obdiff', symbol));
          const snapshot = await socket.nextOfType(431);
          assert.equal(snapshot[1].PS, symbol);
        }
        sim.engine.stepMarket();
        const seen = new Set<string>();
        while (seen.size < 2) {
          const diff = await socket.nextOfType(432);
          seen.add(String(diff[1].PS));
        }
        assert.deepEqual([...seen].sort(), ['BTCTRY', 'SYN040TRY']);
      } finally {
        socket.close();
      }
    });
  });
});

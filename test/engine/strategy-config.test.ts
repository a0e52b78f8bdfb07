import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import { loadEngineConfig, paramsFromFlags } from '../../src/engine/strategy-config.ts';
import { STRATEGY_NAMES, strategyByName } from '../../src/strategies/registry.ts';
import { market, snapshot } from '../strategies/fixtures.ts';

const configError = (pattern: RegExp) => (e: unknown) => e instanceof ConfigError && pattern.test(e.message);

describe('strategy registry', () => {
  it('knows market-maker and rebalance', () => {
    assert.deepEqual(STRATEGY_NAMES, ['market-maker', 'rebalance']);
    assert.equal(strategyByName('rebalance').name, 'rebalance');
  });

  it('names the known strategies when asked for an unknown one', () => {
    assert.throws(
      () => strategyByName('grid'),
      configError(/--strategy: unknown strategy "grid" \(known: market-maker, rebalance\)/),
    );
  });
});

describe('loadEngineConfig', () => {
  it('runs the market maker with safe defaults when nothing is configured', () => {
    const config = loadEngineConfig({});
    assert.equal(config.strategy.name, 'market-maker');
    assert.deepEqual(config.strategy.tolerance, { requoteThresholdBps: 5, quantityTolerancePct: 20 });
    assert.equal(config.risk.maxOrderQuote.toFixed(), '10000');
  });

  it('lets flags override the config file parameters', () => {
    const config = loadEngineConfig({
      name: 'market-maker',
      params: { spreadBps: 100, size: '0.01' },
      paramFlags: ['spreadBps=40'],
    });
    const wanted = config.strategy.want(
      snapshot({ markets: { BTCTRY: market('3400000', '3400100') }, positions: { BTCTRY: '1' } }),
    );
    // 20 bps under the mid of 3,400,050, not 50
    assert.equal(wanted[0]?.price.toFixed(), '3393249');
  });

  it('reads JSON values from flags', () => {
    assert.deepEqual(paramsFromFlags(['targets={"BTC":0.5,"TRY":0.5}', 'bandPct=3']), {
      targets: { BTC: 0.5, TRY: 0.5 },
      bandPct: '3',
    });
    const config = loadEngineConfig({ name: 'rebalance', paramFlags: ['targets={"BTC":"0.5","TRY":"0.5"}'] });
    assert.equal(config.strategy.name, 'rebalance');
  });

  it('names what to fix', () => {
    assert.throws(
      () => paramsFromFlags(['spreadBps']),
      configError(/--param: "spreadBps" must look like KEY=VALUE/),
    );
    assert.throws(
      () => paramsFromFlags(['targets={BTC']),
      configError(/--param: targets: \{BTC is not valid JSON/),
    );
    assert.throws(
      () => loadEngineConfig({ params: [1] }),
      configError(/strategy\.params: must be an object/),
    );
    assert.throws(() => loadEngineConfig({ risk: 'high' }), configError(/^risk: must be an object/));
    assert.throws(
      () => loadEngineConfig({ paramFlags: ['levels=0'] }),
      configError(/strategy "market-maker": levels = "0": must be at least 1/),
    );
    assert.throws(
      () => loadEngineConfig({ risk: { drawdownSoftPct: 20 } }),
      configError(/risk: drawdownSoftPct = 20: must not exceed drawdownHardPct \(10\)/),
    );
  });
});

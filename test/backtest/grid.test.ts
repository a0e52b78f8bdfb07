import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import {
  formatGridTable,
  gridPoints,
  parseGridArg,
  parseGridArgs,
  rankRows,
  runGrid,
  workerEntry,
  type GridResult,
} from '../../src/backtest/grid.ts';
import { summaryOf, type BacktestSummary } from '../../src/backtest/types.ts';
import { fakeResult } from './report-helpers.ts';

function summary(total: string, maxDrawdown: string): BacktestSummary {
  const base = summaryOf(fakeResult({ seconds: 5 }));
  return { ...base, pnl: { ...base.pnl, total }, maxDrawdown };
}

describe('grid arguments', () => {
  it('parses KEY=V1,V2,… and trims values', () => {
    assert.deepEqual(parseGridArg('spreadBps=20, 40,80'), { key: 'spreadBps', values: ['20', '40', '80'] });
    assert.deepEqual(parseGridArg('size=0.001'), { key: 'size', values: ['0.001'] });
  });

  for (const [text, fragment] of [
    ['spreadBps', 'expected KEY=V1,V2'],
    ['=1,2', 'expected KEY=V1,V2'],
    ['spreadBps=', 'non-empty'],
    ['spreadBps=1,,2', 'non-empty'],
    ['spreadBps=1,2,1', 'given twice'],
  ] as const)
    it(`refuses ${JSON.stringify(text)} naming --grid`, () => {
      assert.throws(
        () => parseGridArg(text),
        (error: unknown) =>
          error instanceof ConfigError && error.setting === '--grid' && error.message.includes(fragment),
      );
    });

  it('refuses a key given twice, or given also by --param, and a grid too large', () => {
    assert.throws(() => parseGridArgs(['a=1,2', 'a=3']), /a is given by more than one --grid/);
    assert.throws(() => parseGridArgs(['a=1,2'], { a: '5' }), /a is given both by --grid and by --param/);
    const big = Array.from({ length: 101 }, (_, i) => String(i)).join(',');
    assert.throws(() => parseGridArgs([`a=${big}`, `b=${big}`]), /10201 combinations/);
  });

  it('gridPoints is the Cartesian product, the first axis varying slowest', () => {
    const axes = parseGridArgs(['spreadBps=20,40', 'levels=1,2,3']);
    assert.deepEqual(gridPoints(axes), [
      { spreadBps: '20', levels: '1' },
      { spreadBps: '20', levels: '2' },
      { spreadBps: '20', levels: '3' },
      { spreadBps: '40', levels: '1' },
      { spreadBps: '40', levels: '2' },
      { spreadBps: '40', levels: '3' },
    ]);
    assert.deepEqual(gridPoints([]), [{}]);
    assert.equal(gridPoints(parseGridArgs(['a=1,2', 'b=1,2', 'c=1,2', 'd=1,2'])).length, 16);
  });
});

describe('grid ranking and table', () => {
  const rows = rankRows([
    { index: 0, grid: { s: '10' }, summary: summary('-5', '10'), error: null },
    { index: 1, grid: { s: '20' }, summary: null, error: 'spreadBps: must be greater than 0' },
    { index: 2, grid: { s: '30' }, summary: summary('12.5', '7'), error: null },
    { index: 3, grid: { s: '40' }, summary: summary('12.5', '3'), error: null },
    { index: 4, grid: { s: '50' }, summary: summary('12.50', '3'), error: null },
    { index: 5, grid: { s: '60' }, summary: summary('100', '90'), error: null },
  ]);

  it('ranks by total PnL (as decimals), then the smaller drawdown, then grid order; failures last', () => {
    assert.deepEqual(
      rows.map((r) => [r.rank, r.index]),
      [
        [1, 5],
        [2, 3],
        [3, 4],
        [4, 2],
        [5, 0],
        [6, 1],
      ],
    );
  });

  it('compares PnL as decimals, not as text', () => {
    const ranked = rankRows([
      { index: 0, grid: {}, summary: summary('9', '0'), error: null },
      { index: 1, grid: {}, summary: summary('10', '0'), error: null },
      { index: 2, grid: {}, summary: summary('-10', '0'), error: null },
      { index: 3, grid: {}, summary: summary('-9', '0'), error: null },
    ]);
    assert.deepEqual(
      ranked.map((r) => r.index),
      [1, 0, 3, 2],
    );
  });

  it('prints one table: a line per point, best first, with the grid values and the rule', () => {
    const result: GridResult = {
      rule: 'RULE',
      axes: [{ key: 's', values: [] }],
      points: 6,
      workers: 2,
      rows,
    };
    const lines = formatGridTable(result).split('\n');
    assert.match(
      lines[0] ?? '',
      /^rank\s+s\s+pnl total\s+realised\s+unrealised\s+fees\s+fills\s+orders\s+maker\s+max dd$/,
    );
    assert.match(lines[2] ?? '', /^\s*1\s+60\s+100\.00\s/);
    assert.match(lines[7] ?? '', /^\s*6\s+20\s+error: spreadBps: must be greater than 0$/);
    assert.ok(
      lines.includes(
        '6 points on 2 worker threads; money in TRY, rounded to 0.01 (--json for exact values); ranked by RULE.',
      ),
    );
  });
});

describe('grid worker entry', () => {
  it('loads compiled .js directly, and the .ts source through a bootstrap that registers tsx', () => {
    const built = workerEntry('file:///repo/dist/src/backtest/grid.js');
    assert.equal(String(built.script), 'file:///repo/dist/src/backtest/grid-worker.js');
    assert.deepEqual(built.options, {});
    const source = workerEntry('file:///repo/src/backtest/grid.ts');
    assert.deepEqual(source.options, { eval: true });
    assert.match(String(source.script), /tsx\/dist\/esm\/api|tsx\/esm\/api/);
    assert.match(String(source.script), /import\("file:\/\/\/repo\/src\/backtest\/grid-worker\.ts"\)/);
  });
});

describe('runGrid worker threads', () => {
  it('runs every point in a worker (loaded from the .ts source) and keeps each point’s own failure', async () => {
    const seen: number[] = [];
    const result = await runGrid({
      base: { data: join(tmpdir(), 'btcbot-grid-no-such-recording') },
      axes: parseGridArgs(['spreadBps=10,20,30']),
      workers: 2,
      onPoint: (done, total) => seen.push(done * 10 + total),
    });
    assert.equal(result.points, 3);
    assert.equal(result.workers, 2);
    assert.deepEqual(seen, [13, 23, 33]);
    assert.deepEqual(
      result.rows.map((r) => [r.rank, r.index, r.grid.spreadBps]),
      [
        [1, 0, '10'],
        [2, 1, '20'],
        [3, 2, '30'],
      ],
    );
    // Different errors (a bad parameter at spreadBps=10, the missing recording otherwise): kept per point.
    for (const row of result.rows) assert.equal(row.summary, null);
    assert.match(result.rows[0]?.error ?? '', /requoteThresholdBps .*must be below half the spread/);
    assert.match(result.rows[1]?.error ?? '', /is not a recording/);
    assert.match(result.rows[2]?.error ?? '', /is not a recording/);
  });

  it('throws the configuration error every point shares, naming its setting', async () => {
    await assert.rejects(
      runGrid({
        base: { data: join(tmpdir(), 'btcbot-grid-no-such-recording'), strategy: 'no-such-strategy' },
        axes: parseGridArgs(['spreadBps=10,20']),
      }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === '--strategy' &&
        /unknown strategy/.test(error.message),
    );
  });
});

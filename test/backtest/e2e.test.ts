import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { readIndex } from '../../src/record/reader.ts';
import { BTCBOT_BIN, runCli } from '../helpers/cli.ts';
import { chromiumSkipReason, renderInChromium } from './report-helpers.ts';

// The issue's end-to-end proof with the real binary: `btcbot sim` runs as a process, `btcbot
// record` records it for a few seconds, and `btcbot backtest --data DIR --strategy market-maker
// --out OUT --json` runs twice: the same JSON both times, summary.json and report.html written, and
// the page renders its charts in headless Chromium. Then a 4-point `--grid` over the same recording.

const SYMBOLS = 'BTCTRY,ETHTRY';
/** The market maker's registry name (src/strategies/registry.ts). */
const STRATEGY = 'market-maker';

let work = '';
let sim: ChildProcess | null = null;
let recording = '';

interface Listening {
  rest: string;
  ws: string;
}

async function startSim(): Promise<Listening> {
  // A fast synthetic market (4× the steps and change sets), so a few seconds of recording hold
  // trades and book changes enough for the maker to be filled.
  const child = spawn(
    process.execPath,
    [BTCBOT_BIN, 'sim', '--seed', '42', '--symbols', SYMBOLS, '--speed', '4'],
    {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  sim = child;
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout });
  const exited = once(child, 'exit').then(() => {
    throw new Error(`btcbot sim exited before listening: ${stderr}`);
  });
  const listening = (async () => {
    for await (const line of lines) {
      const parsed = JSON.parse(line) as { event?: string } & Listening;
      if (parsed.event === 'listening') return parsed;
    }
    throw new Error(`btcbot sim closed its output: ${stderr}`);
  })();
  return Promise.race([listening, exited]);
}

async function stopSim(): Promise<void> {
  const child = sim;
  sim = null;
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'btcbot-e2e-backtest-'));
  const listening = await startSim();
  recording = join(work, 'rec');
  const recorded = await runCli(
    ['record', '--symbols', SYMBOLS, '--out', recording, '--duration', '8s'],
    { BTCTURK_BASE_URL: listening.rest, BTCTURK_WS_URL: listening.ws },
    60_000,
  );
  assert.equal(recorded.code, 0, `btcbot record failed: ${recorded.stderr}`);
  await stopSim();
});

after(async () => {
  await stopSim();
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('btcbot record → btcbot backtest (real binary)', () => {
  it('the recording holds both pairs’ book frames', async () => {
    const index = await readIndex(recording);
    assert.equal(index.source, 'sim');
    assert.deepEqual([...index.symbols].sort(), SYMBOLS.split(','));
    assert.ok(index.endedAt !== null, 'closed at the end of --duration');
    assert.ok(index.segments.reduce((n, s) => n + s.events, 0) > 20);
  });

  let first: { stdout: string; summary: Record<string, unknown> } | null = null;
  const outA = (): string => join(work, 'out-a');
  const outB = (): string => join(work, 'out-b');

  it('backtests it twice with the same JSON, writing summary.json and report.html', async () => {
    const args = (out: string) => [
      'backtest',
      '--data',
      recording,
      '--strategy',
      STRATEGY,
      '--out',
      out,
      '--json',
    ];
    const a = await runCli(args(outA()), {}, 180_000);
    assert.equal(a.code, 0, `backtest failed: ${a.stderr}`);
    const b = await runCli(args(outB()), {}, 180_000);
    assert.equal(b.code, 0, `second backtest failed: ${b.stderr}`);
    assert.equal(b.stdout, a.stdout, 'the same data and parameters give the same JSON');

    const summary = JSON.parse(a.stdout) as Record<string, unknown>;
    for (const key of ['fills', 'orders', 'pnl', 'perSymbol']) assert.ok(key in summary, `--json has ${key}`);
    const pnl = summary.pnl as Record<string, unknown>;
    for (const key of ['realised', 'unrealised', 'fees'])
      assert.equal(typeof pnl[key], 'string', `pnl.${key} is a decimal string`);
    assert.deepEqual(Object.keys(summary.perSymbol as object).sort(), SYMBOLS.split(','));
    assert.ok((summary.orders as number) > 0, 'the market maker placed orders');

    for (const out of [outA(), outB()]) {
      assert.ok(existsSync(join(out, 'summary.json')), `${out}/summary.json`);
      assert.ok(existsSync(join(out, 'report.html')), `${out}/report.html`);
    }
    const fileA = await readFile(join(outA(), 'summary.json'), 'utf8');
    assert.equal(await readFile(join(outB(), 'summary.json'), 'utf8'), fileA);
    assert.deepEqual(JSON.parse(fileA), summary, 'summary.json holds what --json printed');
    assert.equal(
      await readFile(join(outB(), 'report.html'), 'utf8'),
      await readFile(join(outA(), 'report.html'), 'utf8'),
      'the same report both times',
    );
    first = { stdout: a.stdout, summary };
  });

  it('report.html renders its charts in headless Chromium', async (t) => {
    const skip = await chromiumSkipReason();
    if (skip !== null) {
      t.skip(skip);
      return;
    }
    assert.ok(first !== null, 'needs the backtest above');
    const check = await renderInChromium(join(outA(), 'report.html'));
    assert.deepEqual(check.consoleErrors, []);
    assert.deepEqual(check.pageErrors, []);
    assert.deepEqual(check.requests, [], 'nothing fetched: the page is self-contained');
    const ids = check.charts.map((c) => c.id);
    for (const id of ['chart-equity', 'chart-price-BTCTRY', 'chart-price-ETHTRY', 'chart-inventory-BTCTRY'])
      assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    for (const chart of check.charts)
      assert.ok(chart.width > 0 && chart.height > 0, `${chart.id} has a size`);
    const paths = (id: string): number => check.charts.find((c) => c.id === id)?.paths ?? 0;
    assert.ok(paths('chart-equity') > 0, 'the equity line is drawn');
    assert.ok(paths('chart-price-BTCTRY') >= 2, 'mid and at least one of our quotes drawn');
    const fills = first.summary.fills as number;
    const markers = check.charts.reduce((n, c) => n + (c.id.startsWith('chart-price-') ? c.markers : 0), 0);
    // A few seconds hold far fewer fills than the chart's marker cap: one marker per fill.
    assert.equal(markers, fills, 'a marker per fill');
  });

  it('--grid ranks every combination in one table (and as JSON)', async () => {
    const grid = ['--grid', 'spreadBps=30,60', '--grid', 'levels=1,2'];
    const json = await runCli(
      ['backtest', '--data', recording, '--strategy', STRATEGY, ...grid, '--json'],
      {},
      300_000,
    );
    assert.equal(json.code, 0, `grid failed: ${json.stderr}`);
    const result = JSON.parse(json.stdout) as {
      points: number;
      rows: { rank: number; grid: Record<string, string>; summary: { pnl: { total: string } } | null }[];
    };
    assert.equal(result.points, 4);
    assert.deepEqual(result.rows.map((r) => `${r.grid.spreadBps}/${r.grid.levels}`).sort(), [
      '30/1',
      '30/2',
      '60/1',
      '60/2',
    ]);
    assert.deepEqual(
      result.rows.map((r) => r.rank),
      [1, 2, 3, 4],
    );
    for (const row of result.rows) assert.ok(row.summary !== null, 'every point ran');
    const totals = result.rows.map((r) => Number(r.summary?.pnl.total));
    assert.deepEqual(
      totals,
      [...totals].sort((a, b) => b - a),
      'best first',
    );

    const table = await runCli(
      ['backtest', '--data', recording, '--strategy', STRATEGY, ...grid],
      {},
      300_000,
    );
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^rank\s+spreadBps\s+levels\s+pnl total/);
    assert.equal(lines.filter((l) => /^\s*[1-4]\s+(30|60)\s+[12]\s/.test(l)).length, 4, table.stdout);
    assert.match(table.stdout, /4 points on \d+ worker threads?; .*ranked by total PnL/);
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { handFixture, HAND_SYMBOL, writeRecording } from './fixture.ts';

// `btcbot backtest` end to end through bin/btcbot.js on the hand-computed fixture of
// replay.test.ts (the arithmetic is there): one maker buy of 0.005 @ 997 500, the ask behind a
// queue the recorded trades never consume.

const S = HAND_SYMBOL;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function fixtureDir(): string {
  const dir = writeRecording(handFixture(), [S]);
  dirs.push(dir);
  return dir;
}

const ARGS = [
  '--strategy',
  'market-maker',
  '--param',
  'spreadBps=50',
  '--param',
  'size=0.005',
  '--latency-ms',
  '50',
];

describe('btcbot backtest (CLI)', () => {
  it('prints the summary with --json, decimals as strings, the same twice', async () => {
    const data = fixtureDir();
    const first = await runCli(['backtest', '--data', data, ...ARGS, '--json'], {}, 120_000);
    assert.equal(first.code, 0, first.stderr);
    const summary = JSON.parse(first.stdout) as Record<string, unknown>;
    assert.equal(summary.fills, 1);
    assert.equal(summary.orders, 3);
    assert.deepEqual(summary.pnl, {
      realised: '-4.1895',
      unrealised: '12.5',
      fees: '4.1895',
      total: '8.3105',
    });
    assert.equal((summary.perSymbol as Record<string, { endPosition: string }>)[S]?.endPosition, '0.005');
    assert.equal('series' in summary, false);
    const second = await runCli(['backtest', '--data', data, ...ARGS, '--json'], {}, 120_000);
    assert.equal(second.stdout, first.stdout);
  });

  it('writes summary.json and report.html with --out', async () => {
    const data = fixtureDir();
    const out = mkdtempSync(join(tmpdir(), 'btcbot-backtest-out-'));
    dirs.push(out);
    const result = await runCli(['backtest', '--data', data, ...ARGS, '--out', out], {}, 120_000);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /PnL 8\.3105 TRY/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { pnl: { total: string } };
    assert.equal(summary.pnl.total, '8.3105');
    assert.ok(existsSync(join(out, 'report.html')));
  });

  it('names the flag of a bad option and exits 2', async () => {
    const data = fixtureDir();
    const bad = await runCli(['backtest', '--data', data, '--latency-ms', 'soon'], {}, 120_000);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--latency-ms/);
    const from = await runCli(['backtest', '--data', data, '--from', 'yesterday'], {}, 120_000);
    assert.equal(from.code, 2);
    assert.match(from.stderr, /--from/);
    const missing = await runCli(['backtest'], {}, 120_000);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--data/);
  });
});

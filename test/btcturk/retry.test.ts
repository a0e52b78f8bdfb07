import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fullJitterDelay, isRetryable } from '../../src/btcturk/common/retry.ts';
import { ExchangeError, type ExchangeErrorKind } from '../../src/domain/errors.ts';
import { processRandom, seededRandom } from '../../src/domain/random.ts';

const POLICY = { baseMs: 250, capMs: 8_000 };

describe('full-jitter backoff', () => {
  it('stays within [0, min(cap, base * 2^attempt)) and reaches across that range', () => {
    const random = seededRandom(20240611);
    for (let attempt = 0; attempt < 12; attempt += 1) {
      const ceiling = Math.min(POLICY.capMs, POLICY.baseMs * 2 ** attempt);
      const draws = Array.from({ length: 200 }, () => fullJitterDelay(attempt, POLICY, random));
      for (const d of draws)
        assert.ok(d >= 0 && d < ceiling, `attempt ${attempt}: ${d} outside [0, ${ceiling})`);
      assert.ok(Math.max(...draws) > ceiling * 0.8, `attempt ${attempt} never drew near its ceiling`);
      assert.ok(Math.min(...draws) < ceiling * 0.2, `attempt ${attempt} never drew near 0`);
    }
  });

  it('differs between two processRandom() sources in one process', () => {
    const a = processRandom();
    const b = processRandom();
    const drawsA = [0, 1, 2, 3, 4].map((n) => fullJitterDelay(n, POLICY, a));
    const drawsB = [0, 1, 2, 3, 4].map((n) => fullJitterDelay(n, POLICY, b));
    assert.notDeepEqual(drawsA, drawsB);
  });

  it('differs between two processes', () => {
    const retry = fileURLToPath(new URL('../../src/btcturk/common/retry.ts', import.meta.url));
    const random = fileURLToPath(new URL('../../src/domain/random.ts', import.meta.url));
    const script =
      `const { fullJitterDelay } = await import(${JSON.stringify(retry)});` +
      `const { processRandom } = await import(${JSON.stringify(random)});` +
      `const r = processRandom();` +
      `console.log(JSON.stringify([0, 1, 2, 3, 4].map((n) => fullJitterDelay(n, { baseMs: 250, capMs: 8000 }, r))));`;
    const draws = [0, 1].map(() => {
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout) as number[];
    });
    assert.equal(draws[0]?.length, 5);
    assert.notDeepEqual(draws[0], draws[1]);
  });
});

describe('retry policy', () => {
  const kinds: ExchangeErrorKind[] = [
    'not-sent',
    'ambiguous',
    'rate-limited',
    'server',
    'auth',
    'rejected',
    'exchange-failure',
    'parse',
  ];
  const retryable = (kind: ExchangeErrorKind, effect: 'read' | 'write') =>
    isRetryable(new ExchangeError(kind, 'x', { operation: 'op' }), effect);

  it('repeats reads after transient failures only', () => {
    assert.deepEqual(
      kinds.filter((k) => retryable(k, 'read')),
      ['not-sent', 'ambiguous', 'rate-limited', 'server'],
    );
  });

  it('repeats writes only when provably unprocessed: never an ambiguous POST or DELETE', () => {
    assert.deepEqual(
      kinds.filter((k) => retryable(k, 'write')),
      ['not-sent', 'rate-limited'],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadRunConfig } from '../../src/ops/run-config.ts';
import { recordRunStart, startConfigDetail } from '../../src/ops/start-audit.ts';
import type { AuditRecord } from '../../src/ports/audit.ts';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock } from '../store/helpers.ts';

// The configuration a run starts with, as the trail keeps it: the settings an operator needs to
// know what ran (mode, pairs, strategy, limits), and none of the credentials planted in it.

const SECRET = Buffer.from('planted-start-secret-0b5e55ed').toString('base64');
const KEY = 'planted-start-key-61a7';
const WS_PRIVATE = Buffer.from('planted-ws-private-7c3d').toString('base64');
const REDIS_PASSWORD = 'planted-redis-pw-93f1';
const PG_PASSWORD = 'planted-pg-pw-e2d8';

const LIVE_ENV = {
  BTCTURK_API_KEY: KEY,
  BTCTURK_API_SECRET: SECRET,
  BTCTURK_WS_PUBLIC_KEY: 'planted-ws-public-11aa',
  BTCTURK_WS_PRIVATE_KEY: WS_PRIVATE,
  BTCTURK_BASE_URL: 'https://user:planted-url-pw@api.example.test/?token=planted-query-token',
  BTCBOT_LIVE_ACK: 'I_UNDERSTAND',
};

function assertClean(text: string): void {
  for (const planted of [
    SECRET,
    KEY,
    WS_PRIVATE,
    'planted-ws-public-11aa',
    REDIS_PASSWORD,
    PG_PASSWORD,
    'planted-url-pw',
    'planted-query-token',
  ])
    assert.ok(!text.includes(planted), `${planted} is in the recorded configuration`);
}

describe('the configuration at the start of a run', () => {
  it('keeps mode, pairs, strategy, limits and endpoints, and no credential, key or password', () => {
    const config = loadRunConfig(
      {
        mode: 'live',
        live: true,
        symbols: 'BTCTRY,ETHTRY',
        db: `postgres://bot:${PG_PASSWORD}@127.0.0.1:5432/test`,
        redisUrl: `redis://:${REDIS_PASSWORD}@127.0.0.1:6379/0`,
        duration: '90s',
      },
      LIVE_ENV,
    );
    const detail = startConfigDetail(config);
    assertClean(JSON.stringify(detail));
    assert.equal(detail.mode, 'live');
    assert.deepEqual(detail.symbols, ['BTCTRY', 'ETHTRY']);
    assert.equal(typeof detail.strategy, 'string');
    assert.equal(detail.durationMs, 90_000);
    assert.equal(detail.signed, true);
    assert.equal(detail.store, 'postgres://127.0.0.1:5432/test');
    assert.equal(detail.redis, 'redis://127.0.0.1:6379/0');
    assert.equal(detail.baseUrl, 'https://api.example.test/');
    assert.equal(detail['risk.maxOpenOrders'], 20);
    assert.equal(typeof detail['risk.maxPositionQuote'], 'string');
  });

  it('is recorded in the store’s trail with the strategy’s parameters', async () => {
    const config = loadRunConfig({ mode: 'paper', db: ':memory:', param: ['spreadBps=40'] }, {});
    const store = await openSqliteStore({ path: ':memory:', clock: manualClock() });
    try {
      const audit = auditLogOf(store);
      const seen: AuditRecord[] = [];
      await recordRunStart(
        {
          record: (entry) => {
            seen.push(entry);
            return audit.record(entry);
          },
          entries: (query) => audit.entries(query),
        },
        config,
      );
      const [entry, ...more] = await audit.entries();
      assert.ok(entry);
      assert.equal(more.length, 0);
      assert.equal(entry.action, 'run-start');
      assert.equal(entry.source, 'cli');
      assert.equal(entry.reason, '(none given)');
      assert.equal(entry.detail.mode, 'paper');
      assert.equal(entry.detail['param.spreadBps'], '40');
      assertClean(JSON.stringify(seen));
    } finally {
      await store.close();
    }
  });
});

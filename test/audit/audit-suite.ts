import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import type { Clock } from '../../src/domain/clock.ts';
import type { AuditRecord } from '../../src/ports/audit.ts';
import type { KillSwitchControl, Store, StoreReader } from '../../src/ports/store.ts';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { manualClock } from '../store/helpers.ts';

// The audit trail's behaviour, run on every SQL backend: the writer store, the kill-switch control
// beside it (no writer lock) and the read-only reader see one trail.

export interface AuditBackend {
  /** A fresh writer store, and openers of a control and a reader on the same database. */
  open(
    t: TestContext,
    clock: Clock,
  ): Promise<{
    store: Store;
    control: () => Promise<KillSwitchControl>;
    reader: () => Promise<StoreReader>;
  }>;
}

const entry = (over: Partial<AuditRecord> = {}): AuditRecord => ({
  action: 'kill-switch-on',
  source: 'cli',
  reason: 'drill',
  ...over,
});

export function auditSuite(backend: AuditBackend): void {
  it('records entries with time, source, reason and detail, and reads them newest first', async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, clock);
    const audit = auditLogOf(store);
    const first = await audit.record(entry());
    clock.advance(1_000);
    const second = await audit.record(
      entry({
        action: 'order',
        source: 'dashboard',
        reason: 'rebalance',
        detail: { symbol: 'BTCTRY', qty: '0.1' },
      }),
    );
    assert.deepEqual(first, {
      id: 1,
      at: 1_700_000_000_000,
      action: 'kill-switch-on',
      source: 'cli',
      reason: 'drill',
      detail: {},
    });
    assert.equal(second.id, 2);
    assert.equal(second.at, 1_700_000_001_000);
    const all = await audit.entries();
    assert.deepEqual(
      all.map((e) => [e.id, e.action, e.source, e.reason]),
      [
        [2, 'order', 'dashboard', 'rebalance'],
        [1, 'kill-switch-on', 'cli', 'drill'],
      ],
    );
    assert.deepEqual(all[0]?.detail, { symbol: 'BTCTRY', qty: '0.1' });
    assert.deepEqual(
      (await audit.entries({ limit: 1 })).map((e) => e.id),
      [2],
    );
    assert.deepEqual(
      (await audit.entries({ action: 'kill-switch-on' })).map((e) => e.id),
      [1],
    );
    assert.deepEqual(
      (await audit.entries({ since: 1_700_000_000_500 })).map((e) => e.id),
      [2],
    );
  });

  it('is written from the kill-switch control beside a running writer and read by a reader', async (t) => {
    const clock = manualClock();
    const { store, control, reader } = await backend.open(t, clock);
    await auditLogOf(store).record(entry({ action: 'run-start', source: 'bot', reason: 'start' }));
    const ctl = await control();
    t.after(() => ctl.close());
    await ctl.setKillSwitch(true, 'from the side');
    await auditLogOf(ctl).record(entry({ reason: 'from the side' }));
    // The writer keeps writing after the control's row: ids stay in order, none is taken twice.
    await auditLogOf(store).record(entry({ action: 'kill-switch-off', source: 'dashboard', reason: 'back' }));
    const read = await reader();
    t.after(() => read.close());
    assert.deepEqual(
      (await auditLogOf(read).entries()).map((e) => [e.id, e.action, e.source]),
      [
        [3, 'kill-switch-off', 'dashboard'],
        [2, 'kill-switch-on', 'cli'],
        [1, 'run-start', 'bot'],
      ],
    );
  });

  it('takes distinct ids when several writers record at once', async (t) => {
    const { store, control } = await backend.open(t, manualClock());
    const ctl = await control();
    t.after(() => ctl.close());
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        auditLogOf(i % 2 === 0 ? store : ctl).record(entry({ reason: `r${i}` })),
      ),
    );
    const ids = (await auditLogOf(store).entries()).map((e) => e.id);
    assert.deepEqual(
      ids,
      Array.from({ length: 10 }, (_, i) => 10 - i),
    );
  });

  it('refuses detail that names a credential, and unknown actions and sources, writing nothing', async (t) => {
    const { store } = await backend.open(t, manualClock());
    const audit = auditLogOf(store);
    for (const key of ['apiSecret', 'apiKey', 'api_key', 'dashboardToken', 'password', 'wsPrivateKey'])
      await assert.rejects(audit.record(entry({ detail: { [key]: 'x' } })), /names a credential/);
    await assert.rejects(
      audit.record(entry({ action: 'launch' as AuditRecord['action'] })),
      /audit action "launch" is not one of/,
    );
    await assert.rejects(
      audit.record(entry({ source: 'cron' as AuditRecord['source'] })),
      /audit source "cron" is not one of/,
    );
    assert.deepEqual(await audit.entries(), []);
  });

  it('a reader cannot write the trail', async (t) => {
    const { reader } = await backend.open(t, manualClock());
    const read = await reader();
    t.after(() => read.close());
    await assert.rejects(auditLogOf(read).record(entry()));
  });
}

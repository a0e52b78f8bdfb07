import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import type { AlertStore } from '../../src/ports/alerts.ts';

// The AlertStore port's behaviour, run on every backend (SQLite, PostgreSQL).

export interface AlertStoreBackend {
  readonly name: string;
  /** A fresh store; `reopen` closes it and opens the same database again (a restart). */
  open(t: TestContext): Promise<{ alerts: AlertStore; reopen: () => Promise<AlertStore> }>;
}

const msg = (id: string, receiver: string, createdAt: number) => ({
  id,
  receiver,
  payload: JSON.stringify({ id }),
  createdAt,
});

export function alertStoreSuite(backend: AlertStoreBackend): void {
  it(`${backend.name}: state and outbox commit together and survive a reopen`, async (t) => {
    const { alerts, reopen } = await backend.open(t);
    await alerts.commitAlerts({
      put: [
        { rule: 'halted', key: 'main', state: '{"phase":"firing"}', updatedAt: 10 },
        { rule: 'rate-limit-burst', key: '', state: '{"last":3}', updatedAt: 10 },
      ],
      remove: [],
      enqueue: [msg('a@webhook', 'webhook', 10), msg('a@telegram', 'telegram', 10)],
    });
    // Enqueued twice (an evaluation repeated after a lost commit): still one message.
    await alerts.commitAlerts({ put: [], remove: [], enqueue: [msg('a@webhook', 'webhook', 11)] });
    await alerts.commitAlerts({
      put: [{ rule: 'halted', key: 'main', state: '{"phase":"firing","n":2}', updatedAt: 12 }],
      remove: [{ rule: 'rate-limit-burst', key: '' }],
      enqueue: [],
    });
    const again = await reopen();
    assert.deepEqual(await again.alertStates(), [
      { rule: 'halted', key: 'main', state: '{"phase":"firing","n":2}', updatedAt: 12 },
    ]);
    const outbox = await again.outbox();
    assert.deepEqual(
      outbox.map((m) => [m.id, m.receiver, m.status, m.attempts, m.nextAttemptAt]),
      [
        ['a@telegram', 'telegram', 'pending', 0, 10],
        ['a@webhook', 'webhook', 'pending', 0, 10],
      ],
    );
  });

  it(`${backend.name}: a claim takes due messages for a lease; delivered and failed marks`, async (t) => {
    const { alerts } = await backend.open(t);
    await alerts.commitAlerts({
      put: [],
      remove: [],
      enqueue: [msg('m1', 'webhook', 100), msg('m2', 'webhook', 200), msg('m3', 'telegram', 100)],
    });
    assert.deepEqual(await alerts.claimOutbox('webhook', 50, 1_000, 10), [], 'nothing due before its time');
    const [first, ...rest] = await alerts.claimOutbox('webhook', 150, 1_000, 10);
    assert.equal(rest.length, 0);
    assert.equal(first?.id, 'm1');
    assert.equal(first.attempts, 1);
    assert.equal(first.nextAttemptAt, 1_150);
    assert.deepEqual(
      (await alerts.claimOutbox('webhook', 300, 1_000, 10)).map((m) => m.id),
      ['m2'],
      'a claimed message is not handed out again within its lease',
    );
    assert.equal(await alerts.nextOutboxDue('webhook'), 1_150);
    await alerts.markFailed('m1', 'HTTP 500', 5_000);
    await alerts.markDelivered('m2', 400);
    assert.equal(await alerts.nextOutboxDue('webhook'), 5_000);
    const [again] = await alerts.claimOutbox('webhook', 5_000, 1_000, 10);
    assert.equal(again?.attempts, 2);
    await alerts.markFailed('m1', 'given up', null);
    assert.equal(await alerts.nextOutboxDue('webhook'), null);
    const rows = await alerts.outbox({ receiver: 'webhook' });
    assert.deepEqual(
      rows.map((m) => [m.id, m.status, m.deliveredAt, m.lastError]),
      [
        ['m1', 'dead', null, 'given up'],
        ['m2', 'delivered', 400, null],
      ],
    );
    assert.deepEqual(
      (await alerts.outbox({ status: 'pending' })).map((m) => m.id),
      ['m3'],
    );
    assert.equal(await alerts.pruneOutbox(150), 1, 'only finished messages created before the cut');
    assert.deepEqual(
      (await alerts.outbox()).map((m) => m.id),
      ['m3', 'm2'],
      'oldest first',
    );
  });
}

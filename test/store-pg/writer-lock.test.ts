import assert from 'node:assert/strict';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLockProcess } from '../helpers/lock-process.ts';
import type { Store } from '../../src/ports/store.ts';
import { openPostgresStore, PostgresStoreLockedError } from '../../src/store/postgres/open.ts';
import { newOrder } from '../store/helpers.ts';
import { dropSchema, eventually, findPostgres, runSql, schemaName } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/pg-store-process.ts', import.meta.url));
const target = await findPostgres();
const { url } = target;

function start(t: TestContext, mode: 'hold' | 'probe', schema: string) {
  return startLockProcess(t, FIXTURE, [mode, url, schema]);
}

function freshSchema(t: TestContext): string {
  const schema = schemaName();
  t.after(() => dropSchema(url, schema));
  return schema;
}

async function refusal(schema: string): Promise<PostgresStoreLockedError> {
  try {
    const store = await openPostgresStore({ url, schema });
    await store.close();
  } catch (error) {
    if (error instanceof PostgresStoreLockedError) return error;
    throw error;
  }
  assert.fail(`opening schema ${schema} should have been refused`);
}

async function opened(t: TestContext, schema: string): Promise<Store> {
  const store = await openPostgresStore({ url, schema });
  t.after(() => store.close());
  return store;
}

describe('postgres store: single writer per schema', { skip: target.skip }, () => {
  it('refuses a second opener, naming the database and the holder', async (t) => {
    const schema = freshSchema(t);
    const holder = start(t, 'hold', schema);
    const held = await holder.next();
    assert.equal(held.event, 'holding');

    const probe = start(t, 'probe', schema);
    const probed = await probe.next();
    assert.equal(probed.event, 'refused');
    assert.equal(probed.holderPid, held.pid);

    const error = await refusal(schema);
    assert.ok(error.message.includes(`127.0.0.1:5432/test (schema ${schema})`), error.message);
    assert.ok(error.message.includes(`pid ${held.pid} on host ${hostname()}`), error.message);
    assert.match(error.message, /PostgreSQL session \d+, connected since \d{4}-\d\d-\d\dT/);
    assert.equal(error.holder?.pid, held.pid);
  });

  it('is released by a clean close', async (t) => {
    const schema = freshSchema(t);
    const holder = start(t, 'hold', schema);
    assert.equal((await holder.next()).event, 'holding');
    holder.child.stdin.write('close\n');
    assert.equal((await holder.next()).event, 'closed');
    // close returned after the unlock: the very first attempt succeeds.
    await opened(t, schema);
  });

  it('is taken over from a holder killed with SIGKILL, without any lease to expire', async (t) => {
    const schema = freshSchema(t);
    const holder = start(t, 'hold', schema);
    const held = await holder.next();
    assert.equal(held.event, 'holding');
    holder.child.kill('SIGKILL');
    await once(holder.child, 'exit');

    // The server ends the dead holder's session when its socket closes, which can trail the exit
    // by a moment: retry a refusal only while it still names the dead holder.
    let store: Store | undefined;
    await eventually(async () => {
      try {
        store = await opened(t, schema);
        return true;
      } catch (error) {
        if (error instanceof PostgresStoreLockedError && error.holder?.pid === held.pid) return false;
        throw error;
      }
    }, 'taking over the killed holder’s lock');
    assert.ok(store);

    const probe = start(t, 'probe', schema);
    const probed = await probe.next();
    assert.equal(probed.event, 'refused', 'the new holder is protected in turn');
    assert.equal(probed.holderPid, process.pid);
  });

  it('also refuses a second opener inside the same process', async (t) => {
    const schema = freshSchema(t);
    await opened(t, schema);
    const error = await refusal(schema);
    assert.equal(error.holder?.pid, process.pid);
  });

  it('refuses every query once its lock session is gone, and lets another writer take over', async (t) => {
    const schema = freshSchema(t);
    const store = await opened(t, schema);
    const order = await store.journalOrder(newOrder());
    const { rows } = await runSql(
      url,
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1`,
      [`btcbot writer pid=${process.pid} host=${hostname()}`.slice(0, 63)],
    );
    assert.deepEqual(rows, [{ ended: true }], 'exactly one writer-lock session of this process');

    await eventually(
      () =>
        store.order(order.id).then(
          () => false,
          (error: unknown) => error instanceof Error && /lost its writer lock/.test(error.message),
        ),
      'noticing the lost lock',
    );
    await assert.rejects(store.journalOrder(newOrder()), /lost its writer lock .*Restart this process/);
    const successor = await opened(t, schema);
    assert.equal((await successor.order(order.id))?.id, order.id);
  });
});

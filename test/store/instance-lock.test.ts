import assert from 'node:assert/strict';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLockProcess } from '../helpers/lock-process.ts';
import type { LockHolder } from '../../src/store/sqlite/open.ts';
import { openSqliteStore, StoreLockedError } from '../../src/store/sqlite/open.ts';
import { tempDir } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/store-process.ts', import.meta.url));

function start(t: TestContext, mode: 'hold' | 'probe', path: string) {
  return startLockProcess(t, FIXTURE, [mode, path]);
}

async function refusal(path: string): Promise<StoreLockedError> {
  try {
    const store = await openSqliteStore({ path });
    await store.close();
  } catch (error) {
    if (error instanceof StoreLockedError) return error;
    throw error;
  }
  assert.fail(`opening ${path} should have been refused`);
}

describe('single writer per database', () => {
  it('refuses a second opener, naming the database and the holder', async (t) => {
    const path = join(tempDir(t), 'bot.db');
    const holder = start(t, 'hold', path);
    const held = await holder.next();
    assert.equal(held.event, 'holding');

    const probe = start(t, 'probe', path);
    const probed = await probe.next();
    assert.equal(probed.event, 'refused');
    assert.equal(probed.holderPid, held.pid);

    const error = await refusal(path);
    assert.ok(error.message.includes(path), error.message);
    assert.ok(error.message.includes(`pid ${held.pid}`), error.message);
    assert.ok(error.message.includes(hostname()), error.message);
    assert.match(error.message, /since \d{4}-\d\d-\d\dT/);
    assert.equal(error.holder?.pid, held.pid);
  });

  it('is released by a clean close', async (t) => {
    const path = join(tempDir(t), 'bot.db');
    const holder = start(t, 'hold', path);
    assert.equal((await holder.next()).event, 'holding');
    holder.child.stdin.write('close\n');
    assert.equal((await holder.next()).event, 'closed');

    const takeovers: LockHolder[] = [];
    const store = await openSqliteStore({ path, onTakeover: (h) => takeovers.push(h) });
    await store.close();
    assert.deepEqual(takeovers, [], 'a clean close leaves nothing to take over');
  });

  it('is taken over at once from a holder killed with SIGKILL', async (t) => {
    const path = join(tempDir(t), 'bot.db');
    const holder = start(t, 'hold', path);
    const held = await holder.next();
    assert.equal(held.event, 'holding');
    holder.child.kill('SIGKILL');
    await once(holder.child, 'exit');

    // No retry, no wait: the very first attempt after the holder died must succeed.
    const takeovers: LockHolder[] = [];
    const store = await openSqliteStore({ path, onTakeover: (h) => takeovers.push(h) });
    t.after(() => store.close());
    assert.deepEqual(
      takeovers.map((h) => h.pid),
      [held.pid],
    );

    const probe = start(t, 'probe', path);
    const probed = await probe.next();
    assert.equal(probed.event, 'refused', 'the new holder is protected in turn');
    assert.equal(probed.holderPid, process.pid);
  });

  it('also refuses a second opener inside the same process', async (t) => {
    const path = join(tempDir(t), 'bot.db');
    const store = await openSqliteStore({ path });
    t.after(() => store.close());
    const error = await refusal(path);
    assert.equal(error.holder?.pid, process.pid);
  });
});

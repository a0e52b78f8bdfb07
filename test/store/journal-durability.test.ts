import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { randomInt, seededRandom } from '../../src/domain/random.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { tempDir } from './helpers.ts';

// A journaled submit survives the process being killed the moment its write resolved: a child
// journals from several symbols at once (so writes share commits) and SIGKILLs itself right after
// the N-th journal resolves; reopened, the store holds every order the child heard was journaled,
// and marks SUBMITTED every one it heard was marked sent. (A kill loses nothing SQLite committed
// even without a sync; what synchronous=FULL adds — the commit synced before it resolves — holds
// across a power cut, which a test cannot cut.) Replay one: JOURNAL_KILL_SEEDS=7 node --test …

const CHILD = join(import.meta.dirname, 'journal-kill-child.ts');
const SEEDS = (process.env.JOURNAL_KILL_SEEDS ?? '1,2,3').split(',').map(Number);

interface ChildRun {
  readonly lines: string[];
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
}

function runChild(args: readonly string[]): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ lines: out.split('\n').filter((l) => l !== ''), signal, code, stderr });
    });
  });
}

describe('journal durability across a kill', () => {
  for (const seed of SEEDS) {
    it(`keeps every journal and sent mark that resolved before SIGKILL (seed ${seed})`, async (t) => {
      const random = seededRandom(seed);
      const lanes = randomInt(random, 1, 8);
      const killAfter = randomInt(random, 1, 80);
      const path = join(tempDir(t), 'kill.db');
      const run = await runChild([path, String(seed), String(lanes), String(killAfter)]);
      assert.equal(
        run.signal,
        'SIGKILL',
        `seed ${seed}: the child ended otherwise (code ${run.code}): ${run.stderr}`,
      );
      const journaled = run.lines.flatMap((l) => (l.startsWith('journaled ') ? [l.slice(10)] : []));
      const sent = new Set(run.lines.flatMap((l) => (l.startsWith('sent ') ? [l.slice(5)] : [])));
      assert.equal(journaled.length, killAfter, `seed ${seed}: killed after ${killAfter} journals`);

      const takenOver: string[] = [];
      const store = await openSqliteStore({ path, onTakeover: (h) => takenOver.push(String(h.pid)) });
      t.after(() => store.close());
      assert.equal(takenOver.length, 1, 'the killed child left its lock behind');
      for (const clientOrderId of journaled) {
        const order = await store.orderByClientId(clientOrderId);
        assert.ok(
          order,
          `seed ${seed} (${lanes} symbols, kill after ${killAfter}): ${clientOrderId} was lost`,
        );
        if (sent.has(clientOrderId))
          assert.equal(order.state, 'SUBMITTED', `${clientOrderId} lost its sent mark`);
        else
          assert.ok(
            ['PENDING_SUBMIT', 'SUBMITTED'].includes(order.state),
            `${clientOrderId}: ${order.state}`,
          );
      }
      // The last one journaled was killed before its send: still PENDING_SUBMIT, for the reconciler
      // to conclude never sent.
      const last = journaled.at(-1);
      assert.equal(
        last === undefined ? undefined : (await store.orderByClientId(last))?.state,
        'PENDING_SUBMIT',
      );
    });
  }
});

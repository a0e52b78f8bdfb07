import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import type { Store } from '../../src/ports/store.ts';

// The single-writer tests of every store backend drive real processes the same way: a fixture
// opens the store and reports one JSON line per step ("holding", "closed", "opened", "refused").

export interface LockReport {
  readonly pid: number;
  readonly event: 'holding' | 'closed' | 'opened' | 'refused';
  readonly message?: string;
  readonly holderPid?: number | null;
}

/** The test side: starts a fixture as a child process (killed after the test) and reads its reports. */
export function startLockProcess(t: TestContext, fixture: string, args: readonly string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, ...args],
    {
      stdio: 'pipe',
    },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    async next(): Promise<LockReport> {
      const line = await lines.next();
      if (line.done === true) throw new Error(`store process ended without a report; stderr: ${stderr}`);
      return JSON.parse(line.value) as LockReport;
    },
  };
}

/**
 * The fixture side. `hold`: opens the store, reports, and holds it until a line "close" arrives on
 * stdin (then closes cleanly) or the process is killed. `probe`: opens once and reports the outcome.
 */
export async function runLockProcess(
  mode: 'hold' | 'probe',
  open: () => Promise<Store>,
  refusal: (error: unknown) => { message: string; holderPid: number | null } | undefined,
): Promise<void> {
  const report = (event: object) => {
    process.stdout.write(`${JSON.stringify({ pid: process.pid, ...event })}\n`);
  };
  try {
    const store = await open();
    if (mode === 'probe') {
      report({ event: 'opened' });
      await store.close();
    } else {
      report({ event: 'holding' });
      for await (const line of createInterface({ input: process.stdin })) {
        if (line.trim() === 'close') break;
      }
      await store.close();
      report({ event: 'closed' });
    }
  } catch (error) {
    const refused = refusal(error);
    if (refused === undefined) throw error;
    report({ event: 'refused', ...refused });
  }
}

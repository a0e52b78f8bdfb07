import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import type { Store } from '../../src/ports/store.ts';
import { startReportProcess } from './report-process.ts';

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
  const proc = startReportProcess(t, fixture, args, 'store process');
  return { child: proc.child, next: () => proc.next<LockReport>() };
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

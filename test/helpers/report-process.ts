import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';

// Tests that drive real processes read them the same way: a fixture run through tsx reports one
// JSON line per step on stdout, and the test reads those lines in order.

/**
 * Starts `fixture ARGS` as a child process (killed after the test) and reads its JSON reports;
 * `what` names the process in the error when it ends without one (with its stderr).
 */
export function startReportProcess(
  t: TestContext,
  fixture: string,
  args: readonly string[],
  what = 'process',
) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', 'tsx', fixture, ...args],
    { stdio: 'pipe' },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    async next<T>(): Promise<T> {
      const line = await lines.next();
      if (line.done === true) throw new Error(`${what} ended without a report; stderr: ${stderr}`);
      return JSON.parse(line.value) as T;
    },
  };
}

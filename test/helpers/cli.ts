import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BTCBOT_BIN = fileURLToPath(new URL('../../bin/btcbot.js', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `btcbot …` as a user would: a child process with only the environment given (plus PATH/HOME). */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return runCliIn(undefined, args, env, timeoutMs);
}

/** `btcbot …` to its end as runCli runs it, but from the folder `cwd` (relative --db paths). */
export function runCliIn(
  cwd: string | undefined,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BTCBOT_BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { BTCBOT_BIN } from '../helpers/cli.ts';

// `btcbot …` as a long-running child (a bot, a dashboard): its dashboard address from the line it
// prints, its output so far, and an orderly stop (SIGINT, then the exit code).

export interface RunningChild {
  readonly child: ChildProcess;
  /** The address from `dashboard: http://…/`. */
  readonly url: Promise<string>;
  stdout(): string;
  stderr(): string;
  /** SIGINT, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function startChild(args: readonly string[], env: Record<string, string> = {}): RunningChild {
  const child = spawn(process.execPath, [BTCBOT_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code);
    });
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^\s*dashboard: (http:\/\/\S+\/)/m.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then((code) => {
      reject(
        new Error(
          `btcbot ${args.join(' ')} exited (${String(code)}) before printing its dashboard address:\n${out}\n${err}`,
        ),
      );
    });
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

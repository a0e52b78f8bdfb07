import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import { redact } from '../../btcturk/common/redact.ts';
import type { Clock } from '../../domain/clock.ts';

// A dead-man's switch: while the engine loop is healthy the bot pings a URL every so often (a
// healthchecks.io check, Uptime Kuma's push monitor, Cronitor…); when the loop stalls or the
// process dies the pings stop, and the service watching the URL raises the alarm from outside.

/** Healthy: an evaluation within `stallMs` (or, before the first, the process started within it). */
export function loopHealthy(
  lastLoopAt: number | null,
  startedAt: number,
  now: number,
  stallMs: number,
): boolean {
  return now - (lastLoopAt ?? startedAt) < stallMs;
}

export interface HeartbeatOptions {
  readonly url: string;
  readonly everyMs: number;
  readonly healthy: () => boolean;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Redacted from log lines (a ping URL is often a secret of its own: it is never logged whole). */
  readonly secrets: readonly string[];
  readonly timeoutMs?: number | undefined;
}

export type BeatOutcome = 'sent' | 'silent' | 'failed';

export class Heartbeat {
  readonly #options: HeartbeatOptions;
  readonly #agent = new Agent({ connections: 1 });
  readonly #stop = new AbortController();
  #running: Promise<void> | null = null;
  /** Logged once per change, not on every beat. */
  #lastOutcome: BeatOutcome | null = null;

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** One beat: a ping when healthy, nothing when not. */
  async beat(): Promise<BeatOutcome> {
    const { url, healthy, logger, secrets } = this.#options;
    let outcome: BeatOutcome = 'silent';
    let detail = '';
    if (healthy()) {
      try {
        const response = await request(url, {
          method: 'GET',
          dispatcher: this.#agent,
          signal: AbortSignal.any([
            AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
            this.#stop.signal,
          ]),
        });
        await response.body.dump();
        outcome = response.statusCode < 400 ? 'sent' : 'failed';
        detail = `HTTP ${response.statusCode}`;
      } catch (error) {
        outcome = 'failed';
        detail = error instanceof Error ? error.message : String(error);
      }
    }
    if (outcome !== this.#lastOutcome) {
      const where = redact(hostOf(url), [...secrets, url]);
      if (outcome === 'failed')
        logger.warn(
          { host: where },
          `heartbeat ping to ${where} failed: ${redact(detail, [...secrets, url])}`,
        );
      else if (outcome === 'silent')
        logger.warn('heartbeat paused: the engine loop is not healthy (the watcher will alert)');
      else logger.info({ host: where }, `heartbeat pings ${where}`);
    }
    this.#lastOutcome = outcome;
    return outcome;
  }

  start(): void {
    this.#running ??= (async () => {
      while (!this.#stop.signal.aborted) {
        await this.beat();
        await this.#options.clock.sleep(this.#options.everyMs, this.#stop.signal).catch(() => undefined);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    await this.#agent.destroy();
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unreadable URL)';
  }
}

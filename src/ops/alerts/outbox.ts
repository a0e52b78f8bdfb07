import type { Logger } from 'pino';
import { fullJitterDelay, type BackoffPolicy } from '../../btcturk/common/retry.ts';
import { redact } from '../../btcturk/common/redact.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Random } from '../../domain/random.ts';
import type { AlertStore } from '../../ports/alerts.ts';
import type { AlertMessage } from './messages.ts';
import type { Receiver } from './receivers.ts';
import { Throttle } from './throttle.ts';

// Drains the alert outbox: one loop per receiver (a hanging Telegram never holds back the webhook),
// each taking its oldest due message when the receiver's limits allow, sending it, and marking it
// delivered — or due again after an exponential backoff with full jitter (or the receiver's own
// Retry-After, when longer), until it is given up. Nothing here is awaited by the engine or the
// evaluator: they only write the outbox.

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 300_000 };
/** About a day of retries at the cap. */
export const DEFAULT_MAX_ATTEMPTS = 300;
/** Nothing due: the store is asked again this often (an enqueue wakes the loops at once). */
const IDLE_POLL_MS = 5_000;

export type StepResult =
  | { readonly kind: 'sent' | 'failed' | 'gave-up'; readonly id: string }
  | { readonly kind: 'idle' | 'throttled'; readonly nextAt: number | null };

export interface OutboxStats {
  delivered: number;
  failures: number;
  givenUp: number;
}

export interface OutboxWorkerOptions {
  readonly store: AlertStore;
  readonly receivers: readonly Receiver[];
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Redacted from every log line this worker writes. */
  readonly secrets: readonly string[];
  readonly backoff?: BackoffPolicy | undefined;
  readonly maxAttempts?: number | undefined;
  /** A claimed message is due again after this if its sender died mid-send. */
  readonly leaseMs?: number | undefined;
}

interface Lane {
  readonly receiver: Receiver;
  readonly throttle: Throttle;
  wake: AbortController;
  running: Promise<void> | null;
}

export class OutboxWorker {
  readonly #options: OutboxWorkerOptions;
  readonly #lanes = new Map<string, Lane>();
  readonly #stop = new AbortController();
  readonly #stats: OutboxStats = { delivered: 0, failures: 0, givenUp: 0 };

  constructor(options: OutboxWorkerOptions) {
    this.#options = options;
    for (const receiver of options.receivers)
      this.#lanes.set(receiver.name, {
        receiver,
        throttle: new Throttle(receiver.limits),
        wake: new AbortController(),
        running: null,
      });
  }

  get receiverNames(): string[] {
    return [...this.#lanes.keys()];
  }

  stats(): Readonly<OutboxStats> {
    return { ...this.#stats };
  }

  /** One message for `receiver`, if one is due and its limits allow: what the loop does each turn. */
  async step(receiverName: string): Promise<StepResult> {
    const lane = this.#lanes.get(receiverName);
    if (lane === undefined) throw new Error(`no alert receiver named ${receiverName}`);
    const { store, clock, logger } = this.#options;
    const now = clock.now();
    const allowedAt = lane.throttle.nextAt(now);
    if (allowedAt > now) return { kind: 'throttled', nextAt: allowedAt };
    const [message] = await store.claimOutbox(receiverName, now, this.#leaseMs(), 1);
    if (message === undefined) return { kind: 'idle', nextAt: await store.nextOutboxDue(receiverName) };
    lane.throttle.take(now);
    const outcome = await lane.receiver.send(JSON.parse(message.payload) as AlertMessage, this.#stop.signal);
    // Stopping cut the send short: its claim runs out and the next start sends it again.
    if (this.#stop.signal.aborted && !outcome.ok) return { kind: 'idle', nextAt: null };
    if (outcome.ok) {
      await store.markDelivered(message.id, clock.now());
      this.#stats.delivered += 1;
      return { kind: 'sent', id: message.id };
    }
    const error = redact(outcome.error, this.#options.secrets);
    const log = { receiver: receiverName, message: message.id, attempts: message.attempts, error };
    if (outcome.permanent || message.attempts >= (this.#options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS)) {
      await store.markFailed(message.id, error, null);
      this.#stats.givenUp += 1;
      logger.error(
        log,
        `alert delivery to ${receiverName} given up after ${message.attempts} attempts: ${error}`,
      );
      return { kind: 'gave-up', id: message.id };
    }
    const backoff = fullJitterDelay(
      message.attempts - 1,
      this.#options.backoff ?? DEFAULT_BACKOFF,
      this.#options.random,
    );
    const delay = Math.max(backoff, outcome.retryAfterMs ?? 0);
    await store.markFailed(message.id, error, clock.now() + Math.ceil(delay));
    this.#stats.failures += 1;
    logger.warn(
      log,
      `alert delivery to ${receiverName} failed (attempt ${message.attempts}), again in ${Math.ceil(delay)} ms: ${error}`,
    );
    return { kind: 'failed', id: message.id };
  }

  /** Something was enqueued: the idle loops look at once. */
  poke(): void {
    for (const lane of this.#lanes.values()) lane.wake.abort();
  }

  start(): void {
    for (const [name, lane] of this.#lanes) lane.running ??= this.#loop(name, lane);
  }

  /** Ends the loops; a send in flight is abandoned (its claim runs out, and it is sent again later). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.all([...this.#lanes.values()].map((lane) => lane.running ?? Promise.resolve()));
    await Promise.all([...this.#lanes.values()].map((lane) => lane.receiver.close().catch(() => undefined)));
  }

  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  #leaseMs(): number {
    return this.#options.leaseMs ?? 60_000;
  }

  async #loop(name: string, lane: Lane): Promise<void> {
    const { clock, logger } = this.#options;
    while (!this.#stop.signal.aborted) {
      let wait = 0;
      try {
        const result = await this.step(name);
        if (result.kind === 'idle' || result.kind === 'throttled')
          wait = Math.min(IDLE_POLL_MS, Math.max(0, (result.nextAt ?? Infinity) - clock.now()));
      } catch (error) {
        if (this.#stopped()) break;
        wait = IDLE_POLL_MS;
        logger.error(
          {
            receiver: name,
            err: redact(error instanceof Error ? error.message : String(error), this.#options.secrets),
          },
          'alert outbox could not be read or written; trying again',
        );
      }
      if (wait <= 0) continue;
      const signal = AbortSignal.any([lane.wake.signal, this.#stop.signal]);
      await clock.sleep(wait, signal).catch(() => undefined);
      if (lane.wake.signal.aborted) lane.wake = new AbortController();
    }
  }
}

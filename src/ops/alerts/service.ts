import type { Logger } from 'pino';
import type { BackoffPolicy } from '../../btcturk/common/retry.ts';
import { redact } from '../../btcturk/common/redact.ts';
import type { Clock } from '../../domain/clock.ts';
import type { Random } from '../../domain/random.ts';
import type { AlertStore, NewOutboxMessage } from '../../ports/alerts.ts';
import { alertSecrets, type AlertsConfig } from './config.ts';
import { evaluate, fillsCursor, type StateEntry } from './evaluate.ts';
import type { AlertFigures } from './figures.ts';
import { Heartbeat, loopHealthy } from './heartbeat.ts';
import { digestMessage, transitionMessage, type AlertMessage } from './messages.ts';
import { OutboxWorker } from './outbox.ts';
import { telegramReceiver, webhookReceiver, type Receiver } from './receivers.ts';

// The thin shell around the pure rules: every few seconds it asks the session for its figures,
// evaluates, and writes the new state with the messages it produced to the outbox in one unsynced
// commit; the outbox worker delivers them on its own loops, and the heartbeat pings while the loop
// is healthy. Nothing here is on the engine's path: the engine never awaits any of it.

export const DEFAULT_EVALUATE_EVERY_MS = 5_000;
/** Delivered and given-up messages are kept this long (for `btcbot status` and the dashboard). */
const OUTBOX_KEEP_MS = 7 * 24 * 3_600_000;

export interface AlertsServiceOptions {
  readonly store: AlertStore;
  readonly config: AlertsConfig;
  /** Names this bot in messages (its client order id prefix). */
  readonly bot: string;
  /** The session's figures; `fillsSince`: fills recorded at or after it (ms) are wanted. */
  readonly figures: (fillsSince: number) => Promise<AlertFigures>;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Every secret of the process (API and WebSocket keys too): none reaches a message or a log line. */
  readonly secrets: readonly string[];
  /** Default: from `config` (webhook, Telegram). */
  readonly receivers?: readonly Receiver[] | undefined;
  readonly evaluateEveryMs?: number | undefined;
  /** The outbox worker's retry backoff (default DEFAULT_BACKOFF). */
  readonly backoff?: BackoffPolicy | undefined;
}

export interface TickResult {
  readonly messages: readonly AlertMessage[];
}

export function receiversFor(config: AlertsConfig, clock: Clock): Receiver[] {
  const out: Receiver[] = [];
  if (config.webhook) out.push(webhookReceiver({ ...config.webhook, clock }));
  if (config.telegram) out.push(telegramReceiver(config.telegram));
  return out;
}

export class AlertsService {
  readonly #options: AlertsServiceOptions;
  readonly #secrets: string[];
  readonly worker: OutboxWorker;
  readonly #heartbeat: Heartbeat | null;
  /** The persisted state as last committed; loaded once. */
  #states: StateEntry[] | null = null;
  #ticking: Promise<TickResult> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #lastLoopAt: number | null = null;
  #startedAt: number | null = null;
  /** Until the first evaluation says when the process started, the service's own start stands in. */
  readonly #createdAt: number;

  constructor(options: AlertsServiceOptions) {
    this.#options = options;
    const { config, clock } = options;
    this.#createdAt = clock.now();
    this.#secrets = [...options.secrets, ...alertSecrets(config)];
    this.worker = new OutboxWorker({
      store: options.store,
      receivers: options.receivers ?? receiversFor(config, clock),
      clock,
      random: options.random,
      logger: options.logger,
      secrets: this.#secrets,
      backoff: options.backoff,
    });
    this.#heartbeat =
      config.heartbeat === null
        ? null
        : new Heartbeat({
            url: config.heartbeat.url,
            everyMs: config.heartbeat.everyMs,
            clock,
            logger: options.logger,
            secrets: this.#secrets,
            healthy: () =>
              loopHealthy(
                this.#lastLoopAt,
                this.#startedAt ?? this.#createdAt,
                clock.now(),
                config.thresholds.loopStallMs,
              ),
          });
  }

  /** Evaluates once; concurrent calls share the evaluation in flight. */
  tick(): Promise<TickResult> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = null;
    });
    return this.#ticking;
  }

  async #tick(): Promise<TickResult> {
    const { store, config, clock, bot } = this.#options;
    this.#states ??= (await store.alertStates()).map((row) => ({
      rule: row.rule,
      key: row.key,
      state: JSON.parse(row.state) as unknown,
    }));
    const states = this.#states;
    const now = clock.now();
    const figures = await this.#options.figures(fillsCursor(states) ?? now);
    this.#startedAt = figures.startedAt;
    this.#lastLoopAt = figures.lastLoopAt;
    const result = evaluate({
      figures,
      states,
      now: clock.now(),
      thresholds: config.thresholds,
      enabled: config.enabled,
    });
    const messages = [
      ...result.transitions.map((t) => transitionMessage(bot, t)),
      ...(result.digest ? [digestMessage(bot, result.digest)] : []),
    ].map((m) => this.#scrub(m));
    const at = clock.now();
    const enqueue: NewOutboxMessage[] = messages.flatMap((m) =>
      this.worker.receiverNames.map((receiver) => ({
        id: `${m.id}@${receiver}`,
        receiver,
        payload: JSON.stringify(m),
        createdAt: at,
      })),
    );
    await store.commitAlerts({
      put: result.put.map((e) => ({
        rule: e.rule,
        key: e.key,
        state: JSON.stringify(e.state),
        updatedAt: at,
      })),
      remove: result.remove,
      enqueue,
    });
    // Only what was committed becomes the state the next evaluation starts from.
    const gone = new Set([...result.remove, ...result.put].map((e) => `${e.rule}\u0000${e.key}`));
    this.#states = [...states.filter((s) => !gone.has(`${s.rule}\u0000${s.key}`)), ...result.put];
    for (const m of messages) this.#log(m);
    if (enqueue.length > 0) this.worker.poke();
    return { messages };
  }

  #scrub(m: AlertMessage): AlertMessage {
    return { ...m, key: redact(m.key, this.#secrets), summary: redact(m.summary, this.#secrets) };
  }

  #log(m: AlertMessage): void {
    const { logger } = this.#options;
    const fields = { rule: m.rule, key: m.key, status: m.status, severity: m.severity };
    if (m.kind === 'digest') logger.info(fields, `alert digest: ${m.summary}`);
    else if (m.status === 'firing') logger.warn(fields, `ALERT ${m.rule}: ${m.summary}`);
    else logger.info(fields, `alert ${m.rule} ${m.summary}`);
  }

  start(): void {
    const { logger } = this.#options;
    const every = this.#options.evaluateEveryMs ?? DEFAULT_EVALUATE_EVERY_MS;
    const run = (): void => {
      this.tick().catch((error: unknown) => {
        logger.error(
          { err: redact(error instanceof Error ? error.message : String(error), this.#secrets) },
          'alert evaluation failed; trying again',
        );
      });
    };
    run();
    this.#timer = setInterval(run, every);
    this.#timer.unref();
    this.worker.start();
    this.#heartbeat?.start();
    void this.#options.store.pruneOutbox(this.#options.clock.now() - OUTBOX_KEEP_MS).catch(() => undefined);
  }

  /** Stops evaluating, delivering and pinging; what is left in the outbox goes on the next start. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#ticking?.catch(() => undefined);
    await Promise.all([this.worker.stop(), this.#heartbeat?.stop()]);
  }
}

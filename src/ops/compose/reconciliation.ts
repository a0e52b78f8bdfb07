import type { Logger } from 'pino';
import type { BtcturkWsClient, WsCredentials } from '../../btcturk/websocket/index.ts';
import type { Oms } from '../../oms/index.ts';
import { degradedPollMs, PrivateStreamPace, serverText } from '../private-stream.ts';

// Continuous reconciliation, paced by the private stream: while it brings fills and order states
// as they happen, a pass every RECONCILE_EVERY_MS covers what it missed; without it (login
// refused, socket down) fills and order states come only from reconciliation, so it runs faster
// until a login succeeds again (src/ops/private-stream.ts).

/** Reconciliation while the private stream brings fills and order states as they happen. */
export const RECONCILE_EVERY_MS = 15_000;

export class ReconcileLoop {
  readonly pace: PrivateStreamPace;
  readonly #oms: Oms;
  // Set from callbacks and read after awaits.
  #stopping = false;
  #continuous = false;
  #paceChange = Promise.resolve();

  constructor(options: {
    readonly oms: Oms;
    readonly symbols: readonly string[];
    readonly client: BtcturkWsClient;
    readonly wsCredentials: WsCredentials | undefined;
    readonly out: (line: string) => void;
    readonly logger: Logger;
  }) {
    const { oms, client, out, logger } = options;
    this.#oms = oms;
    this.pace = new PrivateStreamPace({
      normalMs: RECONCILE_EVERY_MS,
      degradedMs: degradedPollMs(options.symbols.length, RECONCILE_EVERY_MS),
      onChange: (intervalMs, line) => {
        if (this.#stopping) return;
        out(line);
        logger.info({ reconcileEveryMs: intervalMs }, line);
        this.#restart();
      },
    });
    if (options.wsCredentials === undefined) return;
    const privateLog = logger.child({ component: 'private-stream' });
    const pace = this.pace;
    client.on('login', (ok, message) => {
      if (this.#stopping) return;
      if (ok) privateLog.info('WebSocket login accepted: fills and order states come by socket');
      else
        // The server's own words (never ours: the request carried the key and signature).
        privateLog.warn(
          { refusals: pace.refusals + 1 },
          `WebSocket login refused by the server: ${serverText(message)}; fills and order states come from REST polling until a login succeeds (check BTCTURK_WS_PUBLIC_KEY, BTCTURK_WS_PRIVATE_KEY and BTCBOT_WS_LOGIN_NONCE)`,
        );
      pace.login(ok, message);
    });
    client.on('disconnected', (reason) => {
      if (!this.#stopping) pace.disconnected(reason);
    });
    // A socket that never opens is no private stream either (no 'disconnected' then).
    client.on('problem', (problem) => {
      if (problem.kind === 'connect-failed' && !this.#stopping) pace.disconnected(problem.message);
    });
  }

  /** Starts the continuous passes (after the start-up pass). */
  start(): void {
    this.#continuous = true;
    this.#oms.startContinuous(this.pace.intervalMs);
  }

  /** The session is stopping: from now on the private stream's changes are neither said nor acted on. */
  halt(): void {
    this.#stopping = true;
  }

  /** Halts, waits for a pace change under way, then stops the passes (waiting for one running). */
  async stop(): Promise<void> {
    this.halt();
    await this.#paceChange;
    await this.#oms.stop();
  }

  /** Read through a call: set from callbacks while a restart awaits. */
  #halted(): boolean {
    return this.#stopping;
  }

  #restart(): void {
    this.#paceChange = this.#paceChange.then(async () => {
      if (this.#stopping || !this.#continuous) return;
      await this.#oms.stop();
      // stop() waited for a pass to end: the session may have begun stopping meanwhile.
      if (!this.#halted()) this.#oms.startContinuous(this.pace.intervalMs);
    });
  }
}

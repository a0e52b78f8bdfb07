import { setTimeout as sleep } from 'node:timers/promises';
import type { BtcturkExchange } from '../../src/btcturk/index.ts';
import { BtcturkUserStream, BtcturkWsClient, WsCredentials } from '../../src/btcturk/websocket/index.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { randomInt, type Random } from '../../src/domain/random.ts';
import { orderReportOf } from '../../src/engine/user-events.ts';
import { DEFAULT_TIMINGS, type Oms } from '../../src/oms/index.ts';
import type { EventQueue, UserStreamEvent } from '../../src/ports/user-stream.ts';
import type { RunningSimulator } from '../../src/sim/index.ts';

// The bot's private stream in a chaos run, wired to the OMS as src/engine/engine.ts wires it in a
// live session (src/ops/session.ts): the BTCTurk WebSocket client logged in with the account's keys,
// BtcturkUserStream turning its frames into fills and order updates, a consumer applying them with
// Oms.onFill / Oms.onOrderReport, and a reconciliation over REST on every `resync` (a reconnect, a
// full queue, a late insert). The book channels are joined too, so the simulator's ws-gap fault has
// change sets to drop.
//
// Two faults the simulator cannot inject happen here, on the consumer's side, while `faultsOn`:
// an event applied twice (`stream-duplicate`, as a replay after a reconnect would) and a consumer
// that falls behind (`stream-lag-ms`: up to that long before an event is applied, so stream updates
// arrive late and race the engine's own replies and the reconciler's REST reads).

export const STREAM_FAULTS = {
  'stream-duplicate': 0.1,
  'stream-lag-ms': 150,
} as const;
/** Share of events the consumer lags on while `stream-lag-ms` is on. */
const LAG_SHARE = 0.2;

export interface ChaosStreamStats {
  readonly events: number;
  readonly fills: number;
  readonly orderUpdates: number;
  readonly logins: number;
  readonly resyncs: number;
  /** Reconciliations the resyncs started (one at a time, as the engine runs them). */
  readonly resyncPasses: number;
  readonly reconnects: number;
  readonly loginRefusals: number;
  readonly silences: number;
  readonly duplicated: number;
  readonly lagged: number;
}

export class ChaosStream {
  readonly #oms: Oms;
  readonly #random: Random;
  readonly #client: BtcturkWsClient;
  readonly #queue: EventQueue<UserStreamEvent>;
  readonly #loop: Promise<void>;
  readonly #errors: string[];
  #resyncing: Promise<void> | null = null;
  #faultsOn = false;
  readonly #counts = {
    events: 0,
    fills: 0,
    orderUpdates: 0,
    logins: 0,
    resyncs: 0,
    resyncPasses: 0,
    duplicated: 0,
    lagged: 0,
  };

  /** `errors` collects what went wrong applying events or in a resync's pass (each one a line). */
  constructor(options: {
    sim: RunningSimulator;
    exchange: BtcturkExchange;
    oms: Oms;
    symbols: readonly string[];
    random: Random;
    errors: string[];
  }) {
    const { sim, exchange, oms, random } = options;
    this.#oms = oms;
    this.#random = random;
    this.#errors = options.errors;
    this.#client = new BtcturkWsClient({
      url: sim.wsUrl,
      credentials: new WsCredentials(sim.apiKey, sim.apiSecret),
      // The login's timestamp comes from the REST client's synced clock, as in a session.
      serverNow: () => exchange.serverNow(),
      random,
      // Short enough that a silenced socket is replaced within a short run.
      silenceMs: 2_500,
      answerTimeoutMs: 2_500,
      backoff: { initialMs: 100, maxMs: 1_000 },
    });
    for (const symbol of options.symbols) this.#client.subscribe('obdiff', symbol);
    const stream = new BtcturkUserStream(this.#client);
    this.#queue = stream.userEvents(10_000);
    this.#loop = this.#consume();
  }

  start(): void {
    this.#client.start();
  }

  /** Turns the consumer-side faults on or off. */
  set faultsOn(on: boolean) {
    this.#faultsOn = on;
  }

  stats(): ChaosStreamStats {
    const client = this.#client.stats();
    return {
      ...this.#counts,
      reconnects: client.reconnects,
      loginRefusals: client.loginRefusals,
      silences: client.silences,
    };
  }

  /** True while the socket is open and logged in. */
  get live(): boolean {
    return this.#client.connected && this.#client.loggedIn === true;
  }

  async stop(): Promise<void> {
    await this.#client.stop();
    this.#queue.close();
    await this.#loop;
    await this.#resyncing;
  }

  async #consume(): Promise<void> {
    for await (const event of this.#queue) {
      this.#counts.events += 1;
      if (this.#faultsOn && this.#random.next() < LAG_SHARE) {
        this.#counts.lagged += 1;
        await sleep(randomInt(this.#random, 1, STREAM_FAULTS['stream-lag-ms']));
      }
      await this.#apply(event);
      if (this.#faultsOn && this.#random.next() < STREAM_FAULTS['stream-duplicate']) {
        this.#counts.duplicated += 1;
        await this.#apply(event);
      }
    }
  }

  async #apply(event: UserStreamEvent): Promise<void> {
    try {
      switch (event.kind) {
        case 'fill':
          this.#counts.fills += 1;
          await this.#oms.onFill(event.fill, 'stream');
          return;
        case 'order': {
          this.#counts.orderUpdates += 1;
          const report = orderReportOf(event);
          if (report) await this.#oms.onOrderReport(report);
          return;
        }
        case 'logged-in':
          this.#counts.logins += 1;
          return;
        case 'resync':
          this.#resync();
          return;
        case 'balances':
        case 'order-match':
          return;
      }
    } catch (error) {
      // The engine logs this and reconciles; here it is also a line of the run's report.
      this.#errors.push(`a private ${event.kind} event could not be applied: ${describe(error)}`);
      this.#resync();
    }
  }

  /** As the engine's #resync: one reconciliation at a time over the continuous window. */
  #resync(): void {
    this.#counts.resyncs += 1;
    if (this.#resyncing) return;
    this.#counts.resyncPasses += 1;
    this.#resyncing = this.#oms
      .reconcile({ lookbackMs: DEFAULT_TIMINGS.continuousLookbackMs })
      .then(
        () => undefined,
        (error: unknown) => {
          if (!isExchangeError(error))
            this.#errors.push(`reconciliation after a stream gap crashed: ${describe(error)}`);
        },
      )
      .finally(() => {
        this.#resyncing = null;
      });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { RATE_LIMITS, type LimitGroup } from '../btcturk/common/constants.ts';

// The private WebSocket stream brings fills and order states as they happen; reconciliation over
// REST covers whatever it missed. While the stream cannot do its job (its login was refused, or
// the socket is down), nothing arrives by socket at all, so REST polling is all the bot has: it
// polls faster then, and back at the normal pace once a login succeeds again.

/** The REST calls one reconciliation pass makes per symbol (at least one page of each). */
const CALLS_PER_SYMBOL: readonly LimitGroup[] = ['fills', 'open-orders', 'all-orders'];
/**
 * The share of each endpoint's limit the fast poll may take. The rest stays free for what else
 * uses the same endpoints in the same windows: lookups of orders whose outcome is unknown (fills,
 * open orders), cancel confirmations, a resync's extra pass, and other processes on the same key.
 */
const POLL_SHARE = 0.5;
/** Never faster than this, whatever the limits would allow: the pace issue 9 asks for. */
export const FASTEST_POLL_MS = 5_000;

/**
 * How often to reconcile while the private stream is down: the slowest pace any of the endpoints
 * a pass calls needs to stay within POLL_SHARE of its limit, at least FASTEST_POLL_MS, and never
 * slower than the normal pace. BTCTurk's tightest is the fills endpoint, 120 a minute
 * (constants.ts): with POLL_SHARE 0.5 that is 60 a minute, so one pass per second per symbol; two
 * symbols every 5 s use 24 a minute, a fifth of the limit. From 6 symbols on, the pace is
 * 1 s per symbol (12 symbols: every 12 s).
 */
export function degradedPollMs(symbolCount: number, normalMs: number): number {
  let needed = 0;
  for (const group of CALLS_PER_SYMBOL)
    for (const window of RATE_LIMITS[group])
      needed = Math.max(needed, (symbolCount * window.periodMs) / (window.limit * POLL_SHARE));
  return Math.min(normalMs, Math.max(FASTEST_POLL_MS, Math.ceil(needed)));
}

export type PrivateStreamState = 'waiting' | 'logged-in' | 'refused' | 'down';

/** A server's text made safe for one log or summary line: no control characters, bounded. */
export function serverText(message: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = message.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const text = flat === '' ? 'no reason given' : flat;
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

export interface PrivateStreamPaceOptions {
  readonly normalMs: number;
  readonly degradedMs: number;
  /**
   * Called when the stream stops or starts doing its job, with the polling interval that calls
   * for and a line for the user saying so.
   */
  readonly onChange: (intervalMs: number, line: string) => void;
}

/**
 * Follows the private stream (login answers, disconnects) and says how often REST polling must
 * run. Before the first login answer the normal pace holds: the answer comes within moments, and
 * an unanswered login makes the client reconnect, which counts as down.
 */
export class PrivateStreamPace {
  #state: PrivateStreamState = 'waiting';
  #reason = '';
  #refusals = 0;
  #degraded = false;

  constructor(private readonly options: PrivateStreamPaceOptions) {}

  get state(): PrivateStreamState {
    return this.#state;
  }

  get refusals(): number {
    return this.#refusals;
  }

  /** The reconciliation interval the stream's state calls for now. */
  get intervalMs(): number {
    return this.#degraded ? this.options.degradedMs : this.options.normalMs;
  }

  login(ok: boolean, message: string): void {
    if (ok) this.#set('logged-in', '');
    else {
      this.#refusals += 1;
      this.#set('refused', serverText(message));
    }
  }

  disconnected(reason: string): void {
    // A refused login stays the headline until a login succeeds: the reconnect will be refused
    // the same way, and "disconnected" would hide why.
    if (this.#state === 'refused') return;
    this.#set('down', serverText(reason));
  }

  /** The summary's text while the stream is not doing its job; null while it is (or may be). */
  describe(): string | null {
    const polling = `polling REST every ${seconds(this.intervalMs)}`;
    if (this.#state === 'refused') return `login refused (${this.#reason}); ${polling}`;
    if (this.#state === 'down') return `disconnected (${this.#reason}); ${polling}`;
    return null;
  }

  /** For the final summary: the refusals of the whole session and the state at the end. */
  history(): string | null {
    const now = this.describe();
    if (this.#refusals === 0) return now;
    const times = `login refused ${this.#refusals} time${this.#refusals === 1 ? '' : 's'}`;
    if (this.#state === 'refused')
      return `${times} (${this.#reason}); fills and order states polled over REST every ${seconds(this.intervalMs)}`;
    if (this.#state === 'logged-in') return `${times}, logged in at the end`;
    return now === null ? times : `${times}; at the end ${now}`;
  }

  #set(state: PrivateStreamState, reason: string): void {
    this.#state = state;
    this.#reason = reason;
    const degraded = state === 'refused' || state === 'down';
    if (degraded === this.#degraded) return;
    this.#degraded = degraded;
    this.options.onChange(
      this.intervalMs,
      degraded
        ? `private stream: ${this.describe() ?? state} until a login succeeds`
        : `private stream: logged in; fills and order states come by socket again, REST polling back to every ${seconds(this.intervalMs)}`,
    );
  }
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

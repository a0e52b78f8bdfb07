import type { Clock } from '../domain/clock.ts';
import type { EngineTimers } from '../engine/engine.ts';

// The replay's time: a Clock whose now() and monotonic() read the recorded market's time, whose
// sleep() and timers fire when the replay advances past them, never on the wall clock. Timers due
// at the same instant fire in the order they were set (a sequence number breaks ties), so a replay
// is deterministic. monotonic() equals now(): the recording's receive times are the one time line.

interface Timer {
  readonly id: number;
  at: number;
  readonly seq: number;
  readonly callback: () => void;
  /** Re-armed this long after firing (setInterval); null for a one-shot. */
  readonly every: number | null;
  cancelled: boolean;
}

/** A binary min-heap of timers by (at, seq). */
class TimerHeap {
  readonly #items: Timer[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Timer | undefined {
    return this.#items[0];
  }

  push(timer: Timer): void {
    const items = this.#items;
    items.push(timer);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i] as Timer, items[parent] as Timer)) break;
      [items[i], items[parent]] = [items[parent] as Timer, items[i] as Timer];
      i = parent;
    }
  }

  pop(): Timer | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l] as Timer, items[m] as Timer)) m = l;
        if (r < items.length && before(items[r] as Timer, items[m] as Timer)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as Timer, items[i] as Timer];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class VirtualClock implements Clock, EngineTimers {
  #now: number;
  #seq = 0;
  readonly #heap = new TimerHeap();
  readonly #live = new Map<number, Timer>();

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  monotonic(): number {
    return this.#now;
  }

  /** The current virtual time (the same as now(); the replay's own reads use this one). */
  peekNow(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const id = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        this.clearTimeout(id);
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  setTimeout(callback: () => void, ms: number): number {
    return this.#arm(callback, ms, null);
  }

  clearTimeout(handle: unknown): void {
    this.#cancel(handle);
  }

  setInterval(callback: () => void, ms: number): number {
    return this.#arm(callback, ms, Math.max(1, ms));
  }

  clearInterval(handle: unknown): void {
    this.#cancel(handle);
  }

  /** When the next live timer is due; null when none is set. */
  nextDue(): number | null {
    this.#dropCancelled();
    return this.#heap.peek()?.at ?? null;
  }

  /**
   * Moves time to `t`, firing every timer due up to it in order; `settle` runs after each firing
   * (the bot's work caused by one timer finishes at the timer's instant). Time never goes back.
   */
  async advanceTo(t: number, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      this.#dropCancelled();
      const next = this.#heap.peek();
      if (next === undefined || next.at > t) break;
      this.#heap.pop();
      if (next.at > this.#now) this.#now = next.at;
      if (next.every !== null) {
        next.at = this.#now + next.every;
        this.#heap.push(next);
      } else this.#live.delete(next.id);
      next.callback();
      await settle();
    }
    if (t > this.#now) this.#now = t;
  }

  #arm(callback: () => void, ms: number, every: number | null): number {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = {
      id: ++this.#seq,
      at: this.#now + delay,
      seq: this.#seq,
      callback,
      every,
      cancelled: false,
    };
    this.#live.set(timer.id, timer);
    this.#heap.push(timer);
    return timer.id;
  }

  #cancel(handle: unknown): void {
    if (typeof handle !== 'number') return;
    const timer = this.#live.get(handle);
    if (timer === undefined) return;
    timer.cancelled = true;
    this.#live.delete(handle);
  }

  #dropCancelled(): void {
    while (this.#heap.peek()?.cancelled === true) this.#heap.pop();
  }
}

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}

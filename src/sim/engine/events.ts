import type { SimEvent } from './api.ts';

type Listener = (event: SimEvent) => void;

/**
 * Holds a change set's events until its state change is complete, then hands them to every
 * listener in order. Events are only built while someone listens (the snapshots are not free).
 */
export class EventBuffer {
  private readonly listeners = new Set<Listener>();
  private pending: SimEvent[] = [];

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  push(make: () => SimEvent): void {
    if (this.listeners.size > 0) this.pending.push(make());
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Delivers the pending events. Listeners must not throw (the state change has already happened)
   * and must not change the engine from inside the callback: that nested change set would be
   * delivered before the rest of this one. Defer such work (queueMicrotask, setImmediate).
   */
  flush(): void {
    const events = this.pending;
    this.pending = [];
    const listeners = [...this.listeners];
    for (const event of events) for (const listener of listeners) listener(event);
  }
}

import type { EventQueue } from '../../ports/user-stream.ts';

// Socket frames are handled synchronously; a consumer that works asynchronously reads them from
// this queue. It is bounded, and when full it does not skip quietly: the whole backlog is dropped
// and one marker event (built by `overflow`) tells the consumer to resync from the source of truth.

export class BoundedQueue<T> implements EventQueue<T> {
  private items: T[] = [];
  private head = 0;
  private waiter: ((value: T | undefined) => void) | null = null;
  private closed = false;
  #overflows = 0;

  constructor(
    readonly capacity: number,
    private readonly overflow: (dropped: number) => T,
    /** Called once by close(), e.g. to detach the producer. */
    private readonly onClose: () => void = () => undefined,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be a whole number of at least 1, got ${capacity}`);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  /** How many times the queue overflowed and replaced its backlog with the marker. */
  get overflows(): number {
    return this.#overflows;
  }

  push(item: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = null;
      resolve(item);
      return;
    }
    if (this.size >= this.capacity) {
      const dropped = this.size + 1;
      this.#overflows++;
      this.items = [this.overflow(dropped)];
      this.head = 0;
      return;
    }
    this.items.push(item);
  }

  next(): Promise<T | undefined> {
    if (this.size > 0) {
      const item = this.items[this.head] as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    if (this.waiter)
      return Promise.reject(new Error('queue: one reader at a time; await next() before calling it again'));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    const resolve = this.waiter;
    this.waiter = null;
    resolve?.(undefined);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = await this.next();
      if (item === undefined) return;
      yield item;
    }
  }
}

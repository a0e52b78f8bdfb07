// Work for one key runs one piece at a time, in the order it was asked for: the OMS keys by
// symbol, so the effects of submits, cancels and repairs on a symbol keep their order.

export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** True while work for the key is queued or running. */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }
}

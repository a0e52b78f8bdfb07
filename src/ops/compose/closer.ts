import type { Logger } from 'pino';

// What a session opened, closed in the reverse order at exit: each part is pushed as soon as it
// is open, so a failure half-way through start-up closes exactly what was opened before it.

export class Closer {
  readonly #closes: (() => Promise<void>)[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(close: () => Promise<void> | void): void {
    this.#closes.push(async () => {
      await close();
    });
  }

  /** Closes everything added, last first; a failure is logged and the rest still close. */
  async closeAll(): Promise<void> {
    for (const close of this.#closes.splice(0).reverse())
      await close().catch((e: unknown) => {
        this.#logger.error({ err: String(e) }, 'close failed');
      });
  }
}

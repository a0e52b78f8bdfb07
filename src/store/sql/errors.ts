/**
 * The store cannot be opened as asked — its server is unreachable, it holds no store, or one of
 * another version — and the message says which, where, and what to do.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

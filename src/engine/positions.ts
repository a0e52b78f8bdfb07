import { compareFills, fillKey, type FillReport } from '../domain/reports.ts';
import { accountFills, applyFill, type PositionPnl } from '../oms/accounting.ts';
import type { StoreReader, StoredFill } from '../ports/store.ts';

// The bot's own positions, from its stored fills, kept current by reading only the fills stored
// since the last read (by when they were recorded, so a late fill with an old timestamp is found
// too). Fills apply in time order; one that belongs before a fill already applied makes the book
// start over from every fill, so the result always equals `accountFills` over all of them.

/** Fills recorded this close to the last read are read again (clock steps, same-millisecond writes). */
const OVERLAP_MS = 5_000;

export class PositionBook {
  readonly #store: Pick<StoreReader, 'fills'>;
  readonly #symbols: ReadonlySet<string>;
  #positions = new Map<string, PositionPnl>();
  #last: FillReport | null = null;
  /** Fill key (trade id, order id) → recordedAt of the fills inside the overlap window: already applied. */
  #recent = new Map<string, number>();
  #readFrom: number | null = null;

  constructor(store: Pick<StoreReader, 'fills'>, symbols: Iterable<string>) {
    this.#store = store;
    this.#symbols = new Set(symbols);
  }

  get positions(): ReadonlyMap<string, PositionPnl> {
    return this.#positions;
  }

  async refresh(): Promise<void> {
    const recordedSince = this.#readFrom === null ? undefined : this.#readFrom - OVERLAP_MS;
    const fresh = (await this.#store.fills({ recordedSince }))
      .filter((f) => this.#symbols.has(f.symbol) && !this.#recent.has(fillKey(f)))
      .sort(compareFills);
    const first = fresh[0];
    if (first === undefined) return;
    if (this.#last !== null && compareFills(first, this.#last) < 0) await this.#rebuild();
    else for (const fill of fresh) this.#apply(fill);
    this.#remember(fresh);
  }

  #apply(fill: FillReport): void {
    const held = this.#positions.get(fill.symbol);
    const next = held ? applyFill(held, fill) : accountFills([fill]).get(fill.symbol);
    if (next) this.#positions.set(fill.symbol, next);
    this.#last = fill;
  }

  async #rebuild(): Promise<void> {
    const all = (await this.#store.fills()).filter((f) => this.#symbols.has(f.symbol));
    this.#positions = accountFills(all);
    this.#last = [...all].sort(compareFills).at(-1) ?? null;
    this.#remember(all);
  }

  #remember(fills: readonly StoredFill[]): void {
    for (const fill of fills) {
      this.#recent.set(fillKey(fill), fill.recordedAt);
      this.#readFrom = Math.max(this.#readFrom ?? fill.recordedAt, fill.recordedAt);
    }
    const floor = (this.#readFrom ?? 0) - 2 * OVERLAP_MS;
    for (const [key, at] of this.#recent) if (at < floor) this.#recent.delete(key);
  }
}

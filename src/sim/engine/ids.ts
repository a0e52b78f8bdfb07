// Identifier sequences shaped like BTCTurk's: order ids are ~1e10 decimal digits, trade ids are
// above 2^53 so that any client parsing them as JSON numbers loses precision and is caught by tests.
// Each sequence starts from the time the simulator started, so a restarted simulator never hands
// out an id the previous one did (a database that outlives it would mistake one order for another).

const FIRST_ORDER_ID = 10_000_000_001;
const FIRST_TRADE_ID = 1181163798924649598n;
/** Time zero of the sequences (2023-11-14); a clock before it starts them at their first value. */
const ID_EPOCH_MS = 1_700_000_000_000;
/** Ids each sequence may hand out per millisecond of run time before it reaches a later start. */
const ORDER_IDS_PER_MS = 1_000;
const TRADE_IDS_PER_MS = 1_000_000n;

export class IdSequence {
  private nextOrder: number;
  private nextTrade: bigint;

  /** `startedAt`: the simulator clock's time at start, ms. */
  constructor(startedAt = ID_EPOCH_MS) {
    const elapsed = Math.max(0, Math.trunc(startedAt) - ID_EPOCH_MS);
    this.nextOrder = FIRST_ORDER_ID + elapsed * ORDER_IDS_PER_MS;
    this.nextTrade = FIRST_TRADE_ID + BigInt(elapsed) * TRADE_IDS_PER_MS;
  }

  orderId(): string {
    return String(this.nextOrder++);
  }

  tradeId(): string {
    const id = this.nextTrade;
    this.nextTrade += 1n;
    return id.toString();
  }
}

/** Orders ids compare as integers: string order breaks once the digit count grows. */
export function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

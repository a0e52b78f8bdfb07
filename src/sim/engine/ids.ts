// Identifier sequences shaped like BTCTurk's: order ids are ~1e10 decimal digits, trade ids are
// above 2^53 so that any client parsing them as JSON numbers loses precision and is caught by tests.

const FIRST_ORDER_ID = 10_000_000_001;
const FIRST_TRADE_ID = 1181163798924649598n;

export class IdSequence {
  private nextOrder = FIRST_ORDER_ID;
  private nextTrade = FIRST_TRADE_ID;

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

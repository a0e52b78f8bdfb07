import { Dec } from '../../src/domain/decimal.ts';
import type { SubmitIntent } from '../../src/oms/index.ts';

/** A limit buy of 0.5 BTCTRY at 100 under intent `intent-1`: the unit tests' ordinary order. */
export const BUY: SubmitIntent = {
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  quantity: new Dec('0.5'),
  price: new Dec('100'),
  intentId: 'intent-1',
};

import { Dec } from '../../src/domain/decimal.ts';
import type { Oms } from '../../src/oms/index.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { SYMBOL, type Rig } from './sim-helpers.ts';

/**
 * A limit buy of 0.001 one tick inside the rig's best bid, through `oms` (any OMS on the rig, already
 * started), with no intent id: an order that rests. `restingBuy` is the same through the rig's own OMS.
 */
export function submitRestingBuy(oms: Oms, r: Rig): Promise<StoredOrder> {
  return oms.submit({
    symbol: SYMBOL,
    side: 'buy',
    method: 'limit',
    quantity: new Dec('0.001'),
    price: r.insidePrice('buy'),
  });
}

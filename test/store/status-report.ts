import { Dec } from '../../src/domain/decimal.ts';
import type { OrderStatusReport } from '../../src/domain/reports.ts';

/** An exchange's report of an open limit buy of 1 BTCTRY at 2,000,000, with `overrides`. */
export function statusReport(
  overrides: Partial<OrderStatusReport> & Pick<OrderStatusReport, 'exchangeOrderId'>,
) {
  return {
    clientOrderId: null,
    symbol: 'BTCTRY',
    side: 'buy' as const,
    method: 'limit' as const,
    price: new Dec('2000000'),
    stopPrice: null,
    quantity: new Dec('1'),
    leftQuantity: new Dec('1'),
    status: 'open' as const,
    createdAt: 1_690_000_000_000,
    updatedAt: null,
    ...overrides,
  } satisfies OrderStatusReport;
}

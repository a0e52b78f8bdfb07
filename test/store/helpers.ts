import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type { FillReport } from '../../src/domain/reports.ts';
import type { NewOrder } from '../../src/ports/store.ts';

/** A clock that moves only when told, so stored times are exact. */
export function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    monotonic: () => now,
    sleep: () => Promise.resolve(),
    advance(ms: number) {
      now += ms;
    },
  };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-store-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

let sequence = 0;

export function newOrder(overrides: Partial<NewOrder> = {}): NewOrder {
  sequence += 1;
  return {
    clientOrderId: `t-${sequence}`,
    symbol: 'BTCTRY',
    side: 'buy',
    method: 'limit',
    quantity: new Dec('1'),
    price: new Dec('2000000'),
    intentId: `intent-${sequence}`,
    strategy: 'test',
    ...overrides,
  };
}

export function fillReport(overrides: Partial<FillReport> & Pick<FillReport, 'tradeId'>): FillReport {
  return {
    exchangeOrderId: '1000',
    clientOrderId: null,
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    side: 'buy',
    price: new Dec('2000000'),
    quantity: new Dec('0.4'),
    fee: new Dec('1.2'),
    tax: new Dec('0.216'),
    feeAsset: 'TRY',
    timestamp: 1_700_000_000_500,
    ...overrides,
  };
}

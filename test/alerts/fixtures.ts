import type { AlertFigures } from '../../src/ops/alerts/figures.ts';

export const START = 1_700_000_000_000;

/** A healthy bot's figures at `now`; override what a test is about. */
export function figures(now: number, overrides: Partial<AlertFigures> = {}): AlertFigures {
  return {
    startedAt: START,
    escalation: { level: 'NORMAL', reason: '' },
    unknownOrders: [],
    rateLimited: 0,
    marketData: [{ symbol: 'BTCTRY', status: 'live', dataAgeMs: 100 }],
    reconcile: { runs: 1, failures: 0, divergences: 0 },
    equity: { equity: '1000000', peak: '1000000', currency: 'TRY' },
    privateStream: { loginRefusals: 0, loggedIn: true },
    lastLoopAt: now,
    fills: [],
    ...overrides,
  };
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MarketStatus } from '../../src/market/freshness.ts';
import { NAMED_STATUSES_MAX, statusesText } from '../../src/ops/terminal.ts';

const pairs = (n: number, status: (i: number) => MarketStatus) =>
  Array.from({ length: n }, (_, i) => [`P${String(i + 1).padStart(3, '0')}TRY`, status(i)] as const);

describe('summary line: the pairs’ market data', () => {
  it('names each pair while there are few', () => {
    assert.equal(
      statusesText([
        ['BTCTRY', 'live'],
        ['ETHTRY', 'stale'],
      ]),
      'BTCTRY live ETHTRY stale',
    );
    const most = pairs(NAMED_STATUSES_MAX, () => 'live');
    assert.equal(statusesText(most).split(' ').length, NAMED_STATUSES_MAX * 2);
  });

  it('counts every pair by status beyond that, live first, naming the first pairs not live', () => {
    const text = statusesText(
      pairs(380, (i) => (i === 6 || i === 9 ? 'stale' : i >= 100 && i < 107 ? 'fallback' : 'live')),
    );
    assert.equal(
      text,
      '380 pairs: 371 live, 7 fallback (P101TRY P102TRY P103TRY P104TRY P105TRY +2 more), 2 stale (P007TRY P010TRY)',
    );
  });

  it('says when none is live', () => {
    assert.equal(
      statusesText(pairs(NAMED_STATUSES_MAX + 1, () => 'stale')),
      '9 pairs: 9 stale (P001TRY P002TRY P003TRY P004TRY P005TRY +4 more)',
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BtcturkWsClient } from '../../src/btcturk/websocket/client.ts';
import { BtcturkMarketFeed } from '../../src/btcturk/websocket/feed.ts';
import type { FeedStreams } from '../../src/ports/market-feed.ts';

// The feed's joins and leaves per channel: watching a symbol again with other streams joins and
// leaves only the channels that differ, so following a pair's trades never re-joins its book.

function rig() {
  const calls: string[] = [];
  const client = {
    subscribe: (channel: string, event: string) => calls.push(`join ${channel} ${event}`),
    unsubscribe: (channel: string, event: string) => calls.push(`leave ${channel} ${event}`),
  } as unknown as BtcturkWsClient;
  return { calls, feed: new BtcturkMarketFeed(client) };
}

const streams = (trades: boolean): FeedStreams => ({
  book: true,
  periodicBook: false,
  trades,
  ticker: false,
});

describe('BtcturkMarketFeed', () => {
  it('joins the channels asked for, and on a second watch only those that changed', () => {
    const { calls, feed } = rig();
    feed.watch('BTCTRY', streams(false));
    assert.deepEqual(calls.splice(0), ['join obdiff BTCTRY']);
    feed.watch('BTCTRY', streams(true));
    assert.deepEqual(calls.splice(0), ['join trade BTCTRY'], 'the book subscription is left alone');
    feed.watch('BTCTRY', streams(true));
    assert.deepEqual(calls.splice(0), []);
    feed.watch('BTCTRY', streams(false));
    assert.deepEqual(calls.splice(0), ['leave trade BTCTRY']);
    feed.watch('BTCTRY', { book: true, periodicBook: true, trades: true, ticker: true });
    assert.deepEqual(calls.splice(0), ['join orderbook BTCTRY', 'join trade BTCTRY', 'join ticker BTCTRY']);
    feed.unwatch('BTCTRY');
    assert.deepEqual(calls.splice(0), [
      'leave obdiff BTCTRY',
      'leave orderbook BTCTRY',
      'leave trade BTCTRY',
      'leave ticker BTCTRY',
    ]);
    feed.unwatch('BTCTRY');
    assert.deepEqual(calls, []);
  });
});

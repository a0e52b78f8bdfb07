import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

// Builds recordings (src/record/format.ts) by hand from BTCTurk's real WebSocket encoding
// (../shared/btcturk-wire/frames.jsonl): 431 obdiff snapshots, 432 change sets (CP 0 amount
// replaced, 1 new level, 3 deleted), 422 trades (S 0: a buy taker, 1: a sell taker).

export type Level = readonly [price: string, amount: string];

export interface FixtureEvent {
  readonly t: number;
  readonly k: 'frame' | 'connect' | 'disconnect' | 'resync';
  readonly d?: string;
  readonly symbol?: string;
  readonly reason?: string;
}

const book = (rows: readonly Level[]) => rows.map(([P, A]) => ({ A, P }));

export function snapshot(
  t: number,
  symbol: string,
  cs: number,
  bids: readonly Level[],
  asks: readonly Level[],
): FixtureEvent {
  const body = {
    CS: cs,
    PS: symbol,
    AO: book(asks),
    BO: book(bids),
    channel: 'obdiff',
    event: symbol,
    type: 431,
  };
  return { t, k: 'frame', d: JSON.stringify([431, body]) };
}

/** A change row: [price, amount, CP]. */
export type Change = readonly [price: string, amount: string, cp: 0 | 1 | 3];

export function diff(
  t: number,
  symbol: string,
  cs: number,
  bids: readonly Change[],
  asks: readonly Change[],
): FixtureEvent {
  const rows = (changes: readonly Change[]) => changes.map(([P, A, CP]) => ({ CP, P, A }));
  const body = {
    CS: cs,
    PS: symbol,
    AO: rows(asks),
    BO: rows(bids),
    channel: 'obdiff',
    event: symbol,
    type: 432,
  };
  return { t, k: 'frame', d: JSON.stringify([432, body]) };
}

let tradeId = 100163785789620800n;

/** A public trade; `taker` is the side of the order that took liquidity. */
export function trade(
  t: number,
  symbol: string,
  taker: 'buy' | 'sell',
  price: string,
  amount: string,
): FixtureEvent {
  tradeId += 1n;
  const body = {
    D: String(t),
    I: String(tradeId),
    A: amount,
    P: price,
    PS: symbol,
    S: taker === 'buy' ? 0 : 1,
    channel: 'trade',
    event: symbol,
    type: 422,
  };
  return { t, k: 'frame', d: JSON.stringify([422, body]) };
}

/** Writes a recording directory with one segment holding `events`; returns its path. */
export function writeRecording(
  events: readonly FixtureEvent[],
  symbols: readonly string[],
  dir?: string,
): string {
  const out = dir ?? mkdtempSync(join(tmpdir(), 'btcbot-backtest-'));
  const lines = events.map((e) => `${JSON.stringify(e)}\n`).join('');
  const gz = gzipSync(Buffer.from(lines, 'utf8'));
  writeFileSync(join(out, '000001.jsonl.gz'), gz);
  const first = events[0]?.t ?? 0;
  const last = events.at(-1)?.t ?? 0;
  const index = {
    version: 1,
    source: 'sim',
    url: 'ws://fixture',
    symbols,
    channels: ['obdiff', 'trade'],
    startedAt: first,
    endedAt: last,
    segments: [
      { file: '000001.jsonl.gz', firstT: first, lastT: last, events: events.length, bytes: gz.length },
    ],
  };
  writeFileSync(join(out, 'index.json'), `${JSON.stringify(index)}\n`);
  return out;
}

/** The hand-computed fixture's start and pair (the arithmetic is in replay.test.ts). */
export const HAND_T = 1_767_225_600_000;
export const HAND_SYMBOL = 'BTCTRY';

/**
 * replay.test.ts's hand-computed BTCTRY market: 997500 / 1002500 all along, trades at both touches;
 * `lastAskTrade` is the size of the last buy-taker trade at 1002500.
 */
export function handFixture(lastAskTrade = '0.05'): FixtureEvent[] {
  const T = HAND_T;
  const S = HAND_SYMBOL;
  return [
    { t: T, k: 'connect' },
    snapshot(
      T,
      S,
      1,
      [
        ['997500', '0.5'],
        ['997000', '1'],
      ],
      [
        ['1002500', '0.3'],
        ['1003000', '1'],
      ],
    ),
    trade(T + 1000, S, 'sell', '997500', '0.2'),
    diff(T + 1100, S, 2, [['997500', '0.3', 0]], []),
    diff(T + 2000, S, 3, [['997500', '0.1', 0]], []),
    trade(T + 3000, S, 'sell', '997500', '0.15'),
    trade(T + 4000, S, 'buy', '1002500', '0.2'),
    trade(T + 5000, S, 'buy', '1002500', lastAskTrade),
    diff(T + 6000, S, 4, [['997000', '1.5', 0]], []),
  ];
}

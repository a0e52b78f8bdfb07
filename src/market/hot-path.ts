import { channel as diagnosticsChannel } from 'node:diagnostics_channel';

// Stage stamps on the tick-to-order path, for the latency bench (bench/engine-latency.ts) and
// anyone diagnosing a slow reaction. Published on a node:diagnostics_channel only while something
// subscribes: with no subscriber a stamp is one property read and a branch, no allocation, no clock
// read. A stamp is `{ stage, at, evaluation }`, `at` being performance.now().

export const HOT_PATH_CHANNEL = 'btcbot:hot-path';

/**
 * - `book`: a frame that changed a symbol's best bid or ask has been applied to its book.
 * - `wake`: an evaluation starts (its number in `evaluation`).
 * - `read`: the evaluation has read the store (active orders, kill switch, escalation, positions).
 * - `strategy`: the strategy said what it wants.
 * - `diff`: wanted and resting compared.
 * - `gates`: the plan went through the engine's and the risk gates.
 * - `dispatch`: the plan's actions were handed to the execution core.
 */
export type HotPathStage = 'book' | 'wake' | 'read' | 'strategy' | 'diff' | 'gates' | 'dispatch';

export interface HotPathStamp {
  readonly stage: HotPathStage;
  readonly at: number;
  /** The evaluation the stamp belongs to (0 for `book`). */
  readonly evaluation: number;
}

const channel = diagnosticsChannel(HOT_PATH_CHANNEL);

export function stampHotPath(stage: HotPathStage, evaluation = 0): void {
  if (!channel.hasSubscribers) return;
  const stamp: HotPathStamp = { stage, at: performance.now(), evaluation };
  channel.publish(stamp);
}

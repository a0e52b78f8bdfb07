import { parentPort } from 'node:worker_threads';
import type { GridReply, GridTask } from './grid.ts';
import { PreparedEvents, replay } from './replay.ts';
import { summaryOf } from './types.ts';

// One worker thread of `btcbot backtest --grid` (src/backtest/grid.ts): runs the backtests it is
// sent, one at a time, and answers each with its summary (the series stay here) or its error.

if (parentPort === null) throw new Error('grid-worker.ts runs only as a worker thread');
const port = parentPort;
// The points of a grid replay the same recording: it is read and parsed once per worker.
const prepared = new PreparedEvents();

port.on('message', (task: GridTask) => {
  void (async () => {
    let reply: GridReply;
    try {
      reply = { index: task.index, summary: summaryOf(await replay(task.options, prepared)) };
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      const setting = (e as { setting?: unknown }).setting;
      reply = {
        index: task.index,
        error: { name: e.name, message: e.message, ...(typeof setting === 'string' ? { setting } : {}) },
      };
    }
    port.postMessage(reply);
  })();
});

// The simulator's WebSocket fan-out: frames per second delivered to 10 subscribers of obdiff and
// trades while the synthetic market steps every 10 ms (1 ms at speed 10). Book change sets go out
// every millisecond rather than BTCTurk's ~764 ms, which would measure the conflation timer, not
// the fan-out.
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { startSimulator } from '../src/sim/index.ts';

const SUBSCRIBERS = 10;
const WARMUP_MS = 300;
const MEASURE_MS = 2_000;

interface Counter {
  frames: number;
  bytes: number;
  lastChangeSet: number;
}

export async function run(): Promise<Record<string, number | string>> {
  const sim = await startSimulator({
    seed: 1,
    symbols: ['BTCTRY'],
    marketIntervalMs: 10,
    speed: 10,
    bookIntervalMs: 10, // divided by the speed: one change set a millisecond at most
  });
  const sockets: WebSocket[] = [];
  try {
    const counters: Counter[] = [];
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const socket = new WebSocket(sim.wsUrl);
      const counter: Counter = { frames: 0, bytes: 0, lastChangeSet: 0 };
      socket.on('message', (data: Buffer) => {
        counter.frames += 1;
        counter.bytes += data.length;
        const match = /^\[432,\{"CS":(\d+)/.exec(data.toString('utf8', 0, 24));
        if (match?.[1]) counter.lastChangeSet = Number(match[1]);
      });
      await once(socket, 'open');
      socket.send(JSON.stringify([151, { type: 151, channel: 'obdiff', event: 'BTCTRY', join: true }]));
      socket.send(JSON.stringify([151, { type: 151, channel: 'trade', event: 'BTCTRY', join: true }]));
      sockets.push(socket);
      counters.push(counter);
    }
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const before = counters.map((c) => ({ ...c }));
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    const seconds = (performance.now() - started) / 1000;
    const frames = counters.reduce((sum, c, i) => sum + c.frames - (before[i]?.frames ?? 0), 0);
    const bytes = counters.reduce((sum, c, i) => sum + c.bytes - (before[i]?.bytes ?? 0), 0);
    const first = counters[0];
    const changeSets = first ? first.lastChangeSet - (before[0]?.lastChangeSet ?? 0) : 0;
    return {
      framesPerSec: Math.round(frames / seconds),
      framesPerSecPerSubscriber: Math.round(frames / seconds / SUBSCRIBERS),
      changeSetsPerSec: Math.round(changeSets / seconds),
      megabytesPerSec: Math.round((bytes / seconds / 1e6) * 100) / 100,
      setup: `${SUBSCRIBERS} subscribers of obdiff:BTCTRY and trade:BTCTRY, market stepped and change sets batched every 1 ms`,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
    await sim.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run()));
}

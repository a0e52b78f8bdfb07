// Preloaded into a bot process by the footprint benchmarks (`node --import <this file> …`): every
// second it appends the process's own memory figures — RSS and the V8 heap, which only the process
// itself can read — as one JSON line to the file named by BENCH_MEM_PROBE_FILE. It changes nothing
// else in the process; its timer is unref'd so it never keeps the process alive.
import { appendFileSync } from 'node:fs';

const file = process.env.BENCH_MEM_PROBE_FILE;
if (file) {
  const sample = () => {
    const m = process.memoryUsage();
    appendFileSync(
      file,
      `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
    );
  };
  setInterval(sample, Number(process.env.BENCH_MEM_PROBE_MS ?? 1000)).unref();
}

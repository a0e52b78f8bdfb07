import { emptyEngineStats, type EngineStats } from '../../src/engine/engine.ts';
import type { MarketDataStats } from '../../src/market/service.ts';
import { emptyStats, type OmsStats } from '../../src/oms/context.ts';
import type { MetricsSource } from '../../src/ops/metrics.ts';
import type { StoredOrder } from '../../src/ports/store.ts';

// A scrape read back as Prometheus sees it, and a metrics source made of plain values.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Scrape {
  /** Family name → its # TYPE. */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  readonly text: string;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseScrape(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (name !== undefined && type !== undefined) types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`unreadable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) if (key) labels[key] = value ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return { types, samples, text };
}

/** The samples of `name` whose labels include `labels`. */
export function find(scrape: Scrape, name: string, labels: Record<string, string> = {}): Sample[] {
  return scrape.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

export function value(scrape: Scrape, name: string, labels: Record<string, string> = {}): number {
  const found = find(scrape, name, labels);
  if (found.length !== 1)
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}; wanted exactly 1`);
  return found[0]?.value ?? NaN;
}

export interface FakeSourceState {
  oms: Partial<OmsStats>;
  lastEvaluationAt: number | null;
  active: Pick<StoredOrder, 'symbol' | 'state' | 'updatedAt'>[];
  now: number;
}

/** A MetricsSource read from `state` at every scrape (change `state` between scrapes). */
export function fakeSource(state: FakeSourceState, more: Partial<MetricsSource> = {}): MetricsSource {
  const engine: EngineStats = emptyEngineStats();
  const market: MarketDataStats = {
    connects: 1,
    reconnects: 0,
    gaps: 0,
    resyncs: 0,
    mismatches: 0,
    spotMismatches: 0,
    unknownChangeKinds: 0,
    restPolls: 0,
    restFailures: 0,
    fallbackMs: 0,
    symbols: {},
  };
  return {
    engine: {
      stats: () => ({ ...engine, lastEvaluationAt: state.lastEvaluationAt }),
      budgetUse: () => ({ used: 0, limit: 300 }),
    },
    oms: { stats: () => ({ ...emptyStats(), ...state.oms }) },
    market: { stats: () => market },
    store: {
      activeOrders: () => Promise.resolve(state.active as StoredOrder[]),
      escalation: () => Promise.resolve({ level: 'NORMAL', reason: null, at: null }),
      killSwitch: () => Promise.resolve({ on: false, reason: null, at: null }),
    },
    valuation: () => null,
    now: () => state.now,
    ...more,
  };
}

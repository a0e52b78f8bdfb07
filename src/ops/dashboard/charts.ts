import { renderChart, type ChartMarker, type SeriesPoint } from '../../backtest/svg.ts';
import type { EquitySnapshot, StoredFill, StoredOrder } from '../../ports/store.ts';

// The dashboard's two charts, drawn with the backtest report's SVG renderer (one chart mechanism
// for the project): the equity curve from the store's snapshots, and per symbol the book's best
// prices (sampled by a running bot) with our resting quotes as steps and our fills as markers.

/** The book's best prices at one moment, sampled by a running bot. */
export interface TopSample {
  readonly t: number;
  readonly bid: number | null;
  readonly ask: number | null;
}

const WIDTH = 720;
const HEIGHT = 240;
/** The price chart shows this much time up to its end. */
export const PRICE_WINDOW_MS = 30 * 60 * 1000;

export function equityChart(points: readonly EquitySnapshot[]): string {
  const currency = points.at(-1)?.currency ?? 'TRY';
  return renderChart({
    id: 'equity-chart',
    title: `equity (${currency})`,
    width: WIDTH,
    height: HEIGHT,
    buckets: 200,
    series: [
      {
        name: 'equity',
        color: '#0969da',
        area: true,
        points: points.map((p) => ({ t: p.at, v: p.equity.toNumber() })),
      },
    ],
  });
}

/**
 * Our best resting price on one side over time, as a step series with gaps while none rests:
 * from each order's creation to its last change once it closed (or to `end` while it rests).
 */
function quoteSteps(
  orders: readonly StoredOrder[],
  side: 'buy' | 'sell',
  closed: (order: StoredOrder) => boolean,
  end: number,
): SeriesPoint[] {
  const spans = orders
    .filter((o) => o.side === side && o.price !== null && o.origin !== 'foreign')
    .map((o) => ({ from: o.createdAt, to: closed(o) ? o.updatedAt : end, price: o.price?.toNumber() ?? 0 }));
  const times = [...new Set(spans.flatMap((s) => [s.from, s.to]))].sort((a, b) => a - b);
  const out: SeriesPoint[] = [];
  let last: number | null | undefined;
  for (const t of times) {
    const resting = spans.filter((s) => s.from <= t && t < s.to).map((s) => s.price);
    const best = resting.length === 0 ? null : side === 'buy' ? Math.max(...resting) : Math.min(...resting);
    if (best !== last) out.push({ t, v: best });
    last = best;
  }
  return out;
}

export interface PriceChartInput {
  readonly symbol: string;
  readonly samples: readonly TopSample[];
  readonly orders: readonly StoredOrder[];
  readonly fills: readonly StoredFill[];
  readonly closed: (order: StoredOrder) => boolean;
  readonly end: number;
}

export function priceChart(input: PriceChartInput): string {
  const earliest = input.end - PRICE_WINDOW_MS;
  const orders = input.orders.filter(
    (o) => o.symbol === input.symbol && (!input.closed(o) || o.updatedAt >= earliest),
  );
  // The window starts with the first thing to draw in it, so a short history fills the chart.
  const starts = [
    ...input.samples.filter((s) => s.t >= earliest).map((s) => s.t),
    ...orders.map((o) => o.createdAt),
    ...input.fills
      .filter((f) => f.symbol === input.symbol && f.timestamp >= earliest)
      .map((f) => f.timestamp),
  ];
  const first = starts.length === 0 ? earliest : Math.min(...starts);
  const from = Math.min(Math.max(earliest, first), input.end - 1_000);
  const inWindow = (p: SeriesPoint): boolean => p.t >= from;
  const clip = (points: SeriesPoint[]): SeriesPoint[] => {
    // Keep the step in force at the window's start, moved onto it.
    const before = points.filter((p) => p.t < from).at(-1);
    const kept = points.filter(inWindow);
    return before === undefined ? kept : [{ t: from, v: before.v }, ...kept];
  };
  const markers: ChartMarker[] = input.fills
    .filter((f) => f.symbol === input.symbol && f.timestamp >= from)
    .map((f) => ({
      t: f.timestamp,
      v: f.price.toNumber(),
      side: f.side,
      liquidity: 'maker',
      label: `${f.side} ${f.quantity.toFixed()} @ ${f.price.toFixed()}`,
    }));
  const samples = input.samples.filter((s) => s.t >= from);
  const hasSamples = samples.length > 0;
  return renderChart({
    id: `price-chart-${input.symbol}`,
    title: input.symbol,
    width: WIDTH,
    height: HEIGHT,
    buckets: 200,
    maxMarkers: 300,
    from: hasSamples || orders.length > 0 || markers.length > 0 ? from : undefined,
    to: input.end,
    series: [
      ...(hasSamples
        ? [
            { name: 'book bid', color: '#8c959f', points: samples.map((s) => ({ t: s.t, v: s.bid })) },
            { name: 'book ask', color: '#57606a', points: samples.map((s) => ({ t: s.t, v: s.ask })) },
          ]
        : []),
      {
        name: 'our bid',
        color: '#1a7f37',
        step: true,
        dashed: true,
        points: clip(quoteSteps(orders, 'buy', input.closed, input.end)),
      },
      {
        name: 'our ask',
        color: '#cf222e',
        step: true,
        dashed: true,
        points: clip(quoteSteps(orders, 'sell', input.closed, input.end)),
      },
    ],
    markers,
  });
}

// Server-side SVG charts for the backtest report (report.html): plain strings, no browser script,
// no external resources. Every text inserted is escaped; long series are downsampled to a bounded
// number of points (per time bucket the first, lowest, highest and last value are kept, so spikes
// and the shape survive); output is deterministic (coordinates rounded to 0.1 px).

/** Escapes text for HTML/SVG element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A sample of a series; `v: null` is a gap (e.g. no quote on that side). */
export interface SeriesPoint {
  readonly t: number;
  readonly v: number | null;
}

/**
 * At most about 4 × `buckets` points: the time range is cut into `buckets` equal spans and each
 * span keeps its first, minimum, maximum and last point (in time order, duplicates once), plus its
 * first gap. Series already short enough are returned as they are.
 */
export function downsample(points: readonly SeriesPoint[], buckets: number): SeriesPoint[] {
  const head = points[0];
  const tail = points.at(-1);
  if (points.length <= buckets * 4 || head === undefined || tail === undefined) return [...points];
  const span = Math.max(1, tail.t - head.t);
  const out: SeriesPoint[] = [];
  let bucket: SeriesPoint[] = [];
  let bucketEnd = head.t + span / buckets;
  let index = 1;
  const flush = (): void => {
    const first = bucket[0];
    if (first === undefined) return;
    let lo: SeriesPoint | undefined;
    let hi: SeriesPoint | undefined;
    let gap: SeriesPoint | undefined;
    for (const p of bucket) {
      if (p.v === null) gap ??= p;
      else {
        if (lo?.v == null || p.v < lo.v) lo = p;
        if (hi?.v == null || p.v > hi.v) hi = p;
      }
    }
    const keep = new Set([first, lo, hi, gap, bucket.at(-1)]);
    for (const p of bucket) if (keep.has(p)) out.push(p);
    bucket = [];
  };
  for (const p of points) {
    while (p.t >= bucketEnd && index < buckets) {
      flush();
      index += 1;
      bucketEnd = head.t + (span * index) / buckets;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** A number for an axis or a table: thousands separated, at most `digits` decimals. */
export function formatNumber(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** UTC time for an axis: HH:MM:SS within a day's range, else MM-DD HH:MM. */
function formatTime(t: number, rangeMs: number): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (rangeMs < 86_400_000) return hms;
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hms.slice(0, 5)}`;
}

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly SeriesPoint[];
  /** Hold each value until the next (a quote, a position) instead of joining points by a line. */
  readonly step?: boolean;
  readonly dashed?: boolean;
  /** Fill between the line and the chart's bottom. */
  readonly area?: boolean;
}

export interface ChartMarker {
  readonly t: number;
  readonly v: number;
  /** buy: ▲ green, sell: ▼ red; taker markers are hollow. */
  readonly side: 'buy' | 'sell';
  readonly liquidity: 'maker' | 'taker';
  /** Shown on hover (an SVG <title>). */
  readonly label: string;
}

export interface ChartOptions {
  readonly id: string;
  readonly title: string;
  readonly series: readonly ChartSeries[];
  readonly markers?: readonly ChartMarker[];
  /** Time range to draw; default the data's. */
  readonly from?: number;
  readonly to?: number;
  readonly width?: number;
  readonly height?: number;
  /** Decimals on the value axis. */
  readonly digits?: number;
  /** Bucket count for downsampling each series (default 400: ≤ ~1600 points a series). */
  readonly buckets?: number;
  /** Markers drawn at most (evenly picked when there are more; the caption says so). */
  readonly maxMarkers?: number;
}

const r1 = (x: number): string => (Math.round(x * 10) / 10).toFixed(1).replace(/\.0$/, '');

/** One chart as an inline <svg> with a legend; an empty-state box when there is nothing to draw. */
export function renderChart(options: ChartOptions): string {
  const width = options.width ?? 960;
  const height = options.height ?? 280;
  const margin = { left: 78, right: 16, top: 28, bottom: 30 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const buckets = options.buckets ?? 400;
  const maxMarkers = options.maxMarkers ?? 1_500;
  const series = options.series.map((s) => ({ ...s, points: downsample(s.points, buckets) }));
  let markers = options.markers ?? [];
  const markerTotal = markers.length;
  if (markers.length > maxMarkers) {
    const every = markers.length / maxMarkers;
    const picked = new Set(Array.from({ length: maxMarkers }, (_, i) => Math.floor(i * every)));
    markers = markers.filter((_, i) => picked.has(i));
  }

  const ts: number[] = [];
  const vs: number[] = [];
  for (const s of series)
    for (const p of s.points) {
      ts.push(p.t);
      if (p.v !== null && Number.isFinite(p.v)) vs.push(p.v);
    }
  for (const m of markers) {
    ts.push(m.t);
    if (Number.isFinite(m.v)) vs.push(m.v);
  }
  const title = `<text class="chart-title" x="${margin.left}" y="18">${escapeHtml(options.title)}</text>`;
  const open = `<svg id="${escapeHtml(options.id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}">`;
  if (ts.length === 0 || vs.length === 0)
    return `${open}${title}<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" class="plot"/><text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`;

  const t0 = options.from ?? Math.min(...ts);
  let t1 = options.to ?? Math.max(...ts);
  if (t1 <= t0) t1 = t0 + 1;
  let v0 = Math.min(...vs);
  let v1 = Math.max(...vs);
  if (v1 === v0) {
    const d = Math.abs(v0) * 0.01 || 1;
    v0 -= d;
    v1 += d;
  } else {
    const d = (v1 - v0) * 0.05;
    v0 -= d;
    v1 += d;
  }
  const x = (t: number): number => margin.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number): number => margin.top + (1 - (v - v0) / (v1 - v0)) * plotH;

  const parts: string[] = [open, title];
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" class="plot"/>`);
  const digits = options.digits ?? 2;
  for (const tick of niceTicks(v0, v1, 5)) {
    const yy = r1(y(tick));
    parts.push(
      `<line class="grid" x1="${margin.left}" x2="${margin.left + plotW}" y1="${yy}" y2="${yy}"/>`,
      `<text class="axis" x="${margin.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatNumber(tick, digits))}</text>`,
    );
  }
  const range = t1 - t0;
  for (let i = 0; i <= 5; i++) {
    const t = t0 + (range * i) / 5;
    const xx = r1(x(t));
    const anchor = i === 0 ? 'start' : i === 5 ? 'end' : 'middle';
    parts.push(
      `<line class="grid" x1="${xx}" x2="${xx}" y1="${margin.top}" y2="${margin.top + plotH}"/>`,
      `<text class="axis" x="${xx}" y="${height - 10}" text-anchor="${anchor}">${escapeHtml(formatTime(t, range))}</text>`,
    );
  }

  parts.push(
    `<clipPath id="${escapeHtml(options.id)}-clip"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath>`,
    `<g clip-path="url(#${escapeHtml(options.id)}-clip)">`,
  );
  for (const s of series) {
    const d = pathOf(s.points, x, y, s.step === true, t1);
    if (d === '') continue;
    if (s.area === true) {
      const base = r1(margin.top + plotH);
      const area = areaOf(s.points, x, y, base, s.step === true, t1);
      if (area !== '')
        parts.push(`<path class="area" d="${area}" fill="${escapeHtml(s.color)}" fill-opacity="0.15"/>`);
    }
    parts.push(
      `<path class="series" data-series="${escapeHtml(s.name)}" d="${d}" fill="none" stroke="${escapeHtml(s.color)}" stroke-width="1.5"${s.dashed === true ? ' stroke-dasharray="4 3"' : ''}/>`,
    );
  }
  // Smaller markers when there are many, so the lines under them stay visible.
  const markerSize = markers.length > 300 ? 2.5 : markers.length > 100 ? 3.5 : 5;
  for (const m of markers) {
    const cx = x(m.t);
    const cy = y(m.v);
    const up = m.side === 'buy';
    const color = up ? '#1a7f37' : '#cf222e';
    const h = up ? markerSize : -markerSize;
    const pts = `${r1(cx)},${r1(cy - h * 1.2)} ${r1(cx - markerSize)},${r1(cy + h * 0.8)} ${r1(cx + markerSize)},${r1(cy + h * 0.8)}`;
    const fill = m.liquidity === 'maker' ? color : 'white';
    parts.push(
      `<polygon class="fill-marker" points="${pts}" fill="${fill}" stroke="${color}" stroke-width="1.2"><title>${escapeHtml(m.label)}</title></polygon>`,
    );
  }
  parts.push('</g>');

  // Legend along the top right.
  let lx = width - margin.right;
  const legend: string[] = [];
  const items: { name: string; color: string; dashed: boolean; marker?: boolean }[] = series.map((s) => ({
    name: s.name,
    color: s.color,
    dashed: s.dashed === true,
  }));
  if (markerTotal > 0) {
    const shown = markerTotal > markers.length ? ` (${markers.length} of ${markerTotal} shown)` : '';
    items.push({
      name: `fills ▲ buy ▼ sell, hollow = taker${shown}`,
      color: '#555',
      dashed: false,
      marker: true,
    });
  }
  for (const item of [...items].reverse()) {
    const w = item.name.length * 6.2 + 26;
    lx -= w;
    legend.push(
      item.marker === true
        ? `<text class="legend" x="${r1(lx + 4)}" y="18">${escapeHtml(item.name)}</text>`
        : `<line x1="${r1(lx)}" x2="${r1(lx + 16)}" y1="14" y2="14" stroke="${escapeHtml(item.color)}" stroke-width="2"${item.dashed ? ' stroke-dasharray="4 3"' : ''}/><text class="legend" x="${r1(lx + 20)}" y="18">${escapeHtml(item.name)}</text>`,
    );
  }
  parts.push(...legend, '</svg>');
  return parts.join('');
}

function pathOf(
  points: readonly SeriesPoint[],
  x: (t: number) => number,
  y: (v: number) => number,
  step: boolean,
  end: number,
): string {
  const out: string[] = [];
  let pen = false;
  let lastY = '';
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) {
      if (step && pen) out.push(`H${r1(x(p.t))}`);
      pen = false;
      continue;
    }
    const xx = r1(x(p.t));
    const yy = r1(y(p.v));
    if (!pen) out.push(`M${xx} ${yy}`);
    else if (step) out.push(`H${xx}`, `V${yy}`);
    else out.push(`L${xx} ${yy}`);
    pen = true;
    lastY = yy;
  }
  if (step && pen && lastY !== '') out.push(`H${r1(x(end))}`);
  return out.join('');
}

function areaOf(
  points: readonly SeriesPoint[],
  x: (t: number) => number,
  y: (v: number) => number,
  base: string,
  step: boolean,
  end: number,
): string {
  const line = pathOf(
    points.filter((p) => p.v !== null),
    x,
    y,
    step,
    end,
  );
  const firstSolid = points.find((p) => p.v !== null);
  const lastSolid = points.findLast((p) => p.v !== null);
  if (line === '' || firstSolid === undefined || lastSolid === undefined) return '';
  const firstX = r1(x(firstSolid.t));
  const lastX = step ? r1(x(end)) : r1(x(lastSolid.t));
  return `${line}L${lastX} ${base}L${firstX} ${base}Z`;
}

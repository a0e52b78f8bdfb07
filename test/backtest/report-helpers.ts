import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../../src/domain/random.ts';
import type * as R from '../../src/backtest/types.ts';

// Shared by the report, grid and end-to-end tests: a synthetic BacktestResult (seeded, so the same
// every run) and a headless-Chromium check that a report page renders its charts.

export interface FakeResultOptions {
  readonly seed?: number;
  /** Market seconds covered, one mid sample a second per symbol. */
  readonly seconds?: number;
  readonly symbols?: readonly string[];
  readonly params?: Record<string, string>;
}

/** A plausible result: a random-walk mid, quotes around it, fills now and then, equity and inventory. */
export function fakeResult(options: FakeResultOptions = {}): R.BacktestResult {
  const random = seededRandom(options.seed ?? 7);
  const seconds = options.seconds ?? 600;
  const symbols = options.symbols ?? ['BTCTRY', 'ETHTRY'];
  const from = Date.UTC(2026, 0, 5, 10, 0, 0);
  const mid: R.MidPoint[] = [];
  const quotes: R.QuotePoint[] = [];
  const fills: R.BacktestFill[] = [];
  const inventory: R.InventoryPoint[] = [];
  const equity: R.EquityPoint[] = [];
  const books = symbols.map((symbol, i) => ({ symbol, price: i === 0 ? 3_000_000 : 120_000, position: 0 }));
  for (const symbol of symbols) inventory.push({ t: from, symbol, position: '0' });
  let cash = 1_000_000;
  let last: R.EquityPoint = { t: from, equity: '1000000.00', pnl: '0.00' };
  for (let s = 0; s <= seconds; s++) {
    const t = from + s * 1000;
    for (const book of books) {
      const { symbol } = book;
      book.price = Math.round(book.price * (1 + (random.next() - 0.5) * 0.002));
      const p = book.price;
      mid.push({ t, symbol, bid: String(p - 5), ask: String(p + 5), mid: String(p) });
      const gap = s % 97 === 50;
      quotes.push({
        t,
        symbol,
        bid: gap ? null : String(Math.round(p * 0.9975)),
        ask: gap ? null : String(Math.round(p * 1.0025)),
      });
      if (random.next() < 0.03) {
        const side = random.next() < 0.5 ? 'buy' : 'sell';
        const price = side === 'buy' ? Math.round(p * 0.9975) : Math.round(p * 1.0025);
        const quantity = 0.001;
        book.position += side === 'buy' ? quantity : -quantity;
        cash += side === 'buy' ? -price * quantity : price * quantity;
        fills.push({
          t,
          symbol,
          side,
          price: String(price),
          quantity: '0.001',
          liquidity: random.next() < 0.8 ? 'maker' : 'taker',
          fee: (price * quantity * 0.001).toFixed(2),
          orderId: String(1000 + fills.length),
          clientOrderId: `mm-${fills.length}`,
        });
        inventory.push({ t, symbol, position: book.position.toFixed(3) });
      }
    }
    const value = cash + books.reduce((sum, b) => sum + b.position * b.price, 0);
    last = { t, equity: value.toFixed(2), pnl: (value - 1_000_000).toFixed(2) };
    equity.push(last);
  }
  const to = from + seconds * 1000;
  const perSymbol = Object.fromEntries(
    books.map((book, i) => [
      book.symbol,
      {
        symbol: book.symbol,
        base: book.symbol.replace(/TRY$/, ''),
        quote: 'TRY',
        fills: fills.filter((f) => f.symbol === book.symbol).length,
        orders: 40 + i,
        pnl: { realised: '12.5', unrealised: '-3.25', fees: '1.75', total: '9.25' },
        makerShare: '0.8',
        maxDrawdown: '20.5',
        boughtQuantity: '0.01',
        soldQuantity: '0.009',
        volume: '54321.5',
        endPosition: book.position.toFixed(3),
        lastMid: String(book.price),
      },
    ]),
  );
  return {
    version: 1,
    strategy: 'market-maker',
    params: options.params ?? { spreadBps: '50' },
    symbols,
    currency: 'TRY',
    from,
    to,
    marketMs: to - from,
    events: seconds * 4,
    latencyMs: 50,
    fillModel: 'queue-position',
    fills: fills.length,
    orders: 81,
    rejected: 1,
    cancels: 30,
    pnl: { realised: '25', unrealised: '-6.5', fees: '3.5', total: last.pnl },
    makerShare: '0.8',
    maxDrawdown: '41',
    startEquity: '1000000',
    endEquity: last.equity,
    balancesStart: { TRY: '1000000' },
    balancesEnd: { BTC: '0.001', TRY: '999000' },
    perSymbol,
    series: { equity, inventory, mid, quotes, fills },
  };
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why the browser test cannot run here, or null when it can. Under CI=true a missing Chromium or
 * playwright-core is not a reason to skip: the test runs and fails.
 */
export async function chromiumSkipReason(): Promise<string | null> {
  if (process.env.CI === 'true') return null;
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed';
  }
  return null;
}

export interface RenderCheck {
  /** Each inline <svg>'s id and rendered size in CSS pixels. */
  readonly charts: { id: string; width: number; height: number; paths: number; markers: number }[];
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  /** Requests the page made other than for itself (a self-contained page makes none). */
  readonly requests: string[];
  readonly title: string;
}

/** Loads `htmlPath` from file:// in headless Chromium and reports what rendered. */
export async function renderInChromium(htmlPath: string): Promise<RenderCheck> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    const requests: string[] = [];
    const url = pathToFileURL(htmlPath).href;
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('request', (request) => {
      if (request.url() !== url) requests.push(request.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    // Evaluated in the page (a string: this project's TypeScript has no DOM types).
    const charts = await page.evaluate<
      RenderCheck['charts']
    >(`[...document.querySelectorAll('svg.chart')].map((node) => {
      const box = node.getBoundingClientRect();
      return {
        id: node.id,
        width: box.width,
        height: box.height,
        paths: node.querySelectorAll('path.series').length,
        markers: node.querySelectorAll('.fill-marker').length,
      };
    })`);
    return { charts, consoleErrors, pageErrors, requests, title: await page.title() };
  } finally {
    await browser.close();
  }
}

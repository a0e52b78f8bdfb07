import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, chromiumSkipReason } from '../backtest/report-helpers.ts';

// Headless Chromium for the dashboard's browser tests, with the backtest report's rules: the
// system's chromium through playwright-core; skipped outside CI when it is missing, failing under
// CI=true. Screenshots go under test-output/dashboard/.

export { chromiumSkipReason };

export const OUTPUT_DIR = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface WatchedPage {
  readonly page: Page;
  /** Script errors and console errors the page reported. */
  readonly errors: string[];
  /** Requests to anywhere but the dashboard itself. */
  readonly foreign: string[];
}

export async function openPage(browser: Browser, origin: string): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(origin)) foreign.push(request.url());
  });
  return { page, errors, foreign };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const path = join(OUTPUT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The text of an element, as the user sees it. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent()) ?? '';
}

/**
 * Waits until `expression` (evaluated in the page) is truthy. The page's CSP forbids eval, which
 * Playwright's waitForFunction uses for a string; page.evaluate goes through the debugger instead.
 */
export async function waitUntil(page: Page, expression: string, what = expression): Promise<void> {
  for (let i = 0; ; i += 1) {
    if (await page.evaluate<boolean>(`Boolean(${expression})`)) return;
    if (i > 600) throw new Error(`the page never showed ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderReportHtml } from './html.ts';
import { summaryOf, type BacktestResult, type BacktestSummary } from './types.ts';

// `btcbot backtest --out DIR`: DIR/summary.json (the same summary `--json` prints, indented) and
// DIR/report.html (self-contained: inline CSS and SVG charts, nothing fetched). Each file is
// written to a temporary name and renamed, so a reader never sees half a report.

export const SUMMARY_FILE = 'summary.json';
export const REPORT_FILE = 'report.html';

export interface WrittenReport {
  readonly summaryPath: string;
  readonly htmlPath: string;
}

/** The summary as summary.json holds it: key order as built, two-space indent, final newline. */
function summaryJson(summary: BacktestSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text, 'utf8');
  await rename(temp, path);
}

/** Writes summary.json and report.html into `dir` (created when missing). */
export async function writeReport(dir: string, result: BacktestResult): Promise<WrittenReport> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`--out: cannot create ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const summaryPath = join(dir, SUMMARY_FILE);
  const htmlPath = join(dir, REPORT_FILE);
  await writeAtomically(summaryPath, summaryJson(summaryOf(result)));
  await writeAtomically(htmlPath, renderReportHtml(result));
  return { summaryPath, htmlPath };
}

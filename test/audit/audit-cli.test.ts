import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry } from '../../src/ports/audit.ts';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { runCli } from '../helpers/cli.ts';

// The operator-action trail as an operator meets it: the real binary flips the kill switch with a
// reason, and `btcbot audit` shows it with its source; a planted API secret appears nowhere.

// Valid base64, so that commands which check the secret accept it; unmistakable in any output.
const PLANTED_SECRET = Buffer.from('planted-secret-4bd1c0ffee-never-shown').toString('base64');
const PLANTED_KEY = 'planted-key-7e1a9f3b';
const ENV = { BTCTURK_API_KEY: PLANTED_KEY, BTCTURK_API_SECRET: PLANTED_SECRET };

let dir: string;
let db: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'btcbot-audit-'));
  db = join(dir, 'bot.db');
  const store = await openSqliteStore({ path: db });
  // What a session records at start, to show beside the command-line actions.
  await auditLogOf(store).record({
    action: 'run-start',
    source: 'bot',
    reason: 'btcbot run',
    detail: { mode: 'paper', symbols: ['BTCTRY'] },
  });
  await store.close();
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function assertNoSecret(text: string, where: string): void {
  assert.ok(!text.includes(PLANTED_SECRET), `the planted secret is in ${where}`);
  assert.ok(!text.includes(PLANTED_KEY), `the planted key is in ${where}`);
}

describe('btcbot audit', () => {
  it('shows kill-switch on and off from the command line, with source cli and the reason given', async () => {
    const on = await runCli(['kill-switch', 'on', '--reason', 'x', '--db', db], ENV);
    assert.equal(on.code, 0, on.stderr);
    const off = await runCli(['kill-switch', 'off', '--db', db], ENV);
    assert.equal(off.code, 0, off.stderr);
    const status = await runCli(['kill-switch', 'status', '--db', db], ENV);
    assert.equal(status.code, 0, status.stderr);

    const json = await runCli(['audit', '--json', '--db', db], ENV);
    assert.equal(json.code, 0, json.stderr);
    // The --json convention: one object, the list under a named field, times as ISO-8601 strings.
    const { entries } = JSON.parse(json.stdout) as { entries: (Omit<AuditEntry, 'at'> & { at: string })[] };
    assert.deepEqual(
      entries.map((e) => [e.id, e.action, e.source, e.reason]),
      [
        [3, 'kill-switch-off', 'cli', '(none given)'],
        [2, 'kill-switch-on', 'cli', 'x'],
        [1, 'run-start', 'bot', 'btcbot run'],
      ],
      'status is not an action: it is not recorded',
    );
    for (const entry of entries) assert.match(entry.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const limited = await runCli(['audit', '--json', '--limit', '1', '--db', db], ENV);
    assert.deepEqual(
      (JSON.parse(limited.stdout) as { entries: AuditEntry[] }).entries.map((e) => e.id),
      [3],
    );

    const table = await runCli(['audit', '--db', db], ENV);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^id\s+time\s+source\s+action\s+reason\s+detail$/);
    assert.match(lines[3] ?? '', /^\s*2\s+\S+Z\s+cli\s+kill-switch-on\s+x\s+-$/);
    assert.match(lines[4] ?? '', /run-start\s+btcbot run\s+mode=paper symbols=BTCTRY$/);

    for (const [where, text] of [
      ['kill-switch on', on.stdout + on.stderr],
      ['kill-switch off', off.stdout + off.stderr],
      ['audit --json', json.stdout + json.stderr],
      ['audit', table.stdout + table.stderr],
    ] as const)
      assertNoSecret(text, where);
  });

  it('refuses a database that does not exist, and a bad --limit, naming them', async () => {
    const missing = await runCli(['audit', '--db', join(dir, 'none.db')], ENV);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no database at .*none\.db/);
    const limit = await runCli(['audit', '--limit', '0', '--db', db], ENV);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit must be a whole number/);
  });
});

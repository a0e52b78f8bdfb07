import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { EngineDecision } from '../../src/engine/engine.ts';
import type { ServiceContext, SessionService } from '../../src/ops/compose/services.ts';
import { assembleSession } from '../../src/ops/compose/session.ts';
import { loadRunConfig } from '../../src/ops/run-config.ts';

// The composition root as a test (or a dashboard) uses it: a paper session assembled from the
// builders with a service of the test's own, read through the session's view while it runs.

const dir = mkdtempSync(join(tmpdir(), 'btcbot-compose-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('assembleSession (paper)', () => {
  it('starts services with the read model before the banner, and stops them after the final summary', async () => {
    const config = loadRunConfig({ db: join(dir, 'bot.db'), duration: '6s', seed: '11', speed: '5' }, {});
    const lines: string[] = [];
    const events: string[] = [];
    let context: ServiceContext | undefined;
    let linesAtStart = -1;
    const probe: SessionService = {
      name: 'probe',
      start: (ctx) => {
        context = ctx;
        linesAtStart = lines.length;
        events.push('start');
        return Promise.resolve({
          banner: 'probe: listening nowhere',
          stop: () => {
            events.push(`stop after ${lines.filter((l) => l.startsWith('stopped (')).length} final summary`);
            return Promise.resolve();
          },
        });
      },
    };
    const session = await assembleSession(
      config,
      {
        out: (line) => {
          lines.push(line);
        },
        logger: pino({ enabled: false }),
      },
      [probe],
    );
    let closed = false;
    try {
      assert.equal(linesAtStart, 0, 'services start before the banner');
      assert.ok(context);
      assert.equal(context.view, session.view);
      assert.ok(lines.includes('  probe: listening nowhere'), 'a service adds its banner line');
      assert.match(lines.join('\n'), /metrics: off/);

      const first = await session.view.snapshot();
      assert.equal(first.phase, 'starting');
      assert.equal(first.mode, 'paper');
      assert.deepEqual(
        first.symbols.map((s) => s.symbol),
        ['BTCTRY', 'ETHTRY'],
      );
      assert.equal(first.killSwitch.on, false);
      assert.equal(first.escalation.level, 'NORMAL');
      assert.equal(first.budget.orders.limit, config.ordersPerMinute);
      assert.ok(Array.isArray(first.budget.rest) && first.budget.rest.length > 0, 'REST headroom per group');
      assert.equal(first.lastReconcile, null);
      JSON.parse(JSON.stringify(first)); // plain JSON

      // Paper mode's simulator takes changes only with the session's own token.
      const rest = /in-process simulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(lines.join('\n'))?.[1];
      assert.ok(rest, 'the banner names the simulator');
      const post = await fetch(`${rest}/sim/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ 'error-5xx': 1 }),
      });
      assert.equal(post.status, 401);
      const faults = (await (await fetch(`${rest}/sim/faults`)).json()) as Record<string, number>;
      assert.equal(faults['error-5xx'], 0);
      assert.equal((await fetch(`${rest}/sim/state`)).status, 200, 'ground truth stays readable');

      const followed: EngineDecision[] = [];
      const unsubscribe = session.view.onDecision((d) => followed.push(d));
      const outcome = await session.run();
      unsubscribe();
      assert.equal(outcome.reconcileClean, true);
      assert.equal(session.view.phase(), 'stopped');

      const decisions = session.view.decisions();
      assert.ok(
        decisions.some((d) => d.kind === 'placed'),
        `an order was placed: ${JSON.stringify(decisions)}`,
      );
      assert.ok(decisions.every((d) => d.reason.length > 0 && d.slot.length > 0));
      assert.ok(followed.length > 0 && followed.length <= decisions.length);
      const last = session.view.lastReconcile();
      assert.ok(last, 'the last reconciliation is known');
      assert.equal(last.report.clean, true);

      const end = await session.view.snapshot();
      assert.equal(typeof end.lastLoopAt, 'number');
      assert.equal(end.lastReconcile?.clean, true);
      assert.ok(end.valuation !== null, 'the account was valued');
      assert.ok(
        end.symbols.every((s) => s.inventory.target === null || typeof s.inventory.target === 'string'),
      );
      assert.ok(end.decisions.length > 0);

      await session.close();
      closed = true;
      assert.deepEqual(events, ['start', 'stop after 1 final summary']);
    } finally {
      if (!closed) await session.close();
    }
  });
});

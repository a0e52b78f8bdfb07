import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RATE_LIMITS } from '../../src/btcturk/common/constants.ts';
import { degradedPollMs, PrivateStreamPace, serverText } from '../../src/ops/private-stream.ts';

// Without the private stream the bot lives on REST polling: how fast it may poll (inside BTCTurk's
// limits), when it switches, and what it tells the user.

describe('REST polling pace while the private stream is down', () => {
  it('polls every 5 s for a few symbols, slower for many, never slower than normal', () => {
    assert.equal(degradedPollMs(1, 15_000), 5_000);
    assert.equal(degradedPollMs(2, 15_000), 5_000);
    assert.equal(degradedPollMs(5, 15_000), 5_000);
    assert.equal(degradedPollMs(8, 15_000), 8_000);
    assert.equal(degradedPollMs(12, 15_000), 12_000);
    assert.equal(degradedPollMs(40, 15_000), 15_000);
  });

  it('keeps every endpoint a pass calls within half of its limit', () => {
    for (let symbols = 1; symbols <= 15; symbols += 1) {
      const passesPerMinute = 60_000 / degradedPollMs(symbols, 15_000);
      for (const group of ['fills', 'open-orders', 'all-orders'] as const)
        for (const window of RATE_LIMITS[group])
          assert.ok(
            passesPerMinute * symbols * (window.periodMs / 60_000) <= window.limit / 2,
            `${symbols} symbols: ${group} over half its limit`,
          );
    }
  });
});

describe('PrivateStreamPace', () => {
  const make = () => {
    const changes: [number, string][] = [];
    const pace = new PrivateStreamPace({
      normalMs: 15_000,
      degradedMs: 5_000,
      onChange: (ms, line) => changes.push([ms, line]),
    });
    return { pace, changes };
  };

  it('polls at the normal pace until told otherwise, faster after a refusal, back after a login', () => {
    const { pace, changes } = make();
    assert.equal(pace.intervalMs, 15_000);
    assert.equal(pace.describe(), null);
    pace.login(true, '');
    assert.deepEqual([...changes], [], 'a first successful login changes nothing');

    pace.login(false, 'Unauthorized - Invalid Signature');
    assert.equal(pace.intervalMs, 5_000);
    assert.equal(pace.refusals, 1);
    assert.equal(pace.describe(), 'login refused (Unauthorized - Invalid Signature); polling REST every 5 s');
    assert.deepEqual(
      [...changes],
      [
        [
          5_000,
          'private stream: login refused (Unauthorized - Invalid Signature); polling REST every 5 s until a login succeeds',
        ],
      ],
    );
    // The reconnect is refused again: still refused, no new announcement.
    pace.disconnected('closed with code 1006');
    pace.login(false, 'Unauthorized - Invalid Signature');
    assert.equal(changes.length, 1);
    assert.equal(pace.refusals, 2);
    assert.match(pace.describe() ?? '', /^login refused/);
    assert.equal(
      pace.history(),
      'login refused 2 times (Unauthorized - Invalid Signature); fills and order states polled over REST every 5 s',
    );

    pace.login(true, '');
    assert.equal(pace.intervalMs, 15_000);
    assert.equal(pace.describe(), null);
    assert.equal(changes.length, 2);
    assert.match(changes.map(([, line]) => line).join('\n'), /logged in; .* back to every 15 s$/);
    assert.equal(pace.history(), 'login refused 2 times, logged in at the end');
  });

  it('polls faster while the socket is down, until the next login', () => {
    const { pace, changes } = make();
    pace.login(true, '');
    pace.disconnected('closed with code 1006');
    assert.equal(pace.intervalMs, 5_000);
    assert.equal(pace.describe(), 'disconnected (closed with code 1006); polling REST every 5 s');
    pace.login(true, '');
    assert.equal(pace.intervalMs, 15_000);
    assert.equal(changes.length, 2);
    assert.equal(pace.history(), null);
  });

  it("shows the server's message on one bounded line", () => {
    assert.equal(serverText('bad\r\nthing\u0007'), 'bad thing');
    assert.equal(serverText('  '), 'no reason given');
    assert.equal(serverText('x'.repeat(1000)).length, 160);
  });
});

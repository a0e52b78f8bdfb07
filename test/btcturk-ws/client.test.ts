import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { WsCredentials } from '../../src/btcturk/websocket/auth.ts';
import { BtcturkWsClient, type WsProblem } from '../../src/btcturk/websocket/client.ts';
import type { WsMessage } from '../../src/btcturk/websocket/messages.ts';
import { ConnectBudget } from '../../src/btcturk/websocket/reconnect.ts';
import { seededRandom } from '../../src/domain/random.ts';
import * as F from './fixtures/frames.ts';
import { answerSubscriptions, startLocalServer, until, type LocalServerOptions } from './local-server.ts';

const FAST = { backoff: { initialMs: 20, maxMs: 100 }, random: seededRandom(11) };

function first<T>(list: readonly T[]): T {
  const item = list[0];
  assert.ok(item !== undefined, 'expected at least one');
  return item;
}

async function withClient(
  serverOptions: LocalServerOptions,
  clientOptions: ConstructorParameters<typeof BtcturkWsClient>[0],
  body: (ctx: {
    client: BtcturkWsClient;
    server: Awaited<ReturnType<typeof startLocalServer>>;
    problems: WsProblem[];
    messages: WsMessage[];
  }) => Promise<void>,
): Promise<void> {
  const server = await startLocalServer(serverOptions);
  const client = new BtcturkWsClient({ ...FAST, ...clientOptions, url: server.url });
  const problems: WsProblem[] = [];
  const messages: WsMessage[] = [];
  client.on('problem', (p) => problems.push(p));
  client.on('message', (m) => messages.push(m));
  try {
    await body({ client, server, problems, messages });
  } finally {
    await client.stop();
    await server.close();
  }
}

describe('WebSocket client', () => {
  it('subscribes on connect, re-subscribes everything after a drop and announces the reconnect', async () => {
    await withClient(
      {
        onConnection: (conn) => {
          conn.send(F.WELCOME);
        },
        onFrame: answerSubscriptions,
      },
      {},
      async ({ client, server, problems }) => {
        const events: string[] = [];
        client.on('connected', () => events.push('connected'));
        client.on('reconnected', () => events.push('reconnected'));
        client.on('disconnected', () => events.push('disconnected'));
        client.subscribe('obdiff', 'BTCTRY');
        client.subscribe('trade', 'BTCTRY');
        client.start();
        await until('two subscriptions', () => (server.connections[0]?.received.length ?? 0) === 2);
        client.subscribe('obdiff', 'ETHTRY'); // while connected: sent at once
        await until('the third subscription', () => server.connections[0]?.received.length === 3);
        server.connections[0]?.socket.terminate();
        await until(
          'a second connection with every subscription',
          () => server.connections[1]?.received.length === 3,
        );
        const joined = server.connections[1]?.received.map(
          (f) => `${String(f[1].channel)}:${String(f[1].event)}:${String(f[1].join)}`,
        );
        assert.deepEqual(joined?.sort(), ['obdiff:BTCTRY:true', 'obdiff:ETHTRY:true', 'trade:BTCTRY:true']);
        await until('reconnected', () => events.includes('reconnected'));
        assert.deepEqual(events, ['connected', 'disconnected', 'connected', 'reconnected']);
        assert.deepEqual(problems, []);
        const stats = client.stats();
        assert.equal(stats.connects, 2);
        assert.equal(stats.reconnects, 1);
      },
    );
  });

  it('resubscribe leaves and re-joins (BTCTurk answers a join with a fresh snapshot)', async () => {
    await withClient({ onFrame: answerSubscriptions }, {}, async ({ client, server }) => {
      client.subscribe('obdiff', 'BTCTRY');
      client.start();
      await until('subscription', () => server.connections[0]?.received.length === 1);
      client.resubscribe('obdiff', 'BTCTRY');
      await until('leave and join', () => server.connections[0]?.received.length === 3);
      assert.deepEqual(
        server.connections[0]?.received.slice(1).map((f) => f[1].join),
        [false, true],
      );
    });
  });

  it('reports a refused subscription instead of waiting in silence', async () => {
    await withClient(
      {
        onFrame: (conn) => {
          conn.send(F.JOIN_REFUSED);
        },
      },
      {},
      async ({ client, problems }) => {
        client.subscribe('obdiff', 'NOPETRY');
        client.start();
        await until('a problem', () => problems.length > 0);
        const problem = first(problems);
        assert.equal(problem.kind, 'subscription-refused');
        assert.match(problem.message, /refused join\|obdiff:NOPETRY: unknown channel or pair/);
        assert.equal(client.stats().refusedSubscriptions, 1);
      },
    );
  });

  it('replaces a silent connection that answers no ping', async () => {
    await withClient(
      {
        onConnection: (conn) => {
          conn.send(F.WELCOME); // then nothing, and no pongs
        },
      },
      { silenceMs: 300 },
      async ({ client, server, problems }) => {
        client.start();
        await until('a second connection', () => server.connections.length >= 2);
        assert.equal(problems[0]?.kind, 'silence');
        assert.ok(client.stats().silences >= 1);
      },
    );
  });

  it('keeps a quiet connection that answers pings', async () => {
    await withClient({ autoPong: true }, { silenceMs: 200 }, async ({ client, server, problems }) => {
      client.start();
      await until('a connection', () => server.connections.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(server.connections.length, 1, 'pongs prove the connection alive');
      assert.deepEqual(problems, []);
    });
  });

  it('replaces a connection that leaves a subscription unanswered', async () => {
    await withClient(
      {},
      { answerTimeoutMs: 200, silenceMs: 10_000 },
      async ({ client, server, problems }) => {
        client.subscribe('obdiff', 'BTCTRY');
        client.start();
        await until('a second connection', () => server.connections.length >= 2);
        const problem = first(problems);
        assert.equal(problem.kind, 'unanswered');
        assert.match(problem.message, /join\|obdiff:BTCTRY/);
      },
    );
  });

  it('logs in with a signature the server can verify, and reports a refused login', async () => {
    const publicKey = 'ws-key';
    const privateKey = Buffer.from('ws-private').toString('base64');
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] !== 114) return;
          const body = frame[1] as { publicKey: string; nonce: number; signature: string };
          const expected = createHmac('sha256', Buffer.from(privateKey, 'base64'))
            .update(body.publicKey + String(body.nonce))
            .digest('base64');
          const ok = body.publicKey === publicKey && body.signature === expected;
          conn.send([114, { type: 114, ok, message: ok ? 'success' : 'signature does not match' }]);
        },
      },
      { credentials: new WsCredentials(publicKey, privateKey) },
      async ({ client, messages, problems }) => {
        client.start();
        await until('login result', () => messages.some((m) => m.kind === 'login-result'));
        assert.deepEqual(
          messages.find((m) => m.kind === 'login-result'),
          { kind: 'login-result', ok: true, message: 'success' },
        );
        assert.deepEqual(problems, []);
      },
    );
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] === 114) conn.send([114, { type: 114, ok: false, message: 'unknown public key' }]);
        },
      },
      { credentials: new WsCredentials('other', privateKey) },
      async ({ client, problems }) => {
        client.start();
        await until('a problem', () => problems.length > 0);
        const problem = first(problems);
        assert.equal(problem.kind, 'login-refused');
        assert.ok(!problem.message.includes(privateKey));
      },
    );
  });

  it('a 429 on the upgrade blocks connects for the Retry-After', async () => {
    const budget = new ConnectBudget();
    await withClient(
      { refuseUpgrade: (i) => (i === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : null) },
      { budget, rateLimitPauseMs: 300 }, // the test's stand-in for BTCTurk's 60 s; Retry-After asks for more
      async ({ client, server, problems }) => {
        client.start();
        await until('a second upgrade', () => server.upgrades.length >= 2, 5_000);
        const [first, second] = server.upgrades;
        assert.ok(
          (second ?? 0) - (first ?? 0) >= 950,
          `waited ${(second ?? 0) - (first ?? 0)} ms, not the 1 s asked`,
        );
        assert.equal(problems[0]?.kind, 'rate-limited');
        assert.equal(client.stats().rateLimited, 1);
      },
    );
  });

  it('survives a throwing listener and tells about it', async () => {
    await withClient(
      {
        onConnection: (conn) => {
          conn.send(F.WELCOME);
          conn.send(F.TRADE);
        },
      },
      {},
      async ({ client, messages, problems }) => {
        client.once('message', () => {
          throw new Error('consumer bug');
        });
        client.start();
        await until('both frames', () => messages.length === 2);
        const problem = first(problems);
        assert.equal(problem.kind, 'listener-failed');
        assert.match(problem.message, /consumer bug/);
      },
    );
  });

  it('turns an unreadable book frame into a book-unreadable event for its pair', async () => {
    await withClient(
      {
        onConnection: (conn) => {
          conn.send('[432,{"CS":7,"PS":"BTCTRY","AO":[{"A":"x","P":"1","CP":1}],"BO":[]}]');
        },
      },
      {},
      async ({ client, messages, problems }) => {
        client.start();
        await until('the event', () => messages.length === 1);
        const message = first(messages);
        assert.ok(message.kind === 'book-unreadable');
        assert.equal(message.symbol, 'BTCTRY');
        assert.equal(problems[0]?.kind, 'unreadable-frame');
        assert.equal(client.stats().unreadableFrames, 1);
      },
    );
  });
});

describe('WebSocket client configuration', () => {
  it('refuses a URL that is not ws:// or wss://, naming the setting', () => {
    assert.throws(
      () => new BtcturkWsClient({ url: 'https://ws-feed-pro.btcturk.com' }),
      /BTCTURK_WS_URL: expected a ws:\/\/ or wss:\/\/ URL/,
    );
  });
});

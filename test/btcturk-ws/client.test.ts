import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { WsCredentials } from '../../src/btcturk/websocket/auth.ts';
import { BtcturkWsClient, type WsProblem } from '../../src/btcturk/websocket/client.ts';
import type { WsMessage } from '../../src/btcturk/websocket/messages.ts';
import { ConnectBudget } from '../../src/btcturk/websocket/reconnect.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { wireText } from '../wire/corpus.ts';
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

/** Subscribes, resubscribes, and expects leave/join twice over with one duplicate join answered. */
const resubscribeThroughDuplicate: Parameters<typeof withClient>[2] = async ({
  client,
  server,
  problems,
}) => {
  client.subscribe('obdiff', 'BTCUSDT');
  client.start();
  await until('subscribed', () => server.connections[0]?.received.length === 1);
  client.resubscribe('obdiff', 'BTCUSDT');
  await until('leave and join again', () => server.connections[0]?.received.length === 5);
  assert.deepEqual(
    server.connections[0]?.received.map((f) => f[1].join),
    [true, false, true, false, true],
  );
  assert.equal(client.stats().duplicateJoins, 1);
  assert.deepEqual(problems, []);
};
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

  it('reports a refused subscription (a malformed one: BTCTurk’s real refusal) instead of waiting in silence', async () => {
    await withClient(
      {
        onFrame: (conn) => {
          conn.send(wireText('ws-join-refused-malformed')); // message "join|true:all"
        },
      },
      {},
      async ({ client, problems }) => {
        client.subscribe('obdiff', 'NOPETRY');
        client.start();
        await until('a problem', () => problems.length > 0);
        const problem = first(problems);
        assert.equal(problem.kind, 'subscription-refused');
        assert.match(problem.message, /refused join\|obdiff:NOPETRY: join\|true:all/);
        assert.equal(client.stats().refusedSubscriptions, 1);
        assert.equal(client.stats().duplicateJoins, 0);
      },
    );
  });

  it('a duplicate-join refusal means "already joined": counted, nothing torn down', async () => {
    await withClient(
      {
        autoPong: true,
        onFrame: (conn, frame) => {
          if (frame[0] === 151) conn.send(wireText('ws-join-duplicate')); // ok:false, "join|obdiff:BTCUSDT"
        },
      },
      { answerTimeoutMs: 200, silenceMs: 400, pingEveryMs: 50 },
      async ({ client, server, problems }) => {
        client.subscribe('obdiff', 'BTCUSDT');
        client.start();
        await until('the refusal', () => client.stats().duplicateJoins === 1);
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.deepEqual(problems, []);
        assert.equal(server.connections.length, 1, 'the answer was taken: no unanswered join, no reconnect');
        assert.equal(client.stats().refusedSubscriptions, 0);
        assert.equal(
          server.connections[0]?.received.length,
          1,
          'a plain join refused as duplicate is not retried',
        );
      },
    );
  });

  it('a resubscribe refused as a duplicate (the leave not taken yet) leaves and joins once more', async () => {
    let joins = 0;
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] !== 151) return;
          const { join } = frame[1] as { join: boolean };
          if (!join) return; // this server never answers a leave
          joins++;
          // The first join subscribes; the re-join right after the first leave finds it still held.
          conn.send(
            joins === 2
              ? wireText('ws-join-duplicate')
              : '[100,{"type":100,"ok":true,"message":"join|obdiff:BTCUSDT"}]',
          );
        },
      },
      {},
      resubscribeThroughDuplicate,
    );
  });

  it('a resubscribe called before the first join is answered still leaves and joins once more after a duplicate', async () => {
    // The first join's answer arrives only after the resubscribe's leave: it must not be taken for
    // the re-join's answer (which would end the resubscribe before its duplicate refusal).
    let joins = 0;
    let held: string | undefined;
    const ack = '[100,{"type":100,"ok":true,"message":"join|obdiff:BTCUSDT"}]';
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] !== 151) return;
          const { join } = frame[1] as { join: boolean };
          if (!join) {
            if (held !== undefined) conn.send(held);
            held = undefined;
            return;
          }
          joins++;
          if (joins === 1) held = ack;
          else conn.send(joins === 2 ? wireText('ws-join-duplicate') : ack);
        },
      },
      {},
      resubscribeThroughDuplicate,
    );
  });

  it('a resubscribe refused twice is reported, and not retried for ever', async () => {
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] !== 151 || !(frame[1] as { join: boolean }).join) return;
          conn.send(
            conn.received.filter((f) => f[1].join === true).length === 1
              ? '[100,{"type":100,"ok":true,"message":"join|obdiff:BTCUSDT"}]'
              : wireText('ws-join-duplicate'),
          );
        },
      },
      {},
      async ({ client, server, problems }) => {
        client.subscribe('obdiff', 'BTCUSDT');
        client.start();
        await until('subscribed', () => server.connections[0]?.received.length === 1);
        client.resubscribe('obdiff', 'BTCUSDT');
        await until('a problem', () => problems.length > 0);
        const problem = first(problems);
        assert.equal(problem.kind, 'resubscribe-failed');
        assert.match(problem.message, /obdiff:BTCUSDT/);
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(server.connections[0]?.received.length, 5, 'join, then leave+join twice, then nothing');
        assert.equal(client.stats().duplicateJoins, 2);
        assert.equal(server.connections.length, 1);
      },
    );
  });

  it('a pair acknowledged and then silent (as BTCTurk does for unknown pairs) does not cost the connection', async () => {
    await withClient(
      {
        autoPong: true,
        onFrame: (conn) => {
          conn.send(wireText('ws-join-unknown-pair')); // ok:true for NOPETRY, then nothing
        },
      },
      { answerTimeoutMs: 200, silenceMs: 300, pingEveryMs: 50 },
      async ({ client, server, problems }) => {
        client.subscribe('obdiff', 'NOPETRY');
        client.start();
        await until('the acknowledgement', () => server.connections[0]?.received.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 800));
        assert.equal(server.connections.length, 1, 'book silence is not connection silence');
        assert.deepEqual(problems, []);
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

  it('the server’s own pings keep a connection alive whose pongs never come', async () => {
    let timer: NodeJS.Timeout | undefined;
    await withClient(
      {
        autoPong: false,
        onConnection: (conn) => {
          // BTCTurk pings every 15 s; here every 50 ms, with the client's silence limit at 300 ms.
          timer = setInterval(() => {
            if (conn.socket.readyState === 1) conn.socket.ping();
          }, 50);
        },
      },
      { silenceMs: 300, pingEveryMs: 100 },
      async ({ client, server, problems }) => {
        assert.equal(client.lastAliveAt(), null, 'no connection yet');
        client.start();
        await until('a connection', () => server.connections.length === 1 && client.connected);
        await until('server pings', () => client.stats().serverPings >= 3);
        const alive = client.lastAliveAt();
        assert.ok(alive !== null);
        await new Promise((resolve) => setTimeout(resolve, 700));
        clearInterval(timer);
        assert.equal(server.connections.length, 1);
        assert.deepEqual(problems, []);
        assert.ok((client.lastAliveAt() ?? 0) > alive, 'each ping proves the connection alive');
      },
    );
    clearInterval(timer);
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

  it('logs in with nonce 3000 and the server-synced time, signed so the server can verify it', async () => {
    const publicKey = 'ws-key';
    const privateKey = Buffer.from('ws-private').toString('base64');
    const logins: { ok: boolean; message: string }[] = [];
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] !== 114) return;
          const body = frame[1] as { publicKey: string; nonce: number; signature: string };
          const expected = createHmac('sha256', Buffer.from(privateKey, 'base64'))
            .update(body.publicKey + String(body.nonce))
            .digest('base64');
          const ok = body.publicKey === publicKey && body.signature === expected;
          conn.send(
            ok
              ? F.LOGIN_OK
              : [114, { type: 114, ok: false, id: 0, message: 'Unauthorized - Invalid Signature' }],
          );
        },
      },
      { credentials: new WsCredentials(publicKey, privateKey), serverNow: () => 1_790_133_600_027 },
      async ({ client, server, problems }) => {
        client.on('login', (ok, message) => logins.push({ ok, message }));
        assert.equal(client.loggedIn, null, 'no answer yet');
        client.start();
        await until('login result', () => logins.length === 1);
        assert.deepEqual(logins, [{ ok: true, message: '' }]);
        assert.equal(client.loggedIn, true);
        const sent = server.connections[0]?.received.find((f) => f[0] === 114)?.[1];
        assert.ok(sent);
        assert.equal(sent.nonce, 3000, 'the documented nonce, not a large random number');
        assert.equal(sent.timestamp, 1_790_133_600_027, 'the server-synced clock, not the local one');
        assert.deepEqual(problems, []);
        assert.equal(client.stats().loginRefusals, 0);
      },
    );
  });

  it('a refused login is reported with the server’s own message and counted', async () => {
    const privateKey = Buffer.from('ws-private').toString('base64');
    await withClient(
      {
        onFrame: (conn, frame) => {
          if (frame[0] === 114) conn.send(wireText('ws-login-refused')); // "Unauthorized - Invalid Public key"
        },
      },
      { credentials: new WsCredentials('other', privateKey), loginNonce: 5000 },
      async ({ client, server, problems }) => {
        const logins: [boolean, string][] = [];
        client.on('login', (ok, message) => logins.push([ok, message]));
        client.start();
        await until('a problem', () => problems.length > 0);
        assert.deepEqual(logins, [[false, 'Unauthorized - Invalid Public key']]);
        assert.equal(client.loggedIn, false);
        assert.equal(client.stats().loginRefusals, 1);
        const problem = first(problems);
        assert.equal(problem.kind, 'login-refused');
        assert.match(problem.message, /refused: Unauthorized - Invalid Public key/);
        assert.ok(!problem.message.includes(privateKey));
        assert.equal(server.connections[0]?.received.find((f) => f[0] === 114)?.[1].nonce, 5000);
      },
    );
  });

  it('a frame above maxPayloadBytes (default 4 MiB) closes the socket, is reported, and the connection is replaced', async () => {
    await withClient(
      {
        onConnection: (conn, index) => {
          // 5 MB of an otherwise ordinary frame on the first connection only.
          if (index === 0) conn.send(`[402,{"PS":"BTCTRY","pad":"${'x'.repeat(5_000_000)}"}]`);
          else conn.send(F.WELCOME);
        },
      },
      {},
      async ({ client, server, problems, messages }) => {
        client.start();
        await until('a second connection', () => server.connections.length >= 2 && messages.length >= 1);
        const problem = first(problems);
        assert.equal(problem.kind, 'oversized-frame');
        assert.match(problem.message, /above 4194304 bytes \(maxPayloadBytes\)/);
        assert.equal(client.stats().oversizedFrames, 1);
        assert.equal(client.stats().frames, 1, 'the oversized frame was never read');
        assert.deepEqual(messages, [{ kind: 'welcome' }]);
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

  it('an unknown change kind (CP 2) becomes book-unreadable with its cause', async () => {
    await withClient(
      {
        onConnection: (conn) => {
          conn.send(F.OBDIFF_CP2);
        },
      },
      {},
      async ({ client, messages }) => {
        client.start();
        await until('the event', () => messages.length === 1);
        const message = first(messages);
        assert.ok(message.kind === 'book-unreadable');
        assert.equal(message.symbol, 'BTCTRY');
        assert.equal(message.cause, 'unknown-change-kind');
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
        assert.equal(message.cause, 'unreadable');
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

  it('refuses a login nonce or payload limit that is not a usable whole number, naming the option', () => {
    assert.throws(() => new BtcturkWsClient({ loginNonce: 0 }), /loginNonce must be a whole number/);
    assert.throws(() => new BtcturkWsClient({ loginNonce: 1.5 }), /loginNonce/);
    assert.throws(() => new BtcturkWsClient({ maxPayloadBytes: 10 }), /maxPayloadBytes must be/);
  });
});

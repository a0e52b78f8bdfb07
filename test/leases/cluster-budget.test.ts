import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ConfigError } from '../../src/domain/errors.ts';
import { Closer } from '../../src/ops/compose/closer.ts';
import { openVenueRest } from '../../src/ops/compose/exchange.ts';
import { openVenue } from '../../src/ops/compose/venue.ts';
import { loadRunConfig, type RunFlags } from '../../src/ops/run-config.ts';

// Cluster mode (--max-symbols) on PostgreSQL shares one API key between processes, so their rate
// budget must be shared too: without --redis-url the session is refused (exit 2) before it sends a
// request, naming --redis-url. The base URL is a server that counts requests and answers 404: a
// session that got past the budget reaches it and fails there instead, with another error.

const ARMED = {
  BTCBOT_LIVE_ACK: 'I_UNDERSTAND',
  BTCTURK_API_KEY: 'k',
  BTCTURK_API_SECRET: 'c2VjcmV0',
};
const LIVE: RunFlags = {
  mode: 'live',
  live: true,
  symbols: 'BTCTRY,ETHTRY',
  db: 'postgres://btcbot@127.0.0.1:1/btcbot',
};

async function restOf(flags: RunFlags): Promise<{ error: unknown; requests: number }> {
  let requests = 0;
  const server = createServer((_request, response) => {
    requests += 1;
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"success":false}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const logger = pino({ enabled: false });
  const closer = new Closer(logger);
  try {
    const config = loadRunConfig(flags, { ...ARMED, BTCTURK_BASE_URL: `http://127.0.0.1:${port}` });
    const venue = await openVenue(config, closer);
    await openVenueRest(config, venue, closer, logger);
    return { error: null, requests };
  } catch (error) {
    return { error, requests };
  } finally {
    await closer.closeAll();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('cluster mode and the shared rate budget', () => {
  it('refuses a PostgreSQL cluster process without --redis-url, naming --redis-url', async () => {
    const { error, requests } = await restOf({ ...LIVE, maxSymbols: '1' });
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.setting, '--redis-url');
    assert.match(error.message, /PostgreSQL/);
    assert.equal(requests, 0, 'refused before any request');
  });

  it('does not refuse one process on PostgreSQL without Redis (it gets as far as the exchange)', async () => {
    const { error, requests } = await restOf(LIVE);
    assert.ok(!(error instanceof ConfigError && error.setting === '--redis-url'), String(error));
    assert.ok(requests > 0, 'the process-only budget let it ask the exchange');
  });
});

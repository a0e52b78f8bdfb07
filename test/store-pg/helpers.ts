import { randomBytes } from 'node:crypto';
import pg from 'pg';

// Where the PostgreSQL tests find their server, and a fresh schema per test. A missing server
// skips the tests with the reason, except under CI, where they run and fail.

const CANDIDATES = process.env.BTCBOT_TEST_POSTGRES_URL
  ? [process.env.BTCBOT_TEST_POSTGRES_URL]
  : ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test'];

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PostgresTarget {
  readonly url: string;
  /** The reason to skip, or false. */
  readonly skip: string | false;
}

export async function findPostgres(): Promise<PostgresTarget> {
  for (const url of CANDIDATES) if (await reachable(url)) return { url, skip: false };
  const url = CANDIDATES[0] ?? '';
  if (process.env.CI === 'true') return { url, skip: false };
  return {
    url,
    skip:
      `PostgreSQL not reachable at ${CANDIDATES.join(' or ')}: start one with trust auth and a database "test" ` +
      '(e.g. `docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres`), ' +
      'or set BTCBOT_TEST_POSTGRES_URL',
  };
}

let sequence = 0;

/** A schema name no other test (in this process or another) uses. */
export function schemaName(): string {
  sequence += 1;
  return `btcbot_test_${process.pid}_${sequence}_${randomBytes(4).toString('hex')}`;
}

/** Runs `statement` on its own connection. */
export async function runSql(
  url: string,
  statement: string,
  params: unknown[] = [],
): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(statement, params);
  } finally {
    await client.end();
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  await runSql(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Asks `probe` again, a bounded number of times, until it answers true. */
export async function eventually(probe: () => Promise<boolean>, what: string, attempts = 100): Promise<void> {
  for (let i = 0; i < attempts; i += 1) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what} did not happen after ${attempts} attempts`);
}

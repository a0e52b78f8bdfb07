import { describe } from 'node:test';
import type { Store } from '../../src/ports/store.ts';
import { openPostgresStore } from '../../src/store/postgres/open.ts';
import { alertStoreOf } from '../../src/store/sql/alerts.ts';
import { manualClock } from '../store/helpers.ts';
import { dropSchema, findPostgres, schemaName } from '../store-pg/helpers.ts';
import { alertStoreSuite } from './store-suite.ts';

// Skips outside CI when no PostgreSQL answers (test/store-pg/helpers.ts); under CI=true it runs.
const target = await findPostgres();

describe('alert store on PostgreSQL', { skip: target.skip }, () => {
  alertStoreSuite({
    name: 'postgres',
    async open(t) {
      const schema = schemaName();
      const clock = manualClock();
      let store: Store = await openPostgresStore({ url: target.url, schema, clock });
      t.after(async () => {
        await store.close();
        await dropSchema(target.url, schema);
      });
      return {
        alerts: alertStoreOf(store),
        async reopen() {
          await store.close();
          store = await openPostgresStore({ url: target.url, schema, clock });
          return alertStoreOf(store);
        },
      };
    },
  });
});

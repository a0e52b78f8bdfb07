import { describe } from 'node:test';
import { join } from 'node:path';
import type { Store } from '../../src/ports/store.ts';
import { alertStoreOf } from '../../src/store/sql/alerts.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, tempDir } from '../store/helpers.ts';
import { alertStoreSuite } from './store-suite.ts';

describe('alert store on SQLite', () => {
  alertStoreSuite({
    name: 'sqlite',
    async open(t) {
      const path = join(tempDir(t), 'bot.db');
      const clock = manualClock();
      let store: Store = await openSqliteStore({ path, clock });
      t.after(() => store.close());
      return {
        alerts: alertStoreOf(store),
        async reopen() {
          await store.close();
          store = await openSqliteStore({ path, clock });
          return alertStoreOf(store);
        },
      };
    },
  });
});

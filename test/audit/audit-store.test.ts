import { join } from 'node:path';
import { describe } from 'node:test';
import {
  openPostgresStore,
  openPostgresStoreControl,
  openPostgresStoreReader,
} from '../../src/store/postgres/open.ts';
import {
  openSqliteStore,
  openSqliteStoreControl,
  openSqliteStoreReader,
} from '../../src/store/sqlite/open.ts';
import { tempDir } from '../store/helpers.ts';
import { dropSchema, findPostgres, schemaName } from '../store-pg/helpers.ts';
import { auditSuite } from './audit-suite.ts';

describe('audit trail on SQLite', () => {
  auditSuite({
    async open(t, clock) {
      const path = join(tempDir(t), 'audit.db');
      const store = await openSqliteStore({ path, clock });
      t.after(() => store.close());
      return {
        store,
        control: () => openSqliteStoreControl({ path, clock }),
        reader: () => openSqliteStoreReader({ path, clock }),
      };
    },
  });
});

const target = await findPostgres();

describe('audit trail on PostgreSQL', { skip: target.skip }, () => {
  const { url } = target;
  auditSuite({
    async open(t, clock) {
      const schema = schemaName();
      const store = await openPostgresStore({ url, schema, clock });
      t.after(async () => {
        await store.close();
        await dropSchema(url, schema);
      });
      return {
        store,
        control: () => openPostgresStoreControl({ url, schema, clock }),
        reader: () => openPostgresStoreReader({ url, schema, clock }),
      };
    },
  });
});

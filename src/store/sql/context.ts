import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../../domain/clock.ts';
import type { JournalStatements } from './prepared.ts';
import type { StoreSchema } from './schema.ts';

/** A connection or an open transaction: reads run on either, lifecycle writes only inside one. */
export type Db = Kysely<StoreSchema> | Transaction<StoreSchema>;

export interface StoreContext {
  readonly clock: Clock;
  /** Where the data lives, for messages. */
  readonly location: string;
  /** The hot statements, built once for this store's database. */
  readonly statements: JournalStatements;
}

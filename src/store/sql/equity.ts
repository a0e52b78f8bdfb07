import type { EquityQuery, EquitySnapshot } from '../../ports/store.ts';
import type { Db } from './context.ts';
import { dec, text } from './rows.ts';
import type { EquitySnapshotsTable } from './schema.ts';

// The equity curve. Amounts are decimal text like every other amount in the store.

function toSnapshot(row: EquitySnapshotsTable): EquitySnapshot {
  return {
    at: row.at,
    currency: row.currency,
    equity: dec(row.equity, 'equity_snapshots.equity'),
    cash: dec(row.cash, 'equity_snapshots.cash'),
    realised: dec(row.realised, 'equity_snapshots.realised'),
    unrealised: dec(row.unrealised, 'equity_snapshots.unrealised'),
    fees: dec(row.fees, 'equity_snapshots.fees'),
    peakEquity: dec(row.peak_equity, 'equity_snapshots.peak_equity'),
  };
}

export async function recordEquitySnapshot(db: Db, s: EquitySnapshot): Promise<void> {
  const row: EquitySnapshotsTable = {
    at: s.at,
    currency: s.currency,
    equity: text(s.equity),
    cash: text(s.cash),
    realised: text(s.realised),
    unrealised: text(s.unrealised),
    fees: text(s.fees),
    peak_equity: text(s.peakEquity),
  };
  const { at: _at, ...rest } = row;
  await db
    .insertInto('equity_snapshots')
    .values(row)
    .onConflict((c) => c.column('at').doUpdateSet(rest))
    .execute();
}

export async function equitySnapshots(db: Db, query: EquityQuery): Promise<EquitySnapshot[]> {
  let select = db.selectFrom('equity_snapshots').selectAll();
  if (query.since !== undefined) select = select.where('at', '>=', query.since);
  select = select.orderBy('at');
  if (query.limit !== undefined) select = select.limit(query.limit);
  return (await select.execute()).map(toSnapshot);
}

export async function lastEquitySnapshot(db: Db): Promise<EquitySnapshot | undefined> {
  const row = await db
    .selectFrom('equity_snapshots')
    .selectAll()
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toSnapshot(row);
}

/** Whether `--db` names a PostgreSQL store rather than a SQLite file (no driver loaded to tell). */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

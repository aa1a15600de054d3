import Database from 'better-sqlite3';

/** A tenant's rows in a SQLite key store file (key-encryption, index and data keys): where its keys are. */
export function keyRows(file: string, tenantId: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = ?`).get(tenantId) as { n: number }).n;
    return count('tenant_keys') + count('data_keys');
  } finally {
    db.close();
  }
}

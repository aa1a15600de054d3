import type { EngineName, TestApp } from '../../support/harness.js';

/** Stops the database under a running server: the platform data set (SQLite) or the pool (PostgreSQL) is closed. */
export async function stopDatabase(t: TestApp, engine: EngineName): Promise<void> {
  if (engine === 'postgres') await t.app.storage.postgres?.pool.end();
  else await t.app.storage.platform.close();
}

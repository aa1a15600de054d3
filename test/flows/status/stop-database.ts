import type { EngineName, TestApp } from '../../support/harness.js';

/**
 * Stops the database under a running server: the platform data set is closed (SQLite), or the
 * pool refuses every new query (PostgreSQL: `end()` is not awaited, since it waits for the
 * connection a job's advisory lock holds, which the app's close gives back).
 */
export async function stopDatabase(t: TestApp, engine: EngineName): Promise<void> {
  if (engine === 'postgres') void t.app.storage.postgres?.pool.end().catch(() => undefined);
  else await t.app.storage.platform.close();
}

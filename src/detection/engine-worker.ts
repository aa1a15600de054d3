/**
 * The detection worker thread (engine-thread.ts starts it): the engine of engine.ts with data
 * set connections of its own, so that reading the trail and running the rules take none of the
 * server thread's time. It does what the server thread asks — evaluate a realm, walk realms,
 * let go of a tenant's file while it is swapped, stop — and tells it what happened: alert
 * changes (after their commit), metrics, and each request's outcome.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { openTenantStorage } from '../platform/db/index.js';
import { walkTenants } from '../platform/walk-tenants.js';
import { openRegionalTenantStorage } from '../regions/index.js';
import { currentThreadId, lowerThreadPriority, niceOfThread } from '../platform/workers/thread-priority.js';
import { tenantMigrations } from '../tenant-migrations.js';
import { storeFindings } from './alerts.js';
import { createEngine } from './engine.js';
import { fileStamp } from './file-stamps.js';
import type { FromWorker, ToWorker, WorkerSetup } from './engine-protocol.js';
import { rules } from './rules/index.js';

// First of all: this thread is background work, and yields the cores to the requests.
const lowered = lowerThreadPriority((workerData as WorkerSetup).niceness);

const port = parentPort;
if (port === null) throw new Error('engine-worker.ts runs as a worker thread (engine-thread.ts starts it)');
const setup = workerData as WorkerSetup;
const post = (message: FromWorker) => port.postMessage(message);

// The server thread's clock, carried by each request: tests run the app on a clock of their own,
// and the rules' state is stamped with the time the server lives in.
let mainNow = setup.now;
let receivedAt = performance.now();
const clock = { now: () => new Date(mainNow + (performance.now() - receivedAt)) };

const storage =
  setup.regions === undefined
    ? await openTenantStorage(setup.storage, tenantMigrations, () => clock.now().getTime())
    : await openRegionalTenantStorage([setup.storage, ...setup.regions], tenantMigrations, () => clock.now().getTime());
const engine = createEngine({
  storage,
  clock,
  rules,
  overrides: setup.overrides,
  operatorRealm: setup.operatorRealm,
  batchEvents: setup.batchEvents,
  async store(tx, raised) {
    const changes = await storeFindings(tx, raised, setup.dedupMs);
    tx.afterCommit(() => post({ kind: 'changes', changes }));
  },
  metrics: {
    evaluated: (count) => post({ kind: 'evaluated', count }),
    ruleFailed: (rule) => post({ kind: 'rule-failed', rule }),
    lag: (realm, ms) => post({ kind: 'lag', realm, ms }),
  },
});

// SQLite: a realm whose file and log have not changed since an evaluation began has nothing new,
// and is not opened on the walk — a stat of two files instead of opening a data set, so that a
// walk over thousands of tenants costs milliseconds. The stamp is taken before reading: anything
// appended after it changes the files, and the next walk looks. (The worker's own commit changes
// them too, so a realm is read once more after new events, then skipped until the next ones.)
// Every `fullWalkEvery`-th walk opens every realm regardless. PostgreSQL: see realmsWithNews.
const fullWalkEvery = 20;
let walks = 0;
const stamps = new Map<string, string>();
function stampOf(realm: string): string | undefined {
  return storage.engine === 'sqlite' ? fileStamp(storage.describeTenant(realm)) : undefined;
}
/** Evaluates the realm, remembering how its files looked before it read them. */
async function evaluateStamped(realm: string): Promise<number> {
  const stamp = stampOf(realm);
  const count = await engine.evaluate(realm);
  if (stamp === undefined) stamps.delete(realm);
  else stamps.set(realm, stamp);
  return count;
}

/**
 * The realms that may have events the rules have not read. SQLite: those whose files changed
 * since the last look. PostgreSQL: those whose chain head is past the rules' cursor, asked of
 * the server for 200 realms per statement (a realm whose tables are not there yet — an upgrade
 * still migrating — is looked at one by one, where opening it migrates it).
 */
async function realmsWithNews(realms: readonly string[]): Promise<string[]> {
  const { across } = storage;
  if (across === undefined) return realms.filter((realm) => stamps.get(realm) === undefined || stamps.get(realm) !== stampOf(realm));
  const behind: string[] = [];
  for (let i = 0; i < realms.length; i += 200) {
    const part = realms.slice(i, i + 200);
    const sql = part
      .map((realm) => `SELECT ? AS realm, (SELECT seq FROM ${across.table(realm, 'audit_head')} WHERE id = 1) AS head, (SELECT seq FROM ${across.table(realm, 'detection_cursor')} WHERE id = 1) AS cursor`)
      .join(' UNION ALL ');
    try {
      const rows = await across.query<{ realm: string; head: string | number | null; cursor: string | number | null }>(sql, part);
      for (const row of rows) if (row.head !== null && (row.cursor === null || Number(row.head) > Number(row.cursor))) behind.push(row.realm);
    } catch {
      behind.push(...part);
    }
  }
  return behind;
}

let stopped = false;
const inFlight = new Set<Promise<unknown>>();
const releases = new Map<number, () => void>();

function track<T>(work: Promise<T>): Promise<T> {
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work)).catch(() => undefined);
  return work;
}

function answer(id: number, work: Promise<number>): void {
  track(work).then(
    (count) => post({ kind: 'done', id, count }),
    (error: unknown) => post({ kind: 'failed', id, error: { message: error instanceof Error ? error.message : String(error), code: (error as { code?: unknown }).code === undefined ? undefined : String((error as { code?: unknown }).code) } }),
  );
}

port.on('message', (message: ToWorker) => {
  if ('now' in message) {
    mainNow = message.now;
    receivedAt = performance.now();
  }
  switch (message.kind) {
    case 'evaluate':
      // A realm woken by requests stays open here (least recently used closes first).
      answer(message.id, stopped ? Promise.resolve(0) : evaluateStamped(message.realm));
      return;
    case 'walk': {
      walks += 1;
      const skipUnchanged = walks % fullWalkEvery !== 1;
      const known = new Set(message.realms);
      for (const realm of stamps.keys()) if (!known.has(realm)) stamps.delete(realm);
      answer(
        message.id,
        (skipUnchanged ? realmsWithNews(message.realms) : Promise.resolve([...message.realms])).then(async (changed) => {
          const { failed } = await walkTenants(storage, changed, async (realm) => void (await evaluateStamped(realm)), { stopped: () => stopped, pause: async () => undefined, spreadMs: 0 });
          return failed;
        }),
      );
      return;
    }
    case 'hold':
      // Closes this thread's connections to the tenant's file (after the evaluation in progress)
      // and keeps every caller waiting until the server thread has put the new file in place.
      void storage
        .replaceTenant(message.realm, () => new Promise<void>((resolve) => {
          releases.set(message.id, resolve);
          post({ kind: 'held', id: message.id });
        }))
        .catch(() => post({ kind: 'held', id: message.id }));
      return;
    case 'release':
      releases.get(message.id)?.();
      releases.delete(message.id);
      return;
    case 'stop':
      stopped = true;
      void Promise.allSettled([...inFlight])
        .then(() => storage.close())
        .then(
          () => post({ kind: 'done', id: message.id, count: 0 }),
          () => post({ kind: 'done', id: message.id, count: 0 }),
        );
      return;
  }
});
post({ kind: 'ready', threadId: currentThreadId(), nice: lowered === undefined ? undefined : niceOfThread(lowered, (path) => readFileSync(path, 'utf8')) });

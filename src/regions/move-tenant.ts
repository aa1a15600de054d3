import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { dropPgSchema, exportPgSchema, importPgSchema, type PgImport } from '../backup/pg-dataset.js';
import type { Clock } from '../platform/clock.js';
import { AppError } from '../platform/errors.js';
import { quoteIdent, type RegionStorage, type SqlExecutor } from '../platform/db/index.js';
import { openSqliteDatabase } from '../platform/db/sqlite.js';
import { copyTenantKeys, createKeys, destroyTenantKeys, type KeyProvider, type Keys } from '../keys/index.js';
import { switchTenantRegion } from '../tenants/index.js';
import type { Residency } from './open-regions.js';
import type { RegionalStorage } from './regional-storage.js';

export interface MoveTenantDeps {
  readonly storage: RegionalStorage;
  readonly residency: Residency;
  readonly clock: Clock;
  /** Opens a sample of every key generation's sealed records (records/sealed-samples.ts): the failures, none when readable. */
  readonly verify: (db: SqlExecutor, tenantId: string, keys: Keys) => Promise<readonly string[]>;
  /** Checks the copied audit trail against its signed checkpoints (`audit.verifyCopy`): the findings, none when intact. */
  readonly verifyTrail?: (db: SqlExecutor, tenantId: string) => Promise<readonly string[]>;
  /**
   * Marks the tenant as being moved in the platform data set, so every server process answers
   * its requests 503 (tenants.markMoving), and clears the mark after the switch or the rollback.
   * `mark` is false when the tenant is being moved already.
   */
  readonly marking?: { mark(tenantId: string): Promise<boolean>; clear(tenantId: string): Promise<void> };
  /** Waits until this process's requests for the tenant that began before the mark have ended. */
  readonly drain?: (tenantId: string) => Promise<void>;
  /**
   * How long a status read before the mark may still be believed by another process (the
   * tenants' status cache: 1 s across PostgreSQL nodes): waited after marking, so that by the
   * time the copy begins every process answers the tenant's requests 503.
   */
  readonly settleMs?: number;
  /** Takes a backup of the target region once the move is done: the snapshot id, or undefined when none was taken. */
  readonly backupAfter?: (region: string, tenantId: string) => Promise<string | undefined>;
  /** Runs just before the platform row is switched (a failure here rolls the move back; tests). */
  readonly beforeSwitch?: (tenantId: string) => Promise<void>;
}

export type MoveBackup = { readonly snapshot: string } | { readonly skipped: string } | { readonly failed: string };

export interface MoveReport {
  readonly tenant: string;
  readonly from: string;
  readonly to: string;
  readonly keysCopied: number;
  readonly keysDestroyed: number;
  /** Rows copied per table (PostgreSQL); undefined on SQLite, where the file is copied whole. */
  readonly rows?: Readonly<Record<string, number>>;
  /** From the mark to its end: how long the tenant's requests were answered 503, in ms. */
  readonly unavailableMs: number;
  /** The backup of the target taken after the move: its snapshot, why none was taken, or why it failed (the move stands). */
  readonly backup: MoveBackup;
  /** What of the source could not be destroyed after the switch (the move stands; remove it by hand). */
  readonly leftovers?: readonly string[];
}

export class MoveRefused extends Error {}

const reasonOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? `error ${code}` : error instanceof Error ? error.name : 'unknown error';
};

const sqliteFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The export's chunks handed to the import as they come, at most two in memory: the copy of a
 * schema never holds the whole tenant. A failure on either side ends the other.
 */
class ChunkPipe implements AsyncIterable<Buffer> {
  private readonly queue: Buffer[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  async push(chunk: Buffer): Promise<void> {
    this.check();
    this.queue.push(chunk);
    this.wake('consumer');
    while (this.queue.length > 1 && this.failure === undefined) await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    this.check();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  end(): void {
    this.ended = true;
    this.wake('consumer');
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake('consumer');
    this.wake('producer');
  }

  private wake(who: 'consumer' | 'producer'): void {
    const wake = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure.error;
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.wake('producer');
        yield chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
  }
}

interface Sides {
  readonly tenantId: string;
  readonly from: string;
  readonly to: string;
  readonly source: RegionStorage;
  readonly target: RegionStorage;
  readonly sourceProvider: KeyProvider;
  readonly targetProvider: KeyProvider;
  readonly sourceCheckpoints: string;
  readonly targetCheckpoints: string;
  /** Set once the platform row names the target: from then on the move is done, whatever fails after. */
  readonly state: { switched: boolean };
  /** After the switch: what of the source could not be destroyed. */
  readonly leftovers: string[];
}

/**
 * Moves a tenant to another region, on SQLite or PostgreSQL, with or without a server running:
 * the tenant is marked as moving (every server process answers its requests 503 with
 * Retry-After), its data set copied to the target region, its keys re-wrapped under the target's
 * master key into the target's key store, a sample of every key generation opened there and the
 * copied audit trail verified, and only then the platform's row switched; after the switch the
 * source data set and keys are destroyed and the mark cleared. Before the switch any failure
 * removes what was copied and leaves the source authoritative. GDPR Art. 44–46: moving data
 * between places is a deliberate, recorded act; the caller records it.
 *
 * Writers are never lost:
 * - SQLite (one server process per data directory): the tenant's requests are answered 503 from
 *   the mark on, the ones already in flight are waited for (`drain`), and the copy, checks, switch
 *   and removal of the source file run under the open set's exclusive hold (storage.replaceTenant):
 *   no lease of the source data set — a background job's — is granted meanwhile, and the
 *   detection worker's own connections are closed for it. A lease waiting for the hold finds the
 *   source gone afterwards and fails; nothing it writes is acknowledged.
 * - PostgreSQL (several nodes on one database): the exporting transaction takes every table of the
 *   source schema IN SHARE MODE before its snapshot (pg-dataset.ts `lock: 'share'`). SHARE
 *   conflicts with the ROW EXCLUSIVE lock every INSERT, UPDATE and DELETE takes (PostgreSQL docs
 *   §13.3.1), so a write on any node either committed before the lock was granted — and so before
 *   the snapshot, and is in the copy — or waits for the transaction to end. Before it ends, once
 *   the copy is checked, the transaction puts a trigger on every source table that refuses any
 *   write (`freezeSchema`): from its commit on the source takes no write, and a waiting write
 *   fails, unacknowledged. Only then the platform row is switched, and the source dropped. If
 *   anything fails before the commit, the transaction rolls back (no trigger, the waiting writes
 *   go into the source, which stays authoritative); if the switch fails after it, the triggers
 *   are removed again — the writes refused meanwhile were never acknowledged. (Nodes also answer
 *   503 once they read the mark, at most `settleMs` later; the locks are what makes it safe
 *   regardless.)
 */
export async function moveTenant(deps: MoveTenantDeps, tenantId: string, to: string): Promise<MoveReport> {
  const { storage, residency, marking } = deps;
  const placement = residency.placement;
  if (placement === undefined) throw new MoveRefused('no regions are configured');
  if (!residency.regions.some((r) => r.name === to)) throw new MoveRefused(`no region "${to}" (regions: ${residency.regions.map((r) => r.name).join(', ')})`);
  const from = await placement.resolve(tenantId);
  if (from === to) throw new MoveRefused(`tenant ${tenantId} is in region ${to} already`);
  const source = storage.region(from);
  const target = storage.region(to);
  const sourceProvider = residency.providers.get(from);
  const targetProvider = residency.providers.get(to);
  if (sourceProvider === undefined || targetProvider === undefined) throw new MoveRefused('a region has no master key provider');
  const sides: Sides = {
    tenantId,
    from,
    to,
    source,
    target,
    sourceProvider,
    targetProvider,
    // The signed checkpoints of the tenant's trail go with it (audit/checkpoints.ts: `<dir>/<tenant>.jsonl`).
    sourceCheckpoints: join(residency.region(from).auditCheckpointDir, `${tenantId}.jsonl`),
    targetCheckpoints: join(residency.region(to).auditCheckpointDir, `${tenantId}.jsonl`),
    state: { switched: false },
    leftovers: [],
  };
  await (storage.engine === 'sqlite' ? refusedSqlite(sides) : refusedPostgres(sides));

  if (marking !== undefined && !(await marking.mark(tenantId))) throw new MoveRefused(`tenant ${tenantId} is being moved already`);
  const marked = performance.now();
  let copied: { keysCopied: number; rows?: Record<string, number> };
  let keysDestroyed: number;
  let unavailableMs: number;
  try {
    if (marking !== undefined && (deps.settleMs ?? 0) > 0) await sleep(deps.settleMs ?? 0);
    await deps.drain?.(tenantId);
    try {
      copied = storage.engine === 'sqlite' ? await moveSqlite(deps, sides) : await movePostgres(deps, sides);
    } catch (error) {
      if (sides.state.switched || error instanceof MoveRefused) throw error;
      // Before the switch: what was copied is gone again, the source is authoritative. Only a
      // message of ours is passed on (a driver's could quote a value of a record).
      throw new MoveRefused(`the copy to region ${to} failed (${error instanceof AppError ? error.message : reasonOf(error)})`, { cause: error });
    }
    // Switched: the source keys go too (the data set is gone already), and the checkpoints. The
    // move stands whatever fails now: what is left is reported.
    keysDestroyed = await destroyTenantKeys(source.keys, tenantId).catch(() => {
      sides.leftovers.push(`the tenant's keys in region ${from}'s key store`);
      return 0;
    });
    try {
      rmSync(sides.sourceCheckpoints, { force: true });
    } catch {
      sides.leftovers.push(sides.sourceCheckpoints);
    }
  } finally {
    if (marking !== undefined) await marking.clear(tenantId);
    unavailableMs = performance.now() - marked;
  }
  const backup = await backupOf(deps, to, tenantId);
  return {
    tenant: tenantId,
    from,
    to,
    keysCopied: copied.keysCopied,
    keysDestroyed,
    ...(copied.rows === undefined ? {} : { rows: copied.rows }),
    unavailableMs: Math.round(unavailableMs),
    backup,
    ...(sides.leftovers.length === 0 ? {} : { leftovers: sides.leftovers }),
  };
}

async function backupOf(deps: MoveTenantDeps, region: string, tenantId: string): Promise<MoveBackup> {
  if (deps.backupAfter === undefined) return { skipped: 'no backup is taken after a move here' };
  try {
    const snapshot = await deps.backupAfter(region, tenantId);
    return snapshot === undefined ? { skipped: `region ${region} has no backup repository configured` } : { snapshot };
  } catch (error) {
    // The move stands: the backup is reported (and logged by the caller), never undone with it.
    return { failed: error instanceof Error ? error.message : 'the backup failed' };
  }
}

async function refusedSqlite({ tenantId, from, to, source, target }: Sides): Promise<void> {
  const sourceFile = source.describeTenant(tenantId);
  const targetFile = target.describeTenant(tenantId);
  if (!existsSync(sourceFile)) throw new MoveRefused(`tenant ${tenantId} has no data set in region ${from}`);
  if (sqliteFiles(targetFile).some((f) => existsSync(f))) throw new MoveRefused(`region ${to} holds a data set of ${tenantId} already (${targetFile}): remove it or investigate first`);
}

async function schemaExists(storage: RegionStorage, schema: string): Promise<boolean> {
  const pool = storage.postgres?.pool;
  if (pool === undefined) throw new MoveRefused('a region has no PostgreSQL database');
  return ((await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount ?? 0) > 0;
}

async function refusedPostgres({ tenantId, from, to, source, target }: Sides): Promise<void> {
  if (!(await schemaExists(source, source.describeTenant(tenantId)))) throw new MoveRefused(`tenant ${tenantId} has no data set in region ${from}`);
  const targetSchema = target.describeTenant(tenantId);
  if (await schemaExists(target, targetSchema)) throw new MoveRefused(`region ${to} holds a data set of ${tenantId} already (schema ${targetSchema}): remove it or investigate first`);
}

function copyCheckpoints(deps: MoveTenantDeps, sides: Sides): void {
  if (!existsSync(sides.sourceCheckpoints)) return;
  mkdirSync(deps.residency.region(sides.to).auditCheckpointDir, { recursive: true, mode: 0o700 });
  copyFileSync(sides.sourceCheckpoints, sides.targetCheckpoints);
}

/** Keys re-wrapped into the target, a sample of every generation opened there, the trail checked, then the switch. */
async function checkAndSwitch(deps: MoveTenantDeps, sides: Sides): Promise<number> {
  const keysCopied = await checkCopy(deps, sides);
  await switchOver(deps, sides);
  return keysCopied;
}

/** Keys re-wrapped into the target, a sample of every generation opened there, the trail checked. */
async function checkCopy(deps: MoveTenantDeps, sides: Sides): Promise<number> {
  const { tenantId, to, source, target } = sides;
  const keysCopied = await copyTenantKeys(tenantId, { db: source.keys, provider: sides.sourceProvider }, { db: target.keys, provider: sides.targetProvider });
  const targetKeys = createKeys({ db: target.keys, provider: sides.targetProvider, clock: deps.clock });
  try {
    const failures = await target.visitTenant(tenantId, (db) => deps.verify(db, tenantId, targetKeys));
    if (failures.length > 0) throw new MoveRefused(`the copy in region ${to} does not open: ${failures.join('; ')}`);
  } finally {
    targetKeys.forget();
  }
  if (deps.verifyTrail !== undefined) {
    const verifyTrail = deps.verifyTrail;
    const findings = await target.visitTenant(tenantId, (db) => verifyTrail(db, tenantId));
    if (findings.length > 0) throw new MoveRefused(`the copied audit trail in region ${to} does not verify: ${findings.slice(0, 3).join('; ')}`);
  }
  return keysCopied;
}

/** The platform's row names the target from now on. */
async function switchOver(deps: MoveTenantDeps, sides: Sides): Promise<void> {
  const { tenantId, from, to } = sides;
  await deps.beforeSwitch?.(tenantId);
  if (!(await switchTenantRegion(deps.storage.platform, tenantId, from, to))) throw new MoveRefused(`tenant ${tenantId} is no longer in region ${from}`);
  sides.state.switched = true;
  deps.residency.placement?.assign(tenantId, to);
}

/** Before the switch: what was copied goes, the source stays as it is. */
async function undoCopy(sides: Sides, dropTarget: () => Promise<void>): Promise<void> {
  await destroyTenantKeys(sides.target.keys, sides.tenantId).catch(() => undefined);
  await dropTarget().catch(() => undefined);
  if (existsSync(sides.sourceCheckpoints)) rmSync(sides.targetCheckpoints, { force: true });
}

async function moveSqlite(deps: MoveTenantDeps, sides: Sides): Promise<{ keysCopied: number }> {
  const { tenantId, source, target } = sides;
  const targetFile = target.describeTenant(tenantId);
  let keysCopied = 0;
  // The source under the open set's exclusive hold: its handle closed once its leases ended, no
  // new lease until this is done (the detection worker's connections closed for it too).
  await source.replaceTenant(tenantId, async (sourceFile) => {
    try {
      // A consistent file: every committed page is in the main file once the WAL is checkpointed and truncated.
      const db = openSqliteDatabase(sourceFile);
      try {
        await db.scrub();
      } finally {
        await db.close();
      }
      copyFileSync(sourceFile, targetFile);
      copyCheckpoints(deps, sides);
      keysCopied = await checkAndSwitch(deps, sides);
    } catch (error) {
      if (!sides.state.switched) {
        await undoCopy(sides, async () => {
          for (const file of sqliteFiles(targetFile)) rmSync(file, { force: true });
        });
      }
      throw error;
    }
    // Switched: the source file goes while nothing can open it.
    for (const file of sqliteFiles(sourceFile)) {
      try {
        rmSync(file, { force: true });
      } catch {
        sides.leftovers.push(file);
      }
    }
  });
  return { keysCopied };
}

const frozenTrigger = 'tresor_moved_away';

/**
 * Makes every table of `schema` refuse writes (a statement trigger raising an error before any
 * INSERT, UPDATE, DELETE or TRUNCATE), inside the caller's transaction. CREATE TRIGGER takes
 * SHARE ROW EXCLUSIVE, which readers (ACCESS SHARE, ROW SHARE) do not block: under the move's
 * SHARE locks it waits for nobody. A statement that was waiting for a table's lock sees the
 * trigger once it has the lock (its relation is read again after the invalidation).
 */
async function freezeSchema(client: pg.PoolClient, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  const tables = await client.query<{ name: string }>(`SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [schema]);
  await client.query(`CREATE FUNCTION ${s}.${frozenTrigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'this tenant has moved to another region' USING ERRCODE = '55000'; END $$`);
  for (const { name } of tables.rows) {
    await client.query(`CREATE TRIGGER ${frozenTrigger} BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${s}.${quoteIdent(name)} FOR EACH STATEMENT EXECUTE FUNCTION ${s}.${frozenTrigger}()`);
  }
}

/**
 * After a move's process died (`tresor tenant move --clear-mark`): the tenant's schema in the
 * region that holds it takes writes again, should the move have frozen it before it died.
 * Nothing to do on SQLite.
 */
export async function thawTenant(storage: RegionalStorage, region: string, tenantId: string): Promise<void> {
  const regionStorage = storage.region(region);
  if (regionStorage.postgres === undefined) return;
  await thawSchema(regionStorage.postgres.pool, regionStorage.describeTenant(tenantId));
}

/** Undoes `freezeSchema` (the move did not switch). */
async function thawSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP FUNCTION IF EXISTS ${quoteIdent(schema)}.${frozenTrigger}() CASCADE`);
}

async function movePostgres(deps: MoveTenantDeps, sides: Sides): Promise<{ keysCopied: number; rows: Record<string, number> }> {
  const { tenantId, to, source, target } = sides;
  const from = source.postgres;
  const into = target.postgres;
  if (from === undefined || into === undefined) throw new MoveRefused('a region has no PostgreSQL database');
  const sourceSchema = source.describeTenant(tenantId);
  const targetSchema = target.describeTenant(tenantId);
  copyCheckpoints(deps, sides);
  const pipe = new ChunkPipe();
  const imported: Promise<PgImport> = importPgSchema(into.pool, targetSchema, pipe, into.migrations.tenant, { label: `tenant ${tenantId} in region ${to}`, now: () => deps.clock.now().getTime() });
  imported.catch((error: unknown) => pipe.fail(error));
  let keysCopied = 0;
  let rows: Record<string, number> = {};
  let frozen = false;
  try {
    await exportPgSchema(from.pool, sourceSchema, (chunk) => pipe.push(chunk), {
      chunkBytes: 256 * 1024,
      // Chunk boundaries matter to backups only; any key will do for a copy.
      boundaryKey: randomBytes(32),
      lock: 'share',
      lockTimeoutMs: 30_000,
      async beforeCommit(client) {
        pipe.end();
        rows = { ...(await imported).counts };
        keysCopied = await checkCopy(deps, sides);
        // Still under the SHARE locks: the source refuses every write from this commit on, so a
        // writer waiting for the locks fails once they are released. (Dropping the schema here
        // instead would need ACCESS EXCLUSIVE, which waits for readers — and deadlocks with a
        // reader that goes on to write: PostgreSQL would then abort this transaction and let
        // the writers in.)
        await freezeSchema(client, sourceSchema);
      },
    });
    frozen = true;
    await switchOver(deps, sides);
  } catch (error) {
    pipe.fail(error);
    // The import's own failure says more than the export's "the pipe failed".
    const importFailure = await imported.then(
      () => undefined,
      (importError: unknown) => importError,
    );
    if (!sides.state.switched) {
      // Writable again: the source stays the tenant's (writes refused meanwhile were never acknowledged).
      if (frozen) {
        await thawSchema(from.pool, sourceSchema).catch(() => {
          throw new MoveRefused(`the copy to region ${to} failed, and schema ${sourceSchema} still refuses writes: run DROP FUNCTION ${quoteIdent(sourceSchema)}.${frozenTrigger}() CASCADE`);
        });
      }
      await undoCopy(sides, () => dropPgSchema(into.pool, targetSchema));
      throw importFailure ?? error;
    }
  }
  // Switched: the source goes. Its tables refuse writes already; the drop waits for readers only.
  await dropPgSchema(from.pool, sourceSchema).catch(() => sides.leftovers.push(`schema ${sourceSchema} in region ${sides.from}`));
  return { keysCopied, rows };
}

import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { keyCacheTtlMs, type KeyProvider, type Keys } from '../keys/index.js';
import type { SqlDatabase, SqlExecutor, Storage } from '../platform/db/index.js';
import { timeOrderedId } from '../platform/time-ordered-id.js';
import { randomToken } from '../platform/random-token.js';
import type { Resealer } from '../records/index.js';
import { RotationError } from './errors.js';
import { insertJob, releaseLease, saveProgress, selectJob, selectOpenJob, selectRecentJobs, takeLease, type RotationJob, type RotationScope } from './store.js';

/** Something worth a log line (or, later, an audit event); never key material or record content. */
export type RotationEvent =
  | { readonly event: 'rotation.started'; readonly job: RotationJob }
  | { readonly event: 'rotation.resumed'; readonly job: RotationJob }
  | { readonly event: 'rotation.finished'; readonly job: RotationJob }
  | { readonly event: 'rotation.integrity-failed'; readonly job: RotationJob; readonly table: string; readonly type: string; readonly id: string; readonly versionId: number };

/**
 * Data sealed under the tenant's data keys outside the records tables (what a patient wrote in a
 * privacy request, a prepared download): a tenant rotation seals it again under the new
 * generation in its sweep, and keeps the old key versions it still uses from being retired —
 * otherwise retiring them would make it unreadable.
 */
export interface SealedElsewhere {
  /** For reports: what is sealed (`privacy requests`). */
  readonly name: string;
  /** Seals again under `generation` what is still sealed under an older version; returns how many. */
  reseal(tenantId: string, db: SqlDatabase, generation: number): Promise<number>;
  /** Key ids it still uses below `generation` (left after `reseal`: what must not be retired). */
  keyIdsInUse(db: SqlExecutor, generation: number): Promise<string[]>;
}

export interface RotationDeps {
  readonly storage: Storage;
  readonly keys: Keys;
  readonly provider: KeyProvider;
  readonly resealer: Resealer;
  /** The other stores sealed under data keys (default none). */
  readonly sealedElsewhere?: readonly SealedElsewhere[];
  readonly tenantExists: (tenantId: string) => Promise<boolean>;
  /** Awaited: a rotation's start and finish are audit events, written before the job goes on. */
  readonly report?: (event: RotationEvent) => void | Promise<void>;
  /** Wall-clock milliseconds (leases are compared across processes, so never a test clock). */
  readonly now?: () => number;
  readonly options?: Partial<RotationOptions>;
}

export interface RotationOptions {
  /** Rows re-encrypted per transaction: small enough that no write waits long for the lock. */
  readonly batchRows: number;
  /**
   * How long after a new version became current every process is sure to use it: the key
   * caches' time-to-live on PostgreSQL plus a margin. The floor is raised only after this, and
   * old versions are retired only this long after the last row moved off them.
   */
  readonly settleMs: number;
  /** A runner that has not saved progress for this long is presumed dead. */
  readonly leaseMs: number;
}

export const defaultRotationOptions: RotationOptions = { batchRows: 500, settleMs: keyCacheTtlMs + 1500, leaseMs: 15_000 };

export interface Rotation {
  /**
   * Makes a new version current at once and records the job that moves existing data onto it.
   * When the scope already has an unfinished job, returns that one (`resumed`), never a second.
   */
  start(scope: RotationScope, tenantId?: string): Promise<{ job: RotationJob; resumed: boolean; madeVersion: boolean }>;
  /** Runs a job to the end (or until `signal` aborts); resumes from its saved cursor. */
  run(jobId: string, options?: { onProgress?: (job: RotationJob) => void; signal?: AbortSignal; waitForLease?: boolean }): Promise<RotationJob>;
  /** Unfinished jobs plus the last finished job per scope. */
  recent(): Promise<RotationJob[]>;
  /** Runs every unfinished job whose runner died (server start and its periodic check). */
  resumeAbandoned(signal?: AbortSignal): Promise<number>;
}

/**
 * Key rotation without downtime (SPEC E2; NIST SP 800-57 Pt 1 §5.3 cryptoperiods):
 *
 * - tenant: a new key-encryption key version is the tenant's new generation; from that moment
 *   every write makes or uses its subject's data key of that generation. The job re-encrypts
 *   every stored version still under an older one (`reencrypt`), waits until no process can
 *   still hold the old generation in a cache, raises the data set's key floor so the database
 *   itself refuses any late write under an old version, sweeps once more (`sweep`), and then
 *   retires what nothing references (`retire`): old data key versions and key-encryption keys.
 * - master: the provider makes a new master version; the job re-wraps every tenant key under it
 *   (`rewrap`) and retires master versions no tenant key uses.
 *
 * Every step is idempotent and the cursor is saved as it goes, so a job killed anywhere resumes
 * where it stopped. A lease makes sure one process runs a job at a time.
 */
export function createRotation({ storage, keys, provider, resealer, sealedElsewhere = [], tenantExists, report = () => {}, now = Date.now, options = {} }: RotationDeps): Rotation {
  const settings = { ...defaultRotationOptions, ...options };
  const db = storage.keys;
  const host = hostname();
  const owner = `${host}:${process.pid}:${randomToken(6)}`;

  /** A lease held by a process on this host that no longer exists can be taken at once. */
  function deadLocalOwner(job: RotationJob): string | undefined {
    const [ownerHost, pid] = (job.leaseOwner ?? '').split(':');
    if (ownerHost !== host || pid === undefined || !/^\d+$/.test(pid) || Number(pid) === process.pid) return undefined;
    try {
      process.kill(Number(pid), 0);
      return undefined;
    } catch (error) {
      return (error as { code?: string }).code === 'ESRCH' ? job.leaseOwner : undefined;
    }
  }

  async function start(scope: RotationScope, tenantId?: string): Promise<{ job: RotationJob; resumed: boolean; madeVersion: boolean }> {
    if (scope === 'tenant' && (tenantId === undefined || !(await tenantExists(tenantId)))) {
      throw new RotationError('tenant-unknown', `no tenant ${tenantId ?? ''}`, { status: 404 });
    }
    const open = await selectOpenJob(db, scope, tenantId);
    if (open !== undefined) return { job: open, resumed: true, madeVersion: false };
    const id = timeOrderedId(now());
    let generation: number;
    let madeVersion = true;
    if (scope === 'master') {
      // The new master version first: a crash before the job exists leaves an unused version,
      // which the next rotation retires.
      ({ version: generation, created: madeVersion } = await provider.rotate());
    } else {
      generation = (await keys.generation(tenantId as string)) + 1;
    }
    if (!(await insertJob(db, { id, scope, ...(tenantId === undefined ? {} : { tenantId }), generation, phase: scope === 'master' ? 'rewrap' : 'reencrypt', at: now() }))) {
      const raced = await selectOpenJob(db, scope, tenantId);
      if (raced !== undefined) return { job: raced, resumed: true, madeVersion: false };
      throw new RotationError('rotation-busy', 'another rotation of this scope started and finished meanwhile; run the command again', { status: 409 });
    }
    if (scope === 'tenant') await keys.beginGeneration(tenantId as string, generation);
    const job = (await selectJob(db, id)) as RotationJob;
    await report({ event: 'rotation.started', job });
    return { job, resumed: false, madeVersion };
  }

  async function run(jobId: string, { onProgress = () => {}, signal, waitForLease = true }: { onProgress?: (job: RotationJob) => void; signal?: AbortSignal; waitForLease?: boolean } = {}): Promise<RotationJob> {
    const found = await selectJob(db, jobId);
    if (found === undefined) throw new RotationError('job-unknown', `no rotation job ${jobId}`, { status: 404 });
    let job: RotationJob = found;
    if (job.finishedAt !== undefined) return job;
    // Wait for a live runner's lease to lapse (or its process to be gone) before taking over.
    while (!(await takeLease(db, jobId, owner, now() + settings.leaseMs, now(), deadLocalOwner(job)))) {
      if (!waitForLease) return job;
      signal?.throwIfAborted();
      onProgress(job);
      await sleep(Math.min(1000, settings.leaseMs / 4), undefined, { signal });
      job = (await selectJob(db, jobId)) as RotationJob;
      if (job.finishedAt !== undefined) return job;
    }
    if (job.rowsDone > 0 || job.phase !== 'reencrypt') await report({ event: 'rotation.resumed', job });

    let lastSave = 0;
    const save = async (next: RotationJob, force = false) => {
      job = next;
      onProgress(job);
      if (!force && now() - lastSave < 250) return;
      lastSave = now();
      if (!(await saveProgress(db, job, owner, now() + settings.leaseMs, now()))) {
        throw new RotationError('lease-lost', `rotation job ${job.id} was taken over by another process`, { status: 409 });
      }
    };
    /** Waits until `until`, renewing the lease meanwhile. */
    const waitUntil = async (until: number) => {
      while (now() < until) {
        await sleep(Math.min(until - now(), 500), undefined, { signal });
        await save(job, true);
      }
    };

    /**
     * When this run last moved a row off an old key (undefined: not in this run, e.g. resumed at
     * `retire`). A read that fetched a row just before it moved may still ask for its old key, so
     * old keys are retired only `settleMs` after the last move — not after the sweep, which
     * usually moves nothing and would add a second full wait to every job.
     */
    let lastMoved: number | undefined;

    try {
      if (job.scope === 'tenant') await runTenant();
      else await runMaster();
      return job;
    } finally {
      if (job.finishedAt === undefined) await releaseLease(db, job.id, owner).catch(() => undefined);
    }

    async function runTenant(): Promise<void> {
      const tenantId = job.tenantId as string;
      const data = await storage.tenant(tenantId);
      const generation = job.generation;
      if (job.phase === 'reencrypt') {
        // Idempotent; a job whose starter died before this point makes its version now, and then
        // the settling time counts from now.
        if (await keys.beginGeneration(tenantId, generation)) await save({ ...job, switchedAt: now() }, true);
        if (job.rowsTotal === 0 && job.rowsDone === 0) await save({ ...job, rowsTotal: await resealer.countStale(data, generation) }, true);
        await reencryptAll(data, false);
        // Rows a killed runner moved after its last save were not counted; the pass is through all.
        await save({ ...job, rowsDone: job.rowsTotal }, true);
        await waitUntil(job.switchedAt + settings.settleMs);
        await resealer.raiseFloor(data, generation);
        await save({ ...job, phase: 'sweep', cursor: null }, true);
      }
      if (job.phase === 'sweep') {
        await reencryptAll(data, true);
        for (const store of sealedElsewhere) if ((await store.reseal(tenantId, data, generation)) > 0) lastMoved = now();
        await save({ ...job, phase: 'retire', cursor: null }, true);
      }
      if (job.phase === 'retire') {
        await waitUntil((lastMoved ?? now()) + settings.settleMs);
        const inUse = [...(await resealer.keyIdsInUse(data, generation)), ...(await Promise.all(sealedElsewhere.map((store) => store.keyIdsInUse(data, generation)))).flat()];
        const retired = await keys.retireBefore(tenantId, generation, inUse);
        await finish(`data key versions ${retired.dataKeys}, key-encryption keys ${retired.keks}`);
      }
    }

    async function reencryptAll(data: Awaited<ReturnType<Storage['tenant']>>, final: boolean): Promise<void> {
      const session = resealer.session(job.tenantId as string);
      try {
        for await (const step of session.pass(data, job.generation, job.cursor, settings.batchRows)) {
          if (step.resealed > 0) lastMoved = now();
          if (final) {
            // Only the last pass counts failures: the first pass meets the same rows again here.
            for (const failure of step.failed) await report({ event: 'rotation.integrity-failed', job, ...failure });
          }
          await save({
            ...job,
            cursor: step.cursor,
            rowsDone: final ? job.rowsDone : Math.min(job.rowsTotal, job.rowsDone + step.rows),
            fieldsDone: job.fieldsDone + step.fields,
            rowsFailed: final ? job.rowsFailed + step.failed.length : job.rowsFailed,
          });
          signal?.throwIfAborted();
          // Yield between batches: a rotation inside the server never starves its requests.
          await new Promise((resolve) => setImmediate(resolve));
        }
        await save({ ...job, cursor: null }, true);
      } finally {
        await session.close();
      }
    }

    async function runMaster(): Promise<void> {
      if (job.phase === 'rewrap') {
        if (job.rowsTotal === 0) await save({ ...job, rowsTotal: await keys.countBelowMaster(job.generation) }, true);
        // Until none is left: a tenant key made meanwhile under the old version is caught too.
        for (let moved = -1; moved !== 0; ) {
          signal?.throwIfAborted();
          moved = await keys.rewrapUnderMaster(settings.batchRows);
          await save({ ...job, rowsDone: Math.min(job.rowsTotal, job.rowsDone + moved), fieldsDone: job.fieldsDone + moved });
        }
        await save({ ...job, phase: 'retire', rowsDone: job.rowsTotal }, true);
      }
      if (job.phase === 'retire') {
        await waitUntil(now() + settings.settleMs);
        if ((await keys.rewrapUnderMaster(settings.batchRows)) > 0) {
          await save({ ...job, phase: 'rewrap' }, true);
          return runMaster();
        }
        let unused = await keys.unusedMasterVersions();
        const holds = await keys.holds();
        if (unused.length > 0 && holds.some((h) => h.holder.startsWith('physical:'))) {
          // Archived WAL replays a physical backup to any moment after it, when these versions
          // were still in use: they stay until every physical backup taken before now has expired.
          await keys.hold(`physical-archive:${now()}`, unused, null);
          unused = [];
        }
        const inUse = new Set([job.generation, ...(await keys.masterVersionsInUse())]);
        const kept = [...new Set((await keys.holds()).map((h) => h.masterVersion))].filter((v) => !inUse.has(v)).sort((a, b) => a - b);
        const keptText = kept.length === 0 ? '' : `; kept for backups: master versions ${kept.join(', ')} (tresor keys status)`;
        const done = unused.length === 0 || (await provider.retire(unused));
        await finish(
          (unused.length === 0
            ? 'master versions none'
            : done
              ? `master versions ${unused.join(', ')}`
              : `none; remove master version(s) ${unused.join(', ')} from ${provider.name}, nothing uses them`) + keptText,
        );
      }
    }

    async function finish(retired: string): Promise<void> {
      await save({ ...job, phase: 'done', cursor: null, retired, finishedAt: now() }, true);
      await releaseLease(db, job.id, owner);
      await report({ event: 'rotation.finished', job });
    }
  }

  return {
    start,
    run,
    recent: () => selectRecentJobs(db),
    async resumeAbandoned(signal) {
      let resumed = 0;
      for (const job of await selectRecentJobs(db)) {
        if (job.finishedAt !== undefined) continue;
        const free = job.leaseOwner === undefined || (job.leaseUntil ?? 0) < now() || deadLocalOwner(job) !== undefined;
        if (!free) continue;
        const result = await run(job.id, { waitForLease: false, ...(signal === undefined ? {} : { signal }) });
        if (result.finishedAt !== undefined) resumed += 1;
      }
      return resumed;
    },
  };
}

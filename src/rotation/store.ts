import type { SqlExecutor } from '../platform/db/index.js';
import type { ResealCursor } from '../records/index.js';

export type RotationScope = 'master' | 'tenant';
/**
 * tenant: reencrypt → sweep → retire → done; master: rewrap → retire → done.
 * See rotation.ts for what each phase does and why the order is safe.
 */
export type RotationPhase = 'reencrypt' | 'sweep' | 'rewrap' | 'retire' | 'done';

export interface RotationJob {
  readonly id: string;
  readonly scope: RotationScope;
  /** Set for tenant rotations. */
  readonly tenantId: string | undefined;
  /** The new version: the tenant's key generation, or the master key version. */
  readonly generation: number;
  readonly phase: RotationPhase;
  /** When the new version became current (wall clock, ms). */
  readonly switchedAt: number;
  readonly cursor: ResealCursor | null;
  readonly rowsTotal: number;
  readonly rowsDone: number;
  readonly fieldsDone: number;
  /** Rows that failed their integrity check and so keep their old key version. */
  readonly rowsFailed: number;
  /** What was retired, for the report: e.g. "data keys 120, key-encryption keys 1". */
  readonly retired: string | undefined;
  readonly leaseOwner: string | undefined;
  readonly leaseUntil: number | undefined;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | undefined;
}

interface JobRow {
  id: string;
  scope: RotationScope;
  tenant_id: string | null;
  generation: number;
  phase: RotationPhase;
  switched_at: number | string;
  cursor: string | null;
  rows_total: number | string;
  rows_done: number | string;
  fields_done: number | string;
  rows_skipped: number | string;
  retired: string | null;
  lease_owner: string | null;
  lease_until: number | string | null;
  started_at: number | string;
  updated_at: number | string;
  finished_at: number | string | null;
}

const columns =
  'id, scope, tenant_id, generation, phase, switched_at, cursor, rows_total, rows_done, fields_done, rows_skipped, retired, lease_owner, lease_until, started_at, updated_at, finished_at';

function toJob(row: JobRow): RotationJob {
  return {
    id: row.id,
    scope: row.scope,
    tenantId: row.tenant_id ?? undefined,
    generation: Number(row.generation),
    phase: row.phase,
    switchedAt: Number(row.switched_at),
    cursor: row.cursor === null ? null : (JSON.parse(row.cursor) as ResealCursor),
    rowsTotal: Number(row.rows_total),
    rowsDone: Number(row.rows_done),
    fieldsDone: Number(row.fields_done),
    rowsFailed: Number(row.rows_skipped),
    retired: row.retired ?? undefined,
    leaseOwner: row.lease_owner ?? undefined,
    leaseUntil: row.lease_until === null ? undefined : Number(row.lease_until),
    startedAt: Number(row.started_at),
    updatedAt: Number(row.updated_at),
    finishedAt: row.finished_at === null ? undefined : Number(row.finished_at),
  };
}

export const scopeKey = (scope: RotationScope, tenantId?: string) => (scope === 'master' ? 'master' : `tenant:${tenantId as string}`);

/** False when the scope already has an unfinished job (the partial unique index says so). */
export async function insertJob(db: SqlExecutor, job: { id: string; scope: RotationScope; tenantId?: string; generation: number; phase: RotationPhase; at: number }): Promise<boolean> {
  const changed = await db.execute(
    `INSERT INTO ${db.table('key_rotations')} (id, scope_key, scope, tenant_id, generation, phase, switched_at, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [job.id, scopeKey(job.scope, job.tenantId), job.scope, job.tenantId ?? null, job.generation, job.phase, job.at, job.at, job.at],
  );
  return changed === 1;
}

export async function selectJob(db: SqlExecutor, id: string): Promise<RotationJob | undefined> {
  const rows = await db.query<JobRow>(`SELECT ${columns} FROM ${db.table('key_rotations')} WHERE id = ?`, [id]);
  return rows[0] === undefined ? undefined : toJob(rows[0]);
}

export async function selectOpenJob(db: SqlExecutor, scope: RotationScope, tenantId?: string): Promise<RotationJob | undefined> {
  const rows = await db.query<JobRow>(`SELECT ${columns} FROM ${db.table('key_rotations')} WHERE scope_key = ? AND finished_at IS NULL`, [scopeKey(scope, tenantId)]);
  return rows[0] === undefined ? undefined : toJob(rows[0]);
}

/** Unfinished jobs, and the newest finished one of each scope (for status and metrics). */
export async function selectRecentJobs(db: SqlExecutor): Promise<RotationJob[]> {
  const table = db.table('key_rotations');
  const rows = await db.query<JobRow>(
    `SELECT ${columns} FROM ${table} j WHERE finished_at IS NULL OR finished_at = (SELECT MAX(finished_at) FROM ${table} k WHERE k.scope_key = j.scope_key) ORDER BY scope_key`,
  );
  return rows.map(toJob);
}

/** Takes the lease when it is free, expired, held by `owner` already, or held by `deadOwner`. */
export async function takeLease(db: SqlExecutor, id: string, owner: string, until: number, now: number, deadOwner?: string): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE ${db.table('key_rotations')} SET lease_owner = ?, lease_until = ? WHERE id = ? AND finished_at IS NULL AND (lease_owner IS NULL OR lease_until < ? OR lease_owner = ? OR lease_owner = ?)`,
    [owner, until, id, now, owner, deadOwner ?? owner],
  );
  return changed === 1;
}

/** Saves progress and renews the lease; false when another process has taken the job over. */
export async function saveProgress(db: SqlExecutor, job: RotationJob, owner: string, leaseUntil: number, now: number): Promise<boolean> {
  const changed = await db.execute(
    `UPDATE ${db.table('key_rotations')} SET phase = ?, switched_at = ?, cursor = ?, rows_total = ?, rows_done = ?, fields_done = ?, rows_skipped = ?, retired = ?, lease_until = ?, updated_at = ?, finished_at = ? WHERE id = ? AND lease_owner = ?`,
    [
      job.phase,
      job.switchedAt,
      job.cursor === null ? null : JSON.stringify(job.cursor),
      job.rowsTotal,
      job.rowsDone,
      job.fieldsDone,
      job.rowsFailed,
      job.retired ?? null,
      leaseUntil,
      now,
      job.finishedAt ?? null,
      job.id,
      owner,
    ],
  );
  return changed === 1;
}

export async function releaseLease(db: SqlExecutor, id: string, owner: string): Promise<void> {
  await db.execute(`UPDATE ${db.table('key_rotations')} SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`, [id, owner]);
}

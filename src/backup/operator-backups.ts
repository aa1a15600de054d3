import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import { operatorRealm } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { BackupError } from './errors.js';
import type { SnapshotSummary } from './maintenance.js';
import type { Backups, BackupStatus } from './service.js';

/** Who acts, and where from (for the audit events). */
export interface BackupAct {
  readonly operatorId: string;
  readonly sourceIp: string;
  readonly requestId: string;
}

/**
 * What a backup operator does through the server — list snapshots, restore one tenant — with
 * its checks and audit events, for both the JSON API (`/platform/backups…`) and the operator
 * console's backup page, so neither has its own copy. The caller has already passed
 * `authenticator.operator(request, 'backup-operator')`.
 */
export interface BackupDesk {
  readonly configured: boolean;
  /** Every snapshot, oldest first, and the status (last drill, newest verified); a `backup.listed` event. */
  list(by: BackupAct): Promise<{ snapshots: SnapshotSummary[]; status: BackupStatus }>;
  /** One tenant of a snapshot into the running system (the state before is kept as a snapshot). */
  restoreTenant(by: BackupAct, snapshotId: string, tenantId: string): Promise<Awaited<ReturnType<Backups['restoreTenant']>>>;
  actorOf(by: BackupAct): Actor;
}

/** A snapshot id as the repository names them; anything else is no snapshot (never a path). */
export function parseSnapshotId(id: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,100}$/.test(id)) throw new HttpError('not-found', 'No such snapshot.', { status: 404 });
  return id;
}

export const backupNotConfigured = () => new BackupError('backup-not-configured', 'No backup repository is configured (backup.repository).', { status: 409, expose: true });

export function createBackupDesk({ backups, audit, tenants }: { backups: Backups; audit: Audit; tenants: Tenants }): BackupDesk {
  const actorOf = (by: BackupAct): Actor => ({ id: `operator:${by.operatorId}`, role: 'backup-operator', client: 'session' });
  const configuredOrThrow = () => {
    if (!backups.configured) throw backupNotConfigured();
  };
  return {
    configured: backups.configured,
    actorOf,
    async list(by) {
      configuredOrThrow();
      const snapshots = await backups.list();
      await audit.record(operatorRealm, [{ ...operatorEvent('backup.listed', actorOf(by), { detail: `${snapshots.length} snapshots` }), sourceIp: by.sourceIp, requestId: by.requestId }]);
      return { snapshots, status: backups.status() };
    },
    async restoreTenant(by, snapshotId, tenantId) {
      configuredOrThrow();
      const id = parseSnapshotId(snapshotId);
      if ((await tenants.get(tenantId)) === undefined) throw new HttpError('not-found', `No tenant ${tenantId}.`, { status: 404 });
      return backups.restoreTenant(id, tenantId, { actor: actorOf(by) });
    },
  };
}

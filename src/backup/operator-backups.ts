import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import { homeRegion } from '../config/index.js';
import { operatorRealm } from '../identity/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { BackupError } from './errors.js';
import type { SnapshotSummary } from './maintenance.js';
import type { RegionBackups } from './region-backups.js';
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
 * `authenticator.operator(request, 'backup-operator')`. Each region has its own repository
 * (region-backups.ts): listing names a region (the home region when none is named), and a
 * tenant is restored from its own region's repository only.
 */
export interface BackupDesk {
  /** Every region's name, the home region first. */
  readonly regions: readonly string[];
  /** The region a request names (`undefined`: the home region); an unknown one is a 404. */
  regionOf(name: string | undefined): string;
  /** Whether the region's backups have a repository. */
  configured(region: string): boolean;
  /** The region's backups, refused (409) when it has no repository. */
  backupsOf(region: string): Backups;
  /** Every snapshot of the region's repository, oldest first, and its status (last drill, newest verified); a `backup.listed` event. */
  list(by: BackupAct, region: string): Promise<{ snapshots: SnapshotSummary[]; status: BackupStatus }>;
  /**
   * One tenant of a snapshot into the running system (the state before is kept as a snapshot),
   * from the repository of the tenant's region; `region`, when named, must be that region.
   */
  restoreTenant(by: BackupAct, snapshotId: string, tenantId: string, region?: string): Promise<Awaited<ReturnType<Backups['restoreTenant']>>>;
  actorOf(by: BackupAct): Actor;
}

/** A snapshot id as the repository names them; anything else is no snapshot (never a path). */
export function parseSnapshotId(id: string): string {
  if (!/^[a-z0-9][a-z0-9._-]{0,100}$/.test(id)) throw new HttpError('not-found', 'No such snapshot.', { status: 404 });
  return id;
}

export const backupNotConfigured = (region?: string) =>
  new BackupError('backup-not-configured', region === undefined || region === homeRegion ? 'No backup repository is configured (backup.repository).' : `Region ${region} has no backup repository (regions.${region}.backup.repository).`, { status: 409, expose: true });

export function createBackupDesk({ backups, audit, tenants }: { backups: RegionBackups; audit: Audit; tenants: Tenants }): BackupDesk {
  const actorOf = (by: BackupAct): Actor => ({ id: `operator:${by.operatorId}`, role: 'backup-operator', client: 'session' });
  const regionOf = (name: string | undefined): string => {
    if (name === undefined || name === '') return homeRegion;
    if (!backups.names.includes(name)) throw new HttpError('not-found', `No region ${name}.`, { status: 404 });
    return name;
  };
  const backupsOf = (region: string): Backups => {
    const found = backups.region(region);
    if (!found.configured) throw backupNotConfigured(region);
    return found;
  };
  return {
    regions: backups.names,
    regionOf,
    configured: (region) => backups.region(region).configured,
    backupsOf,
    actorOf,
    async list(by, region) {
      const of = backupsOf(region);
      const snapshots = await of.list();
      const where = backups.regional ? `region ${region}: ` : '';
      await audit.record(operatorRealm, [{ ...operatorEvent('backup.listed', actorOf(by), { detail: `${where}${snapshots.length} snapshots` }), sourceIp: by.sourceIp, requestId: by.requestId }]);
      return { snapshots, status: await of.sharedStatus() };
    },
    async restoreTenant(by, snapshotId, tenantId, region) {
      const id = parseSnapshotId(snapshotId);
      const tenant = await tenants.get(tenantId);
      if (tenant === undefined) throw new HttpError('not-found', `No tenant ${tenantId}.`, { status: 404 });
      const home = tenant.region;
      // A tenant's snapshots are in its own region's repository: a restore never crosses regions.
      if (region !== undefined && regionOf(region) !== home) throw new BackupError('restore-refused', `Tenant ${tenantId} lives in region ${home}: it is restored from region ${home}'s snapshots.`, { status: 409, expose: true });
      return backupsOf(home).restoreTenant(id, tenantId, { actor: actorOf(by) });
    },
  };
}

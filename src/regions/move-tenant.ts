import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import { copyTenantKeys, createKeys, destroyTenantKeys, type Keys } from '../keys/index.js';
import { switchTenantRegion } from '../tenants/index.js';
import type { Residency } from './open-regions.js';
import type { RegionalStorage } from './regional-storage.js';

export interface MoveTenantDeps {
  readonly storage: RegionalStorage;
  readonly residency: Residency;
  readonly clock: Clock;
  /** Opens a sample of every key generation's sealed records (records/sealed-samples.ts): the failures, none when readable. */
  readonly verify: (db: SqlExecutor, tenantId: string, keys: Keys) => Promise<readonly string[]>;
}

export interface MoveReport {
  readonly tenant: string;
  readonly from: string;
  readonly to: string;
  readonly keysCopied: number;
  readonly keysDestroyed: number;
}

export class MoveRefused extends Error {}

const sqliteFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`];

/**
 * Moves a tenant to another region, offline (SQLite; the server stopped — the caller checks):
 * its data set is copied to the target region, its keys re-wrapped under the target's master key
 * into the target's key store, a sample of every key generation opened there, and only then the
 * platform's row switched; after the switch the source data set and keys are destroyed. Before
 * the switch any failure removes what was copied and leaves the source authoritative, untouched.
 * GDPR Art. 44–46: moving data between places is a deliberate, recorded act; the caller records it.
 */
export async function moveTenant({ storage, residency, clock, verify }: MoveTenantDeps, tenantId: string, to: string): Promise<MoveReport> {
  if (storage.engine !== 'sqlite') throw new MoveRefused('moving a tenant between regions is available on SQLite only in this version');
  const placement = residency.placement;
  if (placement === undefined) throw new MoveRefused('no regions are configured');
  const from = await placement.resolve(tenantId);
  if (!residency.regions.some((r) => r.name === to)) throw new MoveRefused(`no region "${to}" (regions: ${residency.regions.map((r) => r.name).join(', ')})`);
  if (from === to) throw new MoveRefused(`tenant ${tenantId} is in region ${to} already`);
  const source = storage.region(from);
  const target = storage.region(to);
  const sourceProvider = residency.providers.get(from);
  const targetProvider = residency.providers.get(to);
  if (sourceProvider === undefined || targetProvider === undefined) throw new MoveRefused('a region has no master key provider');
  const sourceFile = source.describeTenant(tenantId);
  const targetFile = target.describeTenant(tenantId);
  if (!existsSync(sourceFile)) throw new MoveRefused(`tenant ${tenantId} has no data set in region ${from}`);
  if (sqliteFiles(targetFile).some((f) => existsSync(f))) throw new MoveRefused(`region ${to} holds a data set of ${tenantId} already (${targetFile}): remove it or investigate first`);

  // The signed checkpoints of the tenant's trail go with it (audit/checkpoints.ts: `<dir>/<tenant>.jsonl`).
  const sourceCheckpoints = join(residency.region(from).auditCheckpointDir, `${tenantId}.jsonl`);
  const targetCheckpoints = join(residency.region(to).auditCheckpointDir, `${tenantId}.jsonl`);
  // A consistent file: every committed page is in the main file once the WAL is checkpointed and truncated.
  await source.visitTenant(tenantId, (db: SqlDatabase) => db.scrub());
  let keysCopied = 0;
  let switched = false;
  try {
    copyFileSync(sourceFile, targetFile);
    if (existsSync(sourceCheckpoints)) {
      mkdirSync(residency.region(to).auditCheckpointDir, { recursive: true, mode: 0o700 });
      copyFileSync(sourceCheckpoints, targetCheckpoints);
    }
    keysCopied = await copyTenantKeys(tenantId, { db: source.keys, provider: sourceProvider }, { db: target.keys, provider: targetProvider });
    const targetKeys = createKeys({ db: target.keys, provider: targetProvider, clock });
    try {
      const failures = await target.visitTenant(tenantId, (db) => verify(db, tenantId, targetKeys));
      if (failures.length > 0) throw new MoveRefused(`the copy in region ${to} does not open: ${failures.join('; ')}`);
    } finally {
      targetKeys.forget();
    }
    if (!(await switchTenantRegion(storage.platform, tenantId, from, to))) throw new MoveRefused(`tenant ${tenantId} is no longer in region ${from}`);
    switched = true;
    placement.assign(tenantId, to);
  } catch (error) {
    if (!switched) {
      // Nothing switched: the source stays authoritative; the copy goes.
      await destroyTenantKeys(target.keys, tenantId).catch(() => undefined);
      for (const file of sqliteFiles(targetFile)) rmSync(file, { force: true });
      if (existsSync(sourceCheckpoints)) rmSync(targetCheckpoints, { force: true });
    }
    throw error;
  }
  // Switched: the source copy is destroyed (its keys first: the file is unreadable without them).
  const keysDestroyed = await destroyTenantKeys(source.keys, tenantId);
  for (const file of sqliteFiles(sourceFile)) rmSync(file, { force: true });
  rmSync(sourceCheckpoints, { force: true });
  return { tenant: tenantId, from, to, keysCopied, keysDestroyed };
}

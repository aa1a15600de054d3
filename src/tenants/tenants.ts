import type { Clock } from '../platform/clock.js';
import { createLookupCache, type SqlExecutor, type Storage } from '../platform/db/index.js';
import { TenantError } from './errors.js';
import { clearTenantMoving, insertTenant, selectRegions, selectTenant, selectTenants, updateMfaPolicy, updateTenantDisabled, updateTenantMoving, updateTenantRegion, type MfaPolicy, type TenantRow } from './store.js';

export type { MfaPolicy } from './store.js';
/** Data-set ids that are not tenants: `operators` holds the platform operators' accounts, sessions and audit trail. */
export const reservedTenantIds: readonly string[] = ['operators'];

export const mfaPolicies: readonly MfaPolicy[] = ['everyone', 'staff', 'optional'];
import { parseTenantId, tenantIdPattern } from './tenant-id.js';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'disabled';
  readonly createdAt: string;
  readonly disabledAt?: string;
  /** Who must sign in with a second factor: everyone, staff (default) or nobody by policy. */
  readonly mfaPolicy: MfaPolicy;
  /** Where its data set lives (file or schema), for operators. */
  readonly dataSet: string;
  /** The region that holds its data, keys and backups (`default`: the home region). */
  readonly region: string;
  /** Being moved to another region since then: its requests are answered 503 meanwhile. */
  readonly movingSince?: string;
}

export interface Tenants {
  /** Makes the tenant and its data set, in `region` (default: the configured default region). */
  create(id: string, name?: string, region?: string): Promise<Tenant>;
  list(): Promise<Tenant[]>;
  get(id: string): Promise<Tenant | undefined>;
  disable(id: string): Promise<Tenant>;
  /** Throws unless the tenant exists and is active (and not being moved: 503); used on every data request. */
  requireActive(id: string): Promise<void>;
  /**
   * The check every request for a tenant's paths passes first (app.ts): throws 503 with
   * Retry-After while the tenant is being moved to another region; otherwise the tenant's region
   * as the platform data set says (undefined for no such tenant). Cached like the status: exact
   * on SQLite, at most a second stale across PostgreSQL nodes.
   */
  serving(id: string): Promise<string | undefined>;
  /** Marks the tenant as being moved (every process answers its requests 503); false when it is moving already or unknown. */
  markMoving(id: string): Promise<boolean>;
  /** Ends that mark (the move switched or rolled back). */
  clearMoving(id: string): Promise<void>;
  /** The tenant's second-factor policy (cached like its status). */
  mfaPolicy(id: string): Promise<MfaPolicy>;
  setMfaPolicy(id: string, policy: string): Promise<Tenant>;
  /** The regions a tenant may be created in, the one it goes to when none is named, and how each is shown to people (its label). */
  readonly regions: { readonly names: readonly string[]; readonly default: string; readonly labels?: Readonly<Record<string, string>> };
}

export interface TenantsDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  /** The regions tenants may be created in, and where they go when none is named; default one region, `default`. */
  readonly regions?: { readonly names: readonly string[]; readonly default: string; readonly labels?: Readonly<Record<string, string>> };
}

const singleRegion = { names: ['default'], default: 'default' } as const;

const nameMaxLength = 200;

function tenantOf(row: TenantRow, describeTenant: (id: string) => string): Tenant {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    ...(row.disabled_at === null ? {} : { disabledAt: new Date(Number(row.disabled_at)).toISOString() }),
    mfaPolicy: row.mfa_policy,
    dataSet: describeTenant(row.id),
    region: row.region,
    ...(row.moving_since === null || row.moving_since === undefined ? {} : { movingSince: new Date(Number(row.moving_since)).toISOString() }),
  };
}

/** Seconds a client waits before asking again while its tenant is being moved. */
export const movingRetryAfterSeconds = 5;

const moving = () =>
  new TenantError('tenant-moving', 'This tenant is being moved to another region; try again shortly.', { status: 503, expose: true, headers: { 'retry-after': String(movingRetryAfterSeconds) } });

/**
 * Every tenant, read from a platform data set opened without the rest of the storage (a command
 * that lists them and does nothing else); `Tenants.list` gives the same answer.
 */
export async function listTenants(platform: SqlExecutor, describeTenant: (id: string) => string): Promise<Tenant[]> {
  return (await selectTenants(platform)).map((row) => tenantOf(row, describeTenant));
}

export function createTenants({ storage, clock, regions = singleRegion }: TenantsDeps): Tenants {
  // Checked on every data request; exact on SQLite, at most one second stale across PostgreSQL nodes.
  const statusCache = createLookupCache<TenantRow>(storage.platform, { ttlMs: 1000, maxEntries: 10_000 });
  const toTenant = (row: TenantRow): Tenant => tenantOf(row, storage.describeTenant);

  async function get(id: string): Promise<Tenant | undefined> {
    if (!tenantIdPattern.test(id)) return undefined;
    const row = await selectTenant(storage.platform, id);
    return row === undefined ? undefined : toTenant(row);
  }

  return {
    regions,
    async create(rawId, rawName, rawRegion) {
      const id = parseTenantId(rawId);
      if (reservedTenantIds.includes(id)) throw new TenantError('tenant-id-invalid', `"${id}" is reserved (the platform operators' own data set).`, { status: 400 });
      const name = (rawName ?? id).normalize('NFC').trim();
      if (name.length === 0 || name.length > nameMaxLength || /[\p{Cc}]/u.test(name)) {
        throw new TenantError('tenant-id-invalid', `A tenant name is 1–${nameMaxLength} printable characters.`, { status: 400 });
      }
      const region = rawRegion ?? regions.default;
      if (!regions.names.includes(region)) throw new TenantError('region-unknown', `No region "${region}" (regions: ${regions.names.join(', ')}).`, { status: 400 });
      if ((await selectTenant(storage.platform, id)) !== undefined) {
        throw new TenantError('tenant-exists', `Tenant ${id} exists already.`, { status: 409 });
      }
      // The data set first, then the row that makes the tenant visible: a crash in between
      // leaves an unused data set, never a tenant without one.
      await storage.tenant(id, { create: true, region });
      if (!(await insertTenant(storage.platform, { id, name, createdAt: clock.now().getTime(), region }))) {
        throw new TenantError('tenant-exists', `Tenant ${id} exists already.`, { status: 409 });
      }
      const created = await get(id);
      if (created === undefined) throw new Error('tenant vanished after insert');
      return created;
    },
    async list() {
      return listTenants(storage.platform, storage.describeTenant);
    },
    get,
    async disable(rawId) {
      const id = parseTenantId(rawId);
      await updateTenantDisabled(storage.platform, id, clock.now().getTime());
      statusCache.delete(id);
      const tenant = await get(id);
      if (tenant === undefined) throw new TenantError('tenant-not-found', `No tenant ${id}.`, { status: 404 });
      return tenant;
    },
    async requireActive(id) {
      const row = await statusCache.get(id, () => selectTenant(storage.platform, id));
      if (row === undefined) throw new TenantError('tenant-not-found', 'No such tenant.', { status: 404 });
      if (row.status !== 'active') throw new TenantError('tenant-disabled', 'This tenant is disabled.', { status: 403 });
      if (row.moving_since !== null && row.moving_since !== undefined) throw moving();
    },
    async serving(id) {
      if (!tenantIdPattern.test(id)) return undefined;
      const row = await statusCache.get(id, () => selectTenant(storage.platform, id));
      if (row === undefined) return undefined;
      if (row.moving_since !== null && row.moving_since !== undefined) throw moving();
      return row.region;
    },
    async markMoving(id) {
      const marked = await updateTenantMoving(storage.platform, id, clock.now().getTime());
      statusCache.delete(id);
      return marked;
    },
    async clearMoving(id) {
      await clearTenantMoving(storage.platform, id);
      statusCache.delete(id);
    },
    async mfaPolicy(id) {
      const row = await statusCache.get(id, () => selectTenant(storage.platform, id));
      return row?.mfa_policy ?? 'everyone';
    },
    async setMfaPolicy(rawId, policy) {
      const id = parseTenantId(rawId);
      if (!(mfaPolicies as readonly string[]).includes(policy)) {
        throw new TenantError('setting-invalid', `The second-factor policy is one of: ${mfaPolicies.join(', ')}.`, { status: 400 });
      }
      await updateMfaPolicy(storage.platform, id, policy as MfaPolicy);
      statusCache.delete(id);
      const tenant = await get(id);
      if (tenant === undefined) throw new TenantError('tenant-not-found', `No tenant ${id}.`, { status: 404 });
      return tenant;
    },
  };
}

/** Every tenant's region, from the platform data set (where the storage opens each data set). */
export async function tenantRegions(platform: SqlExecutor): Promise<Array<{ id: string; region: string }>> {
  return selectRegions(platform);
}

/** One tenant's region; undefined for an id that is no tenant. */
export async function tenantRegion(platform: SqlExecutor, id: string): Promise<string | undefined> {
  if (!tenantIdPattern.test(id)) return undefined;
  return (await selectTenant(platform, id))?.region;
}

/** Switches the tenant's region (the last step of a move); false when it was not in `from`. */
export async function switchTenantRegion(platform: SqlExecutor, id: string, from: string, to: string): Promise<boolean> {
  return updateTenantRegion(platform, id, from, to);
}

import type { SqlExecutor } from '../platform/db/index.js';
import type { KeyProvider } from './key-provider.js';

/**
 * Which keys of a key store (a restored copy, before it is used) this deployment's master key
 * cannot open: every tenant key (of one tenant, or all, with the signing keys) is unwrapped once
 * and dropped at once. Returns one line per master version that fails, naming the version and
 * whose keys need it; never key material. Empty when everything opens.
 */
export async function findUnreadableKeys(db: SqlExecutor, provider: KeyProvider, tenantId?: string): Promise<string[]> {
  const filter = tenantId === undefined ? '' : ' WHERE tenant_id = ?';
  const rows = await db.query<{ owner: string; what: string; version: number; wrapped: Uint8Array; master_version: number }>(
    `SELECT tenant_id AS owner, purpose AS what, version, wrapped, master_version FROM ${db.table('tenant_keys')}${filter}`,
    tenantId === undefined ? [] : [tenantId],
  );
  if (tenantId === undefined) {
    rows.push(...(await db.query<{ owner: string; what: string; version: number; wrapped: Uint8Array; master_version: number }>(`SELECT '' AS owner, purpose AS what, version, wrapped, master_version FROM ${db.table('signing_keys')}`)));
  }
  const available = new Set(await provider.versions());
  const failed = new Map<number, { reason: 'missing' | 'does not open'; owners: Set<string> }>();
  for (const row of rows) {
    const masterVersion = Number(row.master_version);
    const aad = row.owner === '' ? `signing-key|${row.what}|${row.version}` : `tenant-key|${row.owner}|${row.what}|${row.version}`;
    const owner = row.owner === '' ? 'signing keys' : `tenant ${row.owner}`;
    let reason: 'missing' | 'does not open' | undefined = available.has(masterVersion) ? undefined : 'missing';
    if (reason === undefined) {
      try {
        (await provider.unwrap(Buffer.from(row.wrapped), aad, masterVersion)).fill(0);
      } catch {
        reason = 'does not open';
      }
    }
    if (reason === undefined) continue;
    const entry = failed.get(masterVersion) ?? { reason, owners: new Set<string>() };
    entry.owners.add(owner);
    failed.set(masterVersion, entry);
  }
  return [...failed]
    .sort(([a], [b]) => a - b)
    .map(([version, { reason, owners }]) => `master key version ${version} ${reason === 'missing' ? `is not held by ${provider.name}` : 'does not open the keys wrapped under it'} (needed by the keys of ${[...owners].join(', ')})`);
}

import type { SqlDatabase } from '../platform/db/index.js';
import type { KeyProvider } from './key-provider.js';

interface TenantKeyRow {
  readonly tenant_id: string;
  readonly purpose: string;
  readonly version: number;
  readonly wrapped: Uint8Array;
  readonly master_version: number;
  readonly created_at: number;
}
interface DataKeyCopy {
  readonly key_id: string;
  readonly subject: string;
  readonly version: number;
  readonly wrapped: Uint8Array | null;
  readonly kek_version: number;
  readonly created_at: number;
  readonly shredded_at: number | null;
}
interface SigningKeyRow {
  readonly purpose: string;
  readonly version: number;
  readonly wrapped: Uint8Array;
  readonly master_version: number;
  readonly created_at: number;
}

/** The purpose of a tenant's OAuth issuer signing keys (oauth/provider.ts). */
const oauthPurpose = (tenantId: string) => `oauth|${tenantId}`;

/**
 * Copies a tenant's keys from one key store to another under another master key (a tenant moving
 * between regions): the tenant's key-encryption and index keys and its OAuth signing keys are
 * unwrapped with the source provider and wrapped again with the target's current master version;
 * data keys (wrapped under the tenant's key-encryption key, which moves with them) are copied as
 * they are, destroyed ones included, so an erasure stays an erasure. One transaction on the
 * target: all or nothing. Returns how many rows were copied.
 */
export async function copyTenantKeys(tenantId: string, from: { db: SqlDatabase; provider: KeyProvider }, to: { db: SqlDatabase; provider: KeyProvider }): Promise<number> {
  const src = from.db;
  const tenantKeys = await src.query<TenantKeyRow>(`SELECT tenant_id, purpose, version, wrapped, master_version, created_at FROM ${src.table('tenant_keys')} WHERE tenant_id = ?`, [tenantId]);
  const dataKeys = await src.query<DataKeyCopy>(`SELECT key_id, subject, version, wrapped, kek_version, created_at, shredded_at FROM ${src.table('data_keys')} WHERE tenant_id = ?`, [tenantId]);
  const signing = await src.query<SigningKeyRow>(`SELECT purpose, version, wrapped, master_version, created_at FROM ${src.table('signing_keys')} WHERE purpose = ?`, [oauthPurpose(tenantId)]);
  const master = await to.provider.currentVersion();
  const rewrapped = async (wrapped: Uint8Array, aad: string, version: number) => {
    const key = await from.provider.unwrap(Buffer.from(wrapped), aad, version);
    try {
      return await to.provider.wrap(key, aad, master);
    } finally {
      key.fill(0);
    }
  };
  const tenantRows: Array<TenantKeyRow & { wrapped: Buffer }> = [];
  for (const row of tenantKeys) tenantRows.push({ ...row, wrapped: await rewrapped(row.wrapped, `tenant-key|${tenantId}|${row.purpose}|${row.version}`, Number(row.master_version)) });
  const signingRows: Array<SigningKeyRow & { wrapped: Buffer }> = [];
  for (const row of signing) signingRows.push({ ...row, wrapped: await rewrapped(row.wrapped, `signing-key|${row.purpose}|${row.version}`, Number(row.master_version)) });
  await to.db.transaction(async (tx) => {
    for (const row of tenantRows) {
      await tx.execute(`INSERT INTO ${tx.table('tenant_keys')} (tenant_id, purpose, version, wrapped, master_version, created_at) VALUES (?, ?, ?, ?, ?, ?)`, [tenantId, row.purpose, row.version, row.wrapped, master, row.created_at]);
    }
    for (const row of dataKeys) {
      await tx.execute(`INSERT INTO ${tx.table('data_keys')} (tenant_id, key_id, subject, version, wrapped, kek_version, created_at, shredded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
        tenantId,
        row.key_id,
        row.subject,
        row.version,
        row.wrapped === null ? null : Buffer.from(row.wrapped),
        row.kek_version,
        row.created_at,
        row.shredded_at,
      ]);
    }
    for (const row of signingRows) {
      await tx.execute(`INSERT INTO ${tx.table('signing_keys')} (purpose, version, wrapped, master_version, created_at) VALUES (?, ?, ?, ?, ?)`, [row.purpose, row.version, row.wrapped, master, row.created_at]);
    }
  });
  return tenantRows.length + dataKeys.length + signingRows.length;
}

/** Deletes every key of a tenant from a key store and scrubs the freed bytes (the source of a move, or a failed move's target). */
export async function destroyTenantKeys(db: SqlDatabase, tenantId: string): Promise<number> {
  const removed = await db.transaction(async (tx) => {
    let n = await tx.execute(`DELETE FROM ${tx.table('data_keys')} WHERE tenant_id = ?`, [tenantId]);
    n += await tx.execute(`DELETE FROM ${tx.table('tenant_keys')} WHERE tenant_id = ?`, [tenantId]);
    n += await tx.execute(`DELETE FROM ${tx.table('signing_keys')} WHERE purpose = ?`, [oauthPurpose(tenantId)]);
    return n;
  });
  await db.scrub();
  return removed;
}

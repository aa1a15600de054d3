import type { Migration, SqlExecutor } from '../platform/db/index.js';

/**
 * People's accounts live in their tenant's own data set, like the records they work with: a
 * tenant's export, backup and deletion carry them, and no query can mix two tenants' people.
 * The email is stored only as a keyed hash (for lookup) and sealed (for mail), never in clear:
 * a patient's account alone says that person is a patient there.
 */
const accounts = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('accounts')} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, role TEXT NOT NULL, email_index TEXT NOT NULL UNIQUE, email_sealed ${blob} NOT NULL, patient TEXT, password_hash TEXT, status TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
  // Single-use setup and reset tokens, stored as SHA-256 of 256 random bits.
  `CREATE TABLE ${t('account_tokens')} (token_hash ${blob} PRIMARY KEY, account_id TEXT NOT NULL, purpose TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)`,
];

// Second factors: the TOTP secret (sealed like the email), one being enrolled, the last time
// step used (a code works once), and the recovery codes' SHA-256 (JSON; a used one is null).
const secondFactors = (t: (name: string) => string, blob: string) => [
  `ALTER TABLE ${t('accounts')} ADD COLUMN totp_sealed ${blob}`,
  `ALTER TABLE ${t('accounts')} ADD COLUMN totp_pending_sealed ${blob}`,
  `ALTER TABLE ${t('accounts')} ADD COLUMN totp_last_step BIGINT`,
  `ALTER TABLE ${t('accounts')} ADD COLUMN recovery_codes TEXT`,
];

/** Applied to every tenant data set. */
export const accountMigrations: readonly Migration[] = [
  { id: 'identity/101-accounts', up: { sqlite: (t) => accounts(t, 'BLOB'), postgres: (t) => accounts(t, 'BYTEA') } },
  { id: 'identity/103-second-factors', up: { sqlite: (t) => secondFactors(t, 'BLOB'), postgres: (t) => secondFactors(t, 'BYTEA') } },
  // A staff account may be linked to its Practitioner resource: a clinician's care relationships follow from it.
  { id: 'identity/104-account-practitioner', up: { sqlite: (t) => [`ALTER TABLE ${t('accounts')} ADD COLUMN practitioner TEXT`], postgres: (t) => [`ALTER TABLE ${t('accounts')} ADD COLUMN practitioner TEXT`] } },
];

export interface SecondFactorRow {
  readonly totp_sealed: Uint8Array | null;
  readonly totp_pending_sealed: Uint8Array | null;
  readonly totp_last_step: number | string | null;
  readonly recovery_codes: string | null;
}

export async function selectSecondFactors(db: SqlExecutor, id: string): Promise<SecondFactorRow | undefined> {
  return (await db.query<SecondFactorRow>(`SELECT totp_sealed, totp_pending_sealed, totp_last_step, recovery_codes FROM ${db.table('accounts')} WHERE id = ?`, [id]))[0];
}

export async function updatePendingTotp(db: SqlExecutor, id: string, sealed: Uint8Array): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET totp_pending_sealed = ? WHERE id = ?`, [sealed, id]);
}

/** The pending secret becomes the account's TOTP, with its first used step and new recovery codes. */
export async function activateTotp(db: SqlExecutor, id: string, sealed: Uint8Array, step: number, recoveryCodes: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET totp_sealed = ?, totp_pending_sealed = NULL, totp_last_step = ?, recovery_codes = ?, updated_at = ? WHERE id = ?`, [sealed, step, recoveryCodes, at, id]);
}

/** Removes the account's TOTP secret and recovery codes. */
export async function clearSecondFactors(db: SqlExecutor, id: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET totp_sealed = NULL, totp_pending_sealed = NULL, totp_last_step = NULL, recovery_codes = NULL, updated_at = ? WHERE id = ?`, [at, id]);
}

export async function updateRecoveryCodes(db: SqlExecutor, id: string, recoveryCodes: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET recovery_codes = ?, updated_at = ? WHERE id = ?`, [recoveryCodes, at, id]);
}

/** Records a used time step only if it is later than the last one: two concurrent uses of one code cannot both win. */
export async function useTotpStep(db: SqlExecutor, id: string, step: number): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('accounts')} SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)`, [step, id, step])) === 1;
}

/** Replaces the recovery codes only if they are still what the caller read (compare-and-set). */
export async function replaceRecoveryCodes(db: SqlExecutor, id: string, expected: string, next: string): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('accounts')} SET recovery_codes = ? WHERE id = ? AND recovery_codes = ?`, [next, id, expected])) === 1;
}

export interface AccountRow {
  readonly id: string;
  readonly kind: string;
  readonly role: string;
  readonly email_index: string;
  readonly email_sealed: Uint8Array;
  readonly patient: string | null;
  readonly practitioner: string | null;
  readonly password_hash: string | null;
  readonly status: string;
  readonly created_at: number | string;
  readonly updated_at: number | string;
  /** Whether a TOTP factor is enrolled (read, not stored: derived from totp_sealed). */
  readonly has_totp?: number | string;
}

const columns = 'id, kind, role, email_index, email_sealed, patient, practitioner, password_hash, status, created_at, updated_at';
const selected = `${columns}, CASE WHEN totp_sealed IS NULL THEN 0 ELSE 1 END AS has_totp`;

export async function insertAccount(db: SqlExecutor, row: Omit<AccountRow, 'created_at' | 'updated_at'> & { readonly at: number }): Promise<boolean> {
  const inserted = await db.execute(
    `INSERT INTO ${db.table('accounts')} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email_index) DO NOTHING`,
    [row.id, row.kind, row.role, row.email_index, row.email_sealed, row.patient, row.practitioner, row.password_hash, row.status, row.at, row.at],
  );
  return inserted === 1;
}

export async function selectAccount(db: SqlExecutor, id: string): Promise<AccountRow | undefined> {
  return (await db.query<AccountRow>(`SELECT ${selected} FROM ${db.table('accounts')} WHERE id = ?`, [id]))[0];
}

export async function selectAccountByEmail(db: SqlExecutor, emailIndex: string): Promise<AccountRow | undefined> {
  return (await db.query<AccountRow>(`SELECT ${selected} FROM ${db.table('accounts')} WHERE email_index = ?`, [emailIndex]))[0];
}

export async function updatePasswordHash(db: SqlExecutor, id: string, passwordHash: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET password_hash = ?, updated_at = ? WHERE id = ?`, [passwordHash, at, id]);
}

export type TokenPurpose = 'setup' | 'reset' | 'second-factor';

export async function insertAccountToken(db: SqlExecutor, row: { tokenHash: Uint8Array; accountId: string; purpose: TokenPurpose; expiresAt: number }): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('account_tokens')} (token_hash, account_id, purpose, expires_at) VALUES (?, ?, ?, ?)`, [row.tokenHash, row.accountId, row.purpose, row.expiresAt]);
}

/** The account a live (unused, unexpired) token of this purpose belongs to, without spending it. */
export async function selectLiveToken(db: SqlExecutor, tokenHash: Uint8Array, purpose: TokenPurpose, now: number): Promise<string | undefined> {
  const rows = await db.query<{ account_id: string }>(`SELECT account_id FROM ${db.table('account_tokens')} WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`, [tokenHash, purpose, now]);
  return rows[0]?.account_id;
}

/**
 * Spends a token: marks it used if it exists, has this purpose, is unused and unexpired, in one
 * statement, so two concurrent uses cannot both succeed. Returns its account id.
 */
export async function spendAccountToken(db: SqlExecutor, tokenHash: Uint8Array, purpose: TokenPurpose, now: number): Promise<string | undefined> {
  const rows = await db.query<{ account_id: string }>(
    `UPDATE ${db.table('account_tokens')} SET used_at = ? WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ? RETURNING account_id`,
    [now, tokenHash, purpose, now],
  );
  return rows[0]?.account_id;
}

export async function updatePassword(db: SqlExecutor, id: string, passwordHash: string, status: 'active', at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET password_hash = ?, status = ?, updated_at = ? WHERE id = ?`, [passwordHash, status, at, id]);
}

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

// Passkeys (WebAuthn credentials) as second factors: the credential id (base64url, as the
// authenticator made it), its COSE public key, the signature counter last seen (0 = the
// authenticator keeps none), the transports it named, the name its owner gave it.
const passkeys = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('passkeys')} (credential_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, public_key ${blob} NOT NULL, sign_count BIGINT NOT NULL, transports TEXT, name TEXT NOT NULL, created_at BIGINT NOT NULL, last_used_at BIGINT)`,
  `CREATE INDEX passkeys_account ON ${t('passkeys')} (account_id)`,
];

/** Applied to every tenant data set. */
export const accountMigrations: readonly Migration[] = [
  { id: 'identity/101-accounts', up: { sqlite: (t) => accounts(t, 'BLOB'), postgres: (t) => accounts(t, 'BYTEA') } },
  { id: 'identity/103-second-factors', up: { sqlite: (t) => secondFactors(t, 'BLOB'), postgres: (t) => secondFactors(t, 'BYTEA') } },
  // A staff account may be linked to its Practitioner resource: a clinician's care relationships follow from it.
  { id: 'identity/104-account-practitioner', up: { sqlite: (t) => [`ALTER TABLE ${t('accounts')} ADD COLUMN practitioner TEXT`], postgres: (t) => [`ALTER TABLE ${t('accounts')} ADD COLUMN practitioner TEXT`] } },
  { id: 'identity/105-passkeys', up: { sqlite: (t) => passkeys(t, 'BLOB'), postgres: (t) => passkeys(t, 'BYTEA') } },
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

/** Removes the account's TOTP secret but keeps its recovery codes (another factor, a passkey, remains). */
export async function clearTotp(db: SqlExecutor, id: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET totp_sealed = NULL, totp_pending_sealed = NULL, totp_last_step = NULL, updated_at = ? WHERE id = ?`, [at, id]);
}

/** Removes the recovery codes (the last second factor went). */
export async function clearRecoveryCodes(db: SqlExecutor, id: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET recovery_codes = NULL, updated_at = ? WHERE id = ?`, [at, id]);
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
  /** Whether the account has a passkey (read, not stored: derived from the passkeys table). */
  readonly has_passkey?: number | string;
}

const columns = 'id, kind, role, email_index, email_sealed, patient, practitioner, password_hash, status, created_at, updated_at';
const selected = `${columns}, CASE WHEN totp_sealed IS NULL THEN 0 ELSE 1 END AS has_totp`;
/** {@link selected} and whether the account has a passkey (a correlated subquery: the FROM must be the unaliased accounts table). */
const selectedWithPasskey = (db: SqlExecutor) =>
  `${selected}, CASE WHEN EXISTS (SELECT 1 FROM ${db.table('passkeys')} pk WHERE pk.account_id = ${db.table('accounts')}.id) THEN 1 ELSE 0 END AS has_passkey`;

export async function insertAccount(db: SqlExecutor, row: Omit<AccountRow, 'created_at' | 'updated_at'> & { readonly at: number }): Promise<boolean> {
  const inserted = await db.execute(
    `INSERT INTO ${db.table('accounts')} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (email_index) DO NOTHING`,
    [row.id, row.kind, row.role, row.email_index, row.email_sealed, row.patient, row.practitioner, row.password_hash, row.status, row.at, row.at],
  );
  return inserted === 1;
}

export async function selectAccount(db: SqlExecutor, id: string): Promise<AccountRow | undefined> {
  return (await db.query<AccountRow>(`SELECT ${selectedWithPasskey(db)} FROM ${db.table('accounts')} WHERE id = ?`, [id]))[0];
}

export async function selectAccountByEmail(db: SqlExecutor, emailIndex: string): Promise<AccountRow | undefined> {
  return (await db.query<AccountRow>(`SELECT ${selectedWithPasskey(db)} FROM ${db.table('accounts')} WHERE email_index = ?`, [emailIndex]))[0];
}

export async function updatePasswordHash(db: SqlExecutor, id: string, passwordHash: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('accounts')} SET password_hash = ?, updated_at = ? WHERE id = ?`, [passwordHash, at, id]);
}

/** `passkey-registration` and `passkey-login`: WebAuthn challenges, hashed with what they are bound to (passkeys.ts). */
export type TokenPurpose = 'setup' | 'reset' | 'second-factor' | 'passkey-registration' | 'passkey-login';

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

// Account administration and password reset (issue #5 items 5 and 7).

/** Every account of the tenant, oldest first (for the administrators' list). */
export async function selectAccounts(db: SqlExecutor): Promise<AccountRow[]> {
  return db.query<AccountRow>(`SELECT ${selectedWithPasskey(db)} FROM ${db.table('accounts')} ORDER BY created_at, id`);
}

/** Sets the status only if it is still what the caller read (compare-and-set). */
export async function updateAccountStatus(db: SqlExecutor, id: string, expected: string, status: 'invited' | 'active' | 'disabled', at: number): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('accounts')} SET status = ?, updated_at = ? WHERE id = ? AND status = ?`, [status, at, id, expected])) === 1;
}

/** Sets role and Practitioner link only if the role is still what the caller read (compare-and-set). */
export async function updateAccountRole(db: SqlExecutor, id: string, expectedRole: string, role: string, practitioner: string | null, at: number): Promise<boolean> {
  return (await db.execute(`UPDATE ${db.table('accounts')} SET role = ?, practitioner = ?, updated_at = ? WHERE id = ? AND role = ?`, [role, practitioner, at, id, expectedRole])) === 1;
}

/**
 * The ids of the tenant's active administrators. On PostgreSQL their rows stay locked until
 * the transaction ends (`FOR UPDATE`, in id order so two such transactions cannot deadlock), so
 * two administrators demoting or disabling each other at once cannot both pass the "not the
 * last one" check: the second waits and then sees the first's change. SQLite runs one writing
 * transaction at a time anyway.
 */
export async function lockActiveAdmins(db: SqlExecutor): Promise<string[]> {
  const lock = db.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const rows = await db.query<{ id: string }>(`SELECT id FROM ${db.table('accounts')} WHERE role = 'tenant-admin' AND status = 'active' ORDER BY id${lock}`);
  return rows.map((row) => row.id);
}

/** How many tokens of this purpose the account got whose expiry is later than `expiringAfter` (i.e. issued recently). */
export async function countTokensExpiringAfter(db: SqlExecutor, accountId: string, purpose: TokenPurpose, expiringAfter: number): Promise<number> {
  const rows = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('account_tokens')} WHERE account_id = ? AND purpose = ? AND expires_at > ?`, [accountId, purpose, expiringAfter]);
  return Number(rows[0]?.n ?? 0);
}

/** Uses up every live token of the account (of one purpose, or all): after a reset, or when it is disabled. */
export async function spendAllAccountTokens(db: SqlExecutor, accountId: string, now: number, purpose?: TokenPurpose): Promise<number> {
  return purpose === undefined
    ? db.execute(`UPDATE ${db.table('account_tokens')} SET used_at = ? WHERE account_id = ? AND used_at IS NULL`, [now, accountId])
    : db.execute(`UPDATE ${db.table('account_tokens')} SET used_at = ? WHERE account_id = ? AND purpose = ? AND used_at IS NULL`, [now, accountId, purpose]);
}

/**
 * The outbox: messages to people (password reset, invitation) that the built-in notifier keeps
 * for a relay or a developer (notifier.ts). Recipient and text are sealed: the text carries a
 * live token. The subject is a fixed phrase per kind.
 */
const outbox = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('outbox')} (id TEXT PRIMARY KEY, kind TEXT NOT NULL, account_id TEXT NOT NULL, recipient_sealed ${blob} NOT NULL, subject TEXT NOT NULL, text_sealed ${blob} NOT NULL, created_at BIGINT NOT NULL, delivered_at BIGINT)`,
];

// Reset requests count an account's recent tokens, and disabling an account spends them all.
const tokensByAccount = (t: (name: string) => string) => [`CREATE INDEX account_tokens_account ON ${t('account_tokens')} (account_id, purpose)`];

/**
 * Delivery through a mail relay: the HTML part (sealed like the text), how many tries so far,
 * and when the next may start — which is also a lease: a process sets it before it sends, so two
 * processes never both take the same message (mail-notifier.ts).
 */
const outboxDelivery = (t: (name: string) => string, blob: string) => [
  `ALTER TABLE ${t('outbox')} ADD COLUMN html_sealed ${blob}`,
  `ALTER TABLE ${t('outbox')} ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE ${t('outbox')} ADD COLUMN next_attempt_at BIGINT`,
];

/** Applied to every tenant data set, after {@link accountMigrations}. */
export const accountAdminMigrations: readonly Migration[] = [
  { id: 'identity/106-outbox', up: { sqlite: (t) => outbox(t, 'BLOB'), postgres: (t) => outbox(t, 'BYTEA') } },
  { id: 'identity/107-account-tokens-by-account', up: { sqlite: tokensByAccount, postgres: tokensByAccount } },
  { id: 'identity/108-outbox-delivery', up: { sqlite: (t) => outboxDelivery(t, 'BLOB'), postgres: (t) => outboxDelivery(t, 'BYTEA') } },
];

export interface OutboxRow {
  readonly id: string;
  readonly kind: string;
  readonly account_id: string;
  readonly recipient_sealed: Uint8Array;
  readonly subject: string;
  readonly text_sealed: Uint8Array;
  readonly html_sealed: Uint8Array | null;
  readonly created_at: number | string;
  readonly attempts: number | string;
}

const outboxColumns = 'id, kind, account_id, recipient_sealed, subject, text_sealed, html_sealed, created_at, attempts';

export async function insertOutbox(db: SqlExecutor, row: Omit<OutboxRow, 'attempts'>): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('outbox')} (id, kind, account_id, recipient_sealed, subject, text_sealed, html_sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
    row.id,
    row.kind,
    row.account_id,
    row.recipient_sealed,
    row.subject,
    row.text_sealed,
    row.html_sealed,
    row.created_at,
  ]);
}

export async function selectUndelivered(db: SqlExecutor): Promise<OutboxRow[]> {
  return db.query<OutboxRow>(`SELECT ${outboxColumns} FROM ${db.table('outbox')} WHERE delivered_at IS NULL ORDER BY created_at, id`);
}

/** Ids of the messages whose next try is due (never tried, or their lease ran out). */
export async function selectDueOutbox(db: SqlExecutor, now: number): Promise<string[]> {
  const rows = await db.query<{ id: string }>(`SELECT id FROM ${db.table('outbox')} WHERE delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY created_at, id`, [now]);
  return rows.map((row) => row.id);
}

/**
 * Takes the message for one try if it is due: sets its next try to `leaseUntil` and counts the
 * try, in one conditional UPDATE — of two processes racing for it, one gets the row.
 */
export async function claimOutbox(db: SqlExecutor, id: string, now: number, leaseUntil: number): Promise<OutboxRow | undefined> {
  const taken = await db.execute(
    `UPDATE ${db.table('outbox')} SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ? AND delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)`,
    [leaseUntil, id, now],
  );
  if (taken === 0) return undefined;
  return (await db.query<OutboxRow>(`SELECT ${outboxColumns} FROM ${db.table('outbox')} WHERE id = ?`, [id]))[0];
}

/** Not taken: the next try is due at `at`. */
export async function deferOutbox(db: SqlExecutor, id: string, at: number): Promise<void> {
  await db.execute(`UPDATE ${db.table('outbox')} SET next_attempt_at = ? WHERE id = ?`, [at, id]);
}

/** The relay took it: the spool keeps no live token it no longer needs. */
export async function deleteOutboxMessage(db: SqlExecutor, id: string): Promise<void> {
  await db.execute(`DELETE FROM ${db.table('outbox')} WHERE id = ?`, [id]);
}

/** Deletes every message, or those created before `before`. */
export async function deleteOutbox(db: SqlExecutor, before?: number): Promise<number> {
  return before === undefined ? db.execute(`DELETE FROM ${db.table('outbox')}`) : db.execute(`DELETE FROM ${db.table('outbox')} WHERE created_at < ?`, [before]);
}

export interface PasskeyRow {
  readonly credential_id: string;
  readonly account_id: string;
  readonly public_key: Uint8Array;
  readonly sign_count: number | string;
  /** JSON array of the transports the authenticator named, or null. */
  readonly transports: string | null;
  readonly name: string;
  readonly created_at: number | string;
  readonly last_used_at: number | string | null;
}

const passkeyColumns = 'credential_id, account_id, public_key, sign_count, transports, name, created_at, last_used_at';

/** Stores a new passkey; false if that credential id is registered already (to anyone in the tenant). */
export async function insertPasskey(db: SqlExecutor, row: Omit<PasskeyRow, 'last_used_at'>): Promise<boolean> {
  const inserted = await db.execute(`INSERT INTO ${db.table('passkeys')} (${passkeyColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (credential_id) DO NOTHING`, [
    row.credential_id,
    row.account_id,
    row.public_key,
    row.sign_count,
    row.transports,
    row.name,
    row.created_at,
  ]);
  return inserted === 1;
}

export async function selectPasskeys(db: SqlExecutor, accountId: string): Promise<PasskeyRow[]> {
  return db.query<PasskeyRow>(`SELECT ${passkeyColumns} FROM ${db.table('passkeys')} WHERE account_id = ? ORDER BY created_at, credential_id`, [accountId]);
}

export async function selectPasskey(db: SqlExecutor, accountId: string, credentialId: string): Promise<PasskeyRow | undefined> {
  return (await db.query<PasskeyRow>(`SELECT ${passkeyColumns} FROM ${db.table('passkeys')} WHERE account_id = ? AND credential_id = ?`, [accountId, credentialId]))[0];
}

/**
 * Records a use with its signature counter, only if the counter went up — or stays 0 for an
 * authenticator that keeps none — so two concurrent uses of one counter value cannot both win.
 */
export async function usePasskey(db: SqlExecutor, accountId: string, credentialId: string, counter: number, at: number): Promise<boolean> {
  return (
    (await db.execute(`UPDATE ${db.table('passkeys')} SET sign_count = ?, last_used_at = ? WHERE account_id = ? AND credential_id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`, [
      counter,
      at,
      accountId,
      credentialId,
      counter,
      counter,
    ])) === 1
  );
}

export async function deletePasskey(db: SqlExecutor, accountId: string, credentialId: string): Promise<boolean> {
  return (await db.execute(`DELETE FROM ${db.table('passkeys')} WHERE account_id = ? AND credential_id = ?`, [accountId, credentialId])) === 1;
}

/**
 * Erases the accounts linked to a patient (`Patient/<id>`) and everything that hangs off them:
 * sessions, tokens, passkeys and outbox messages. Returns the erased account ids.
 */
export async function deleteAccountsOfPatient(db: SqlExecutor, patient: string): Promise<string[]> {
  const ids = (await db.query<{ id: string }>(`SELECT id FROM ${db.table('accounts')} WHERE patient = ?`, [patient])).map((r) => r.id);
  for (const id of ids) {
    for (const table of ['sessions', 'account_tokens', 'passkeys', 'outbox']) await db.execute(`DELETE FROM ${db.table(table)} WHERE account_id = ?`, [id]);
    await db.execute(`DELETE FROM ${db.table('accounts')} WHERE id = ?`, [id]);
  }
  return ids;
}

/** Removes every second factor of an account: its TOTP secret, recovery codes and passkeys. */
export async function deleteAllSecondFactors(db: SqlExecutor, id: string, at: number): Promise<number> {
  await clearSecondFactors(db, id, at);
  return db.execute(`DELETE FROM ${db.table('passkeys')} WHERE account_id = ?`, [id]);
}

/** Holds the account's row until the transaction ends (PostgreSQL; SQLite has one writer at a time anyway). */
export async function lockAccountRow(db: SqlExecutor, id: string): Promise<void> {
  if (db.dialect === 'postgres') await db.query(`SELECT id FROM ${db.table('accounts')} WHERE id = ? FOR UPDATE`, [id]);
}

/** Accounts per kind (`staff`, `patient`), without opening any: the counts records of processing show. */
export async function countAccountsByKind(db: SqlExecutor): Promise<Record<string, number>> {
  const rows = await db.query<{ kind: string; n: number | string }>(`SELECT kind, COUNT(*) AS n FROM ${db.table('accounts')} GROUP BY kind`);
  return Object.fromEntries(rows.map((r) => [r.kind, Number(r.n)]));
}

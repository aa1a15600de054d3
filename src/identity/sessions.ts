import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../platform/clock.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import type { Migration, Storage } from '../platform/db/index.js';
import { hashToken, randomToken } from '../platform/random-token.js';

/**
 * Sessions of people (OWASP ASVS 5 V7): one per login, an opaque 256-bit token from the CSPRNG
 * (V7.2.3; only its SHA-256 is stored), an idle timeout and an absolute one (V7.3.1, V7.3.2),
 * revocable one by one or all but the current one (V7.4.3, V7.4.5, V7.5.2), a new token on
 * re-authentication or a change of privilege (V7.2.4), and a CSRF token bound to the session
 * for every cookie-authenticated change (OWASP CSRF Prevention Cheat Sheet, synchronizer token,
 * derived by HMAC so nothing more is stored). Kept in the tenant's data set.
 */
const table = (t: (name: string) => string, blob: string) => [
  `CREATE TABLE ${t('sessions')} (id TEXT PRIMARY KEY, token_hash ${blob} NOT NULL UNIQUE, account_id TEXT NOT NULL, second_factor INTEGER NOT NULL, source_ip TEXT NOT NULL, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT)`,
  `CREATE INDEX sessions_account ON ${t('sessions')} (account_id)`,
];

/** Applied to every tenant data set. */
export const sessionMigrations: readonly Migration[] = [{ id: 'identity/102-sessions', up: { sqlite: (t) => table(t, 'BLOB'), postgres: (t) => table(t, 'BYTEA') } }];

export interface SessionPolicy {
  /** Ends after this long without a request (default 15 min). */
  readonly idleMinutes: number;
  /** Ends this long after login whatever happens (default 12 h). */
  readonly absoluteHours: number;
}

export const sessionDefaults: SessionPolicy = { idleMinutes: 15, absoluteHours: 12 };

export interface SessionInfo {
  readonly id: string;
  readonly accountId: string;
  /** Whether the login that made it passed a second factor. */
  readonly secondFactor: boolean;
  readonly sourceIp: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
}

export interface Sessions {
  start(tenantId: string, accountId: string, context: { readonly secondFactor: boolean; readonly sourceIp: string }): Promise<{ readonly token: string; readonly session: SessionInfo }>;
  /** The live session a token belongs to (and it counts as activity), or undefined. */
  resolve(tenantId: string, token: string): Promise<SessionInfo | undefined>;
  list(tenantId: string, accountId: string): Promise<SessionInfo[]>;
  revoke(tenantId: string, sessionId: string): Promise<boolean>;
  /** Every live session of the account but `except` (a password change keeps the session it was made in). */
  revokeAll(tenantId: string, accountId: string, except?: string): Promise<number>;
  /** Records that this session's owner has now passed a second factor (after enrolling one). */
  markSecondFactor(tenantId: string, sessionId: string): Promise<void>;
  /** A fresh token for the same session; the old one stops working at once. */
  rotate(tenantId: string, token: string): Promise<string | undefined>;
  /** The CSRF token of a session: an HMAC of its token, so nothing more is stored. */
  csrfToken(token: string): string;
  checkCsrf(token: string, presented: string | undefined): boolean;
}

interface Row {
  readonly id: string;
  readonly account_id: string;
  readonly second_factor: number | string;
  readonly source_ip: string;
  readonly created_at: number | string;
  readonly last_seen_at: number | string;
  readonly expires_at: number | string;
}

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();
// Activity is written at most this often per session: enough precision for a 15-minute timeout.
const touchEveryMs = 30_000;

/**
 * A session token names its tenant before the secret (`<tenant>.<256 random bits>`): a session
 * presented at another tenant can then be checked at its home and the attempt recorded there
 * (authenticate.ts), with one lookup instead of one per tenant. The name is only a hint; the
 * secret decides.
 */
const newToken = (tenantId: string): string => `${tenantId}.${randomToken()}`;

export function createSessions({ storage, clock, policy = sessionDefaults }: { storage: Storage; clock: Clock; policy?: SessionPolicy }): Sessions {
  const idleMs = policy.idleMinutes * 60_000;
  const columns = 'id, account_id, second_factor, source_ip, created_at, last_seen_at, expires_at';
  const toInfo = (row: Row): SessionInfo => ({
    id: row.id,
    accountId: row.account_id,
    secondFactor: Number(row.second_factor) === 1,
    sourceIp: row.source_ip,
    createdAt: iso(row.created_at),
    lastSeenAt: iso(row.last_seen_at),
    // The earlier of the two ends.
    expiresAt: iso(Math.min(Number(row.expires_at), Number(row.last_seen_at) + idleMs)),
  });
  const live = (row: Row, now: number) => Number(row.expires_at) > now && Number(row.last_seen_at) + idleMs > now;
  const csrfToken = (token: string) => createHmac('sha256', hashToken(token)).update('tresor-csrf').digest('base64url');

  return {
    async start(tenantId, accountId, { secondFactor, sourceIp }) {
      const db = await storage.tenant(tenantId);
      const token = newToken(tenantId);
      const now = clock.now().getTime();
      const row: Row = { id: `ses_${randomBytes(8).toString('hex')}`, account_id: accountId, second_factor: secondFactor ? 1 : 0, source_ip: sourceIp, created_at: now, last_seen_at: now, expires_at: now + policy.absoluteHours * 3_600_000 };
      await db.execute(`INSERT INTO ${db.table('sessions')} (${columns}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [
        row.id,
        row.account_id,
        row.second_factor,
        row.source_ip,
        row.created_at,
        row.last_seen_at,
        row.expires_at,
        hashToken(token),
      ]);
      return { token, session: toInfo(row) };
    },
    async resolve(tenantId, token) {
      const db = await storage.tenant(tenantId);
      const row = (await db.query<Row>(`SELECT ${columns} FROM ${db.table('sessions')} WHERE token_hash = ? AND revoked_at IS NULL`, [hashToken(token)]))[0];
      const now = clock.now().getTime();
      if (row === undefined || !live(row, now)) return undefined;
      if (now - Number(row.last_seen_at) >= touchEveryMs) {
        await db.execute(`UPDATE ${db.table('sessions')} SET last_seen_at = ? WHERE id = ?`, [now, row.id]);
        return toInfo({ ...row, last_seen_at: now });
      }
      return toInfo(row);
    },
    async list(tenantId, accountId) {
      const db = await storage.tenant(tenantId);
      const now = clock.now().getTime();
      const rows = await db.query<Row>(`SELECT ${columns} FROM ${db.table('sessions')} WHERE account_id = ? AND revoked_at IS NULL ORDER BY created_at DESC`, [accountId]);
      return rows.filter((row) => live(row, now)).map(toInfo);
    },
    async revoke(tenantId, sessionId) {
      const db = await storage.tenant(tenantId);
      return (await db.execute(`UPDATE ${db.table('sessions')} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, [clock.now().getTime(), sessionId])) === 1;
    },
    async revokeAll(tenantId, accountId, except) {
      const db = await storage.tenant(tenantId);
      return db.execute(`UPDATE ${db.table('sessions')} SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL AND id <> ?`, [clock.now().getTime(), accountId, except ?? '']);
    },
    async markSecondFactor(tenantId, sessionId) {
      const db = await storage.tenant(tenantId);
      await db.execute(`UPDATE ${db.table('sessions')} SET second_factor = 1 WHERE id = ?`, [sessionId]);
    },
    async rotate(tenantId, token) {
      const db = await storage.tenant(tenantId);
      const fresh = newToken(tenantId);
      const now = clock.now().getTime();
      const changed = await db.execute(`UPDATE ${db.table('sessions')} SET token_hash = ?, last_seen_at = ? WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ? AND last_seen_at > ?`, [
        hashToken(fresh),
        now,
        hashToken(token),
        now,
        now - idleMs,
      ]);
      return changed === 1 ? fresh : undefined;
    },
    csrfToken,
    checkCsrf: (token, presented) => presented !== undefined && constantTimeEqual(Buffer.from(csrfToken(token)), Buffer.from(presented)),
  };
}

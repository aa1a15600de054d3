import type { Clock } from '../platform/clock.js';
import type { Migration, Storage } from '../platform/db/index.js';

/**
 * What a person approved for an app: one row per oidc-provider Grant, with the SMART launch
 * context (the patient the app works with) that the Grant itself has no place for. The
 * person's "connected apps" list is these rows; revoking one ends the Grant and every token of it.
 */
export interface Consent {
  readonly grantId: string;
  readonly accountId: string;
  readonly clientId: string;
  /** `Patient/<id>`: the patient context of patient/ scopes and `launch/patient`. */
  readonly patient?: string;
  readonly scope: string;
  readonly grantedAt: string;
  readonly revokedAt?: string;
}

export interface Consents {
  record(tenantId: string, consent: { grantId: string; accountId: string; clientId: string; patient?: string; scope: string }): Promise<void>;
  get(tenantId: string, grantId: string): Promise<Consent | undefined>;
  /** A person's live consents, newest first. */
  listOf(tenantId: string, accountId: string): Promise<Consent[]>;
  markRevoked(tenantId: string, grantId: string): Promise<boolean>;
  /** Removes every row of an erased person's accounts or patient (GDPR Art. 17), after their grants were withdrawn; how many. */
  eraseOf(tenantId: string, accountIds: readonly string[], patient: string): Promise<number>;
}

const consentsTable = (t: (name: string) => string) => [
  `CREATE TABLE ${t('oauth_consents')} (grant_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, client_id TEXT NOT NULL, patient TEXT, scope TEXT NOT NULL, granted_at BIGINT NOT NULL, revoked_at BIGINT)`,
  `CREATE INDEX oauth_consents_account ON ${t('oauth_consents')} (account_id, granted_at)`,
];

export const oauthConsentMigrations: readonly Migration[] = [{ id: 'oauth/003-consents', up: { sqlite: consentsTable, postgres: consentsTable } }];

interface ConsentRow {
  grant_id: string;
  account_id: string;
  client_id: string;
  patient: string | null;
  scope: string;
  granted_at: number | string;
  revoked_at: number | string | null;
}

const toConsent = (row: ConsentRow): Consent => ({
  grantId: row.grant_id,
  accountId: row.account_id,
  clientId: row.client_id,
  ...(row.patient === null ? {} : { patient: row.patient }),
  scope: row.scope,
  grantedAt: new Date(Number(row.granted_at)).toISOString(),
  ...(row.revoked_at === null ? {} : { revokedAt: new Date(Number(row.revoked_at)).toISOString() }),
});

export function createConsents({ storage, clock }: { storage: Storage; clock: Clock }): Consents {
  return {
    async record(tenantId, c) {
      const db = await storage.tenant(tenantId);
      // A renewed consent reuses its Grant: the row follows it.
      await db.execute(
        `INSERT INTO ${db.table('oauth_consents')} (grant_id, account_id, client_id, patient, scope, granted_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
         ON CONFLICT (grant_id) DO UPDATE SET patient = excluded.patient, scope = excluded.scope, granted_at = excluded.granted_at, revoked_at = NULL`,
        [c.grantId, c.accountId, c.clientId, c.patient ?? null, c.scope, clock.now().getTime()],
      );
    },
    async get(tenantId, grantId) {
      const db = await storage.tenant(tenantId);
      const row = (await db.query<ConsentRow>(`SELECT * FROM ${db.table('oauth_consents')} WHERE grant_id = ?`, [grantId]))[0];
      return row === undefined ? undefined : toConsent(row);
    },
    async listOf(tenantId, accountId) {
      const db = await storage.tenant(tenantId);
      return (await db.query<ConsentRow>(`SELECT * FROM ${db.table('oauth_consents')} WHERE account_id = ? AND revoked_at IS NULL ORDER BY granted_at DESC`, [accountId])).map(toConsent);
    },
    async eraseOf(tenantId, accountIds, patient) {
      const db = await storage.tenant(tenantId);
      const marks = accountIds.map(() => '?').join(', ');
      return db.execute(`DELETE FROM ${db.table('oauth_consents')} WHERE patient = ?${accountIds.length === 0 ? '' : ` OR account_id IN (${marks})`}`, [patient, ...accountIds]);
    },
    async markRevoked(tenantId, grantId) {
      const db = await storage.tenant(tenantId);
      return (await db.execute(`UPDATE ${db.table('oauth_consents')} SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL`, [clock.now().getTime(), grantId])) === 1;
    },
  };
}

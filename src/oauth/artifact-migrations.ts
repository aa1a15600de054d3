import type { Migration } from '../platform/db/index.js';

/**
 * One table for every oidc-provider artifact (tokens, codes, sessions, interactions, grants…) of a
 * tenant, keyed by model and id; see adapter.ts for what the columns hold and why bearer ids are
 * stored hashed. The lookups oidc-provider makes besides the key get an index each: all of a
 * grant's tokens (revocation), a session by its uid; the expiry index serves the sweep. The
 * device flow's user-code lookup has none: that flow is not enabled, and its rows are few.
 * `client_id` lets the FHIR API check a token's app in the same query that finds the token.
 * BIGINT columns are milliseconds since the epoch, as elsewhere in Tresor.
 */
const artifacts = (t: (name: string) => string) => [
  `CREATE TABLE ${t('oauth_artifacts')} (model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, client_id TEXT, uid TEXT, user_code TEXT, expires_at BIGINT, consumed_at BIGINT, PRIMARY KEY (model, id))`,
  `CREATE INDEX oauth_artifacts_grant ON ${t('oauth_artifacts')} (model, grant_id)`,
  `CREATE INDEX oauth_artifacts_uid ON ${t('oauth_artifacts')} (model, uid)`,
  `CREATE INDEX oauth_artifacts_expiry ON ${t('oauth_artifacts')} (expires_at)`,
];

/** A tenant data-set chain: every tenant's OAuth artifacts live in that tenant's own data set (SPEC D1). */
export const oauthArtifactMigrations: readonly Migration[] = [{ id: 'oauth/001-artifacts', up: { sqlite: artifacts, postgres: artifacts } }];

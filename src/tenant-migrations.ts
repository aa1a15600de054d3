import { auditMigrations } from './audit/migrations.js';
import { escalationMigrations } from './detection/escalation-migrations.js';
import { detectionMigrations } from './detection/store.js';
import { webhookMigrations } from './detection/webhook-migrations.js';
import { accountAdminMigrations, accountMigrations } from './identity/account-store.js';
import { sessionMigrations } from './identity/sessions.js';
import { oauthArtifactMigrations } from './oauth/artifact-migrations.js';
import { oauthClientMigrations } from './oauth/clients.js';
import { oauthConsentMigrations } from './oauth/consents.js';
import type { Migration } from './platform/db/index.js';
import { erasureMigrations } from './privacy/erasure-migrations.js';
import { recordsMigrations } from './records/migrations.js';
import { requestMigrations } from './privacy/requests-migrations.js';
import { privacyExportMigrations } from './privacy/exports-migrations.js';
import { consentMigrations } from './privacy/consent-migrations.js';
import { restrictionMigrations } from './privacy/restriction-migrations.js';

/**
 * Every tenant data set's migrations, in order — in a module of its own so that a thread that
 * only opens tenants' data sets (the detection worker) gets them without loading the whole app.
 */
export const tenantMigrations: readonly Migration[] = [
  ...recordsMigrations,
  ...auditMigrations,
  ...accountMigrations,
  ...sessionMigrations,
  ...accountAdminMigrations,
  ...oauthArtifactMigrations,
  ...oauthClientMigrations,
  ...oauthConsentMigrations,
  ...detectionMigrations,
  ...escalationMigrations,
  ...webhookMigrations,
  ...requestMigrations,
  ...erasureMigrations,
  ...privacyExportMigrations,
  ...consentMigrations,
  ...restrictionMigrations,
];

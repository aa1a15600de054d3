import type { Migration } from './platform/db/index.js';
import { identityMigrations } from './identity/migrations.js';
import { backupOutcomeMigrations } from './backup/outcomes.js';
import { tenantsMigrations } from './tenants/migrations.js';
import { escalatedMigrations } from './detection/escalated-migrations.js';
import { incidentMigrations } from './incidents/migrations.js';
import { statusMigrations } from './status/migrations.js';
import { assessmentMigrations } from './notification/assessment-migrations.js';
import { noticeDraftMigrations } from './notification/drafts-migrations.js';

/**
 * The platform data set's migrations, in order: tenants, the platform's identity tables (API
 * keys, operators, login throttling), backup outcomes, the tenant alerts escalated to the operators, incidents, the public status page, breach notification assessments, drafts of breach notices. Beside app.ts rather than in it, and taken
 * from the files that define them rather than through the modules' front doors: `tresor tenant
 * list` opens this data set alone, and the front doors would load every module's routes and
 * pages first (docs/performance.md, "Command start-up"). Those files hold SQL text only.
 */
export const platformMigrations: readonly Migration[] = [...tenantsMigrations, ...identityMigrations, ...backupOutcomeMigrations, ...escalatedMigrations, ...incidentMigrations, ...statusMigrations, ...assessmentMigrations, ...noticeDraftMigrations];

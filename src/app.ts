import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { ConfigError, homeRegion, type Config, type RegionPaths } from './config/index.js';
import { createAudit, jsonLinesSink, operatorEvent, syslogSink, syslogTransport, type Actor, type Audit, type AuditSink } from './audit/index.js';
import { argon2Minimum, authRoutes, countAccountsByKind, createAccounts, createAuthenticator, createCredentialThrottle, operatorRealm, createApiKeys, createLoginThrottle, createPasswordHasher, createSessions, type Accounts, type ApiKeys, type PasswordHasher, type Sessions } from './identity/index.js';
import { adminRoutes, createAccountAdministration, createMailNotifier, createOutboxNotifier, createPasswordResets, type MailDelivery, type Notifier, type Outbox, type PasswordResets, type Spool } from './identity/index.js';
import { createPasskeys, operatorRoutes, passkeyRoutes, platformRealm, sweepIdentityPeriodically, type Passkeys, type TenantMover } from './identity/index.js';
import { systemClock, type Clock } from './platform/clock.js';
import { sqliteDefaults, tenantSetDefaults, type RegionStorage, type SqlExecutor, type SqliteOptions, type Storage, type StorageConfig, type StorageMigrations } from './platform/db/index.js';
import { AppError, describeErrorForLog } from './platform/errors.js';
import { constantTimeEqual } from './platform/constant-time-equal.js';
import { hashToken } from './platform/random-token.js';
import {
  answerPlainHttp,
  fromFrameworkError,
  HttpError,
  hstsHeader,
  loadOrCreateCertificate,
  createReadiness,
  registerHttpMetrics,
  registerRequestLog,
  registerSecurityHeaders,
  sendProblem,
  tlsServerOptions,
  type TlsMaterial,
  watchConnections,
} from './platform/http/index.js';
import { auditApiRoutes, operationOutcome, createBundleProcessor, createRecordAccess, createFhirValidator, createRecords, createResealer, fhirRoutes, openSealedSamples, type FieldSealer, type Records } from './records/index.js';
import { createRotation, registerRotationMetrics, rotationMigrations, type Rotation, type RotationEvent, type RotationOptions } from './rotation/index.js';
import { createKeys, findUnreadableKeys, keysMigrations, type KeyProvider, type Keys } from './keys/index.js';
import { createTenants, type Tenants } from './tenants/index.js';
import { moveTenant, MoveRefused, openRegions, regionReport, regionRoutes, regionStorageConfig, type MoveTenantDeps, type RegionalStorage, type Residency } from './regions/index.js';
import { localeOf, messagePage, sendPage, type Texts } from './platform/pages/index.js';
import { periodic } from './platform/periodic.js';
import { createPatientEverything, createSubjectExports, exportRoutes, type SubjectExports } from './privacy/index.js';
import { walkTenants } from './platform/walk-tenants.js';
import { registerReplicationMetrics } from './ha/metrics.js';
import { connectedApps, createAppRegister, createAppTokens, createClients, sweepArtifacts, createConsents, createOAuthServer, oauthRoutes, type Clients, type Consents, type OAuthServer } from './oauth/index.js';
import { version } from './version.js';
import { platformMigrations } from './platform-migrations.js';
import { tenantMigrations } from './tenant-migrations.js';
import { createConsentPolicies, createConsentWriter, createRestrictions, restrictionRoutes } from './privacy/index.js';
import { BackupError, backupKeySource, createBackupOutcomes, createBackups, createRegionBackups, createPhysicalBackups, loadBackupKey, pgDataSetsOf, physicalRound, type Backups, type DataSetRef, type PhysicalBackups, type RegionBackups } from './backup/index.js';
import { backupRoutes } from './backup/routes.js';
import { breachRoutes, createBreachScopes, type BreachScopes } from './breach/index.js';
import { registerBackupMetrics, scheduleBackups, type ScheduleTiming } from './backup/schedule.js';
import { consolePages } from './console/index.js';
import { createPrivacyRequests, createRectifications, downloadFulfilment, downloadSettlement, erasureFulfilment, exportFilesSealed, privacyRequestRoutes, requestTextsSealed, restrictionFulfilment, type PrivacyRequests } from './privacy/index.js';
import { createErasures, createHolds, createRetention, createRetentionSettings, erasureRoutes, retentionJobActor, type Erasures, type Holds, type Retention, type RetentionSettings } from './privacy/index.js';
import { assessmentRoutes, createAffectedPeople, createAssessments, createIncidentDrill, createNoticeDrafts, drillReportFileOf, drillSlots, testServerNotifier, injectedDrillApi, noticeDraftRoutes, readLastDrills, registerIncidentDrillMetrics, type AffectedPeople, type Assessments, type IncidentDrill, type NoticeDrafts } from './notification/index.js';
import { createFrozenScopes, createIncidents, incidentRoutes, incidentScopeRoutes, type FrozenScopes, type Incidents } from './incidents/index.js';
import { alertRoutes, createAlertDelivery, createAlerts, createEscalatedAlerts, escalatedRoutes, createEngine, createEngineThread, createEscalation, createWebhookSend, registerDeliveryMetrics, webhookRoutes, type AlertDelivery, fimChanged, platformReader, registerDetectionMetrics, ruleConfigs, rules as detectionRules, runProbes, selectEndpoints, type Alerts, type Engine, type Escalation } from './detection/index.js';
import { startServerFimChecks } from './fim/index.js';
import { readReplicationState } from './ha/metrics.js';
import { neverLeader, postgresLeadership, singleNode } from './platform/leadership.js';
import type { WorkerRole } from './platform/workers/index.js';
import { componentChecks, createHealthReader, createStatus, createStatusStore, statusRoutes, type StatusService } from './status/index.js';
import { createRopa, implicitRegions, legalBasis, postgresPlace, repositoryPlace, retentionClasses, ropaRoutes, type Ropa, type RopaDeps } from './privacy/index.js';

export interface AppOverrides {
  readonly clock?: Clock;
  /** A KMS-backed master key provider; default: the local key ring (file or TRESOR_MASTER_KEY). */
  readonly keyProvider?: KeyProvider;
  /** The benchmark's plaintext path (bench/plaintext-sealer.ts); never set in production. */
  readonly fieldSealer?: FieldSealer;
  /** Where JSON log lines go (tests capture them); default stdout. */
  readonly logDestination?: NodeJS.WritableStream;
  /** SQLite engine options beyond the configuration: the bench's A/B of where a commit waits for the disk, tests' held flush. */
  readonly sqlite?: Partial<SqliteOptions>;
  /** The benchmark's audit-off baseline (bench/no-audit.ts); never set in production, no config selects it. */
  readonly audit?: Audit;
  /** Where rotation events go; buildApp logs them. */
  readonly rotationReport?: (event: RotationEvent) => void;
  /** Tests shorten the rotation's settling time. */
  readonly rotationOptions?: Partial<RotationOptions>;
  /** How often the server looks for rotation jobs whose runner died; default 10 s. */
  readonly rotationCheckMs?: number;
  /** How messages reach people (password reset, invitation): a mail relay; default the outbox (notifier.ts). */
  readonly notifier?: Notifier;
  /** Tests run the backup schedule in milliseconds; default from backup.everyMinutes and backup.drillEveryHours. */
  readonly backupSchedule?: ScheduleTiming;
  /** This process is one of several server processes (`server.processes` > 1, platform/workers). */
  readonly worker?: WorkerRole;
  /** The configuration file the server was started with (`--config` / TRESOR_CONFIG): file integrity monitoring watches it. */
  readonly configFile?: string;
  /** Tests run the file integrity checks in milliseconds; default a minute after the start, then every fim.checkMinutes. */
  readonly fimSchedule?: { readonly firstAfterMs: number; readonly everyMs: number };
  /** Tests look for a due notification drill in milliseconds; default ten minutes after the start, then hourly. */
  readonly incidentDrillSchedule?: { readonly firstAfterMs: number; readonly checkEveryMs: number };
}

/**
 * A per-process limit that is a security control, as this process's share of it: with several
 * server processes the budget an attacker gets stays the configured one, not one per process.
 * 0 (no limit) stays 0; a share is never below 1.
 */
export function perProcessShare(limit: number, processes: number): number {
  return limit === 0 ? 0 : Math.max(1, Math.floor(limit / processes));
}

export interface Tresor extends Core {
  readonly http: FastifyInstance;
  readonly logger: Logger;
  readonly tls: TlsMaterial | undefined;
  /** Password reset requests, finished off the request path (notifier.ts). */
  readonly passwordResets: PasswordResets;
  /** The detection engine over every realm's audit trail; undefined with `detection.enabled` off. */
  readonly detection: Engine | undefined;
  /** Alert delivery by signed webhooks and to the SIEM's syslog (detection/webhooks.ts). */
  readonly alertDelivery: AlertDelivery;
  /** The platform probe (backups, replication, certificate, disks); `round()` runs one now. */
  readonly probes: { round(): Promise<void> } | undefined;
  /** Alerts mailed along the escalation path (detection/escalation.ts); undefined with `detection.enabled` off. */
  readonly escalation: Escalation | undefined;
  /** Incidents of the platform and of tenants (incidents/): the API's and the console's service. */
  readonly incidents: Incidents;
  /** Breach scopes from the audit trails (breach/breach.ts), as `POST /platform/breach-scope` computes them. */
  readonly breachScopes: BreachScopes;
  /** The public status page (status/): `publishIncidentUpdate` is how incidents reach it. */
  readonly status: StatusService;
  /** Breach scopes frozen into incidents (incidents/frozen-scopes.ts). */
  readonly incidentScopes: FrozenScopes;
  /** The patients of a scope with how to reach them, read from their records when asked (notification/people.ts). */
  readonly affectedPeople: AffectedPeople;
  /** The notification drill on synthetic tenants through this server's routes in process (notification/drill.ts). */
  readonly incidentDrill: IncidentDrill;
  /** The breach notification checklist of incidents, and its deadline job (notification/assessments.ts). */
  readonly assessments: Assessments;
  /** Drafts of breach notices, their approval and delivery (notification/drafts.ts). */
  readonly noticeDrafts: NoticeDrafts;
  /** Patients' personal downloads (privacy/exports.ts). */
  readonly subjectExports: SubjectExports;
  close(): Promise<void>;
}

const fhirPath = /^\/tenants\/[^/?]+\/fhir(\/|\?|$)/;
// The tenant of a tenant path (page and API alike), as the router will read it.
const tenantOfPath = /^\/tenants\/([a-z0-9-]{1,40})(?:[/?]|$)/;

const unavailableText: Texts<'title'> = { en: { title: 'Back in a moment' }, de: { title: 'Gleich wieder da' } };

/**
 * A 503 before routing (the tenant is being moved), in the shape of the surface the path belongs
 * to: a FHIR OperationOutcome under /fhir, a page for a browser, problem+json otherwise — with
 * its Retry-After. Sent from the hook itself: the routes' own error handlers may write to the
 * tenant's audit trail, which is being copied.
 */
function sendUnavailable(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  if (fhirPath.test(request.url)) return reply.status(error.status).type('application/fhir+json').send(JSON.stringify(operationOutcome(error.status, error.code, error.message)));
  if (request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) {
    const locale = localeOf(request);
    return sendPage(reply, messagePage(request, unavailableText[locale].title, locale === 'de' ? 'Die Daten dieses Mandanten ziehen gerade in eine andere Region um. Bitte versuchen Sie es in wenigen Sekunden noch einmal.' : error.message), error.status);
  }
  return sendProblem(reply, error);
}

export interface Core {
  readonly storage: Storage;
  /** The regions, and which holds each tenant (regions/): where a tenant's files belong. */
  readonly residency: Residency;
  readonly keys: Keys;
  readonly records: Records;
  readonly tenants: Tenants;
  readonly apiKeys: ApiKeys;
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  /** WebAuthn passkeys as a second factor (the relying party from `identity.webauthn`). */
  readonly passkeys: Passkeys;
  /** argon2id for people's passwords, shared by every sign-in path (its work counter is what tests compare). */
  readonly passwords: PasswordHasher;
  readonly rotation: Rotation;
  readonly keyProvider: KeyProvider;
  readonly audit: Audit;
  /** Messages to people: `overrides.notifier`, else the outbox. */
  readonly notifier: Notifier;
  /** The built-in notifier's store (`tresor outbox`); with a mail relay, the messages waiting for it. */
  readonly outbox: Outbox;
  /** Delivery through the SMTP relay (`mail.smtp.host`): retries, and `close()` before the storage closes. */
  readonly mail: MailDelivery | undefined;
  /** Every audit trail: each tenant's, and the platform operators' (realm.ts). */
  auditRealms(): Promise<string[]>;
  /** Third-party apps registered by each tenant (OAuth clients). */
  readonly clients: Clients;
  /** What people approved for those apps (connected apps). */
  readonly consents: Consents;
  /** Each tenant's authorization server (oauth/provider.ts). */
  readonly oauth: OAuthServer;
  /** The home region's encrypted backups: snapshots, retention, verify and drills, restores (backup/service.ts). */
  readonly backups: Backups;
  /** Every region's backups, each into its own repository (backup/region-backups.ts); `home` is `backups`. */
  readonly regionBackups: RegionBackups;
  /** PostgreSQL's physical backups with pgBackRest, when backup.physical.configFile is set (backup/physical.ts). */
  readonly physical: PhysicalBackups | undefined;
  /** Alerts of every realm: stored, listed, acknowledged, resolved (detection/alerts.ts). */
  readonly alerts: Alerts;
  /** Data subjects' requests (privacy/requests.ts), each type completed by the service that fulfils it. */
  readonly privacyRequests: PrivacyRequests;
  /** Erasure of a patient (GDPR Art. 17) with its checks and records (privacy/erasure.ts). */
  readonly erasures: Erasures;
  /** Legal holds that stop erasure (privacy/holds.ts). */
  readonly holds: Holds;
  /** Each tenant's retention periods and medical-records duty (privacy/retention-settings.ts). */
  readonly retentionSettings: RetentionSettings;
  /** Retention by class: preview, run, reports (privacy/retention.ts). */
  readonly retention: Retention;
}

/**
 * The services without HTTP: what the admin CLI needs, and what the server builds on. (The
 * FHIR validator compiles lazily, so building records costs admin commands nothing.)
 */
/** Every data set's migrations, in order (also what a restored PostgreSQL snapshot is upgraded with). */
export const storageMigrations: StorageMigrations = {
  platform: platformMigrations,
  keys: [...keysMigrations, ...rotationMigrations],
  tenant: tenantMigrations,
};

/** Where the data sets are, from the configuration (and the tests' SQLite options). */
export function storageConfigOf(config: Config, sqlite: Partial<SqliteOptions> = {}): StorageConfig {
  // The open set of tenant data sets is bounded (storage.ts): descriptors and memory follow it, not the tenant count.
  const tenants = { ...tenantSetDefaults, maxOpen: config.storage.maxOpenTenants };
  return config.storage.engine === 'sqlite'
    ? { engine: 'sqlite', dataDir: config.dataDir, sqlite: { ...sqliteDefaults, ...config.storage.sqlite, ...sqlite }, tenants }
    : { engine: 'postgres', postgres: { ...config.storage.postgres, url: config.storage.postgres.url as string }, tenants };
}

/**
 * The detection worker's storage: the server's settings as data (a test's flush hook stays on this
 * thread), a smaller open set — the realms with new events, not every tenant in use — and on
 * PostgreSQL a pool of two connections (one evaluation at a time per realm, few realms at once).
 */
function workerStorageConfig(config: Config, sqlite: Partial<SqliteOptions> = {}): StorageConfig {
  const { beforeWalSync: _heldHere, ...data } = sqlite;
  const base = storageConfigOf(config, data);
  const tenants = { ...tenantSetDefaults, maxOpen: Math.min(64, config.storage.maxOpenTenants) };
  return base.engine === 'sqlite' ? { ...base, tenants } : { ...base, postgres: { ...base.postgres, poolSize: 2 }, tenants };
}

export async function buildCore(config: Config, overrides: Pick<AppOverrides, 'clock' | 'sqlite' | 'keyProvider' | 'fieldSealer' | 'rotationReport' | 'rotationOptions' | 'audit' | 'notifier' | 'worker'> & { readonly log?: Logger } = {}): Promise<Core> {
  const clock = overrides.clock ?? systemClock;
  // Every region's storage and key store (one region without `regions`: as before regions). The
  // master keys first: a missing or unsafe key refuses the start before anything is opened.
  const { storage, keys, provider, providers, byRegion, residency } = await openRegions({
    config,
    storageConfig: storageConfigOf(config, overrides.sqlite),
    migrations: storageMigrations,
    clock,
    ...(overrides.keyProvider === undefined ? {} : { homeProvider: overrides.keyProvider }),
  });
  // How each region is shown to people (tenant forms, the backups page): its configured label.
  const regionLabels = new Map(residency.regions.map((r) => [r.name, r.label]));
  const tenants = createTenants({ storage, clock, regions: { names: residency.regions.map((r) => r.name), default: residency.defaultRegion, labels: Object.fromEntries(regionLabels) } });
  // The platform operators' own data set: their accounts, sessions and audit trail.
  await storage.tenant(operatorRealm, { create: true });
  const checkpoints = {
    dir: config.audit.checkpointDir ?? join(config.dataDir, 'audit-checkpoints'),
    ...(residency.regional ? { dirOf: residency.checkpointDirOf } : {}),
    everyEvents: config.audit.checkpointEveryEvents,
    everySeconds: config.audit.checkpointSeconds,
  };
  const audit = overrides.audit ?? createAudit({ storage, keys, clock, checkpoints, retentionDays: config.audit.retentionDays });
  // A tenant's key rotation starting and finishing are events of that tenant's audit trail.
  const rotationReport = async (event: RotationEvent) => {
    const { job } = event;
    if (job.scope === 'tenant' && job.tenantId !== undefined && (event.event === 'rotation.started' || event.event === 'rotation.finished')) {
      const detail = event.event === 'rotation.started' ? `generation ${job.generation} current` : `generation ${job.generation} done; retired ${job.retired ?? 'nothing'}; ${job.rowsFailed} rows failed`;
      await audit.record(job.tenantId, [operatorEvent('key.rotated', { id: 'system:key-rotation', role: 'system', client: 'tresor' }, { detail, outcome: job.rowsFailed > 0 ? 'failure' : 'success' })]);
    }
    overrides.rotationReport?.(event);
  };
  // argon2 on at most all but one core, so sign-ins cannot take the whole machine — shared
  // between the server processes (each runs its own queue).
  const processes = overrides.worker?.count ?? 1;
  const passwords = createPasswordHasher({ ...argon2Minimum, concurrency: perProcessShare(Math.max(1, availableParallelism() - 1), processes), maxQueued: perProcessShare(256, processes) });
  const outbox = createOutboxNotifier({ storage, keys, clock });
  const mail = overrides.notifier === undefined ? await mailDeliveryOf(config, outbox, clock, overrides.log) : undefined;
  const passkeys = createPasskeys({ storage, clock, audit, relyingParty: config.identity.webauthn });
  const accounts = createAccounts({ storage, keys, clock, audit, hasher: passwords, throttle: createLoginThrottle({ db: storage.platform, clock }), passkeys });
  const clients = createClients({ storage, clock, development: config.mode === 'development' });
  const consents = createConsents({ storage, clock });
  const oauth = createOAuthServer({
    storage,
    keys,
    clock,
    audit,
    accounts,
    clients,
    consents,
    settings: {
      baseUrl: publicBaseUrl(config),
      ...config.oauth,
      sessionMinutes: config.identity.sessionIdleMinutes,
      proxy: config.server.trustProxy,
      baseUrlConfigured: config.server.publicUrl !== undefined,
      loopbackAudiences: config.mode === 'development' && config.server.publicUrl === undefined,
    },
  });
  // A tenant whose data set the open set closed leaves memory with it: its unwrapped keys and its
  // authorization server (which holds its signing keys). Nothing uses them while it is closed.
  storage.onTenantClosed((tenantId) => {
    keys.forgetTenant(tenantId);
    oauth.forgetTenant(tenantId);
  });
  const records = createRecords({ validator: createFhirValidator(), keys, clock, limits: config.fhir, ...(overrides.fieldSealer === undefined ? {} : { sealer: overrides.fieldSealer }) });
  const auditRealms = async () => [...(await tenants.list()).map((t) => t.id), operatorRealm];
  // Erasures a restore predates, applied again: records marked erased, the patients' accounts removed.
  const reerase = async (tenantId: string, subjects: readonly string[], actor: Actor) => {
    const db = await storage.tenant(tenantId);
    for (const subject of subjects) {
      await records.erase({ tenantId, db }, subject);
      if (subject.startsWith('Patient/')) await accounts.eraseOfPatient({ tenantId, patient: subject, by: actor });
    }
    // The restored data set predates their erasure records: each gets one again (source `restore`).
    await erasures.reapplied(tenantId, subjects, actor);
  };
  /**
   * One `Backups` per region (docs/residency.md "Backups"): the home region's takes the platform
   * data set, the home key store and the home region's tenants; each other region's takes its key
   * store and its tenants into its own repository, with its own key, tombstone list, drills and
   * outcomes — so no region's data, nor its erasures, land in another region's repository.
   */
  const regionBackupsOf = (region: RegionPaths): Backups => {
    const home = region.name === homeRegion;
    const own = byRegion.get(region.name);
    const regionProvider = providers.get(region.name) ?? provider;
    if (own === undefined) throw new TypeError(`no storage for region ${region.name}`);
    return createBackups({
      // Another region: its repository and key (never the home region's, nor the environment's),
      // and no scratch directory outside the region (a snapshot's copies of files wait there).
      settings: home ? config.backup : { ...config.backup, repository: region.backup.repository, key: region.backup.key, keyFile: region.backup.keyFile, scratchDir: undefined },
      dataDir: region.dataDir,
      storage: own.storage,
      ...(home ? {} : { region: region.name }),
      migrations: storageMigrations,
      dataSets: async () => {
        const here = (await auditRealms()).filter((id) => residency.regionOf(id) === region.name);
        return home ? deploymentDataSets(storage, config, here) : regionDataSets(own.storage, region, here);
      },
      isEmpty: home ? () => isEmptyDeployment(storage) : async () => (await countRows(own.storage.keys, 'tenant_keys')) === 0,
      audit,
      platformRealm: operatorRealm,
      outcomes: createBackupOutcomes(storage.platform, home ? undefined : region.name),
      clock,
      tresorVersion: version,
      ...(overrides.log === undefined ? {} : { log: overrides.log }),
      keyHolds: own.keys,
      // A restored copy is read with its own key store under this region's master key.
      readable: {
        keys: (keysDb, tenantId) => findUnreadableKeys(keysDb, regionProvider, tenantId),
        async tenant(keysDb, tenantDb, tenantId) {
          const copyKeys = createKeys({ db: keysDb, provider: regionProvider, clock });
          try {
            return (await openSealedSamples(tenantDb, tenantId, copyKeys)).failures;
          } finally {
            copyKeys.forget();
          }
        },
      },
      // A tenant restored into the running system: its chain gets a signed restore mark, and
      // erasures the restored data predates are applied again (records and accounts).
      async afterTenantRestore(tenantId, snapshotId, erased, actor) {
        await audit.markRestored(tenantId, { snapshotId, actor });
        await reerase(tenantId, erased, actor);
      },
      // A restore Tresor did not make (pgBackRest, a disk snapshot) had brought destroyed keys back.
      async afterErasuresReapplied(tenantId, subjects, keysDestroyed) {
        const actor: Actor = { id: 'system:tombstones', role: 'system', client: 'tresor' };
        if ((await tenants.get(tenantId)) === undefined) return;
        await reerase(tenantId, subjects, actor);
        await audit.record(tenantId, [operatorEvent('key.shredded', actor, { subjects, detail: `erasure applied again after a restore: ${keysDestroyed} key versions destroyed` })]);
      },
    });
  };
  const regionBackups = createRegionBackups(new Map(residency.regions.map((region) => [region.name, regionBackupsOf(region)])), homeRegion, (tenantId) => residency.placement?.resolve(tenantId) ?? Promise.resolve(homeRegion), regionLabels);
  const backups = regionBackups.home;
  const physicalSettings = config.backup.physical;
  const physical =
    physicalSettings.configFile === undefined
      ? undefined
      : createPhysicalBackups({ configFile: physicalSettings.configFile, stanza: physicalSettings.stanza, command: physicalSettings.command }, () =>
          // The repository passphrase comes from the backup key (backup-keys.ts), read when needed.
          loadBackupKey(backupKeySource(config.backup, config.dataDir)).repositoryPassphrase(),
          keys,
        );
  const alerts = createAlerts({ storage, clock, audit, rules: detectionRules, dedupMs: config.detection.dedupMinutes * 60_000 });
  // Erasure and retention (privacy/): one path for the API, the console, `tresor privacy erase`,
  // `tresor keys shred` and the retention job.
  const notifier = overrides.notifier ?? mail ?? outbox;
  // Data subjects' requests (GDPR Art. 15–21): the types with a service of their own are
  // fulfilled by it from the queue (the erasure below; the download; the restriction).
  const privacyRequests = createPrivacyRequests({
    storage,
    keys,
    audit,
    clock,
    notifier,
    accounts,
    records,
    tenantIds: async () => (await tenants.list()).map((t) => t.id),
    publicUrl: config.server.publicUrl,
    fulfil: { erasure: (tenantId, request, by) => erasureFulfilment(erasures)(tenantId, request, by) },
  });
  const holds = createHolds({ storage, audit, clock });
  const retentionSettings = createRetentionSettings({ storage, defaults: config.retention, audit, clock });
  const erasures = createErasures({
    storage,
    keys,
    records,
    accounts,
    consents,
    backups: regionBackups,
    notifier,
    tenants,
    audit,
    clock,
    holds,
    settings: retentionSettings,
    // An erased person's connected apps: every grant withdrawn, its tokens ended at once.
    grants: {
      async withdrawOf(tenantId, accountId) {
        const live = await consents.listOf(tenantId, accountId);
        for (const c of live) await oauth.withdrawConsent(tenantId, c.grantId, { accountId, role: 'patient' }, { sourceIp: 'local', requestId: '', status: 0 });
        return live.length;
      },
    },
    // The erased person's requests keep only id, type, dates and state.
    afterErase: [(tenantId, subject) => privacyRequests.eraseOf(tenantId, subject)],
    ...(overrides.log === undefined ? { warn: (message: string) => process.stderr.write(`${message}\n`) } : { warn: (message: string) => overrides.log?.warn({ event: 'erasure.incomplete' }, message) }),
  });
  const retention = createRetention({ storage, records, erasures, holds, settings: retentionSettings, audit, clock });
  return {
    privacyRequests,
    erasures,
    holds,
    retentionSettings,
    retention,
    storage,
    residency,
    keys,
    keyProvider: provider,
    alerts,
    records,
    backups,
    regionBackups,
    physical,
    tenants,
    apiKeys: createApiKeys({ db: storage.platform, clock }),
    accounts,
    clients,
    consents,
    oauth,
    passkeys,
    passwords,
    sessions: createSessions({ storage, clock, policy: { idleMinutes: config.identity.sessionIdleMinutes, absoluteHours: config.identity.sessionAbsoluteHours } }),
    audit,
    outbox,
    notifier,
    mail,
    auditRealms,
    rotation: createRotation({
      storage,
      keys,
      provider,
      resealer: createResealer(keys),
      // Sealed under the same data keys outside the records tables: resealed too, never orphaned.
      sealedElsewhere: [requestTextsSealed(keys), exportFilesSealed()],
      tenantExists: async (tenantId) => (await tenants.get(tenantId)) !== undefined,
      report: rotationReport,
      options: { batchRows: config.keys.rotationBatchRows, ...overrides.rotationOptions },
    }),
  };
}

/**
 * The backup taken once a tenant has moved (regions/move-tenant.ts `backupAfter`): a snapshot of
 * the target region into its own repository, so the moved tenant is in a backup of its new region
 * at once. Undefined: the region has no repository (the move reports it as skipped).
 */
export function backupAfterMove(core: Core): (region: string, tenantId: string) => Promise<string | undefined> {
  // The target region's own repository (backup/region-backups.ts): the moved tenant is in its next snapshot.
  return async (region, tenantId) => {
    const backups = core.regionBackups.region(region);
    return backups.configured ? (await backups.run({ reason: `tenant ${tenantId} moved here` })).manifest.id : undefined;
  };
}

/**
 * What a move of a tenant between regions needs from this process (the server's operator API and
 * console, and `tresor tenant move`): the checks of the copy, the mark every server process reads
 * (tenants.markMoving), and what the caller adds — the wait for its own requests, the backup.
 */
export function moveDepsOf(core: Core, extras: Pick<MoveTenantDeps, 'drain' | 'backupAfter' | 'beforeSwitch'> = {}): MoveTenantDeps {
  return {
    storage: core.storage as RegionalStorage,
    residency: core.residency,
    clock: systemClock,
    verify: async (db, tenantId, keys) => (await openSealedSamples(db, tenantId, keys)).failures,
    verifyTrail: async (db, tenantId) => (await core.audit.verifyCopy(db, tenantId)).findings.map((f) => `${f.kind} at ${f.seq}`),
    marking: { mark: (tenantId) => core.tenants.markMoving(tenantId), clear: (tenantId) => core.tenants.clearMoving(tenantId) },
    // Other PostgreSQL nodes believe a tenant's status for up to a second (tenants.ts): by then
    // they answer 503 too. On SQLite only this process serves the data directory.
    settleMs: core.storage.engine === 'postgres' ? 1100 : 0,
    ...extras,
  };
}

/**
 * Records of processing (privacy/ropa.ts) over the live services: the server's and `tresor ropa`'s.
 * Alert webhooks are read from their store (only their hosts are shown); replication from PostgreSQL, now.
 */
export function ropaOf(core: Core, config: Config, clock: Clock = systemClock, extras: Pick<RopaDeps, 'retention'> & Partial<Pick<RopaDeps, 'regions'>> = {}): Ropa {
  const pool = core.storage.postgres?.pool;
  return createRopa({
    config,
    storage: core.storage,
    clock,
    version,
    operatorRealm,
    tenants: core.tenants,
    accountCounts: async (realm) => countAccountsByKind(await core.storage.tenant(realm)),
    clients: core.clients,
    securityContact: async (realm) => (await core.alerts.settings(realm)).securityContact,
    webhooks: async (realm) => selectEndpoints(await core.storage.tenant(realm)),
    backups: core.backups,
    rotation: core.rotation,
    detectionRules: detectionRules.length,
    // What buildCore gives the password hasher.
    passwordHashing: argon2Minimum,
    ...(pool === undefined ? {} : { replication: () => readReplicationState(pool) }),
    // Every configured region, where its data, backups and keys are (one implicit region without `regions`).
    regions: () =>
      core.residency.regional
        ? core.residency.regions.map((r) => ({
            name: r.name,
            storage: config.storage.engine === 'sqlite' ? `SQLite data directory ${r.dataDir}` : `PostgreSQL ${postgresPlace(r.postgres?.url)}`,
            backupRepository: repositoryPlace(r.backup.repository),
            keyProvider: core.residency.providers.get(r.name)?.name ?? 'local key ring',
          }))
        : implicitRegions(config, core.keyProvider.name),
    // The tenant's retention periods by class, with their legal basis (privacy/retention-settings.ts).
    retention: async (tenantId) => {
      const periods = await core.retentionSettings.of(tenantId);
      const period = (years: number | null) => (years === null ? 'no limit' : `${years} years after the last activity`);
      return {
        ...Object.fromEntries(retentionClasses.map((c) => [c, { period: period(periods.years[c]), basis: legalBasis[c] }])),
        'medical records (duty)': { period: periods.medicalRecordsYears === null ? 'none' : `${periods.medicalRecordsYears} years after the last treatment`, basis: legalBasis.medicalRecords },
      };
    },
    ...extras,
  });
}

/**
 * With `mail.smtp.host`, messages go to people through that relay (identity/mail-notifier.ts):
 * spooled sealed in the outbox, retried until taken. Without it, they stay in the outbox.
 */
async function mailDeliveryOf(config: Config, spool: Spool, clock: Clock, log: Logger | undefined): Promise<(Notifier & MailDelivery) | undefined> {
  const smtp = config.mail.smtp;
  if (smtp.host === undefined) return undefined;
  const { createSmtpTransport } = await import('./mail/index.js');
  const password = smtp.password ?? (smtp.passwordFile === undefined ? undefined : readFileSync(smtp.passwordFile, 'utf8').trim());
  const transport = await createSmtpTransport({ ...smtp, host: smtp.host, from: smtp.from as string, password });
  return createMailNotifier({
    spool,
    transport,
    clock,
    retryFirstMs: smtp.retryFirstSeconds * 1000,
    leaseMs: smtp.connectionTimeoutMs + smtp.greetingTimeoutMs + smtp.socketTimeoutMs * 2,
    // Commands have no logger: their mail lines go to stderr.
    log: log ?? stderrLog,
  });
}

const stderrLog = {
  info: () => undefined,
  warn: (fields: object, message: string) => process.stderr.write(`${JSON.stringify({ level: 'warn', ...fields, msg: message })}\n`),
  error: (fields: object, message: string) => process.stderr.write(`${JSON.stringify({ level: 'error', ...fields, msg: message })}\n`),
};

/** Every data set of the deployment, for a snapshot: platform, key store, each tenant's (the operators' realm too). */
function deploymentDataSets(storage: Storage, config: Config, tenantIds: readonly string[]): DataSetRef[] {
  // PostgreSQL: each schema exported rows-first at one point in time (backup/pg-dataset.ts).
  if (storage.engine === 'postgres') return pgDataSetsOf(storage, tenantIds);
  return [
    { kind: 'platform', id: 'platform', file: join(config.dataDir, 'platform.db') },
    { kind: 'keys', id: 'keys', file: join(config.dataDir, 'keys.db') },
    ...tenantIds.map((id) => ({ kind: 'tenant' as const, id, file: storage.describeTenant(id) })),
  ];
}

/** A region's data sets other than the home region's, for its own repository: its key store and its tenants'. */
function regionDataSets(storage: RegionStorage, region: RegionPaths, tenantIds: readonly string[]): DataSetRef[] {
  const postgres = storage.postgres;
  if (storage.engine === 'postgres' && postgres !== undefined) {
    const { pool, schemaPrefix } = postgres;
    return [
      { engine: 'postgres', kind: 'keys', id: 'keys', pool, schema: `${schemaPrefix}_keys` },
      ...tenantIds.map((id) => ({ engine: 'postgres' as const, kind: 'tenant' as const, id, pool, schema: storage.describeTenant(id) })),
    ];
  }
  return [{ kind: 'keys', id: 'keys', file: join(region.dataDir, 'keys.db') }, ...tenantIds.map((id) => ({ kind: 'tenant' as const, id, file: storage.describeTenant(id) }))];
}

const countRows = async (db: SqlExecutor, table: string): Promise<number> => Number((await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table(table)}`))[0]?.n ?? 0);

/** No tenant, and no operator account: nothing a whole-deployment restore could overwrite. */
async function isEmptyDeployment(storage: Storage): Promise<boolean> {
  return (await countRows(storage.platform, 'tenants')) === 0 && (await countRows(await storage.tenant(operatorRealm), 'accounts')) === 0;
}

/**
 * Before anything is served: a restore Tresor did not make — pgBackRest's point-in-time recovery
 * of the cluster, a disk or VM snapshot — can bring back data keys crypto-shredding destroyed.
 * The backup repository's tombstone list lives outside the database and is never rolled back, so
 * every start destroys again whatever it covers. When the list cannot be read, a deployment with
 * physical backups does not start (such a restore may just have happened); elsewhere every restore
 * goes through Tresor, which applies the list itself, so the server logs the failure and starts.
 */
async function reapplyErasuresAtStart(core: Core, config: Config, logger: Logger): Promise<void> {
  // Each region's list, into its own key store (a region's erasures are in its own repository only).
  for (const [region, backups] of core.regionBackups.configured()) {
    try {
      await reapplyErasures(backups, region, logger);
    } catch (error) {
      // Physical backups (pgBackRest) are the home region's database's.
      if (region === homeRegion && config.backup.physical.configFile !== undefined) {
        throw new ConfigError(`config.backup.repository: the tombstone list of erased patients could not be read (${error instanceof BackupError ? error.message : 'unreadable'}); after a point-in-time restore, starting without it could serve erased records`);
      }
      logger.error({ event: 'backup.failed', operation: 'tombstones', region, err: describeErrorForLog(error) }, 'the tombstone list could not be read at start; erasures are applied again by every restore Tresor makes');
    }
  }
}

async function reapplyErasures(backups: Backups, region: string, logger: Logger): Promise<void> {
  const done = await backups.reapplyErasures();
  if (done.resurrected.length > 0) {
    logger.warn({ event: 'erasure.reapplied', region, subjects: done.resurrected.length, tenants: new Set(done.resurrected.map((t) => t.tenant)).size, keyVersions: done.keysDestroyed }, 'destroyed data keys had come back with a restore; destroyed again');
  }
}

/** Where clients reach this server: `server.publicUrl`, else this machine on the configured port. */
export function publicBaseUrl(config: Config): string {
  return (config.server.publicUrl ?? `${config.server.tls.enabled ? 'https' : 'http'}://localhost:${config.server.port}`).replace(/\/$/, '');
}

/** What a rotation event may say in a log line: ids, counts and phases, never keys or content. */
function rotationLogFields(event: RotationEvent): Record<string, unknown> {
  const { job } = event;
  return {
    event: event.event,
    job: job.id,
    scope: job.scope,
    tenant: job.tenantId,
    generation: job.generation,
    phase: job.phase,
    rowsDone: job.rowsDone,
    fieldsDone: job.fieldsDone,
    rowsFailed: job.rowsFailed,
    retired: job.retired,
    ...(event.event === 'rotation.integrity-failed' ? { table: event.table, resourceType: event.type, resourceId: event.id, versionId: event.versionId } : {}),
  };
}

/**
 * The composition root: every service is built here, by hand, from the one config object.
 * Nothing below reads the environment, listens on a port or handles signals (that is main.ts).
 */
export async function buildApp(config: Config, overrides: AppOverrides = {}): Promise<Tresor> {
  // The HTTP stack loads with the server only: admin commands import this file for buildCore.
  const [{ default: Fastify, LogController }, { pino }, { Gauge }] = await Promise.all([import('fastify'), import('pino'), import('prom-client')]);
  const clock = overrides.clock ?? systemClock;
  const logger = pino({ level: config.log.level, base: { service: 'tresor' } }, (overrides.logDestination ?? process.stdout) as DestinationStream);
  const core = await buildCore(config, {
    ...overrides,
    log: logger,
    rotationReport: (event) => {
      const fields = rotationLogFields(event);
      if (event.event === 'rotation.integrity-failed') logger.error(fields, 'stored data failed its integrity check during key rotation');
      else logger.info(fields, event.event);
      overrides.rotationReport?.(event);
    },
  });
  const { storage, records, tenants, apiKeys, rotation, audit } = core;
  if (config.server.publicUrl === undefined) {
    // Invitations and resets then link to a path, not a URL: the person has to add the server's address.
    logger.warn({ event: 'config.public_url_unset' }, 'server.publicUrl is unset: links in invitations and password resets are relative paths (the message says so); set TRESOR_PUBLIC_URL to the https:// address people reach Tresor at');
  }
  logger.info({ event: 'mail.configured', via: config.mail.smtp.host === undefined ? 'outbox' : `smtp-${config.mail.smtp.security}` }, config.mail.smtp.host === undefined ? 'messages to people stay in the outbox (mail.smtp.host is unset)' : 'messages to people go through the SMTP relay');
  // Each region is backed up into its own repository (residency.md "Backups"): a region without
  // one, while others have theirs, is said at every start.
  const uncovered = core.regionBackups.names.filter((name) => !core.regionBackups.region(name).configured);
  if (core.residency.regional && uncovered.length > 0 && uncovered.length < core.regionBackups.names.length) {
    logger.warn({ event: 'backup.regions_uncovered', regions: uncovered }, `region ${uncovered.join(', ')} has no backup repository: Tresor takes no snapshots of its data (set backup.repository or regions.<name>.backup.repository; docs/residency.md)`);
  }
  // Before the first sign-in: a password check for an unknown account costs the usual work from the start (passwords.ts).
  await core.passwords.prepare();
  await reapplyErasuresAtStart(core, config, logger).catch(async (error: unknown) => {
    await core.audit.close().catch(() => undefined);
    await core.storage.close().catch(() => undefined);
    throw error;
  });
  const bundles = createBundleProcessor({ records, clock });

  const tls = config.server.tls.enabled
    ? await loadOrCreateCertificate({ dataDir: config.dataDir, certFile: config.server.tls.certFile, keyFile: config.server.tls.keyFile })
    : undefined;

  const serverTimeouts = { headersTimeout: config.server.headersTimeoutMs, requestTimeout: config.server.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, config.server.headersTimeoutMs) };
  // Typed as the plain instance: HTTP and HTTPS servers expose the same surface to our code.
  const http = Fastify({
    loggerInstance: logger,
    // Fastify's own request lines log the full URL (search values are personal data); ours do not.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    // Slow clients hold sockets, not the server (settings in config.ts, docs/security.md).
    // Node checks the header and request deadlines every connectionsCheckingInterval (30 s
    // by default, longer than the deadlines themselves).
    requestTimeout: config.server.requestTimeoutMs,
    // Announced as `Keep-Alive: timeout=<s>`; Node (≥ 20) closes an idle connection a second
    // after that, so a client reusing it right at the announced limit does not race the close.
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    connectionTimeout: config.server.idleTimeoutMs,
    http: serverTimeouts,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 128 },
    // What Fastify refuses before routing (a URL that does not decode): in the shape of the
    // surface the path belongs to, and without Fastify's default message, which quotes the URL.
    frameworkErrors: (error, request, generic) => {
      const reply = generic as unknown as FastifyReply;
      const appError = fromFrameworkError(error);
      if (!fhirPath.test(request.url)) return sendProblem(reply, appError);
      return reply.status(appError.status).type('application/fhir+json').send(JSON.stringify(operationOutcome(appError.status, appError.code, appError.message)));
    },
    // Ours, never the client's: audit events carry it, and a client-chosen id could repeat or
    // point at another request. A client's own X-Request-Id goes to the access log (request-log.ts).
    genReqId: () => randomUUID(),
    ...(tls === undefined ? {} : { https: { key: tls.key, cert: tls.cert, ...tlsServerOptions, ...serverTimeouts } }),
  }) as unknown as FastifyInstance;
  if (tls !== undefined) answerPlainHttp(http.server as unknown as TlsServer, { httpsBase: config.server.publicUrl?.replace(/\/$/, '') });

  const worker = overrides.worker;
  watchConnections(http.server, { maxPerAddress: perProcessShare(config.server.maxConnectionsPerAddress, worker?.count ?? 1) });
  // JSON in, everywhere but the FHIR and page surfaces (which choose their own): a text/plain
  // body is a 415, not a string handed to a handler that expects an object.
  http.removeContentTypeParser('text/plain');
  http.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // The tenant a request is for counts as in use until the request ends, so a background job
  // visiting it meanwhile does not close it under its own traffic, and a move of the tenant waits
  // for it (storage.requestUses, requestsInFlight).
  const tenantInUse = new WeakMap<FastifyRequest, () => void>();
  // Only a deployment with regions moves tenants: without, the request path has no check to add.
  const movable = core.residency.regional;
  http.addHook('onRequest', async (request, reply) => {
    const tenantId = tenantOfPath.exec(request.url)?.[1];
    if (tenantId === undefined) return;
    // Counted before the check below: a request that read the status just before a move marked
    // the tenant is waited for by the move's drain.
    tenantInUse.set(request, storage.requestUses(tenantId));
    if (!movable) return;
    try {
      // While the tenant is being moved to another region, every request for it is answered 503
      // (tenants.serving); a tenant another process moved is found in its new region.
      const region = await tenants.serving(tenantId);
      const placement = core.residency.placement;
      if (region !== undefined && placement !== undefined && placement.regionOf(tenantId) !== region) placement.assign(tenantId, region);
    } catch (error) {
      if (!(error instanceof AppError) || error.status !== 503) throw error;
      return sendUnavailable(request, reply, error);
    }
  });
  const requestEnded = async (request: FastifyRequest) => tenantInUse.get(request)?.();
  http.addHook('onResponse', requestEnded);
  http.addHook('onRequestAbort', requestEnded);
  const hsts = hstsHeader(tls !== undefined, config.server.tls.hstsMaxAgeSeconds);
  registerSecurityHeaders(http, { hsts });
  registerRequestLog(http);
  const metrics = registerHttpMetrics(http, worker === undefined ? {} : { process: worker.index });
  // Several processes: /metrics answers for the whole server, aggregated over the processes.
  const wholeServerMetrics = worker?.shareMetrics(metrics.registry);
  registerRotationMetrics(metrics.registry, rotation);
  new Gauge({
    name: 'tresor_storage_open_tenants',
    help: 'Tenant data sets open now (at most storage.maxOpenTenants per server process)',
    registers: [metrics.registry],
    collect() {
      this.set(storage.openTenants());
    },
  });

  http.setErrorHandler((error, request, reply) => {
    const appError = fromFrameworkError(error);
    if (appError.status >= 500) request.log.error({ err: describeErrorForLog(error) }, 'request failed');
    return sendProblem(reply, appError);
  });
  http.setNotFoundHandler((_request, reply) => sendProblem(reply, new HttpError('not-found', 'No such endpoint.', { status: 404 })));

  http.get('/healthz', async () => ({ status: 'ok' }));
  const readiness = createReadiness(storage, metrics);
  metrics.pingStorageOnScrape(readiness);
  http.get('/readyz', async (_request, reply) => {
    const report = await readiness();
    return report.error === undefined ? { status: 'ready', storage: report.engine } : sendProblem(reply, report.error);
  });
  http.get('/metrics', async (request, reply) => {
    // Metrics reveal traffic shape: a bearer token when configured, else loopback callers only.
    const token = config.metrics.token;
    // Digests compared in constant time (CWE-208): the token's bytes are not revealed by how long a wrong guess takes.
    const allowed =
      token === undefined
        ? /^(127\.|::1$|::ffff:127\.)/.test(request.socket.remoteAddress ?? '')
        : constantTimeEqual(hashToken(request.headers.authorization ?? ''), hashToken(`Bearer ${token}`));
    if (!allowed) return sendProblem(reply, new HttpError('forbidden', 'Metrics are available to loopback or with the metrics token.', { status: 403 }));
    if (wholeServerMetrics === undefined) return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    try {
      return reply.type(metrics.registry.contentType).send(await wholeServerMetrics());
    } catch (error) {
      return sendProblem(reply, new HttpError('metrics-unavailable', 'Another server process did not report its metrics in time.', { status: 503, cause: error }));
    }
  });

  // One place decides who calls a tenant endpoint (API key or session) for every surface.
  const appTokens = createAppTokens({ oauth: core.oauth, records, storage });
  // Guessing keys and tokens is throttled per source address and counted in /metrics.
  const credentialThrottle = createCredentialThrottle({ db: storage.platform, clock, registry: metrics.registry });
  const authenticator = createAuthenticator({ apiKeys, sessions: core.sessions, accounts: core.accounts, tenants, audit, appTokens, throttle: credentialThrottle });
  // Patients' privacy consents and restrictions of processing, applied by the record guard (src/privacy).
  const restrictions = createRestrictions({ storage, audit, clock });
  // Restriction requests (Art. 18) are answered by restricting the patient.
  core.privacyRequests.fulfilBy('restriction', restrictionFulfilment(restrictions, core.privacyRequests));
  // Reads, searches and patients' access logs: one path for the FHIR API and the pages.
  const recordAccess = createRecordAccess({
    records,
    storage,
    audit,
    policies: createConsentPolicies({ records, clock }),
    directory: {
      account: (tenantId, id) => core.accounts.get(tenantId, id),
      appName: async (tenantId, clientId) => (await core.clients.get(tenantId, clientId))?.name,
    },
  });
  // The personal download (GDPR Art. 15, 20): prepared off the request path, sealed under the patient's key.
  const subjectExports = createSubjectExports({
    records,
    access: recordAccess,
    storage,
    keys: core.keys,
    audit,
    clock,
    // In the tenant's region, beside its data set (regions/).
    dir: config.privacyExports.dir ?? ((tenantId) => join(core.residency.regionDataDir(tenantId), 'exports')),
    linkDays: config.privacyExports.linkDays,
    publicUrl: config.server.publicUrl,
    log: logger,
    // A download prepared for a request completes the request when it is ready (fulfilments.ts).
    onSettled: downloadSettlement(core.privacyRequests, config.privacyExports.linkDays),
    accountsOf: async (tenantId, patient) => {
      const bound = (await core.accounts.list(tenantId)).filter((a) => a.patient === patient);
      return Promise.all(
        bound.map(async (a) => ({
          email: a.email,
          role: a.role,
          status: a.status,
          createdAt: a.createdAt,
          factors: (await core.accounts.factors(tenantId, a.id)) ?? { totp: false, passkey: false },
          apps: (await connectedApps({ clients: core.clients, consents: core.consents }, tenantId, a.id)).map((app) => ({
            clientId: app.clientId,
            name: app.client?.name ?? app.clientId,
            publisher: app.client?.publisher ?? '',
            scopes: app.scopes,
            since: app.since,
            lastAuthorised: app.lastAuthorised,
          })),
        })),
      );
    },
  });
  // Access and portability requests (Art. 15, 20) are answered with the personal download.
  for (const type of ['access', 'portability'] as const) core.privacyRequests.fulfilBy(type, downloadFulfilment(subjectExports));
  // Third-party apps: the authorization servers, sign-in and consent pages, the app register, connected apps.
  const passwordResets = createPasswordResets({ accounts: core.accounts, tenants, notifier: core.notifier, clock, publicUrl: config.server.publicUrl, log: logger, platform: storage.platform });
  // Account administration and the app register: one set of rules for the JSON routes and the console's pages.
  const administration = createAccountAdministration({ accounts: core.accounts, sessions: core.sessions, tenants, notifier: core.notifier, audit, publicUrl: config.server.publicUrl });
  const appRegister = createAppRegister({ clients: core.clients, audit });
  // Data subjects' requests (GDPR Art. 15–21) and rectifications written through the record guard (privacy/requests.ts).
  const privacyRequests = core.privacyRequests;
  const rectifications = createRectifications({ storage, records, access: recordAccess, audit, requests: privacyRequests });
  const localRepository = config.backup.repository !== undefined && !config.backup.repository.startsWith('sftp://') ? config.backup.repository : undefined;
  // One reader for the probe's rules and the status page's components: they judge the same facts.
  const readPlatform = platformReader({
    now: () => clock.now().getTime(),
    since: clock.now().getTime(),
    // Every region's backups are judged: the worst of them is the deployment's (region-backups.ts).
    ...(core.regionBackups.configured().length > 0 ? { backups: { scheduled: config.backup.schedule, everyMinutes: config.backup.everyMinutes, drillEveryHours: config.backup.drillEveryHours, status: () => core.regionBackups.worstStatus() } } : {}),
    ...(storage.postgres === undefined ? {} : { replication: () => readReplicationState((storage.postgres as NonNullable<typeof storage.postgres>).pool) }),
    ...(tls === undefined ? {} : { certificatePem: tls.cert }),
    diskPaths: [config.dataDir, config.audit.checkpointDir ?? join(config.dataDir, 'audit-checkpoints'), ...(localRepository === undefined ? [] : [localRepository])],
  });
  // The public status page (src/status): components checked like /readyz and the probe, every
  // status.probeSeconds on every node (each serves its own snapshot); the upkeep leader stores the samples.
  const status = createStatus({
    store: createStatusStore(storage.platform),
    now: () => clock.now().getTime(),
    readHealth: createHealthReader({
      now: () => clock.now().getTime(),
      readiness,
      // Every sign-in reads the login throttle (platform data set) and the operators' realm.
      identityAnswers: async () => {
        await storage.platform.query(`SELECT 1 AS one FROM ${storage.platform.table('login_throttle')} WHERE 1 = 0`);
        await storage.tenant(operatorRealm);
      },
      // Only for the tenant the operator named: asking builds that tenant's authorization server (and its signing key).
      oauthDiscovery: async () => {
        const tenantId = config.status.oauthTenant;
        if (tenantId === undefined) return undefined;
        return (await http.inject({ method: 'GET', url: `/tenants/${tenantId}/oauth/.well-known/openid-configuration` })).statusCode;
      },
      platform: readPlatform,
      replicationShown: storage.engine === 'postgres',
    }),
    checks: componentChecks(detectionRules, ruleConfigs(detectionRules, config.detection.rules)),
    tenants: async () => (await tenants.list()).map((t) => ({ id: t.id, name: t.name })),
    audit,
    operatorRealm,
    snapshotFile: join(config.dataDir, 'status-snapshot.json'),
    log: logger,
  });
  // Tenant alerts the escalation took to the operators, for their API and console (detection/escalated.ts).
  const escalatedAlerts = createEscalatedAlerts({ storage, alerts: core.alerts, audit, operatorRealm });
  // Incidents; an update marked public (and later state changes of an incident that published) reach the status page.
  const incidents = createIncidents({ storage, clock, audit, accounts: core.accounts, tenants, alerts: core.alerts, escalated: escalatedAlerts, notifier: core.notifier, publicUrl: config.server.publicUrl, operatorRealm, log: logger, publish: (update) => status.publishIncidentUpdate(update), ...(core.mail === undefined ? {} : { waitingMail: (tenantId: string) => core.outbox.list(tenantId) }) });
  // Breach scopes from the audit trails (breach/breach.ts).
  const breachScopes = createBreachScopes({ storage, tenants, audit, clock });
  // Breach scopes frozen into incidents: computed by the breach service, stored with the incident.
  const incidentScopes = createFrozenScopes({ storage, clock, audit, breach: breachScopes, operatorRealm });
  // Who to notify: the scope's patients, addressed from their own Patient records (notification/people.ts).
  const affectedPeople = createAffectedPeople({ storage, records, audit });
  // The notification checklist of an incident, computed from a frozen scope (notification/assessments.ts).
  const assessments = createAssessments({ storage, clock, audit, incidents, scopes: incidentScopes, people: affectedPeople, settings: { role: config.notification.role, regimes: config.notification.regimes }, operatorRealm });
  // The tested notification procedure (notification/drill.ts): synthetic tenants, a "stolen" key
  // used through this server's own routes in process, each step timed; reports beside the
  // restore drills'. The assessment, drafts and delivery steps plug in through `slots`.
  const drillReportFile = drillReportFileOf(config.dataDir);
  registerIncidentDrillMetrics(metrics.registry, drillReportFile);
  // Drafts of breach notices from a frozen scope; letters and customer notices through the notifier (notification/drafts.ts).
  const noticeDraftsDeps = { storage, clock, audit, operatorRealm, fourEyes: config.notices.fourEyes, fallbackLanguage: config.notices.fallbackLanguage, defaultContact: config.security.contact[0]?.replace(/^(mailto|tel):/, ''), incidents, scopes: incidentScopes, people: affectedPeople, tenants, accounts: core.accounts, alerts: core.alerts };
  const noticeDrafts = createNoticeDrafts({ ...noticeDraftsDeps, notifier: core.notifier, ...(core.mail === undefined ? {} : { waitingMail: (tenantId: string) => core.outbox.list(tenantId) }) });
  // The drill's assessment, drafts and delivery steps run the services above; its mail goes to the
  // test SMTP server it is given, never the configured relay.
  const incidentDrill = createIncidentDrill({
    api: injectedDrillApi(http),
    tenants,
    apiKeys,
    incidents,
    scopes: incidentScopes,
    people: affectedPeople,
    audit,
    clock,
    operatorRealm,
    reportFile: drillReportFile,
    slots: drillSlots({ assessments, drafts: noticeDrafts, draftsMailingThrough: (notifier) => createNoticeDrafts({ ...noticeDraftsDeps, notifier }), testServer: testServerNotifier }),
  });
  // Moving a tenant to another region while serving (regions/move-tenant.ts): this process's own
  // requests for it are waited for; the home region's backup follows (backupAfterMove).
  const drain = async (tenantId: string) => {
    const deadline = performance.now() + config.server.requestTimeoutMs;
    while (storage.requestsInFlight(tenantId) > 0) {
      if (performance.now() > deadline) throw new MoveRefused(`requests for tenant ${tenantId} did not end within ${config.server.requestTimeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const mover: TenantMover | undefined = core.residency.regional
    ? async (tenantId, to) => {
        // Another server process on the same SQLite files would keep its own handle on the
        // tenant's file, outside this process's hold: there the move is made with the server stopped.
        if (storage.engine === 'sqlite' && (worker?.count ?? 1) > 1) throw new MoveRefused(`this server runs ${worker?.count} processes on one SQLite data directory, which this process cannot hold the tenant's file for: stop the server and use tresor tenant move`);
        const report = await moveTenant(moveDepsOf(core, { drain, backupAfter: backupAfterMove(core) }), tenantId, to);
        core.keys.forgetTenant(tenantId);
        core.oauth.forgetTenant(tenantId);
        if (report.leftovers !== undefined) logger.error({ event: 'tenant.moved_leftovers', tenant: tenantId, region: report.from }, `tenant ${tenantId} moved, but this of region ${report.from} is left to remove: ${report.leftovers.join('; ')}`);
        if ('failed' in report.backup) logger.error({ event: 'tenant.moved_backup_failed', tenant: tenantId, region: to }, `the backup after moving tenant ${tenantId} failed: ${report.backup.failed}`);
        logger.info({ event: 'tenant.moved', tenant: tenantId, from: report.from, to: report.to, unavailableMs: report.unavailableMs }, `tenant ${tenantId} moved from region ${report.from} to ${report.to}`);
        return report;
      }
    : undefined;
  // Where a tenant's data is kept, and what is not regionalised (regions/not-regionalised.ts).
  const regionOfTenant = (tenantId: string) => regionReport(config, core.residency, tenantId);
  const ropa = ropaOf(core, config, clock);
  await http.register(consolePages({ accounts: core.accounts, sessions: core.sessions, tenants, keys: core.keys, authenticator, passkeys: core.passkeys, passwordResets, audit, access: recordAccess, administration, appRegister,
    clients: core.clients, consents: core.consents, oauth: core.oauth, subjectExports,
    operator: { audit, backups: core.regionBackups, rotation, keyProvider: core.keyProvider, readiness, registry: metrics.registry, now: () => clock.now().getTime(), escalated: escalatedAlerts, status, incidentDrills: () => readLastDrills(drillReportFile), tenantMove: mover }, clock, alerts: core.alerts, incidents, incidentScopes, assessments, noticeDrafts, privacyRequests, rectifications, ropa, privacy: { erasures: core.erasures, holds: core.holds, retention: core.retention, settings: core.retentionSettings }, consentWriter: createConsentWriter({ records, storage, audit, access: recordAccess }), region: regionOfTenant, restrictions }));
  await http.register(oauthRoutes({ oauth: core.oauth, clients: core.clients, consents: core.consents, accounts: core.accounts, passkeys: core.passkeys, tenants, records, access: recordAccess, storage, keys: core.keys, audit, authenticator, hsts, throttle: credentialThrottle }));
  await http.register(exportRoutes({ exports: subjectExports, authenticator, access: recordAccess, publicUrl: config.server.publicUrl }), { prefix: '/tenants/:tenant' });
  const everything = createPatientEverything({ records, access: recordAccess, storage, limits: config.fhir, clock });
  await http.register(fhirRoutes({ records, access: recordAccess, bundles, storage, tenants, authenticator, audit, clock, publicUrl: config.server.publicUrl, version, everything }), { prefix: '/tenants/:tenant/fhir' });
  await http.register(auditApiRoutes({ audit, authenticator, publicUrl: config.server.publicUrl }), { prefix: '/tenants/:tenant' });
  await http.register(restrictionRoutes({ restrictions, authenticator, audit }), { prefix: '/tenants/:tenant' });
  await http.register(authRoutes({ accounts: core.accounts, sessions: core.sessions, tenants, audit, passwordResets }), { prefix: '/tenants/:tenant' });
  await http.register(passkeyRoutes({ accounts: core.accounts, passkeys: core.passkeys, sessions: core.sessions, tenants }), { prefix: '/tenants/:tenant' });
  await http.register(adminRoutes({ administration, authenticator }), { prefix: '/tenants/:tenant' });
  await http.register(privacyRequestRoutes({ requests: privacyRequests, rectifications, authenticator, now: () => clock.now().getTime() }), { prefix: '/tenants/:tenant' });
  await http.register(erasureRoutes({ erasures: core.erasures, holds: core.holds, retention: core.retention, settings: core.retentionSettings, authenticator, audit }), { prefix: '/tenants/:tenant' });
  await http.register(regionRoutes({ authenticate: (request, tenantId) => authenticator.principal(request, tenantId), report: regionOfTenant }));
  // Platform operators: the same sign-in code in their own realm, and the tenant console.
  await http.register(authRoutes({ accounts: core.accounts, sessions: core.sessions, tenants, audit, passwordResets, realm: platformRealm }), { prefix: '/platform' });
  await http.register(passkeyRoutes({ accounts: core.accounts, passkeys: core.passkeys, sessions: core.sessions, tenants, realm: platformRealm }), { prefix: '/platform' });
  await http.register(operatorRoutes({ authenticator, tenants, audit, mover }), { prefix: '/platform' });
  await http.register(backupRoutes({ authenticator, backups: core.regionBackups, audit, tenants }), { prefix: '/platform' });
  // Breach scope from the audit trails, for platform operators (breach/routes.ts).
  await http.register(breachRoutes({ authenticator, scopes: breachScopes }), { prefix: '/platform' });
  // Records of processing (GDPR Art. 30): a tenant's for its admins and auditors, the deployment's for operators.
  const ropaApi = ropaRoutes({ ropa, authenticator, audit });
  await http.register(ropaApi.tenant, { prefix: '/tenants/:tenant' });
  await http.register(ropaApi.platform, { prefix: '/platform' });
  // Alerts: a tenant's for its admins and auditors, the platform's for operators (detection/routes.ts).
  const alertApi = alertRoutes({ alerts: core.alerts, authenticator, audit, publicUrl: config.server.publicUrl });
  await http.register(alertApi.tenant, { prefix: '/tenants/:tenant' });
  await http.register(alertApi.platform, { prefix: '/platform' });
  await http.register(escalatedRoutes({ escalated: escalatedAlerts, authenticator, audit, publicUrl: config.server.publicUrl }), { prefix: '/platform' });
  const incidentApi = incidentRoutes({ incidents, authenticator, audit, publicUrl: config.server.publicUrl });
  await http.register(incidentApi.tenant, { prefix: '/tenants/:tenant' });
  await http.register(incidentApi.platform, { prefix: '/platform' });
  const incidentScopeApi = incidentScopeRoutes({ scopes: incidentScopes, authenticator, audit });
  await http.register(incidentScopeApi.tenant, { prefix: '/tenants/:tenant' });
  await http.register(incidentScopeApi.platform, { prefix: '/platform' });
  const assessmentApi = assessmentRoutes({ assessments, authenticator, audit });
  await http.register(assessmentApi.tenant, { prefix: '/tenants/:tenant' });
  await http.register(assessmentApi.platform, { prefix: '/platform' });
  const noticeDraftApi = noticeDraftRoutes({ drafts: noticeDrafts, authenticator, audit });
  await http.register(noticeDraftApi.tenant, { prefix: '/tenants/:tenant' });
  await http.register(noticeDraftApi.platform, { prefix: '/platform' });

  // SIEM shipping: only servers ship (not the admin CLI); each sink has a durable cursor per tenant.
  const sinks: AuditSink[] = [
    ...(config.audit.sinks.file === undefined ? [] : [jsonLinesSink(config.audit.sinks.file)]),
    ...(config.audit.sinks.syslog === undefined ? [] : [syslogSink({ url: config.audit.sinks.syslog, ...(config.audit.sinks.syslogCaFile === undefined ? {} : { caFile: config.audit.sinks.syslogCaFile }) })]),
  ];
  // The deployment's scheduled jobs run on one node at a time: with several nodes on one
  // PostgreSQL deployment, the one holding the job family's advisory lock (platform/leadership.ts)
  // — one lock for the backups, one for the upkeep (audit retention and chaining sweeps, identity
  // and OAuth clean-up), so a node that schedules no backups cannot keep them from running.
  // Shipping to sinks runs on every node. On SQLite with several server processes, the process
  // the primary names runs them all, shipping and rotation included: two shippers of one data
  // directory would send events twice and interleave a file sink's lines.
  const jobsHere = worker?.jobs ?? true;
  const leadershipFor = (family: 'backups' | 'upkeep' | 'detection') =>
    storage.engine === 'postgres' && storage.postgres !== undefined ? postgresLeadership(storage.postgres.pool, `${storage.postgres.schemaPrefix}:${family}`) : jobsHere ? singleNode() : neverLeader();
  const leadership = leadershipFor('upkeep');
  const shipsHere = storage.engine === 'postgres' || jobsHere;
  const shipping = sinks.length === 0 || !shipsHere ? undefined : audit.ship(sinks, core.auditRealms);
  if (shipping !== undefined) {
    new Gauge({
      name: 'tresor_audit_sink_backlog_events',
      help: 'Audit events not yet delivered to a SIEM sink',
      labelNames: ['sink', 'tenant'],
      // Read from the shared cursors: every shipping process sees the same backlog.
      aggregator: 'max',
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const p of shipping.backlog().pending) this.set({ sink: p.sink, tenant: p.tenant }, p.events);
      },
    });
    new Gauge({
      name: 'tresor_audit_sink_up',
      help: '1 when the last delivery to the sink worked',
      labelNames: ['sink'],
      aggregator: 'min',
      registers: [metrics.registry],
      collect() {
        this.reset();
        for (const u of shipping.backlog().up) this.set({ sink: u.sink }, u.up ? 1 : 0);
      },
    });
  }

  // Events a crashed process committed but did not chain (PostgreSQL) are chained here.
  const tenantIds = core.auditRealms;
  const sweeping = audit.sweep(tenantIds, undefined, leadership);
  // Retention: events older than audit.retentionDays go, daily, behind a signed cut point.
  const retaining = audit.retain(tenantIds, { id: 'system:audit-retention', role: 'system', client: 'tresor' }, {
    onRefused: (result) => logger.error({ tenant: result.tenantId, findings: result.refused?.length }, 'audit retention prune skipped: the chain has findings (run tresor audit verify)'),
    leadership,
  });

  // Spent tokens and ended sessions go after a day (identity/housekeeping.ts).
  const { mail } = core;
  // Messages a restart left waiting for the relay are tried again by the hourly sweep (and with their tenant's next message).
  const identitySweep = sweepIdentityPeriodically(storage, core.auditRealms, clock, config.identity.sessionIdleMinutes, undefined, leadership, undefined, mail === undefined ? undefined : (realm) => mail.sweep(realm));
  // Expired OAuth artifacts (codes, tokens, sessions, interactions) leave each tenant's table hourly.
  const oauthSweep = periodic(
    async (stopped, pause) => {
      const ids = (await tenants.list()).map((t) => t.id);
      await walkTenants(storage, ids, async (tenantId) => void (await sweepArtifacts(await storage.tenant(tenantId), clock.now().getTime())), { stopped, pause, spreadMs: 1_800_000 });
    },
    3_600_000,
    90_000,
    leadership,
  );

  // Personal downloads whose links expired lose their files hourly (privacy/exports.ts).
  const exportSweep = periodic(
    async () => {
      await subjectExports.sweep((await tenants.list()).map((t) => t.id));
    },
    3_600_000,
    60_000,
    leadership,
  );

  // Nodes that stay up while the cluster under them is restored to an earlier time reconnect
  // without a start: the tombstones are applied again every 5 minutes as well.
  const erasureCheck =
    core.regionBackups.configured().length > 0
    ? periodic(
        async () => {
          for (const [region, backups] of core.regionBackups.configured()) {
            await reapplyErasures(backups, region, logger).catch((error: unknown) => logger.error({ event: 'backup.failed', operation: 'tombstones', region, err: describeErrorForLog(error) }, 'the tombstone list could not be checked'));
          }
        },
        300_000,
        300_000,
        leadership,
      )
    : undefined;

  // Backups (issue #7): a snapshot every backup.everyMinutes, retention and prune after each, a
  // restore drill every backup.drillEveryHours; RTO and RPO as measured in /metrics.
  // Each region with a repository on the same schedule, its own snapshots, retention and drills.
  const backupLeadership = core.regionBackups.configured().length > 0 && config.backup.schedule ? leadershipFor('backups') : undefined;
  const backupJobs =
    backupLeadership !== undefined
      ? core.regionBackups.configured().map(([region, backups]) =>
          scheduleBackups(
            backups,
            overrides.backupSchedule ?? { everyMs: config.backup.everyMinutes * 60_000, drillEveryMs: config.backup.drillEveryHours * 3_600_000, firstAfterMs: 60_000 },
            core.residency.regional ? logger.child({ region }) : logger,
            () => clock.now().getTime(),
            backupLeadership,
          ),
        )
      : [];
  new Gauge({
    name: 'tresor_scheduler_leader',
    help: 'Whether this node runs the deployment’s scheduled jobs of a family (1) or another node does (0)',
    labelNames: ['jobs'],
    // This node leads when any of its processes does.
    aggregator: 'max',
    registers: [metrics.registry],
    collect() {
      this.set({ jobs: 'upkeep' }, leadership.leading ? 1 : 0);
      if (backupLeadership !== undefined) this.set({ jobs: 'backups' }, backupLeadership.leading ? 1 : 0);
    },
  });
  if (worker !== undefined) {
    new Gauge({
      name: 'tresor_server_process_jobs',
      help: 'Whether this server process runs the scheduled jobs on SQLite (1) or not (0), by its place',
      labelNames: ['process'],
      registers: [metrics.registry],
      collect() {
        this.set({ process: String(worker.index) }, worker.jobs ? 1 : 0);
      },
    });
  }
  // Always: backups may run from cron (`tresor backup run --repository …`) while the server has none configured.
  registerBackupMetrics(metrics.registry, core.regionBackups.names.map((name) => [name, core.regionBackups.region(name)] as const), () => clock.now().getTime());

  // PostgreSQL (issue 8): replication, archiving and physical-backup metrics; a full pgBackRest
  // backup whenever the newest is older than backup.physical.fullEveryHours (checked every 10
  // minutes, by the backups leader), then retention.
  if (storage.postgres !== undefined) registerReplicationMetrics(metrics.registry, storage.postgres.pool, core.physical, () => clock.now().getTime());
  const physical = core.physical;
  const physicalLeadership = physical !== undefined && config.backup.physical.fullEveryHours > 0 ? (backupLeadership ?? leadershipFor('backups')) : undefined;
  const physicalJobs =
    physical === undefined || physicalLeadership === undefined
      ? undefined
      : periodic(
          async () => {
            try {
              const done = await physicalRound(physical, { fullEveryMs: config.backup.physical.fullEveryHours * 3_600_000, now: () => clock.now().getTime(), retention: config.backup.retention });
              if (done === undefined) return;
              await audit.record(operatorRealm, [operatorEvent('backup.created', { id: 'system:backups', role: 'system', client: 'tresor' }, { detail: `physical full ${done.made.label}` })]);
              logger.info({ event: 'backup.physical', label: done.made.label, bytes: done.made.repositoryBytes, expired: done.expired.length }, 'physical backup taken');
            } catch (error) {
              logger.error({ event: 'backup.failed', kind: 'physical', err: describeErrorForLog(error) }, 'physical backup failed');
              await audit.record(operatorRealm, [operatorEvent('backup.failed', { id: 'system:backups', role: 'system', client: 'tresor' }, { detail: 'physical full backup failed' })]).catch(() => undefined);
            }
          },
          600_000,
          120_000,
          physicalLeadership,
        );
  // On SQLite the server holds each tenant's file open: the CLI must not swap one under it (it
  // reads this file and sends the operator to the API instead).
  // With several server processes the primary holds it (platform/workers).
  const pidFile = storage.engine === 'sqlite' && worker === undefined ? join(config.dataDir, 'server.pid') : undefined;
  if (pidFile !== undefined) writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });

  // Detection: the rules read every realm's trail after it is written, never on a request's path.
  // One node (PostgreSQL: the holder of the `detection` lock) or the jobs process evaluates; the
  // cursor and rule state are in each realm's data set, so a new leader goes on where it stopped.
  const detectionLeadership = config.detection.enabled ? leadershipFor('detection') : undefined;
  const detectionMetrics = registerDetectionMetrics(metrics.registry, core.alerts);
  const detection = !config.detection.enabled
    ? undefined
    : config.detection.thread === 'worker'
      ? createEngineThread({
          storageConfig: workerStorageConfig(config, overrides.sqlite),
          regionStorageConfigs: core.residency.regions.slice(1).map((region) => regionStorageConfig(workerStorageConfig(config, overrides.sqlite), region)),
          storage,
          clock,
          rules: detectionRules,
          overrides: config.detection.rules,
          operatorRealm,
          batchEvents: config.detection.batchEvents,
          dedupMs: config.detection.dedupMinutes * 60_000,
          niceness: config.detection.niceness,
          alerts: core.alerts,
          metrics: detectionMetrics,
          settle: (realm) => audit.settle(realm),
          log: logger,
        })
      : createEngine({
          storage,
          clock,
          rules: detectionRules,
          overrides: config.detection.rules,
          operatorRealm,
          store: (tx, raised) => core.alerts.store(tx, raised),
          metrics: detectionMetrics,
          batchEvents: config.detection.batchEvents,
          settle: (realm) => audit.settle(realm),
        });
  const detecting = detection?.run({ realms: core.auditRealms, wakeMs: config.detection.wakeMs, walkMs: config.detection.walkSeconds * 1000, ...(detectionLeadership === undefined ? {} : { leadership: detectionLeadership }) });
  const stopWatching = detecting === undefined ? undefined : audit.onAppended((realm) => detecting.wake(realm));
  // What the trail cannot show (backups overdue, replication, the certificate, disks): probed.
  const probes = !config.detection.enabled
    ? undefined
    : runProbes({
        alerts: core.alerts,
        rules: detectionRules,
        configs: ruleConfigs(detectionRules, config.detection.rules),
        realm: operatorRealm,
        everyMs: config.detection.probeMinutes * 60_000,
        metrics: detectionMetrics,
        ...(detectionLeadership === undefined ? {} : { leadership: detectionLeadership }),
        read: readPlatform,
      });
  // Alerts reach people off the request path too: the same leader walks the open alerts and mails
  // what is due (admins, then the security contact, then the operators); a new or more severe
  // alert wakes it at once. Its state is in each realm's data set, like the engine's.
  const { escalation: escalationPolicy } = config.detection;
  const escalation = config.detection.enabled
    ? createEscalation({
        storage,
        clock,
        accounts: core.accounts,
        tenantName: async (tenantId) => (await tenants.get(tenantId))?.name,
        notifier: core.notifier,
        publicUrl: config.server.publicUrl,
        operatorRealm,
        policy: { minutes: { critical: escalationPolicy.critical, high: escalationPolicy.high, medium: escalationPolicy.medium, low: escalationPolicy.low }, mailFrom: escalationPolicy.mailFrom },
        log: logger,
        reachedOperators: (alert, at) => escalatedAlerts.reached(alert, at),
      })
    : undefined;
  const escalating = escalation?.start({ realms: core.auditRealms, everyMs: escalationPolicy.checkSeconds * 1000, ...(detectionLeadership === undefined ? {} : { leadership: detectionLeadership }) });
  // The operators' record of an escalated tenant alert follows its acknowledgement and resolution here (and is re-read on display).
  const stopFollowingEscalated = core.alerts.onChange((change) => void escalatedAlerts.follow(change).catch(() => undefined));
  const stopEscalationWake = escalating === undefined ? undefined : core.alerts.onChange((change) => {
    if (change.kind === 'raised' || change.kind === 'escalated') escalating.wake(change.alert.realm);
  });
  // File integrity monitoring (src/fim): its first check a minute after the start, never on the
  // start path; each changed file is logged and alerted. Files belong to a host, not to the
  // database: on SQLite the process running the jobs checks; on PostgreSQL every node checks its
  // own install (the upkeep leader alone would leave the other nodes' files unwatched).
  const fimChecks = config.fim.enabled
    ? startServerFimChecks({
        config,
        configFile: overrides.configFile,
        keys: core.keys,
        audit,
        clock,
        log: logger,
        leadership: storage.engine === 'postgres' ? singleNode() : leadership,
        ...(overrides.fimSchedule === undefined ? {} : { timing: overrides.fimSchedule }),
        // One platform alert per changed file (the alerts service joins repeats of a path).
        onChanges: async (report) => {
          const findings = fimChanged.evaluate(report, ruleConfigs(detectionRules, config.detection.rules).get(fimChanged.id) as typeof fimChanged.defaults, clock.now().getTime());
          for (const finding of findings) await core.alerts.raise(operatorRealm, fimChanged.id, finding);
        },
      })
    : undefined;

  // Alert delivery (signed webhooks, the SIEM's syslog): every change of an alert is queued in
  // its realm's data set as soon as it is durable, by whichever process made it; one node (the
  // upkeep leader) sends what is due, and a scan every 5 minutes queues what a crash lost.
  const alertDelivery = createAlertDelivery({
    storage,
    clock,
    audit,
    indexKey: (realm) => core.keys.indexKey(realm),
    send: createWebhookSend({ production: config.mode === 'production' }),
    // Every process queues for syslog when it is configured; only the sending node connects (on first use).
    ...(config.audit.sinks.syslog === undefined ? {} : { syslog: syslogTransport({ url: config.audit.sinks.syslog, ...(config.audit.sinks.syslogCaFile === undefined ? {} : { caFile: config.audit.sinks.syslogCaFile }) }) }),
    production: config.mode === 'production',
    publicUrl: publicBaseUrl(config),
    operatorRealm,
    metrics: registerDeliveryMetrics(metrics.registry),
  });
  const delivering = alertDelivery.run({ realms: core.auditRealms, everyMs: 30_000, scanEvery: 10, leadership });
  const stopEnqueueing = core.alerts.onChange((change) => {
    alertDelivery.enqueue(change).then(
      () => delivering.wake(change.alert.realm),
      // Not lost: the scan queues it within minutes.
      () => undefined,
    );
  });
  const webhooks = webhookRoutes({ authenticator, delivery: alertDelivery, audit, operatorRealm });
  await http.register(webhooks.tenant, { prefix: '/tenants/:tenant' });
  await http.register(webhooks.platform, { prefix: '/platform' });

  // The public status page (src/status): its routes, and its job once every route is registered.
  await http.register(statusRoutes({ status, authenticator, now: () => clock.now().getTime(), baseUrl: publicBaseUrl(config), publicUrlConfigured: config.server.publicUrl !== undefined, security: config.security }));
  // Started once every route is registered: the OAuth check asks the server itself (http.inject).
  let statusJobs: { stop(): Promise<void> } | undefined;
  http.addHook('onReady', async () => {
    statusJobs ??= status.start({ everyMs: config.status.probeSeconds * 1000, leadership });
  });

  // The notification drill on a schedule (incidents.drillEveryDays; off by default): checked
  // hourly by the upkeep leader, run when the last drill — passed or failed — is that old.
  const drillEveryMs = config.incidents.drillEveryDays * 86_400_000;
  const drillJobs =
    drillEveryMs === 0
      ? undefined
      : periodic(
          async () => {
            const { last } = readLastDrills(drillReportFile);
            if (last !== undefined && clock.now().getTime() - Date.parse(last.at) < drillEveryMs) return;
            const by = { kind: 'operator', actor: { id: 'system:incident-drill', role: 'system', client: 'tresor' }, requestId: '', sourceIp: 'local', status: 0 } as const;
            const report = await incidentDrill.run({ by }).catch((error: unknown) => logger.error({ event: 'incident.drill_failed', err: describeErrorForLog(error) }, 'the scheduled notification drill could not run'));
            if (report !== undefined) logger[report.ok ? 'info' : 'error']({ event: 'incident.drill_run', ok: report.ok, failedStep: report.failedStep, incident: report.incidentId, seconds: report.totalSeconds }, report.ok ? 'notification drill passed' : 'notification drill failed');
          },
          overrides.incidentDrillSchedule?.checkEveryMs ?? 3_600_000,
          overrides.incidentDrillSchedule?.firstAfterMs ?? 600_000,
          leadership,
        );
  // Breach notification deadlines: the upkeep leader records each stage once in the operators'
  // trail (and the tenant's); the rule notification.deadline turns it into an alert.
  const deadlineJobs = assessments.start({ everyMs: config.notification.deadlineCheckSeconds * 1000, leadership });
  // Data subjects' requests: the upkeep leader records `privacy.request_due` at two thirds of the
  // month and when overdue; the rule privacy.request-due turns it into an alert. Every 15 minutes:
  // the deadlines are counted in days (and the first round waits a minute, off the start-up).
  const requestDeadlineJobs = privacyRequests.start({ everyMs: 15 * 60_000, firstAfterMs: 60_000, leadership });

  // Retention by class (privacy/retention.ts): the upkeep leader erases what expired, tenant by
  // tenant, once every retention.job.everyHours (the first run an hour after start).
  const retentionJobs = config.retention.job.enabled
    ? periodic(
        async (stopped, pause) => {
          const ids = (await tenants.list()).filter((t) => t.status === 'active').map((t) => t.id);
          await walkTenants(storage, ids, async (tenantId) => {
            const report = await core.retention.run(tenantId, { actor: retentionJobActor }).catch((error: unknown) => logger.error({ event: 'retention.failed', tenant: tenantId, err: describeErrorForLog(error) }, 'the retention job failed for a tenant'));
            if (report !== undefined && (report.subjectsErased > 0 || report.failures.length > 0)) logger.info({ event: 'retention.run', tenant: tenantId, subjects: report.subjectsErased, held: report.held.length, failures: report.failures.length }, 'retention run');
          }, { stopped, pause, spreadMs: 600_000 });
        },
        config.retention.job.everyHours * 3_600_000,
        3_600_000,
        leadership,
      )
    : undefined;

  // Rotation jobs whose runner died (a killed CLI, a crashed node) are taken up here.
  const rotationWorker = storage.engine === 'postgres' || jobsHere ? startRotationWorker(rotation, logger, overrides.rotationCheckMs ?? 10_000) : undefined;

  return {
    ...core,
    http,
    logger,
    tls,
    passwordResets,
    detection,
    alertDelivery,
    probes,
    escalation,
    incidents,
    breachScopes,
    status,
    incidentScopes,
    affectedPeople,
    incidentDrill,
    assessments,
    noticeDrafts,
    privacyRequests,
    subjectExports,
    async close() {
      await statusJobs?.stop();
      await drillJobs?.stop();
      await deadlineJobs.stop();
      await requestDeadlineJobs.stop();
      stopWatching?.();
      stopEscalationWake?.();
      stopFollowingEscalated();
      await probes?.stop();
      await detecting?.stop();
      stopEnqueueing();
      await delivering.stop();
      await escalating?.stop();
      await detectionLeadership?.close();
      for (const jobs of backupJobs) await jobs.stop();
      await physicalJobs?.stop();
      await rotationWorker?.stop();
      await http.close();
      await shipping?.stop();
      await sweeping.stop();
      await retaining.stop();
      await identitySweep.stop();
      await oauthSweep.stop();
      await retentionJobs?.stop();
      await exportSweep.stop();
      await subjectExports.idle();
      await erasureCheck?.stop();
      await fimChecks?.stop();
      // After the jobs, before the pool: the lock's connection goes back (or away) cleanly.
      await leadership.close();
      await backupLeadership?.close();
      if (physicalLeadership !== backupLeadership) await physicalLeadership?.close();
      await core.mail?.close();
      await audit.close();
      await storage.close();
      if (pidFile !== undefined) rmSync(pidFile, { force: true });
    },
  };
}

function startRotationWorker(rotation: Rotation, logger: Logger, everyMs: number): { stop(): Promise<void> } {
  const abort = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const check = () => {
    running = running.then(async () => {
      try {
        await rotation.resumeAbandoned(abort.signal);
      } catch (error) {
        if (!abort.signal.aborted) logger.error({ err: describeErrorForLog(error) }, 'key rotation job failed; it will be resumed');
      }
    });
  };
  check();
  const timer = setInterval(check, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      await running;
    },
  };
}

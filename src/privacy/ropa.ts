import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointFile, countPurposesSince } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { tlsServerOptions } from '../platform/http/index.js';
import { countLiveResources, fieldEncryptionEnforced, registerVersion } from '../records/index.js';
import { dataCategoriesOf, rolePurposes, thirdCountryFindings, type RopaDocument, type RopaMeasure, type RopaParty, type RopaRecipient, type RopaRetention } from './ropa-document.js';
import { hostOf, repositoryPlace, type RopaRegion } from './ropa-regions.js';

/** Defaults of the records of processing: the window of PurposeOfUse counts (GDPR Art. 30 asks for purposes; the trail shows which were stated). */
export const ropaDefaults = { purposeWindowDays: 90 } as const;

/** Per-tenant retention rules by data class, when the retention service provides them. */
export type RetentionRules = (tenantId: string) => Promise<Readonly<Record<string, { readonly period: string; readonly basis: string }>> | undefined>;

/** The live system, in the small pieces the records of processing read (services, not tables). */
export interface RopaDeps {
  readonly config: Config;
  readonly storage: Pick<Storage, 'tenant' | 'engine'>;
  readonly clock: Clock;
  readonly version: string;
  readonly operatorRealm: string;
  readonly tenants: { get(id: string): Promise<{ readonly id: string; readonly name: string; readonly mfaPolicy: string } | undefined>; list(): Promise<ReadonlyArray<{ readonly id: string; readonly name: string }>> };
  /** Accounts per kind (`staff`, `patient`) of a realm, counted without opening any. */
  readonly accountCounts: (realm: string) => Promise<Readonly<Record<string, number>>>;
  readonly clients: { list(tenantId: string): Promise<ReadonlyArray<{ readonly clientId: string; readonly name: string; readonly publisher: string; readonly kind: string; readonly status: string; readonly scope: string; readonly role?: string; readonly redirectUris: readonly string[] }>> };
  /** The tenant's security contact (alert settings). */
  readonly securityContact: (realm: string) => Promise<string | undefined>;
  /** The realm's alert webhooks (only their host is shown: a webhook URL's path may carry a token). */
  readonly webhooks: (realm: string) => Promise<ReadonlyArray<{ readonly url: string }>>;
  readonly backups: { readonly configured: boolean; sharedStatus(): Promise<{ readonly lastSnapshotAt: number | undefined; readonly lastDrill: { readonly at: string; readonly ok: boolean } | undefined }> };
  readonly rotation: { recent(): Promise<ReadonlyArray<{ readonly scope: string; readonly tenantId: string | undefined; readonly generation: number; readonly finishedAt: number | undefined; readonly phase: string }>> };
  /** The detection rules this deployment has (the engine runs them when `detection.enabled`). */
  readonly detectionRules: number;
  /** argon2id parameters people's passwords are hashed with. */
  readonly passwordHashing: { readonly memoryKiB: number; readonly iterations: number; readonly parallelism: number };
  /** PostgreSQL streaming replication as read now; absent on SQLite. */
  readonly replication?: () => Promise<{ readonly primary: boolean; readonly standbys: ReadonlyArray<{ readonly name: string; readonly sync_state: string }> }>;
  readonly regions: () => RopaRegion[];
  /** Per-tenant retention by class (the retention service); without it every class is kept until erased. */
  readonly retention?: RetentionRules;
}

export interface Ropa {
  /** The tenant's records of processing: the tenant is the controller (Art. 30(1)). */
  tenant(tenantId: string): Promise<RopaDocument>;
  /** The deployment's: its operator processes for every tenant (Art. 30(2)). */
  platform(): Promise<RopaDocument>;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function createRopa(deps: RopaDeps): Ropa {
  const { config } = deps;
  const operatorContact = config.security.contact;
  const processor: RopaParty = { name: 'the operator of this Tresor deployment', contact: operatorContact, role: 'processor' };

  async function purposesSeen(realm: string) {
    const since = deps.clock.now().getTime() - ropaDefaults.purposeWindowDays * 86_400_000;
    const counts = await countPurposesSince(await deps.storage.tenant(realm), since);
    return { sinceDays: ropaDefaults.purposeWindowDays, counts: Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([code, events]) => ({ code, events })) };
  }

  /** Recipients every realm shares: the audit sinks, the mail relay, the backup repository, the operators. */
  function sharedRecipients(): RopaRecipient[] {
    const { sinks } = config.audit;
    const smtp = config.mail.smtp;
    return [
      ...(sinks.file === undefined ? [] : [{ name: 'audit file sink', kind: 'audit-sink' as const, where: `local path ${sinks.file}`, receives: 'audit events (who, what, when, purpose; never record contents)' }]),
      ...(sinks.syslog === undefined ? [] : [{ name: 'SIEM syslog sink', kind: 'audit-sink' as const, where: hostOf(sinks.syslog), receives: 'audit events and alerts (never record contents)' }]),
      ...(smtp.host === undefined ? [] : [{ name: 'mail relay', kind: 'mail-relay' as const, where: `${smtp.host}${smtp.port === undefined ? '' : `:${smtp.port}`}`, receives: "people's e-mail addresses and messages to them (invitations, password resets, alerts, notices)" }]),
      ...(config.backup.repository === undefined ? [] : [{ name: 'backup repository', kind: 'backup-repository' as const, where: repositoryPlace(config.backup.repository), receives: 'encrypted snapshots of every data set (records stay sealed under their data keys)' }]),
      { name: 'platform operators', kind: 'operators', where: 'this deployment', receives: 'tenant names, key and backup state, audit events in incidents; no record contents (records are sealed under tenant keys)' },
    ];
  }

  async function webhookRecipients(realm: string): Promise<RopaRecipient[]> {
    return (await deps.webhooks(realm)).map((w) => ({ name: `alert webhook ${hostOf(w.url)}`, kind: 'alert-webhook', where: hostOf(w.url), receives: 'alerts: rule, severity, counts, ids (never record contents)' }));
  }

  function retentionOf(rules: Awaited<ReturnType<RetentionRules>>): RopaRetention {
    const classes = (['personal', 'health', 'payment'] as const).map((c) => {
      const rule = rules?.[c];
      return rule === undefined ? { class: c, period: 'kept until erased', basis: 'no retention rule set' } : { class: c, period: rule.period, basis: rule.basis };
    });
    const { retention } = config.backup;
    return {
      classes,
      auditTrailDays: config.audit.retentionDays,
      backups: { configured: deps.backups.configured, allForHours: retention.allForHours, dailyForDays: retention.dailyForDays, monthlyForMonths: retention.monthlyForMonths },
      sessions: { idleMinutes: config.identity.sessionIdleMinutes, absoluteHours: config.identity.sessionAbsoluteHours },
      oauth: { accessTokenMinutes: config.oauth.accessTokenMinutes, refreshTokenIdleDays: config.oauth.refreshTokenIdleDays, grantDays: config.oauth.grantDays },
    };
  }

  async function lastCheckpoint(realm: string): Promise<{ at: string; seq: number } | undefined> {
    const dir = config.audit.checkpointDir ?? join(config.dataDir, 'audit-checkpoints');
    const text = await readFile(checkpointFile(dir, realm), 'utf8').catch(() => '');
    const last = text.trimEnd().split('\n').at(-1);
    if (last === undefined || last === '') return undefined;
    try {
      const parsed = JSON.parse(last) as { at?: unknown; seq?: unknown };
      return typeof parsed.at === 'string' && typeof parsed.seq === 'number' ? { at: parsed.at, seq: parsed.seq } : undefined;
    } catch {
      return undefined;
    }
  }

  /** The controls as they are now (Art. 32; ISO/IEC 27701 6.x via ISO/IEC 27002), each read from its live object or setting. */
  async function measures(realm: string, mfa: { state: 'on' | 'off'; detail: string }, rotationScope: { scope: 'tenant' | 'master'; tenantId?: string }): Promise<RopaMeasure[]> {
    const tls = config.server.tls;
    const status = deps.backups.configured ? await deps.backups.sharedStatus() : undefined;
    const rotations = (await deps.rotation.recent()).filter((j) => j.scope === rotationScope.scope && (rotationScope.tenantId === undefined || j.tenantId === rotationScope.tenantId) && j.finishedAt !== undefined);
    const lastRotation = rotations.reduce<number | undefined>((max, j) => (max === undefined || (j.finishedAt ?? 0) > max ? j.finishedAt : max), undefined);
    const checkpoint = await lastCheckpoint(realm);
    const replication = deps.replication === undefined ? undefined : await deps.replication();
    const { sinks } = config.audit;
    const sinkCount = (sinks.file === undefined ? 0 : 1) + (sinks.syslog === undefined ? 0 : 1);
    const p = deps.passwordHashing;
    return [
      { id: 'tls', title: 'Encryption in transit (TLS)', state: tls.enabled ? 'on' : 'off', detail: tls.enabled ? `TLS served by Tresor, minimum ${tlsServerOptions.minVersion}; HSTS max-age ${tls.hstsMaxAgeSeconds} s` : 'server.tls.enabled is off: TLS must end at a proxy in front of Tresor' },
      { id: 'field-encryption', title: 'Encryption at rest per field and per data subject', state: fieldEncryptionEnforced ? 'on' : 'off', detail: fieldEncryptionEnforced ? 'personal, health and payment elements sealed with AES-256-GCM under each patient’s own data key; erasure destroys the key (crypto-shredding)' : 'records are stored in clear' },
      { id: 'key-rotation', title: rotationScope.scope === 'master' ? 'Master key rotation' : 'Tenant key rotation', state: lastRotation === undefined ? 'off' : 'on', detail: lastRotation === undefined ? 'no rotation has finished (tresor keys rotate)' : `last rotation finished ${iso(lastRotation)}` },
      { id: 'mfa', title: 'Second factor at sign-in', state: mfa.state, detail: mfa.detail },
      { id: 'password-hashing', title: 'Password hashing', state: 'on', detail: `argon2id, m=${p.memoryKiB} KiB, t=${p.iterations}, p=${p.parallelism}` },
      { id: 'sessions', title: 'Session limits', state: 'on', detail: `idle ${config.identity.sessionIdleMinutes} min, at most ${config.identity.sessionAbsoluteHours} h` },
      { id: 'audit-chain', title: 'Tamper-evident audit trail', state: 'on', detail: `hash chain per tenant; ${checkpoint === undefined ? 'no signed checkpoint yet' : `last signed checkpoint ${checkpoint.at} at event ${checkpoint.seq}`}; kept ${config.audit.retentionDays} days; ${sinkCount === 0 ? 'no SIEM sink' : `${sinkCount} SIEM sink(s)`}` },
      {
        id: 'backups',
        title: 'Encrypted backups and restore drills',
        state: status === undefined ? 'off' : 'on',
        detail:
          status === undefined
            ? 'no backup repository configured (backup.repository)'
            : `repository ${repositoryPlace(config.backup.repository)}; ${config.backup.schedule ? `every ${config.backup.everyMinutes} min` : 'not scheduled by the server'}; last snapshot ${iso(status.lastSnapshotAt) ?? 'none yet'}; last drill ${status.lastDrill === undefined ? 'none yet' : `${status.lastDrill.at} ${status.lastDrill.ok ? 'passed' : 'FAILED'}`}; erasures survive restores (tombstones)`,
      },
      { id: 'detection', title: 'Detection and alerting', state: config.detection.enabled ? 'on' : 'off', detail: config.detection.enabled ? `${deps.detectionRules} rules over every audit trail; escalation by mail${sinks.syslog === undefined ? '' : ' and syslog'}` : 'detection.enabled is off: no rule runs, no alert is raised' },
      { id: 'file-integrity', title: 'File integrity monitoring', state: config.fim.enabled ? 'on' : 'off', detail: config.fim.enabled ? `Tresor's files and configuration checked against a signed baseline every ${config.fim.checkMinutes} min` : 'fim.enabled is off' },
      {
        id: 'replication',
        title: 'Database replication',
        state: replication !== undefined && replication.standbys.length > 0 ? 'on' : 'off',
        detail: replication === undefined ? `single node (${deps.storage.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL, not read'})` : replication.standbys.length === 0 ? (replication.primary ? 'PostgreSQL primary without standbys' : 'PostgreSQL state unreadable or a standby') : `PostgreSQL primary with ${replication.standbys.length} standby(s): ${replication.standbys.map((s) => `${s.name} (${s.sync_state})`).join(', ')}`,
      },
    ];
  }

  const header = () => ({ format: 'tresor-ropa/1' as const, generatedAt: deps.clock.now().toISOString(), tresorVersion: deps.version, registerVersion });

  const toBeAdded = [
    'the legal basis of each purpose (GDPR Art. 6 and, for health data, Art. 9(2))',
    'the name and contact details of the data protection officer and, where applicable, the representative (Art. 30(1)(a))',
    'recipients outside Tresor (laboratories, insurers, authorities) and the processing done in other systems',
    'for each recipient outside the EU/EEA: the country and the safeguard (Art. 46), where this document says "not determined automatically"',
  ];

  return {
    async tenant(tenantId) {
      const tenant = await deps.tenants.get(tenantId);
      if (tenant === undefined) throw new TypeError(`no tenant ${tenantId}`);
      const db = await deps.storage.tenant(tenantId);
      const counts = await countLiveResources(db);
      const accounts = await deps.accountCounts(tenantId);
      const apps = await deps.clients.list(tenantId);
      const contact = await deps.securityContact(tenantId);
      const appRecipients: RopaRecipient[] = apps.map((a) => ({
        name: `app ${a.name} (${a.publisher})`,
        kind: 'app',
        where: a.redirectUris.length === 0 ? 'not registered (a backend service)' : [...new Set(a.redirectUris.map(hostOf))].join(', '),
        receives: `the records its scopes allow (${a.scope}) for the patients who approved it${a.kind === 'backend' ? `; a backend service acting as ${a.role ?? 'service'}` : ''}`,
      }));
      const recipients = [...appRecipients, ...sharedRecipients(), ...(await webhookRecipients(tenantId))];
      const mfa = tenant.mfaPolicy === 'optional' ? { state: 'off' as const, detail: 'tenant policy: optional (nobody is required to use a second factor)' } : { state: 'on' as const, detail: `tenant policy: ${tenant.mfaPolicy === 'everyone' ? 'everyone, patients included' : 'every staff member'} signs in with a second factor (TOTP or passkey)` };
      return {
        ...header(),
        scope: 'tenant',
        controllers: [{ name: tenant.name, id: tenant.id, contact: contact === undefined ? [] : [contact], role: 'controller' }],
        processor,
        dataSubjects: [
          { category: 'patients', count: counts['Patient'] ?? 0, source: 'Patient records in the tenant’s data set' },
          { category: 'patients with a portal account', count: accounts['patient'] ?? 0, source: 'patient accounts' },
          { category: 'staff', count: accounts['staff'] ?? 0, source: 'staff accounts (invited, active or disabled)' },
          { category: 'practitioners in the staff directory', count: counts['Practitioner'] ?? 0, source: 'Practitioner records' },
          { category: 'registered apps (their users act as patients or staff)', count: apps.length, source: 'the tenant’s app register' },
        ],
        dataCategories: dataCategoriesOf(fieldEncryptionEnforced, counts),
        purposes: {
          roles: rolePurposes(),
          apps: apps.map((a) => ({ clientId: a.clientId, name: a.name, publisher: a.publisher, kind: a.kind, status: a.status, scopes: a.scope.split(' ').filter((s) => s !== ''), role: a.role ?? null, declaredPurpose: null })),
          purposesOfUse: await purposesSeen(tenantId),
        },
        recipients,
        transfers: { regions: deps.regions(), thirdCountries: thirdCountryFindings(recipients) },
        retention: retentionOf(deps.retention === undefined ? undefined : await deps.retention(tenantId)),
        measures: await measures(tenantId, mfa, { scope: 'tenant', tenantId }),
        toBeAdded,
      };
    },

    async platform() {
      const tenants = await deps.tenants.list();
      const controllers: RopaParty[] = [];
      for (const t of tenants) {
        const contact = await deps.securityContact(t.id);
        controllers.push({ name: t.name, id: t.id, contact: contact === undefined ? [] : [contact], role: 'controller' });
      }
      const operators = Object.values(await deps.accountCounts(deps.operatorRealm)).reduce((sum, n) => sum + n, 0);
      const recipients = [...sharedRecipients(), ...(await webhookRecipients(deps.operatorRealm))];
      return {
        ...header(),
        scope: 'platform',
        controllers,
        processor,
        dataSubjects: [
          { category: 'tenants (controllers) the deployment processes for', count: tenants.length, source: 'the tenant list; each tenant’s records of processing count its patients and staff' },
          { category: 'platform operators', count: operators, source: 'operator accounts' },
        ],
        dataCategories: dataCategoriesOf(fieldEncryptionEnforced, undefined),
        purposes: { roles: rolePurposes(), apps: [], purposesOfUse: await purposesSeen(deps.operatorRealm) },
        recipients,
        transfers: { regions: deps.regions(), thirdCountries: thirdCountryFindings(recipients) },
        retention: retentionOf(undefined),
        measures: await measures(deps.operatorRealm, { state: 'on', detail: 'operators always sign in with a second factor' }, { scope: 'master' }),
        toBeAdded: ['the categories of processing carried out on behalf of each controller, as agreed in each data processing agreement (Art. 28(3))', ...toBeAdded.slice(1)],
      };
    },
  };
}

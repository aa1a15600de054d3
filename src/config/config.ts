import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, relative, resolve } from 'node:path';
import type * as Zod from 'zod';
import type { z } from 'zod';
import { defaultRetention, retentionLimits } from '../backup/retention.js';
import { AppError } from '../platform/errors.js';
import { lazyRequire } from '../platform/lazy-require.js';
import { commonSettings } from './common-settings.js';
import { homeRegion, regionProblems } from './region-rules.js';

/** Every default in one place; docs/operations/configuration.md mirrors this object. */
export const defaults = {
  mode: 'development',
  dataDir: './data',
  // Data residency (src/regions): the top-level settings are the region `default`, the home of the
  // platform data set; `regions` adds others. New tenants go to `defaultRegion` unless told.
  defaultRegion: 'default',
  server: {
    host: '127.0.0.1',
    port: 8443,
    publicUrl: undefined as string | undefined,
    bodyLimitBytes: 1024 * 1024,
    trustProxy: false,
    // Slow clients (OWASP ASVS 4.0 V12.1.1 availability, "slowloris"): bounded header, body and
    // idle times, and open connections per peer address (0: no cap).
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    keepAliveTimeoutMs: 5_000,
    maxConnectionsPerAddress: 256,
    // Server processes over one data directory (docs/performance.md, "Both cores"): 1, because a
    // single busy tenant's creates lose with two; more pays where the work spreads over tenants.
    processes: 1,
    tls: { enabled: true, certFile: undefined as string | undefined, keyFile: undefined as string | undefined, hstsMaxAgeSeconds: 63_072_000 },
  },
  storage: {
    engine: 'sqlite',
    // Each open SQLite data set holds ~5 file descriptors and ~0.5 MB (docs/performance.md).
    maxOpenTenants: 500,
    sqlite: { synchronous: 'FULL', busyTimeoutMs: 5000 },
    postgres: { url: undefined as string | undefined, poolSize: 10, schemaPrefix: 'tresor', statementTimeoutMs: 30_000, preparedStatements: 200, connectTimeoutMs: 5_000, connectionMaxUses: 10_000 },
  },
  keys: { masterKeyFile: undefined as string | undefined, masterKey: undefined as string | undefined, rotationBatchRows: 500 },
  audit: {
    checkpointDir: undefined as string | undefined,
    checkpointEveryEvents: 1000,
    checkpointSeconds: 60,
    retentionDays: 2192,
    sinks: { file: undefined as string | undefined, syslog: undefined as string | undefined, syslogCaFile: undefined as string | undefined },
  },
  identity: {
    sessionIdleMinutes: 15,
    sessionAbsoluteHours: 12,
    /** WebAuthn relying party; both default from `server.publicUrl`, else `localhost` and `https://localhost:<port>`. */
    webauthn: { rpId: undefined as string | undefined, origins: undefined as string[] | undefined },
  },
  oauth: { accessTokenMinutes: 10, refreshTokenIdleDays: 30, grantDays: 365, signingKeyRetainDays: 2 },
  backup: {
    repository: undefined as string | undefined,
    key: undefined as string | undefined,
    keyFile: undefined as string | undefined,
    chunkKiB: 4,
    sftp: { privateKeyFile: undefined as string | undefined, hostKeySha256: undefined as string | undefined },
    schedule: true,
    everyMinutes: 15,
    drillEveryHours: 24,
    retention: { ...defaultRetention },
    physical: { configFile: undefined as string | undefined, stanza: 'tresor', command: ['pgbackrest'], fullEveryHours: 24, scratchDir: undefined as string | undefined },
  },
  // The detection engine (src/detection): rules over every realm's audit trail, off the request path.
  detection: {
    enabled: true,
    // Where the rules run: `worker`, a thread of their own with its own connections (the server
    // thread only relays); `main`, the server's thread (after the responses; to compare).
    thread: 'worker' as 'worker' | 'main',
    // The worker thread's nice value (0–19; Linux, per thread): the rules yield the cores to the
    // requests when both want them and run at full speed when the machine is idle. 0 keeps the
    // server's priority.
    niceness: 10,
    // How soon after events are appended in this process the engine looks at them.
    wakeMs: 250,
    // Every realm is walked this often too: events other server processes or nodes appended.
    walkSeconds: 15,
    // Events per transaction: about 10 ms of the engine's thread each at 500 (measured).
    batchEvents: 500,
    // Findings of one rule about one subject join the open alert raised within this time.
    dedupMinutes: 60,
    // How often the platform probe reads backups, replication, the certificate and the disks.
    probeMinutes: 5,
    // Per rule id, thresholds overriding the rule's defaults (docs/detection.md lists them).
    rules: {} as Record<string, Record<string, number | boolean | string | string[]>>,
    // Who hears of an alert (detection/escalation.ts, docs/alerting.md): minutes without an
    // acknowledgement before the next level (admins → security contact → operators) per
    // severity, 0 never; severities below `mailFrom` stay in the console; the job's round.
    escalation: { critical: 15, high: 60, medium: 240, low: 0, mailFrom: 'medium' as 'low' | 'medium' | 'high' | 'critical', checkSeconds: 60 },
  },
  log: { level: 'info' },
  metrics: { token: undefined as string | undefined },
  fhir: { defaultPageSize: 20, maxPageSize: 1000 },
  // The personal download (privacy/exports.ts): how long its links and files live; where the
  // sealed files are written (default <dataDir>/exports).
  privacyExports: { linkDays: 7, dir: undefined as string | undefined },
  mail: {
    // Unset host: messages stay in the outbox (development; `tresor outbox list`).
    smtp: {
      host: undefined as string | undefined,
      port: undefined as number | undefined,
      security: 'starttls',
      user: undefined as string | undefined,
      password: undefined as string | undefined,
      passwordFile: undefined as string | undefined,
      from: undefined as string | undefined,
      caFile: undefined as string | undefined,
      connectionTimeoutMs: 10_000,
      greetingTimeoutMs: 10_000,
      socketTimeoutMs: 30_000,
      // A message the relay did not take is tried again after this, then twice as long each time.
      retryFirstSeconds: 30,
    },
  },
  // File integrity monitoring (src/fim): what Tresor runs, checked against a signed baseline.
  fim: { enabled: true, checkMinutes: 60, baselineFile: undefined as string | undefined, installDir: undefined as string | undefined, roots: [] as string[] },
  // The public status page (src/status): how often every component is checked and a sample stored.
  status: { probeSeconds: 60, oauthTenant: undefined as string | undefined },
  // The notification drill (notification/drill.ts) on a schedule: 0 leaves it to the operator.
  incidents: { drillEveryDays: 0 },
  // Breach notification (src/notification): the regimes that apply, the platform operator's role
  // in the tenants' processing (GDPR processor / HIPAA business associate, the usual case for a
  // hosting operator), and how often the deadline job looks for duties running out of time.
  notification: { regimes: ['gdpr', 'hipaa', 'pci'] as string[], role: 'processor' as 'processor' | 'controller', deadlineCheckSeconds: 300 },
  // Breach notices (src/notification/drafts.ts): four eyes on approval; the letters' language when a record names neither German nor English.
  notices: { fourEyes: true, fallbackLanguage: 'de' as 'de' | 'en' },
  // Erasure and retention (src/privacy): the medical-records duty that can override an erasure
  // request (GDPR Art. 17(3)(b); Germany: BGB § 630f(3), 10 years after the end of treatment),
  // and how long records of each class are kept after a patient's last activity (null: no limit).
  // Tenants override each in their own settings; the daily job erases what expired.
  retention: {
    medicalRecordsYears: 10 as number | null,
    years: { personal: 10 as number | null, health: 10 as number | null, payment: 10 as number | null },
    job: { enabled: true, everyHours: 24 },
  },
  // /.well-known/security.txt (RFC 9116): served only with at least one contact.
  security: {
    contact: [] as string[],
    policy: undefined as string | undefined,
    preferredLanguages: 'en, de',
    // RFC 9116 §2.5.5: less than a year ahead; the file is regenerated with each answer.
    expiresDays: 180,
    encryption: undefined as string | undefined,
    acknowledgments: undefined as string | undefined,
  },
} as const;

const d = defaults;
/** A lower-case DNS name (a WebAuthn relying party id is one; no scheme, port or IP address literal). */
const domainName = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** The schema library, loaded only when a configuration holds more than the common settings (common-settings.ts). */
const zod = lazyRequire<typeof Zod>('zod');

/** A region's name: it appears in paths, metrics and audit events. */
const regionName = /^[a-z][a-z0-9-]{0,30}$/;
const regionNameRule = 'lowercase letters, digits and -, at most 31, starting with a letter';

const buildSchema = ({ z }: typeof Zod) =>
  z
    .object({
      mode: z.enum(['development', 'production']).default(d.mode),
      dataDir: z.string().min(1).default(d.dataDir),
      /** The region new tenants are created in when none is named: `default` (the top-level settings) or a key of `regions`. */
      defaultRegion: z.string().regex(regionName, regionNameRule).default(d.defaultRegion),
      /**
       * Regions besides `default` (the top-level settings), each with its own data directory (or
       * PostgreSQL database), master key, backup repository and audit checkpoints. `regions.default`
       * may only give the home region its label and location.
       */
      regions: z
        .record(
          z.string().regex(regionName, regionNameRule),
          z
            .object({
              /** Shown to operators and to the tenant's staff ("EU — Frankfurt"). */
              label: z.string().min(1).max(100).optional(),
              /** Where the region's machines are, free text ("Frankfurt, DE"). */
              location: z.string().min(1).max(200).optional(),
              /** The region's files: its SQLite data sets, key store, audit checkpoints, exports. */
              dataDir: z.string().min(1).optional(),
              /** PostgreSQL: the region's database (its own server or cluster); the schema prefix defaults to storage.postgres.schemaPrefix. */
              postgres: z
                .object({
                  url: z.string().min(1),
                  schemaPrefix: z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, 'lowercase letters, digits and _, at most 16, starting with a letter').optional(),
                })
                .strict()
                .optional(),
              /** The region's master key: its own key ring (file, default `<region dataDir>/master-key.json`, or the ring itself). */
              keys: z.object({ masterKeyFile: z.string().min(1).optional(), masterKey: z.string().min(1).optional() }).strict().prefault({}),
              /** The region's backup repository and key (`<region dataDir>/backup-key.json` by default); SFTP settings as backup.sftp. */
              backup: z
                .object({
                  repository: z.string().min(1).max(2000),
                  key: z.string().min(1).optional(),
                  keyFile: z.string().min(1).optional(),
                })
                .strict()
                .optional(),
              /** Where the signed checkpoints of the region's tenants' audit chains go; default `<region dataDir>/audit-checkpoints`. */
              auditCheckpointDir: z.string().min(1).optional(),
            })
            .strict(),
        )
        .optional(),
      server: z
        .object({
          host: z.string().min(1).default(d.server.host),
          port: z.number().int().min(0).max(65535).default(d.server.port),
          // Without its trailing slash: every link is `<publicUrl>/tenants/…`.
          publicUrl: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, '')).optional(),
          bodyLimitBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(d.server.bodyLimitBytes),
          trustProxy: z.boolean().default(d.server.trustProxy),
          headersTimeoutMs: z.number().int().min(100).max(120_000).default(d.server.headersTimeoutMs),
          requestTimeoutMs: z.number().int().min(100).max(600_000).default(d.server.requestTimeoutMs),
          idleTimeoutMs: z.number().int().min(100).max(600_000).default(d.server.idleTimeoutMs),
          keepAliveTimeoutMs: z.number().int().min(1000).max(600_000).default(d.server.keepAliveTimeoutMs),
          maxConnectionsPerAddress: z.number().int().min(0).max(100_000).default(d.server.maxConnectionsPerAddress),
          processes: z.number().int().min(1).max(64).default(d.server.processes),
          tls: z
            .object({
              enabled: z.boolean().default(d.server.tls.enabled),
              certFile: z.string().min(1).optional(),
              keyFile: z.string().min(1).optional(),
              hstsMaxAgeSeconds: z.number().int().min(0).default(d.server.tls.hstsMaxAgeSeconds),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      storage: z
        .object({
          engine: z.enum(['sqlite', 'postgres']).default(d.storage.engine),
          maxOpenTenants: z.number().int().min(4).max(100_000).default(d.storage.maxOpenTenants),
          sqlite: z
            .object({
              synchronous: z.enum(['FULL', 'NORMAL']).default(d.storage.sqlite.synchronous),
              busyTimeoutMs: z.number().int().min(0).max(60_000).default(d.storage.sqlite.busyTimeoutMs),
            })
            .strict()
            .prefault({}),
          postgres: z
            .object({
              url: z.string().min(1).optional(),
              poolSize: z.number().int().min(1).max(500).default(d.storage.postgres.poolSize),
              schemaPrefix: z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, 'lowercase letters, digits and _, at most 16, starting with a letter').default(d.storage.postgres.schemaPrefix),
              statementTimeoutMs: z.number().int().min(100).default(d.storage.postgres.statementTimeoutMs),
              preparedStatements: z.number().int().min(0).max(10_000).default(d.storage.postgres.preparedStatements),
              connectTimeoutMs: z.number().int().min(100).max(60_000).default(d.storage.postgres.connectTimeoutMs),
              connectionMaxUses: z.number().int().min(0).default(d.storage.postgres.connectionMaxUses),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      keys: z
        .object({
          /** Default `<dataDir>/master-key.json`, created at first start (development). */
          masterKeyFile: z.string().min(1).optional(),
          /** A key ring as printed by `tresor keys generate-master`; wins over the file. */
          masterKey: z.string().min(1).optional(),
          /** Stored versions a key rotation re-encrypts per transaction: smaller holds write locks for less time. */
          rotationBatchRows: z.number().int().min(1).max(10_000).default(d.keys.rotationBatchRows),
        })
        .strict()
        .prefault({}),
      audit: z
        .object({
          /** Where signed checkpoints of every tenant's audit chain go; default `<dataDir>/audit-checkpoints`. Best on another disk or host. */
          checkpointDir: z.string().min(1).optional(),
          checkpointEveryEvents: z.number().int().min(1).max(1_000_000).default(d.audit.checkpointEveryEvents),
          checkpointSeconds: z.number().int().min(1).max(86_400).default(d.audit.checkpointSeconds),
          /**
           * Events older than this are deleted by the daily prune (and `tresor audit prune`), behind a
           * signed cut point. Six years by default and at least that: HIPAA keeps documentation of
           * security actions six years (45 CFR 164.316(b)(2)(i)); longer where local law asks.
           */
          retentionDays: z.number().int().min(d.audit.retentionDays, 'at least 2192 days (six years, HIPAA 45 CFR 164.316(b)(2)(i))').max(36_500).default(d.audit.retentionDays),
          /** SIEM sinks: every event shipped, at least once, from a durable cursor. */
          sinks: z
            .object({
              /** A JSON-lines file, appended and fsynced. */
              file: z.string().min(1).optional(),
              /** `tcp://host:port` or `tls://host:port`: RFC 5424 syslog, octet-counted. */
              syslog: z.string().regex(/^(tcp|tls):\/\/[^/:]+:\d{1,5}$/, 'tcp://host:port or tls://host:port').optional(),
              /** CA certificate (PEM) that signed the syslog server's certificate, for tls://. */
              syslogCaFile: z.string().min(1).optional(),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      identity: z
        .object({
          /** A person's session ends after this many minutes without a request (OWASP ASVS 5 V7.3.1). */
          sessionIdleMinutes: z.number().int().min(1).max(24 * 60).default(d.identity.sessionIdleMinutes),
          /** … and this many hours after login, whatever happens (V7.3.2). */
          sessionAbsoluteHours: z.number().int().min(1).max(24 * 30).default(d.identity.sessionAbsoluteHours),
          /**
           * Passkeys (WebAuthn): the relying party id — a domain, no scheme or port — that
           * credentials are scoped to, and the origins browsers may use them from (each on that
           * domain or below it). Changing the id later makes every registered passkey unusable.
           */
          webauthn: z
            .object({
              rpId: z.string().regex(domainName, 'a lower-case domain name without scheme or port, e.g. vault.example.org').optional(),
              origins: z.array(z.url({ protocol: /^https?$/ })).min(1).max(16).optional(),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      oauth: z
        .object({
          /** Lifetime of an access token (SMART apps renew with their refresh token). */
          accessTokenMinutes: z.number().int().min(1).max(60).default(d.oauth.accessTokenMinutes),
          /** A refresh token unused for this long expires; each use rotates it and starts the period again. */
          refreshTokenIdleDays: z.number().int().min(1).max(365).default(d.oauth.refreshTokenIdleDays),
          /** A consent (grant) ends this many days after it was given, however often it is used. */
          grantDays: z.number().int().min(1).max(3650).default(d.oauth.grantDays),
          /** After a signing key rotation the old key stays published this long (ID tokens signed with it still verify). */
          signingKeyRetainDays: z.number().int().min(0).max(90).default(d.oauth.signingKeyRetainDays),
        })
        .strict()
        .prefault({}),
      backup: z
        .object({
          /** Where snapshots go: a directory (another disk or mount) or `sftp://user@host:port/path`. */
          repository: z.string().min(1).max(2000).optional(),
          /** The backup key itself (TRESOR_BACKUP_KEY; from `tresor backup generate-key`); wins over the file. */
          key: z.string().min(1).optional(),
          /** The backup key file; default `<dataDir>/backup-key.json`, made by the first backup. */
          keyFile: z.string().min(1).optional(),
          /** Deduplication unit: smaller stores less per change, larger makes fewer objects. */
          chunkKiB: z.number().int().min(4).max(4096).default(d.backup.chunkKiB),
          /**
           * Where a snapshot's plaintext copy of a SQLite file too large to copy in memory (more
           * than a quarter of the memory available) waits while it is chunked; default the data
           * directory. A tmpfs here keeps such copies off the disk.
           */
          scratchDir: z.string().min(1).max(2000).optional(),
          /** The server takes snapshots by itself (when a repository is set); false leaves it to `tresor backup run` (cron). */
          schedule: z.boolean().default(d.backup.schedule),
          /** Minutes between scheduled snapshots (SPEC B1: 15). */
          everyMinutes: z.number().int().min(1).max(1440).default(d.backup.everyMinutes),
          /** Hours between restore drills: the newest snapshot restored into scratch and checked end to end. */
          drillEveryHours: z.number().int().min(1).max(720).default(d.backup.drillEveryHours),
          /** Which snapshots are kept (backup/retention.ts); the newest verified one always is. */
          retention: z
            .object({
              allForHours: z.number().int().min(1).max(retentionLimits.allForHours).default(d.backup.retention.allForHours),
              dailyForDays: z.number().int().min(1).max(retentionLimits.dailyForDays).default(d.backup.retention.dailyForDays),
              monthlyForMonths: z.number().int().min(1).max(retentionLimits.monthlyForMonths).default(d.backup.retention.monthlyForMonths),
            })
            .strict()
            .prefault({}),
          /**
           * Physical backups of a PostgreSQL deployment with pgBackRest (backup/physical.ts): set
           * `configFile` (the repository side's pgbackrest.conf) to turn them on. The repository
           * passphrase is derived from the backup key.
           */
          physical: z
            .object({
              configFile: z.string().min(1).max(2000).optional(),
              stanza: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -').default(d.backup.physical.stanza),
              /** How to run pgbackrest: as root, e.g. ["setpriv","--reuid=postgres","--regid=postgres","--init-groups","--","pgbackrest"]. */
              command: z.array(z.string().min(1)).min(1).max(32).default(() => [...d.backup.physical.command]),
              /** Hours between full backups taken by the server (the backup leader); 0 for none (cron runs `tresor backup physical run`). */
              fullEveryHours: z.number().int().min(0).max(720).default(d.backup.physical.fullEveryHours),
              /** Where the restore drill's scratch instance goes (a new directory in it; default the system's temporary directory); the repository's owner must be able to enter it. */
              scratchDir: z.string().min(1).max(2000).optional(),
            })
            .strict()
            .prefault({}),
          sftp: z
            .object({
              /** The SSH private key Tresor signs in with (key authentication only). */
              privateKeyFile: z.string().min(1).optional(),
              /** The server's host key fingerprint, `SHA256:…` as `ssh-keygen -lf` prints it: no connection without a match. */
              hostKeySha256: z.string().min(1).optional(),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(d.log.level) }).strict().prefault({}),
      metrics: z.object({ token: z.string().min(32, 'at least 32 characters').optional() }).strict().prefault({}),
      fhir: z
        .object({
          defaultPageSize: z.number().int().min(1).max(1000).default(d.fhir.defaultPageSize),
          maxPageSize: z.number().int().min(1).max(1000).default(d.fhir.maxPageSize),
        })
        .strict()
        .prefault({}),
      privacyExports: z
        .object({
          linkDays: z.number().int().min(1).max(90).default(d.privacyExports.linkDays),
          dir: z.string().min(1).optional(),
        })
        .strict()
        .prefault({}),
      detection: z
        .object({
          /** Off: no rules run (alerts already raised stay). The audit trail is written either way. */
          enabled: z.boolean().default(d.detection.enabled),
          thread: z.enum(['worker', 'main']).default(d.detection.thread),
          niceness: z.number().int().min(0).max(19).default(d.detection.niceness),
          wakeMs: z.number().int().min(10).max(60_000).default(d.detection.wakeMs),
          walkSeconds: z.number().int().min(1).max(3600).default(d.detection.walkSeconds),
          batchEvents: z.number().int().min(10).max(100_000).default(d.detection.batchEvents),
          dedupMinutes: z.number().int().min(1).max(7 * 24 * 60).default(d.detection.dedupMinutes),
          probeMinutes: z.number().int().min(1).max(24 * 60).default(d.detection.probeMinutes),
          /** Checked against each rule's defaults at start (detection/rules): an unknown rule or threshold is refused. */
          rules: z.record(z.string(), z.record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.array(z.string())]))).default({}),
          escalation: z
            .object({
              critical: z.number().int().min(0).max(7 * 24 * 60).default(d.detection.escalation.critical),
              high: z.number().int().min(0).max(7 * 24 * 60).default(d.detection.escalation.high),
              medium: z.number().int().min(0).max(7 * 24 * 60).default(d.detection.escalation.medium),
              low: z.number().int().min(0).max(7 * 24 * 60).default(d.detection.escalation.low),
              mailFrom: z.enum(['low', 'medium', 'high', 'critical']).default(d.detection.escalation.mailFrom),
              checkSeconds: z.number().int().min(1).max(3600).default(d.detection.escalation.checkSeconds),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      mail: z
        .object({
          /** An SMTP relay for messages to people (invitation, password reset); unset: the outbox. */
          smtp: z
            .object({
              host: z.string().min(1).max(253).optional(),
              port: z.number().int().min(1).max(65535).optional(),
              security: z.enum(['starttls', 'tls', 'none']).default(d.mail.smtp.security),
              user: z.string().min(1).max(320).optional(),
              /** From TRESOR_SMTP_PASSWORD only: loadConfig refuses it in the config file. */
              password: z.string().min(1).optional(),
              passwordFile: z.string().min(1).optional(),
              from: z.string().min(3).max(320).optional(),
              caFile: z.string().min(1).optional(),
              connectionTimeoutMs: z.number().int().min(100).max(300_000).default(d.mail.smtp.connectionTimeoutMs),
              greetingTimeoutMs: z.number().int().min(100).max(300_000).default(d.mail.smtp.greetingTimeoutMs),
              socketTimeoutMs: z.number().int().min(100).max(600_000).default(d.mail.smtp.socketTimeoutMs),
              retryFirstSeconds: z.number().int().min(1).max(3600).default(d.mail.smtp.retryFirstSeconds),
            })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      fim: z
        .object({
          /** The server checks its files against the baseline (at start, then every checkMinutes), on the node that runs the scheduled jobs. */
          enabled: z.boolean().default(d.fim.enabled),
          checkMinutes: z.number().int().min(1).max(10_080).default(d.fim.checkMinutes),
          /** The signed baseline; default `<dataDir>/fim-baseline.json`. */
          baselineFile: z.string().min(1).max(2000).optional(),
          /** Where Tresor is installed (the directory holding its package.json); default the one this code runs from. */
          installDir: z.string().min(1).max(2000).optional(),
          /** More files or directories to watch (an init script, a reverse proxy's configuration). */
          roots: z.array(z.string().min(1).max(2000)).max(64).default(() => [...d.fim.roots]),
        })
        .strict()
        .prefault({}),
      incidents: z
        .object({
          /** A notification drill on synthetic tenants when the last one is this many days old (PCI DSS 12.10.2: at least yearly); 0: off. */
          drillEveryDays: z.number().int().min(0).max(366).default(d.incidents.drillEveryDays),
        })
        .strict()
        .prefault({}),
      status: z
        .object({
          probeSeconds: z.number().int().min(10).max(3600).default(d.status.probeSeconds),
          /** The tenant whose OpenID discovery document the OAuth check asks for (building its authorization server once); unset: OAuth follows API and sign-in. */
          oauthTenant: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'a tenant id').optional(),
        })
        .strict()
        .prefault({}),
      notification: z
        .object({
          /** The regimes whose duties the assessment lists: a clinic outside the US turns `hipaa` off, one without card data `pci`. */
          regimes: z
            .array(z.enum(['gdpr', 'hipaa', 'pci']))
            .min(1)
            .max(3)
            .default(() => [...d.notification.regimes] as Array<'gdpr' | 'hipaa' | 'pci'>),
          /** `processor`: the operator hosts clinics (GDPR Art. 28, HIPAA business associate); `controller`: it runs Tresor for itself. */
          role: z.enum(['processor', 'controller']).default(d.notification.role),
          deadlineCheckSeconds: z.number().int().min(10).max(3600).default(d.notification.deadlineCheckSeconds),
        })
        .strict()
        .prefault({}),
      retention: z
        .object({
          /** Years medical records must be kept after the last treatment (BGB § 630f(3): 10); null: no such duty. */
          medicalRecordsYears: z.number().int().min(0).max(100).nullable().default(d.retention.medicalRecordsYears),
          years: z
            .object({
              personal: z.number().int().min(1).max(100).nullable().default(d.retention.years.personal),
              health: z.number().int().min(1).max(100).nullable().default(d.retention.years.health),
              payment: z.number().int().min(1).max(100).nullable().default(d.retention.years.payment),
            })
            .strict()
            .prefault({}),
          job: z
            .object({ enabled: z.boolean().default(d.retention.job.enabled), everyHours: z.number().int().min(1).max(168).default(d.retention.job.everyHours) })
            .strict()
            .prefault({}),
        })
        .strict()
        .prefault({}),
      notices: z
        .object({
          /** Whoever approves a notice is not who last edited it. Off only where one person runs everything — and then knowingly. */
          fourEyes: z.boolean().default(d.notices.fourEyes),
          fallbackLanguage: z.enum(['de', 'en']).default(d.notices.fallbackLanguage),
        })
        .strict()
        .prefault({}),
      security: z
        .object({
          /** RFC 9116 §2.5.3: `mailto:` or `https:` URIs. */
          contact: z.array(z.string().regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+|tel:\+?[0-9 ()-]+)$/, 'a mailto:, https: or tel: URI')).max(10).default(() => [...d.security.contact]),
          policy: z.url({ protocol: /^https$/ }).optional(),
          preferredLanguages: z.string().regex(/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*(\s*,\s*[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)*$/, 'language tags separated by commas').default(d.security.preferredLanguages),
          expiresDays: z.number().int().min(1).max(365).default(d.security.expiresDays),
          encryption: z.string().regex(/^(https:\/\/|openpgp4fpr:|dns:)\S+$/, 'an https:, openpgp4fpr: or dns: URI').optional(),
          acknowledgments: z.url({ protocol: /^https$/ }).optional(),
        })
        .strict()
        .prefault({}),
    })
    .strict()
    .superRefine((config, ctx) => {
      const { smtp } = config.mail;
      if (smtp.host !== undefined && smtp.from === undefined) {
        ctx.addIssue({ code: 'custom', path: ['mail', 'smtp', 'from'], message: 'required with mail.smtp.host (the sender of invitations and password resets)' });
      }
      if (smtp.user !== undefined && smtp.password === undefined && smtp.passwordFile === undefined) {
        ctx.addIssue({ code: 'custom', path: ['mail', 'smtp', 'passwordFile'], message: 'mail.smtp.user needs a password: TRESOR_SMTP_PASSWORD or mail.smtp.passwordFile' });
      }
      if (smtp.password !== undefined && smtp.passwordFile !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['mail', 'smtp', 'passwordFile'], message: 'give the SMTP password once: TRESOR_SMTP_PASSWORD or mail.smtp.passwordFile, not both' });
      }
      // Node's HTTP server requires it: the headers arrive within the time the whole request has.
      if (config.server.headersTimeoutMs > config.server.requestTimeoutMs) {
        ctx.addIssue({ code: 'custom', path: ['server', 'headersTimeoutMs'], message: `must not exceed server.requestTimeoutMs (${config.server.requestTimeoutMs})` });
      }
      // Runs even when other settings failed their rules (a port out of range makes no URL): those report themselves.
      let relyingParty;
      try {
        relyingParty = relyingPartyOf(config);
      } catch {
        return;
      }
      const { rpId, origins } = relyingParty;
      // A malformed id is reported by its own rule already.
      if (config.identity.webauthn.rpId !== undefined && !domainName.test(rpId)) return;
      for (const origin of origins) {
        const url = new URL(origin);
        if (url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
          ctx.addIssue({ code: 'custom', path: ['identity', 'webauthn', 'origins'], message: `${url.origin} is not on the relying party id ${rpId} or below it (WebAuthn §5.1.3)` });
        }
        // Only origins given explicitly: a plain-HTTP publicUrl behind a proxy must still start.
        if (config.identity.webauthn.origins !== undefined && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
          ctx.addIssue({ code: 'custom', path: ['identity', 'webauthn', 'origins'], message: 'browsers use passkeys only from https:// origins (or http://localhost)' });
        }
      }
    })
    .transform(withRelyingParty);

let schema: ReturnType<typeof buildSchema> | undefined;

function withRelyingParty<T extends Parameters<typeof relyingPartyOf>[0]>(config: T) {
  return { ...config, identity: { ...config.identity, webauthn: relyingPartyOf(config) } };
}

/**
 * The WebAuthn relying party: as configured, else from `server.publicUrl` (its host is the id,
 * its origin the one origin), else `localhost` and `https://localhost:<port>`.
 */
function relyingPartyOf(config: { server: { publicUrl?: string | undefined; port: number }; identity: { webauthn: { rpId?: string | undefined; origins?: string[] | undefined } } }): { rpId: string; origins: string[] } {
  const publicUrl = config.server.publicUrl === undefined ? undefined : new URL(config.server.publicUrl);
  const fallback = publicUrl ?? new URL(`https://localhost:${config.server.port}`);
  const { rpId, origins } = config.identity.webauthn;
  return {
    rpId: rpId ?? fallback.hostname.replace(/^\[|\]$/g, ''),
    // Origins as browsers write them in clientDataJSON: scheme, host and a non-default port, no path.
    origins: [...new Set((origins ?? [fallback.origin]).map((origin) => new URL(origin).origin))],
  };
}

export type Config = z.infer<ReturnType<typeof buildSchema>>;
export type ConfigInput = z.input<ReturnType<typeof buildSchema>>;

export class ConfigError extends AppError<'config-invalid'> {
  constructor(message: string) {
    super('config-invalid', message, { status: 500 });
  }
}

type EnvParser = (value: string) => unknown;
const asString: EnvParser = (value) => value;
const asNumber: EnvParser = (value) => (/^-?\d+$/.test(value.trim()) ? Number(value) : value);
const asList: EnvParser = (value) => value.split(',').map((item) => item.trim()).filter((item) => item !== '');
const asWords: EnvParser = (value) => value.split(/\s+/).filter((item) => item !== '');
const asBoolean: EnvParser = (value) => (/^(1|true|on|yes)$/i.test(value) ? true : /^(0|false|off|no)$/i.test(value) ? false : value);

/** Environment variables → config paths. docs/operations/configuration.md lists the same table. */
export const environment: ReadonlyArray<readonly [name: string, path: string, parse: EnvParser]> = [
  ['TRESOR_MODE', 'mode', asString],
  ['TRESOR_DATA_DIR', 'dataDir', asString],
  ['TRESOR_HOST', 'server.host', asString],
  ['TRESOR_PORT', 'server.port', asNumber],
  ['TRESOR_PUBLIC_URL', 'server.publicUrl', asString],
  ['TRESOR_BODY_LIMIT_BYTES', 'server.bodyLimitBytes', asNumber],
  ['TRESOR_TRUST_PROXY', 'server.trustProxy', asBoolean],
  ['TRESOR_HEADERS_TIMEOUT_MS', 'server.headersTimeoutMs', asNumber],
  ['TRESOR_REQUEST_TIMEOUT_MS', 'server.requestTimeoutMs', asNumber],
  ['TRESOR_IDLE_TIMEOUT_MS', 'server.idleTimeoutMs', asNumber],
  ['TRESOR_KEEP_ALIVE_TIMEOUT_MS', 'server.keepAliveTimeoutMs', asNumber],
  ['TRESOR_MAX_CONNECTIONS_PER_ADDRESS', 'server.maxConnectionsPerAddress', asNumber],
  ['TRESOR_SERVER_PROCESSES', 'server.processes', asNumber],
  ['TRESOR_TLS', 'server.tls.enabled', asBoolean],
  ['TRESOR_TLS_CERT', 'server.tls.certFile', asString],
  ['TRESOR_TLS_KEY', 'server.tls.keyFile', asString],
  ['TRESOR_STORAGE', 'storage.engine', asString],
  ['TRESOR_SQLITE_SYNCHRONOUS', 'storage.sqlite.synchronous', asString],
  ['TRESOR_MAX_OPEN_TENANTS', 'storage.maxOpenTenants', asNumber],
  ['TRESOR_POSTGRES_URL', 'storage.postgres.url', asString],
  ['TRESOR_POSTGRES_POOL_SIZE', 'storage.postgres.poolSize', asNumber],
  ['TRESOR_POSTGRES_SCHEMA_PREFIX', 'storage.postgres.schemaPrefix', asString],
  ['TRESOR_POSTGRES_PREPARED_STATEMENTS', 'storage.postgres.preparedStatements', asNumber],
  ['TRESOR_POSTGRES_CONNECT_TIMEOUT_MS', 'storage.postgres.connectTimeoutMs', asNumber],
  ['TRESOR_POSTGRES_CONNECTION_MAX_USES', 'storage.postgres.connectionMaxUses', asNumber],
  ['TRESOR_MASTER_KEY_FILE', 'keys.masterKeyFile', asString],
  ['TRESOR_MASTER_KEY', 'keys.masterKey', asString],
  ['TRESOR_KEY_ROTATION_BATCH_ROWS', 'keys.rotationBatchRows', asNumber],
  ['TRESOR_AUDIT_CHECKPOINT_DIR', 'audit.checkpointDir', asString],
  ['TRESOR_AUDIT_RETENTION_DAYS', 'audit.retentionDays', asNumber],
  ['TRESOR_AUDIT_FILE', 'audit.sinks.file', asString],
  ['TRESOR_AUDIT_SYSLOG', 'audit.sinks.syslog', asString],
  ['TRESOR_AUDIT_SYSLOG_CA', 'audit.sinks.syslogCaFile', asString],
  ['TRESOR_SESSION_IDLE_MINUTES', 'identity.sessionIdleMinutes', asNumber],
  ['TRESOR_SESSION_ABSOLUTE_HOURS', 'identity.sessionAbsoluteHours', asNumber],
  ['TRESOR_WEBAUTHN_RP_ID', 'identity.webauthn.rpId', asString],
  ['TRESOR_WEBAUTHN_ORIGINS', 'identity.webauthn.origins', asList],
  ['TRESOR_OAUTH_ACCESS_TOKEN_MINUTES', 'oauth.accessTokenMinutes', asNumber],
  ['TRESOR_OAUTH_REFRESH_TOKEN_IDLE_DAYS', 'oauth.refreshTokenIdleDays', asNumber],
  ['TRESOR_OAUTH_GRANT_DAYS', 'oauth.grantDays', asNumber],
  ['TRESOR_BACKUP_REPOSITORY', 'backup.repository', asString],
  ['TRESOR_BACKUP_KEY', 'backup.key', asString],
  ['TRESOR_BACKUP_KEY_FILE', 'backup.keyFile', asString],
  ['TRESOR_BACKUP_SFTP_KEY_FILE', 'backup.sftp.privateKeyFile', asString],
  ['TRESOR_BACKUP_SFTP_HOST_KEY', 'backup.sftp.hostKeySha256', asString],
  ['TRESOR_BACKUP_SCHEDULE', 'backup.schedule', asBoolean],
  ['TRESOR_BACKUP_EVERY_MINUTES', 'backup.everyMinutes', asNumber],
  ['TRESOR_BACKUP_DRILL_EVERY_HOURS', 'backup.drillEveryHours', asNumber],
  ['TRESOR_INCIDENT_DRILL_EVERY_DAYS', 'incidents.drillEveryDays', asNumber],
  ['TRESOR_PGBACKREST_CONFIG', 'backup.physical.configFile', asString],
  ['TRESOR_PGBACKREST_STANZA', 'backup.physical.stanza', asString],
  ['TRESOR_PGBACKREST_COMMAND', 'backup.physical.command', asWords],
  ['TRESOR_PGBACKREST_FULL_EVERY_HOURS', 'backup.physical.fullEveryHours', asNumber],
  ['TRESOR_BACKUP_KEEP_ALL_HOURS', 'backup.retention.allForHours', asNumber],
  ['TRESOR_BACKUP_KEEP_DAILY_DAYS', 'backup.retention.dailyForDays', asNumber],
  ['TRESOR_BACKUP_KEEP_MONTHLY_MONTHS', 'backup.retention.monthlyForMonths', asNumber],
  ['TRESOR_DETECTION', 'detection.enabled', asBoolean],
  ['TRESOR_DETECTION_THREAD', 'detection.thread', asString],
  ['TRESOR_DETECTION_NICENESS', 'detection.niceness', asNumber],
  ['TRESOR_DETECTION_WALK_SECONDS', 'detection.walkSeconds', asNumber],
  ['TRESOR_LOG_LEVEL', 'log.level', asString],
  ['TRESOR_METRICS_TOKEN', 'metrics.token', asString],
  ['TRESOR_SMTP_HOST', 'mail.smtp.host', asString],
  ['TRESOR_SMTP_PORT', 'mail.smtp.port', asNumber],
  ['TRESOR_SMTP_SECURITY', 'mail.smtp.security', asString],
  ['TRESOR_SMTP_USER', 'mail.smtp.user', asString],
  ['TRESOR_SMTP_PASSWORD', 'mail.smtp.password', asString],
  ['TRESOR_SMTP_PASSWORD_FILE', 'mail.smtp.passwordFile', asString],
  ['TRESOR_SMTP_FROM', 'mail.smtp.from', asString],
  ['TRESOR_SMTP_CA_FILE', 'mail.smtp.caFile', asString],
  ['TRESOR_FIM', 'fim.enabled', asBoolean],
  ['TRESOR_FIM_CHECK_MINUTES', 'fim.checkMinutes', asNumber],
  ['TRESOR_FIM_BASELINE_FILE', 'fim.baselineFile', asString],
  ['TRESOR_FIM_INSTALL_DIR', 'fim.installDir', asString],
  ['TRESOR_FIM_ROOTS', 'fim.roots', asList],
];

type Tree = Record<string, unknown>;

function setPath(target: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node = next !== null && typeof next === 'object' && !Array.isArray(next) ? (next as Tree) : (node[key] = {} as Tree);
  }
  node[keys[keys.length - 1] as string] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && existing !== null && typeof existing === 'object' && !Array.isArray(existing)
        ? merge(existing as Tree, value as Tree)
        : value;
  }
  return out;
}

export interface LoadConfigOptions {
  /** A JSON config file (`--config` / `TRESOR_CONFIG`). */
  readonly file?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Highest precedence: command-line flags, or a test's settings. */
  readonly overrides?: ConfigInput;
}

/** defaults < file < environment < overrides; the result is validated as a whole. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  let raw: Tree = {};
  const sources = new Map<string, string>();
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new ConfigError(`config file ${options.file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      raw = JSON.parse(text) as Tree;
    } catch {
      throw new ConfigError(`config file ${options.file}: is not valid JSON`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config file ${options.file}: must hold a JSON object`);
    // A relay password in clear in a file that is copied, versioned and shown around (OWASP ASVS 5 V13.3.1): from the environment or its own file only.
    const mail = raw['mail'];
    if (mail !== null && typeof mail === 'object' && (mail as Tree)['smtp'] !== null && typeof (mail as Tree)['smtp'] === 'object' && ((mail as Tree)['smtp'] as Tree)['password'] !== undefined) {
      throw new ConfigError(`config file ${options.file}: config.mail.smtp.password is not read from the config file; use TRESOR_SMTP_PASSWORD or mail.smtp.passwordFile (a file only Tresor's user can read)`);
    }
  }
  for (const [name, path, parse] of environment) {
    const value = options.env?.[name];
    if (value === undefined || value === '') continue;
    setPath(raw, path, parse(value));
    sources.set(path, name);
  }
  raw = merge(raw, (options.overrides ?? {}) as Tree);
  const common = commonSettings(raw, defaults);
  // The common settings alone need no schema (common-settings.ts); the result is the schema's, as config.test.ts checks.
  const config = common === undefined ? validate(raw, sources) : (withRelyingParty(common as Omit<Config, 'identity'> & { identity: Config['identity'] }) as Config);
  if (config.storage.engine === 'postgres' && config.storage.postgres.url === undefined) {
    throw new ConfigError('config.storage.postgres.url: required when config.storage.engine is "postgres"');
  }
  if (config.backup.physical.configFile !== undefined && config.storage.engine !== 'postgres') {
    throw new ConfigError('config.backup.physical.configFile: physical backups (pgBackRest) are for the PostgreSQL engine; SQLite has the encrypted snapshots (backup.repository)');
  }
  if (config.backup.physical.configFile !== undefined && config.backup.repository === undefined) {
    // A point-in-time restore rolls the key store back to before an erasure; the tombstone list
    // that destroys those keys again lives in the snapshot repository, outside the database.
    throw new ConfigError('config.backup.repository: required with config.backup.physical.configFile: the list of erased patients (tombstones) that survives a point-in-time restore is kept there');
  }
  const regionIssues = regionProblems(config);
  if (regionIssues.length > 0) throw new ConfigError(regionIssues.join('\n'));
  if (config.fhir.defaultPageSize > config.fhir.maxPageSize) {
    throw new ConfigError('config.fhir.defaultPageSize: must not exceed config.fhir.maxPageSize');
  }
  if ((config.server.tls.certFile === undefined) !== (config.server.tls.keyFile === undefined)) {
    throw new ConfigError('config.server.tls.certFile: certFile and keyFile are set together or not at all');
  }
  if (config.mode === 'production') assertSafeForProduction(config);
  return config;
}

/** What the schema makes of `raw` (defaults, cross-setting rules, transform), without the common-settings shortcut; for tests. */
export function parseWithSchema(raw: Tree): Config {
  return validate(raw, new Map());
}

function validate(raw: Tree, sources: ReadonlyMap<string, string>): Config {
  schema ??= buildSchema(zod());
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key].join('.')) : [issue.path.join('.')];
      return keys
        .map((path) => {
          const from = sources.get(path);
          const label = issue.code === 'unrecognized_keys' ? 'is not a known setting' : issue.message;
          return `config.${path}${from ? ` (from ${from})` : ''}: ${label}`;
        })
        .join('\n');
    });
    throw new ConfigError(lines.join('\n'));
  }
  return result.data;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Production refuses settings that are fine on a laptop and wrong with patients' data. */
export function assertSafeForProduction(config: Config): void {
  const problems: string[] = [];
  const { tls } = config.server;
  if (!tls.enabled && !config.server.trustProxy) {
    // SPEC E3: TLS ≥ 1.2 everywhere. Plain HTTP only behind a TLS-terminating proxy.
    problems.push('config.server.tls.enabled: plain HTTP in production requires config.server.trustProxy=true (a TLS-terminating proxy in front)');
  }
  if (tls.enabled && tls.certFile === undefined) {
    problems.push('config.server.tls.certFile: production needs a real certificate; the self-signed one is for development');
  }
  if (config.storage.engine === 'sqlite' && config.storage.sqlite.synchronous !== 'FULL') {
    problems.push('config.storage.sqlite.synchronous: must be FULL in production (acknowledged writes must survive power loss)');
  }
  if (config.storage.engine === 'postgres' && config.storage.postgres.url !== undefined) {
    const url = safeUrl(config.storage.postgres.url);
    if (url === undefined) {
      problems.push('config.storage.postgres.url: is not a valid postgres:// URL');
    } else if (!isLoopback(url.hostname) && !url.hostname.startsWith('/') && !/^(require|verify-ca|verify-full)$/.test(url.searchParams.get('sslmode') ?? '')) {
      problems.push('config.storage.postgres.url: a remote database needs sslmode=verify-full (or require) in production');
    }
  }
  if (config.keys.masterKey === undefined && (config.keys.masterKeyFile === undefined || isInside(config.keys.masterKeyFile, config.dataDir))) {
    // A key stored on the disk it protects protects nothing against a stolen disk (SPEC E2).
    problems.push('config.keys.masterKey: production takes the master key from TRESOR_MASTER_KEY (or a key file outside config.dataDir)');
  }
  const backupsUsed = config.backup.repository !== undefined || config.backup.physical.configFile !== undefined;
  if (backupsUsed && config.backup.key === undefined && (config.backup.keyFile === undefined || isInside(config.backup.keyFile, config.dataDir))) {
    // A backup key left beside the data is lost with the machine, and with it every backup (SPEC B3).
    problems.push('config.backup.key: production takes the backup key from TRESOR_BACKUP_KEY (or config.backup.keyFile outside config.dataDir); `tresor backup generate-key` makes one');
  }
  // Every other region keeps the same rules with its own data directory: its master key and its
  // backup key come from outside it (regions.<name>.keys.*, regions.<name>.backup.key or .keyFile).
  for (const [name, region] of Object.entries(config.regions ?? {})) {
    if (name === homeRegion || region.dataDir === undefined) continue;
    if (region.keys.masterKey === undefined && (region.keys.masterKeyFile === undefined || isInside(region.keys.masterKeyFile, region.dataDir))) {
      problems.push(`config.regions.${name}.keys.masterKey: production takes region ${name}'s master key from outside its data directory (masterKey, or a masterKeyFile elsewhere)`);
    }
    if (region.backup !== undefined && region.backup.key === undefined && (region.backup.keyFile === undefined || isInside(region.backup.keyFile, region.dataDir))) {
      problems.push(`config.regions.${name}.backup.key: production takes region ${name}'s backup key from outside its data directory (key, or a keyFile elsewhere); \`tresor backup generate-key\` makes one`);
    }
  }
  if (config.server.publicUrl === undefined || !config.server.publicUrl.startsWith('https://')) {
    // The OAuth issuer and every absolute link derive from it; OIDC Discovery §3 and RFC 8414 §2 require an https issuer.
    problems.push('config.server.publicUrl: production needs the https:// URL clients reach Tresor at (the OAuth issuer of each tenant is built from it)');
  }
  if (config.audit.sinks.syslog?.startsWith('tcp://') === true) {
    // The SIEM copy carries who accessed which patient's records: never in clear on a network (SPEC E3), and loopback is no exception (a relay may forward it on).
    problems.push('config.audit.sinks.syslog: production ships the audit trail over TLS only: use tls://host:port (with config.audit.sinks.syslogCaFile for a private CA), not tcp://');
  }
  if (config.mail.smtp.host !== undefined && config.mail.smtp.security === 'none') {
    // Invitations and resets carry live account-takeover tokens: never in clear on a network
    // (RFC 8314 §3: TLS for submission; RFC 3207 STARTTLS, required, not opportunistic).
    problems.push('config.mail.smtp.security: production sends mail over TLS only: starttls (STARTTLS required, RFC 3207) or tls (implicit TLS, RFC 8314), not none');
  }
  if (problems.length > 0) throw new ConfigError(`refusing to start in production mode:\n${problems.join('\n')}`);
}

function isInside(file: string, dir: string): boolean {
  const relation = relative(resolve(dir), resolve(file));
  return relation === '' || (!relation.startsWith('..') && !isAbsolute(relation));
}

function safeUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

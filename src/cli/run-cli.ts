import { parseArgs } from 'node:util';
import type { Config, ConfigInput } from '../config/index.js';
import { isAppError } from '../platform/errors.js';
import { version } from '../version.js';
import type { CliIo, CliValues } from './io.js';
import { Refusal, UsageError } from './usage-error.js';

// Each command loads what it needs when it runs (`await import`): `tresor version` and `help`
// load nothing but this file, admin commands not the HTTP server, the OAuth server or the
// FHIR validator. Every import here is paid by every command.

export const usage = `Tresor ${version} — a self-hosted vault for health and payment data

Usage:
  tresor start [--data-dir DIR] [--port N] [--host H] [--config FILE]
  tresor tenant create <id> [--name NAME] [--region REGION]
                                            in REGION's data directory, key store and backups (default:
                                            defaultRegion; docs/residency.md)
  tresor tenant move --tenant <id> --to <region> --reason TEXT
                                            moves the tenant's data set and keys to another region: copied,
                                            keys re-wrapped, verified, switched, then the source destroyed;
                                            its requests answered 503 meanwhile; audited in both trails
                                            (PostgreSQL: beside running servers; SQLite: server stopped —
                                            a running one moves it: POST /platform/tenants/<id>/move)
  tresor tenant move --tenant <id> --clear-mark --reason TEXT
                                            ends the 503 of a move a crashed process left behind (the tenant
                                            stays in the region the registry names)
  tresor tenant list [--json]
  tresor tenant disable <id>
  tresor tenant set <id> --mfa <everyone|staff|optional>
                                            who must sign in with a second factor (default: staff)
  tresor apikey create --tenant <id> --role <role> [--label TEXT]
                                            roles: service, service-reader, auditor, front-desk, billing,
                                            tenant-admin (tresor roles prints what each may do)
  tresor apikey list --tenant <id>
  tresor apikey revoke <key-id>
  tresor register [--json]                  the data register: every stored field, its class and protection
  tresor ropa [--tenant <id>] [--format md|json|pdf] [--out FILE] [--lang en|de]
                                            records of processing (GDPR Art. 30), generated from the register,
                                            the permission matrix, the configuration and the live system: a
                                            tenant's as controller, without --tenant the deployment's as
                                            processor; pdf needs --out
  tresor detection rules [--json]           the detection rules: what each detects, severity, thresholds
  tresor keys generate-master               a new master key ring for TRESOR_MASTER_KEY (printed once)
  tresor keys shred --tenant <id> --subject Patient/<id> [--reason TEXT]
                                            crypto-shredding: destroys the patient's data key; every record
                                            sealed with it answers 410 Gone from then on. The erasure path of
                                            tresor privacy erase, overriding a retention duty (a legal hold stops it)
  tresor privacy check --tenant <id> --patient Patient/<id> [--json]
                                            what stands in the way of erasing the patient: legal holds, the
                                            medical-records duty and its end; exit 1 when not erasable
  tresor privacy erase --tenant <id> --patient Patient/<id> --reason TEXT [--request-id ID] [--json]
                                            erasure (GDPR Art. 17): key, records, account, apps, tombstone,
                                            confirmation mail; refused under a legal hold or a retention duty
  tresor privacy erasures --tenant <id> [--json]
                                            the erasure records (what proves each erasure; no names)
  tresor privacy hold set --tenant <id> --patient Patient/<id> --reason TEXT [--until TIME]
  tresor privacy hold release --tenant <id> --hold <hold-id> --reason TEXT
  tresor privacy hold list --tenant <id> [--patient Patient/<id>] [--all] [--json]
                                            legal holds: a patient on hold is not erased; audited
  tresor retention settings|preview|run|reports --tenant <id> [--days N] [--json]
                                            retention by class: the periods, what expires in N days (90),
                                            a run now (erases what expired; exit 1 on failures), the last reports
  tresor retention set --tenant <id> --class medical-records|personal|health|payment --years N|none|default
                                            the tenant's own period (years after the last treatment or activity); audited
  tresor keys rotate [--tenant <id> | --master]
                                            a new key version, used by new writes at once; then re-encrypts
                                            stored data (tenant; no flag: every tenant) or re-wraps tenant
                                            keys (master), and retires what nothing uses. Resumes an
                                            unfinished rotation of the same scope instead of starting another
  tresor keys status [--json]               key versions per tenant, rotation jobs and their progress
  tresor migrate [--tenant <id>] [--json]   after an upgrade: applies pending migrations to the platform and
                                            every tenant (one at a time, progress on stderr); rerun continues
  tresor user create --tenant <id> --role <role> --email <address> [--patient Patient/<id>]
                    [--practitioner Practitioner/<id>]
                                            a person's account (roles: tenant-admin, clinician, front-desk,
                                            billing, auditor, patient — patient needs --patient; a clinician's
                                            --practitioner defines the patients in their care); prints a
                                            one-time setup token as the last line
  tresor user approve --tenant <id> <account-id>
                                            approves an invitation a tenant admin made that reaches more than
                                            their own role (a patient, a clinician, any role reading records):
                                            sends its setup link to the person, unseen by anyone
  tresor user update --tenant <id> <account-id> [--role <role>] [--practitioner Practitioner/<id>|none]
                                            a role change or Practitioner link that a tenant admin may not make
                                            alone (it reaches more than their own role); ends its sessions
  tresor operator create --email <address> [--role operator|backup-operator]
                                            a platform operator (not in any tenant; always two factors: the
                                            first sign-in enrols TOTP); backup-operator: backups only; prints
                                            a one-time setup token as the last line, for POST /platform/auth/setup
  tresor roles [--json]                     the permission matrix: each role's record types, actions, data
                                            classes, reach and capabilities
  tresor audit verify [--tenant <id>]       re-computes each tenant's audit hash chain; reports every edited,
                                            deleted, inserted, reordered or cut event; exit 1 on any finding
  tresor audit prune [--tenant <id>]        deletes events older than audit.retentionDays (6 years) behind a
                                            signed cut point, as the server does daily; refuses (exit 1)
                                            while a chain has findings
  tresor outbox list --tenant <id> [--json] undelivered messages to people (password reset, invitation): all
                                            of them without mail.smtp.host, else those waiting for the relay;
                                            they carry live tokens: development mode only (refused in
                                            production), and audited
  tresor outbox clear --tenant <id>         deletes the tenant's outbox
  tresor client create --tenant <id> --name NAME --publisher NAME --kind <confidential|public|backend>
                    --scope "SCOPES" [--redirect-uri URI]... [--auth <client_secret_basic|private_key_jwt>]
                    [--jwks-file FILE] [--role <service|service-reader>]
                                            registers a third-party app (OAuth client); prints its client id,
                                            and a secret shown once as the last line when it has one
  tresor client list --tenant <id>          the tenant's apps (never their secrets)
  tresor client approve --tenant <id> <client-id>
                                            makes a backend service a tenant admin registered (pending) usable
  tresor client disable|enable --tenant <id> <client-id>
  tresor client secret --tenant <id> <client-id>
                                            a new secret (last line); the old one stops working
  tresor oauth rotate-key --tenant <id>     a new ID token signing key; the previous one stays published
                                            for oauth.signingKeyRetainDays
  tresor backup generate-key                a new backup key for TRESOR_BACKUP_KEY (printed once)
  tresor backup run [--repository LOCATION] [--region R]
                                            an encrypted, deduplicated snapshot of every data set (of the home
                                            region, or region R's into its own repository), then retention and
                                            prune; prints the snapshot id as the last line
  tresor backup list [--json] [--repository LOCATION] [--region R]
                                            snapshots: time, data sets, size, what each added, verified marks
  tresor backup verify [--snapshot S | --all] [--repository LOCATION] [--region R]
                                            restores into scratch and checks every chunk, hash, integrity,
                                            row counts and audit trail; exit 1 on any failure
  tresor backup restore --snapshot S --tenant T [--repository LOCATION]
                                            one tenant back to the snapshot in this deployment, from its own
                                            region's repository (SQLite: with the server stopped; a running
                                            server: POST /platform/backups/S/restore)
  tresor backup restore --snapshot S [--tenant T] --to DIR [--repository LOCATION] [--region R]
                                            a SQLite snapshot's data sets (or one tenant's) in a new, empty
                                            directory
  tresor backup restore --snapshot S [--repository LOCATION] [--region R]
                                            PostgreSQL: the whole snapshot into this empty deployment (or
                                            region R's snapshot into its empty database)
  tresor backup prune | drill [--repository LOCATION] [--region R]
                                            retention and prune now; the restore drill now
  tresor cluster start --dir DIR [--nodes N]
                                            the high-availability topology on loopback ports, for tests, drills
                                            and demos: etcd, PostgreSQL primary + synchronous standby + DR
                                            standby under Patroni, HAProxy, N Tresor nodes (default 2)
  tresor cluster stop|status --dir DIR [--json]
  tresor cluster env --dir DIR              export lines for a shell (eval "$(…)"): every tresor command then
                                            works on the cluster (prints its keys: loopback demos only)
  tresor drill failover --dir DIR [--runs N]
                                            kills the cluster's primary (SIGKILL) under a write load; checks that
                                            no acknowledged write is lost, measures the time until writes
                                            succeed again (target 15 s), verifies the audit chain, restarts the
                                            killed node as a standby; report in DIR/drills; exit 1 on a failure
  tresor backup physical run [--type full|diff|incr]
                                            PostgreSQL: a pgBackRest backup of the whole cluster (encrypted
                                            repository, WAL archived continuously), then retention; prints the
                                            backup's label as the last line
  tresor backup physical info [--json]      the repository's backups and WAL archive (pgbackrest info)
  tresor backup physical verify             pgbackrest verify: every file against its checksum; exit 1 on any
  tresor backup physical retain             the retention policy over the physical backups, now
  tresor drill restore [--target TIME]      restores the newest backup into a scratch PostgreSQL, to a fresh
                                            restore point (or TIME, ISO 8601), starts it, checks row counts,
                                            markers, pg_amcheck and every audit chain; exit 1 on a failure
  tresor fim baseline                       file integrity: hashes Tresor's code, dependencies, configuration file
                                            and TLS files into a new signed baseline (after an upgrade or npm ci);
                                            audited
  tresor fim check [--json]                 compares those files with the signed baseline, one line per changed
                                            file; exit 1 on any change, 2 when the baseline is missing or does
                                            not verify
  tresor incident list [--state open|STATE] [--tenant T] [--severity S] [--json]
                                            incidents, newest first: state, severity, age, owner, tenants
  tresor incident open --title TEXT [--severity S] [--tenant T1,T2] [--from-alert REALM/ALERT-ID]
                       [--aware-at TIME] [--note TEXT] [--json]
                                            opens an incident (triage); --from-alert links an alert (and its
                                            tenant); prints the incident's id; audited
  tresor incident show <id> [--json]        the incident, its alerts, tasks, frozen breach scopes and timeline
  tresor incident scope <id> --from TIME --to TIME (--api-key ID | --account ID | --client ID | --address CIDR |
        --raw-files [--keys-exposed]) [--tenant T[,T…]] [--json]
                                            computes a breach scope (as tresor breach scope) and freezes it into
                                            the incident with its hash; audited
  tresor incident assess <id> [--scope ID] [--json]
                                            the breach notification checklist (GDPR, HIPAA, PCI DSS): each duty,
                                            its answer, reasons and deadline; computed first from the scope
                                            (the newest by default) when --scope is given or there is none yet
  tresor incident update <id> [--to STATE] [--reason TEXT] [--note TEXT] [--severity S] [--title TEXT]
                       [--aware-at TIME --reason TEXT]
                                            moves it forward, adds a note, changes its fields; audited
  tresor incident close <id> --note TEXT    closes it with the resolution note; audited
  tresor incident drill [--patients N] [--smtp HOST:PORT] [--json]
                                            the notification drill on synthetic data: two throw-away tenants of
                                            N made-up patients (default 25), an API key of each "stolen" and used,
                                            an incident, the frozen scope checked against what was read, the
                                            affected people, the hash verified, the incident closed, the tenants
                                            disabled; each step timed; mails only the test server of --smtp;
                                            report in DATA_DIR/incident-drills.jsonl; exit 1 when a step fails
  tresor incident drafts <id> [--draft D [--approve | --send | --format text|html|pdf [--out FILE]
                       [--patient Patient/X | --batch post]]] [--json]
                                            breach notices drafted from a frozen scope: lists them; shows one
                                            with its delivery log, or renders it (a letter, the print batch);
                                            approves it (not its own last editor) or sends it (letters and
                                            customer notices by mail, resumable); audited
  tresor breach scope --from TIME --to TIME (--api-key ID | --account ID | --client ID | --address CIDR |
        --raw-files [--keys-exposed]) [--tenant T[,T…]] [--json]
                                            which patients, records and data classes the suspect got in the window
                                            (ISO 8601 times), from the audit trails: per tenant, in clear or only
                                            as ciphertext, refused attempts apart, and the scope's hash; audited
  tresor breach verify FILE                 derives a scope (saved with --json) again and compares; exit 1 when
                                            it differs
  tresor version | help

Every command takes --config FILE (JSON) and --data-dir DIR; environment variables
(TRESOR_*) are listed in docs/operations/configuration.md. Admin commands work while the server runs.`;

const options = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  name: { type: 'string' },
  tenant: { type: 'string' },
  role: { type: 'string' },
  label: { type: 'string' },
  subject: { type: 'string' },
  email: { type: 'string' },
  patient: { type: 'string' },
  practitioner: { type: 'string' },
  mfa: { type: 'string' },
  publisher: { type: 'string' },
  kind: { type: 'string' },
  scope: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  auth: { type: 'string' },
  'jwks-file': { type: 'string' },
  repository: { type: 'string' },
  snapshot: { type: 'string' },
  all: { type: 'boolean' },
  to: { type: 'string' },
  'clear-mark': { type: 'boolean' },
  master: { type: 'boolean' },
  json: { type: 'boolean' },
  dir: { type: 'string' },
  nodes: { type: 'string' },
  runs: { type: 'string' },
  type: { type: 'string' },
  target: { type: 'string' },
  title: { type: 'string' },
  severity: { type: 'string' },
  state: { type: 'string' },
  note: { type: 'string' },
  reason: { type: 'string' },
  region: { type: 'string' },
  'from-alert': { type: 'string', multiple: true },
  'aware-at': { type: 'string' },
  from: { type: 'string' },
  'api-key': { type: 'string', multiple: true },
  account: { type: 'string', multiple: true },
  client: { type: 'string', multiple: true },
  address: { type: 'string', multiple: true },
  'raw-files': { type: 'boolean' },
  'keys-exposed': { type: 'boolean' },
  patients: { type: 'string' },
  smtp: { type: 'string' },
  draft: { type: 'string' },
  approve: { type: 'boolean' },
  send: { type: 'boolean' },
  format: { type: 'string' },
  out: { type: 'string' },
  batch: { type: 'string' },
  lang: { type: 'string' },
  until: { type: 'string' },
  'request-id': { type: 'string' },
  days: { type: 'string' },
  hold: { type: 'string' },
  class: { type: 'string' },
  years: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;


async function configFrom(io: CliIo, values: CliValues): Promise<Config> {
  const overrides: Record<string, unknown> = {};
  const server: Record<string, unknown> = {};
  if (typeof values['data-dir'] === 'string') overrides['dataDir'] = values['data-dir'];
  if (typeof values['host'] === 'string') server['host'] = values['host'];
  if (typeof values['port'] === 'string') {
    if (!/^\d{1,5}$/.test(values['port'])) throw new UsageError('--port takes a number from 0 to 65535');
    server['port'] = Number(values['port']);
  }
  if (Object.keys(server).length > 0) overrides['server'] = server;
  // Every `tresor backup …` command takes --repository (issue #7's contract); it wins over backup.repository.
  if (typeof values['repository'] === 'string') overrides['backup'] = { repository: values['repository'] };
  const file = typeof values['config'] === 'string' ? values['config'] : io.env['TRESOR_CONFIG'];
  const { loadConfig } = await import('../config/index.js');
  return loadConfig({ file, env: io.env, overrides: overrides as ConfigInput });
}

/**
 * Runs one CLI command. `start` resolves once the server listens and returns its closer;
 * admin commands resolve when done. Errors carry an exit code for main.ts.
 */
export async function runCli(io: CliIo): Promise<{ exitCode: number; close?: () => Promise<void>; finished?: Promise<number> }> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...io.argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    return usageFailure(io, (error as Error).message, io.argv.find((a) => !a.startsWith('-')));
  }
  const { values, positionals } = parsed;
  const [command, sub, arg] = positionals;
  if (command === 'help' || (values.help === true && command !== undefined)) {
    const topic = command === 'help' ? positionals.slice(1) : positionals;
    const text = topic.length === 0 ? usage : usageOf(topic);
    if (text === undefined) return usageFailure(io, `no command ${topic.join(' ')}`, undefined);
    io.stdout(text);
    return { exitCode: 0 };
  }
  if (values.help === true || command === undefined) {
    io.stdout(usage);
    return { exitCode: 0 };
  }
  if (command === 'version') {
    io.stdout(version);
    return { exitCode: 0 };
  }
  if (command === 'register') {
    const { printRegister } = await import('./register-command.js');
    printRegister(io, values['json'] === true);
    return { exitCode: 0 };
  }
  if (command === 'detection' && sub === 'rules') {
    const { rules, rulesMarkdown } = await import('../detection/index.js');
    io.stdout(values['json'] === true ? JSON.stringify(rules.map(({ id, kind, severity, title, describe, defaults }) => ({ id, kind, severity, title, describe, defaults })), null, 2) : rulesMarkdown().trimEnd());
    return { exitCode: 0 };
  }
  if (command === 'roles') {
    const { matrix, matrixMarkdown } = await import('../identity/index.js');
    io.stdout(values['json'] === true ? JSON.stringify(matrix, null, 2) : matrixMarkdown().trimEnd());
    return { exitCode: 0 };
  }
  if (command === 'backup' && sub === 'generate-key') {
    io.stdout('A new backup key. Put it in TRESOR_BACKUP_KEY (a secret store, not next to the data or the backups):');
    const { generateBackupKey } = await import('../backup/index.js');
    io.stdout(generateBackupKey());
    return { exitCode: 0 };
  }
  if (command === 'keys' && sub === 'generate-master') {
    io.stdout('A new master key ring. Put it in TRESOR_MASTER_KEY (a secret store, not a file next to the data):');
    const { generateKeyRing } = await import('../keys/index.js');
    io.stdout(generateKeyRing());
    return { exitCode: 0 };
  }
  try {
    // The cluster and its drill bring their own configuration (the cluster directory's).
    if (command === 'cluster' || (command === 'drill' && sub === 'failover')) {
      const { clusterCommand, failoverDrillCommand } = await import('./cluster-commands.js');
      try {
        return { exitCode: command === 'cluster' ? await clusterCommand(io, sub, values) : await failoverDrillCommand(io, values) };
      } catch (error) {
        // The cluster's own errors name programs, ports and log files, never data: shown as they are.
        if (error instanceof UsageError || isAppError(error) || !(error instanceof Error)) throw error;
        io.stderr(`error: ${error.message}`);
        return { exitCode: 1 };
      }
    }
    const config = await configFrom(io, values);
    // File integrity monitoring watches the configuration file this command was given.
    const configFile = typeof values['config'] === 'string' ? values['config'] : io.env['TRESOR_CONFIG'];
    if (command === 'start') return await (await import('./start-command.js')).start(io, config, configFile);
    if (command === 'tenant' && sub === 'list' && (await (await import('./tenant-list-command.js')).listTenantsAlone(io, config, values['json'] === true))) return { exitCode: 0 };
    if (command === 'migrate') {
      if (sub !== undefined) throw new UsageError(`tresor migrate takes no argument (${sub})`);
      (await import('./migrate-command.js')).refuseMigrateWhileServing(config);
    }
    const { buildCore } = await import('../app.js');
    const core = await buildCore(config, {
      rotationReport: (event) => {
        if (event.event === 'rotation.integrity-failed') {
          io.stderr(`integrity check failed: ${event.type}/${event.id} version ${event.versionId} (${event.table}) keeps its old key version`);
        }
      },
    });
    try {
      if (command === 'backup' && sub === 'physical') return { exitCode: await (await import('./physical-commands.js')).physicalCommand(io, core, config, arg, values) };
      if (command === 'drill' && sub === 'restore') return { exitCode: await (await import('./physical-commands.js')).physicalCommand(io, core, config, 'drill', values) };
      if (command === 'backup') return { exitCode: (await (await import('./backup-commands.js')).backupCommand(io, core, config, sub, values)) ?? 0 };
      if (command === 'migrate') return { exitCode: await (await import('./migrate-command.js')).migrateCommand(io, core, values) };
      if (command === 'incident') return { exitCode: await (await import('./incident-commands.js')).incidentCommand(io, core, config, sub, arg, values) };
      if (command === 'privacy') return { exitCode: await (await import('./erasure-commands.js')).privacyCommand(io, core, sub, arg, values) };
      if (command === 'retention') return { exitCode: await (await import('./erasure-commands.js')).retentionCommand(io, core, sub, values) };
      if (command === 'breach') return { exitCode: await (await import('./breach-commands.js')).breachCommand(io, core, sub, arg, values) };
      if (command === 'ropa') return { exitCode: await (await import('./ropa-command.js')).ropaCommand(io, core, config, values) };
      if (command === 'fim') return { exitCode: await (await import('./fim-commands.js')).fimCommand(io, core, config, sub, values, configFile) };
      return { exitCode: (await (await import('./admin-commands.js')).admin(io, core, config, [command, sub, arg], values)) ?? 0 };
    } finally {
      // A message a command sent (an invitation on approval) gets its first try to the relay before the exit.
      await core.mail?.close();
      await core.audit.close();
      await core.storage.close();
    }
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(io, error.message, command);
    if (error instanceof Refusal) {
      io.stderr(`error: ${error.message}`);
      return { exitCode: 1 };
    }
    if (isAppError(error) && error.expose) {
      io.stderr(`error: ${error.message}`);
      return { exitCode: 1 };
    }
    if (isAppError(error) && error.code === 'config-invalid') {
      io.stderr(error.message);
      return { exitCode: 78 }; // EX_CONFIG
    }
    throw error;
  }
}

/**
 * A usage error: the error and where the usage is, not a hundred lines of it (which push the
 * error off the screen); exit 2, as docs/operations/commands.md's exit codes say.
 */
function usageFailure(io: CliIo, message: string, command: string | undefined): { exitCode: number } {
  io.stderr(`error: ${message}`);
  io.stderr(command !== undefined && usageOf([command]) !== undefined ? `Run \`tresor help ${command}\` for its usage.` : 'Run `tresor help` for the commands.');
  return { exitCode: 2 };
}

/** The usage entries of one command (`tresor help backup`, `tresor help backup restore`); undefined when there is none. */
export function usageOf(words: readonly string[]): string | undefined {
  const entries: string[][] = [];
  for (const line of usage.split('\n')) {
    if (line.startsWith('  tresor ')) entries.push([line]);
    else if (line.startsWith('    ') && entries.length > 0) (entries.at(-1) as string[]).push(line);
    else if (line.trim() !== '') entries.push([]);
  }
  // `tresor client disable|enable` and `tresor backup prune | drill` name several subcommands in one entry.
  const commandOf = (line: string) => {
    const spec = line.slice('  tresor '.length).split(/\s{2,}/)[0] ?? '';
    const alternatives: string[][] = [];
    for (const word of spec.replace(/\s*\|\s*/g, '|').split(' ')) {
      if (!/^[a-z]/.test(word)) break;
      alternatives.push(word.split('|'));
    }
    return alternatives;
  };
  const matches = entries.filter((entry) => {
    const alternatives = entry[0] === undefined ? [] : commandOf(entry[0]);
    return words.every((word, i) => alternatives[i]?.includes(word) === true);
  });
  return matches.length === 0 ? undefined : `Usage:\n${matches.map((entry) => entry.join('\n')).join('\n')}`;
}

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { buildApp, buildCore, type Core } from '../app.js';
import { pruneAudit, verifyAudit } from './audit-commands.js';
import { keyStatus, rotateKeys } from './keys-commands.js';
import { userInfo } from 'node:os';
import { operatorEvent, type Actor, type AuditAction } from '../audit/index.js';
import { invitationMessage, matrix, matrixMarkdown, operatorRealm, setupTokenHours } from '../identity/index.js';
import type { CliIo } from './io.js';
import { Refusal, UsageError } from './usage-error.js';
import { loadConfig, type Config, type ConfigInput } from '../config/index.js';
import { isAppError } from '../platform/errors.js';
import { nodeEndOfLifeWarning } from '../platform/node-support.js';
import { generateKeyRing } from '../keys/index.js';
import { fieldEncryptionEnforced, platformRegister, registerRows, registerVersion, supportedTypes, warmFhirValidator } from '../records/index.js';
import { version } from '../version.js';
import type { ClientInput } from '../oauth/index.js';
import { BackupError, generateBackupKey } from '../backup/index.js';
import { backupCommand } from './backup-commands.js';
import { clusterCommand, failoverDrillCommand } from './cluster-commands.js';
import { physicalCommand } from './physical-commands.js';


export const usage = `Tresor ${version} — a self-hosted vault for health and payment data

Usage:
  tresor start [--data-dir DIR] [--port N] [--host H] [--config FILE]
  tresor tenant create <id> [--name NAME]
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
  tresor keys generate-master               a new master key ring for TRESOR_MASTER_KEY (printed once)
  tresor keys shred --tenant <id> --subject Patient/<id>
                                            crypto-shredding: destroys the patient's data key; every record
                                            sealed with it answers 410 Gone from then on
  tresor keys rotate [--tenant <id> | --master]
                                            a new key version, used by new writes at once; then re-encrypts
                                            stored data (tenant; no flag: every tenant) or re-wraps tenant
                                            keys (master), and retires what nothing uses. Resumes an
                                            unfinished rotation of the same scope instead of starting another
  tresor keys status [--json]               key versions per tenant, rotation jobs and their progress
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
  tresor outbox list --tenant <id> [--json] undelivered messages to people (password reset, invitation) the
                                            built-in notifier keeps; they carry live tokens: development mode
                                            only (refused in production), and audited
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
  tresor backup run [--repository LOCATION] an encrypted, deduplicated snapshot of every data set, then
                                            retention and prune; prints the snapshot id as the last line
  tresor backup list [--json] [--repository LOCATION]
                                            snapshots: time, data sets, size, what each added, verified marks
  tresor backup verify [--snapshot S | --all] [--repository LOCATION]
                                            restores into scratch and checks every chunk, hash, integrity,
                                            row counts and audit trail; exit 1 on any failure
  tresor backup restore --snapshot S --tenant T [--repository LOCATION]
                                            one tenant back to the snapshot in this deployment (SQLite: with
                                            the server stopped; a running server: POST /platform/backups/S/restore)
  tresor backup restore --snapshot S [--tenant T] --to DIR [--repository LOCATION]
                                            a SQLite snapshot's data sets (or one tenant's) in a new, empty
                                            directory
  tresor backup restore --snapshot S [--repository LOCATION]
                                            PostgreSQL: the whole snapshot into this empty deployment
  tresor backup prune | drill [--repository LOCATION]
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
  master: { type: 'boolean' },
  json: { type: 'boolean' },
  dir: { type: 'string' },
  nodes: { type: 'string' },
  runs: { type: 'string' },
  type: { type: 'string' },
  target: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;


function configFrom(io: CliIo, values: Record<string, string | boolean | string[] | undefined>): Config {
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
  return loadConfig({ file, env: io.env, overrides: overrides as ConfigInput });
}

/**
 * Runs one CLI command. `start` resolves once the server listens and returns its closer;
 * admin commands resolve when done. Errors carry an exit code for main.ts.
 */
export async function runCli(io: CliIo): Promise<{ exitCode: number; close?: () => Promise<void> }> {
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
    printRegister(io, values['json'] === true);
    return { exitCode: 0 };
  }
  if (command === 'roles') {
    io.stdout(values['json'] === true ? JSON.stringify(matrix, null, 2) : matrixMarkdown().trimEnd());
    return { exitCode: 0 };
  }
  if (command === 'backup' && sub === 'generate-key') {
    io.stdout('A new backup key. Put it in TRESOR_BACKUP_KEY (a secret store, not next to the data or the backups):');
    io.stdout(generateBackupKey());
    return { exitCode: 0 };
  }
  if (command === 'keys' && sub === 'generate-master') {
    io.stdout('A new master key ring. Put it in TRESOR_MASTER_KEY (a secret store, not a file next to the data):');
    io.stdout(generateKeyRing());
    return { exitCode: 0 };
  }
  try {
    // The cluster and its drill bring their own configuration (the cluster directory's).
    if (command === 'cluster' || (command === 'drill' && sub === 'failover')) {
      try {
        return { exitCode: command === 'cluster' ? await clusterCommand(io, sub, values) : await failoverDrillCommand(io, values) };
      } catch (error) {
        // The cluster's own errors name programs, ports and log files, never data: shown as they are.
        if (error instanceof UsageError || isAppError(error) || !(error instanceof Error)) throw error;
        io.stderr(`error: ${error.message}`);
        return { exitCode: 1 };
      }
    }
    const config = configFrom(io, values);
    if (command === 'start') return await start(io, config);
    const core = await buildCore(config, {
      rotationReport: (event) => {
        if (event.event === 'rotation.integrity-failed') {
          io.stderr(`integrity check failed: ${event.type}/${event.id} version ${event.versionId} (${event.table}) keeps its old key version`);
        }
      },
    });
    try {
      if (command === 'backup' && sub === 'physical') return { exitCode: await physicalCommand(io, core, config, arg, values) };
      if (command === 'drill' && sub === 'restore') return { exitCode: await physicalCommand(io, core, config, 'drill', values) };
      if (command === 'backup') return { exitCode: (await backupCommand(io, core, config, sub, values)) ?? 0 };
      return { exitCode: (await admin(io, core, config, [command, sub, arg], values)) ?? 0 };
    } finally {
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

/** Who ran an admin command, for the audit trail: the operating-system account on this host. */
const operator = (): Actor => ({ id: `cli:${userInfo().username}`, role: 'operator', client: 'tresor-cli' });

async function admin(io: CliIo, core: Core, config: Config, [command, sub, arg]: Array<string | undefined>, values: Record<string, string | boolean | string[] | undefined>): Promise<number | void> {
  const need = (value: string | boolean | string[] | undefined, what: string): string => {
    if (typeof value !== 'string' || value === '') throw new UsageError(`missing ${what}`);
    return value;
  };
  const audited = (tenantId: string, action: AuditAction, fields: Parameters<typeof operatorEvent>[2] = {}) => core.audit.record(tenantId, [operatorEvent(action, operator(), fields)]);
  if (command === 'tenant' && sub === 'create') {
    const tenant = await core.tenants.create(need(arg, '<id>'), typeof values['name'] === 'string' ? values['name'] : undefined);
    await audited(tenant.id, 'tenant.created');
    io.stdout(`created tenant ${tenant.id} (${tenant.name}); data set: ${tenant.dataSet}`);
    return;
  }
  if (command === 'tenant' && sub === 'list') {
    const tenants = await core.tenants.list();
    if (values['json'] === true) io.stdout(JSON.stringify(tenants, null, 2));
    else for (const t of tenants) io.stdout(`${t.id}\t${t.status}\t${t.createdAt}\t${t.name}`);
    return;
  }
  if (command === 'tenant' && sub === 'set') {
    const tenant = await core.tenants.setMfaPolicy(need(arg, '<id>'), need(values['mfa'], '--mfa'));
    await audited(tenant.id, 'tenant.settings_changed', { detail: `mfa ${tenant.mfaPolicy}` });
    io.stdout(`tenant ${tenant.id}: second factor required for ${tenant.mfaPolicy === 'optional' ? 'nobody by policy' : tenant.mfaPolicy}`);
    return;
  }
  if (command === 'tenant' && sub === 'disable') {
    const tenant = await core.tenants.disable(need(arg, '<id>'));
    await audited(tenant.id, 'tenant.disabled');
    io.stdout(`tenant ${tenant.id} is ${tenant.status}`);
    return;
  }
  if (command === 'apikey' && sub === 'create') {
    const tenantId = need(values['tenant'], '--tenant');
    const tenant = await core.tenants.get(tenantId);
    if (tenant === undefined) throw new UsageError(`no tenant ${tenantId}; create it with: tresor tenant create ${tenantId}`);
    const { key, info } = await core.apiKeys.create({ tenantId, role: need(values['role'], '--role'), label: typeof values['label'] === 'string' ? values['label'] : undefined });
    await audited(tenantId, 'apikey.created', { detail: `${info.id} ${info.role}` });
    io.stdout(`created API key ${info.id} for tenant ${info.tenantId} with role ${info.role}.`);
    io.stdout('It is shown once and stored only as a hash; keep it now:');
    io.stdout(key); // last line of stdout, by contract
    return;
  }
  if (command === 'user' && sub === 'create') {
    const tenantId = need(values['tenant'], '--tenant');
    const tenant = await core.tenants.get(tenantId);
    if (tenant === undefined) throw new UsageError(`no tenant ${tenantId}; create it with: tresor tenant create ${tenantId}`);
    const { account, setupToken } = await core.accounts.invite({
      tenantId,
      role: need(values['role'], '--role'),
      email: need(values['email'], '--email'),
      ...(typeof values['patient'] === 'string' ? { patient: values['patient'] } : {}),
      ...(typeof values['practitioner'] === 'string' ? { practitioner: values['practitioner'] } : {}),
      by: operator(),
    });
    io.stdout(`created account ${account.id} (${account.role}) in tenant ${tenantId} for ${account.email}; it has no password yet.`);
    io.stdout(`Give its owner this one-time setup token (valid ${setupTokenHours} h, works once): POST /tenants/${tenantId}/auth/setup {"token": "…", "password": "…"}`);
    io.stdout(setupToken); // last line of stdout, by contract
    return;
  }
  if (command === 'user' && (sub === 'approve' || sub === 'update')) {
    const tenantId = need(values['tenant'], '--tenant');
    if ((await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}`);
    const accountId = need(arg, '<account-id>');
    if (sub === 'approve') {
      // The setup link goes to the person through the notifier: the approving operator never sees it either.
      const { account, setupToken } = await core.accounts.reinvite({ tenantId, accountId, context: { by: operator() } });
      await core.notifier.send(invitationMessage(account, setupToken, config.server.publicUrl));
      await audited(tenantId, 'account.approved', { resources: [`Account/${account.id}`], subjects: account.patient === undefined ? [] : [account.patient], detail: account.role });
      io.stdout(`approved account ${account.id} (${account.role}${account.patient === undefined ? '' : `, ${account.patient}`}${account.practitioner === undefined ? '' : `, ${account.practitioner}`}) in tenant ${tenantId}; its setup link was sent to ${account.email}.`);
      return;
    }
    const role = typeof values['role'] === 'string' ? values['role'] : undefined;
    const given = typeof values['practitioner'] === 'string' ? values['practitioner'] : undefined;
    if (role === undefined && given === undefined) throw new UsageError('user update: give --role and/or --practitioner');
    const { account, changed } = await core.accounts.update({ tenantId, accountId, ...(role === undefined ? {} : { role }), ...(given === undefined ? {} : { practitioner: given === 'none' ? null : given }), context: { by: operator() } });
    // New privileges, new sessions (OWASP ASVS 5 V7.2.4).
    const ended = changed ? await core.sessions.revokeAll(tenantId, account.id) : 0;
    io.stdout(`account ${account.id} in tenant ${tenantId}: ${account.role}${account.practitioner === undefined ? '' : `, ${account.practitioner}`}${changed ? `; ${ended} session(s) ended` : ' (unchanged)'}`);
    return;
  }
  if (command === 'operator' && sub === 'create') {
    const role = typeof values['role'] === 'string' ? values['role'] : 'operator';
    const { account, setupToken } = await core.accounts.invite({ tenantId: operatorRealm, role, email: need(values['email'], '--email'), by: operator() });
    io.stdout(`created ${role === 'operator' ? 'platform operator' : role} ${account.id} for ${account.email}; it has no password yet, and must enrol a second factor at its first sign-in.`);
    io.stdout(`Give its owner this one-time setup token (valid ${setupTokenHours} h, works once): POST /platform/auth/setup {"token": "…", "password": "…"}`);
    io.stdout(setupToken); // last line of stdout, by contract
    return;
  }
  if (command === 'apikey' && sub === 'list') {
    for (const k of await core.apiKeys.list(need(values['tenant'], '--tenant'))) io.stdout(`${k.id}\t${k.role}\t${k.revokedAt === undefined ? 'active' : `revoked ${k.revokedAt}`}\t${k.label}`);
    return;
  }
  if (command === 'apikey' && sub === 'revoke') {
    const info = await core.apiKeys.revoke(need(arg, '<key-id>'));
    await audited(info.tenantId, 'apikey.revoked', { detail: info.id });
    io.stdout(`API key ${info.id} revoked at ${info.revokedAt ?? ''}`);
    return;
  }
  if (command === 'keys' && sub === 'shred') {
    const tenantId = need(values['tenant'], '--tenant');
    const subject = need(values['subject'], '--subject');
    if ((await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}`);
    // Key first: once it is gone the data is unreadable, even if marking the records fails.
    const destroyed = await core.keys.shred(tenantId, subject);
    const erased = await core.records.erase({ tenantId, db: await core.storage.tenant(tenantId) }, subject);
    await audited(tenantId, 'key.shredded', { subjects: [subject], detail: `${destroyed} key versions, ${erased} records erased` });
    // The patient's own account (their sealed email, sessions, passkeys) is personal data too.
    const accounts = subject.startsWith('Patient/') ? await core.accounts.eraseOfPatient({ tenantId, patient: subject, by: operator() }) : [];
    io.stdout(`${subject} in tenant ${tenantId}: ${destroyed} key version(s) destroyed, ${erased} record(s) marked erased${accounts.length === 0 ? '' : `, ${accounts.length} account(s) erased`}.`);
    // Into the backup repository's tombstone list now, not with the next backup: a point-in-time
    // restore of the database to before this moment must not bring the key back.
    if (core.backups.configured) {
      try {
        await core.backups.recordErasures();
      } catch (error) {
        io.stderr(`The erasure is not yet in the backup repository's tombstone list (${error instanceof BackupError ? error.message : 'unreachable'}); the next backup adds it. Until then a point-in-time restore to an earlier time would bring the key back: run \`tresor backup run\` once the repository is reachable.`);
        return 1;
      }
    }
    return;
  }
  if (command === 'outbox' && (sub === 'list' || sub === 'clear')) {
    const tenantId = need(values['tenant'], '--tenant');
    if ((await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}`);
    if (sub === 'clear') {
      const deleted = await core.outbox.clear(tenantId);
      await audited(tenantId, 'outbox.cleared', { detail: `${deleted} message(s)` });
      io.stdout(`deleted ${deleted} message(s) from the outbox of tenant ${tenantId}`);
      return;
    }
    // The messages carry live setup and reset codes: whoever reads them can take the accounts
    // over. In production they go to people through a relay, never to a terminal; every listing
    // (and every refusal) is in the tenant's trail, naming who asked — never the codes.
    if (config.mode === 'production') {
      await audited(tenantId, 'outbox.listed', { outcome: 'failure', detail: 'refused in production mode' });
      io.stderr('error: tresor outbox list shows live reset and invitation codes; it is refused in production mode. Deliver messages through a mail relay that reads the outbox.');
      return 1;
    }
    const messages = await core.outbox.list(tenantId);
    await audited(tenantId, 'outbox.listed', { detail: `${messages.length} message(s)`, resources: messages.map((m) => `Account/${m.accountId}`) });
    // What a relay would send: the tokens in them work until they expire or are used.
    io.stderr(`${messages.length} undelivered message(s) in the outbox of tenant ${tenantId}; they carry live tokens, treat them like mail.`);
    if (values['json'] === true) io.stdout(JSON.stringify(messages, null, 2));
    else for (const m of messages) io.stdout(`${m.id}\t${m.createdAt}\t${m.kind}\tAccount/${m.accountId}\tto ${m.to}\t${m.subject}\n${m.text.replace(/^/gm, '    ')}\n`);
    return;
  }
  if (command === 'keys' && sub === 'rotate') return rotateKeys(io, core, values);
  if (command === 'keys' && sub === 'status') return keyStatus(io, core, values['json'] === true);
  if (command === 'audit' && sub === 'verify') return verifyAudit(io, core, typeof values['tenant'] === 'string' ? values['tenant'] : undefined);
  if (command === 'client' || command === 'oauth') {
    const tenantId = need(values['tenant'], '--tenant');
    if ((await core.tenants.get(tenantId)) === undefined) throw new UsageError(`no tenant ${tenantId}; create it with: tresor tenant create ${tenantId}`);
    if (command === 'oauth' && sub === 'rotate-key') {
      const version = await core.oauth.rotateSigningKey(tenantId);
      await audited(tenantId, 'key.rotated', { detail: `OAuth ID token signing key version ${version}` });
      io.stdout(`tenant ${tenantId}: ID tokens are now signed with key ${tenantId}.${version}; running servers switch within a minute.`);
      return;
    }
    if (sub === 'create') {
      const jwksFile = typeof values['jwks-file'] === 'string' ? values['jwks-file'] : undefined;
      let jwks: unknown;
      if (jwksFile !== undefined) {
        try {
          jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as unknown;
        } catch {
          throw new UsageError(`--jwks-file ${jwksFile}: not a readable JSON file`);
        }
      }
      const input = {
        name: need(values['name'], '--name'),
        publisher: need(values['publisher'], '--publisher'),
        kind: need(values['kind'], '--kind'),
        scope: need(values['scope'], '--scope'),
        ...(Array.isArray(values['redirect-uri']) ? { redirectUris: values['redirect-uri'] } : {}),
        ...(typeof values['auth'] === 'string' ? { authMethod: values['auth'] } : {}),
        ...(jwks === undefined ? {} : { jwks }),
        ...(typeof values['role'] === 'string' ? { role: values['role'] } : {}),
      } as ClientInput;
      const { client, clientSecret } = await core.clients.create(tenantId, input, operator().id);
      await audited(tenantId, 'app.registered', { detail: `app ${client.clientId} (${client.name}, ${client.kind}); scope ${client.scope}` });
      // Without a public URL the issuer is this machine on server.port, as this command reads it: a
      // server started with another --port or TRESOR_PORT has its issuer there instead.
      const derived = config.server.publicUrl === undefined ? ` (localhost on server.port ${config.server.port}: pass the server's --port if it differs; set server.publicUrl for the address apps reach)` : '';
      io.stdout(`registered ${client.kind} app "${client.name}" by ${client.publisher} in tenant ${tenantId}; issuer ${core.oauth.issuer(tenantId)}${derived}`);
      io.stdout(`client id: ${client.clientId}`);
      if (clientSecret === undefined) {
        io.stdout(client.clientId); // last line of stdout, by contract
        return;
      }
      io.stdout('Its client secret is shown once and stored only as a hash; keep it now:');
      io.stdout(clientSecret); // last line of stdout, by contract
      return;
    }
    if (sub === 'approve') {
      const client = await core.clients.approve(tenantId, need(arg, '<client-id>'), operator().id);
      await audited(tenantId, 'app.approved', { detail: `app ${client.clientId} (${client.name}, ${client.kind}${client.role === undefined ? '' : `, ${client.role}`}); scope ${client.scope}` });
      io.stdout(`approved app ${client.clientId} (${client.name} by ${client.publisher}, ${client.kind}${client.role === undefined ? '' : ` as ${client.role}`}); scope ${client.scope}; it is ${client.status}.`);
      return;
    }
    if (sub === 'list') {
      for (const c of await core.clients.list(tenantId)) io.stdout(`${c.clientId}\t${c.kind}\t${c.status}\t${c.name}\t${c.publisher}\t${c.scope}`);
      return;
    }
    if (sub === 'disable' || sub === 'enable') {
      const client = await core.clients.setDisabled(tenantId, need(arg, '<client-id>'), sub === 'disable');
      await audited(tenantId, 'app.changed', { detail: `app ${client.clientId} ${sub}d` });
      io.stdout(`app ${client.clientId} (${client.name}) is ${client.status}.`);
      return;
    }
    if (sub === 'secret') {
      const { client, clientSecret } = await core.clients.renewSecret(tenantId, need(arg, '<client-id>'));
      await audited(tenantId, 'app.changed', { detail: `app ${client.clientId} secret renewed` });
      io.stdout(`a new secret for app ${client.clientId}; the old one no longer works. Shown once:`);
      io.stdout(clientSecret); // last line of stdout, by contract
      return;
    }
  }
  if (command === 'audit' && sub === 'prune') return pruneAudit(io, core, typeof values['tenant'] === 'string' ? values['tenant'] : undefined, operator());
  throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(' ')}`);
}

function printRegister(io: CliIo, asJson: boolean): void {
  const rows = registerRows();
  if (asJson) {
    io.stdout(JSON.stringify({ version: registerVersion, fieldEncryptionEnforced, fields: rows, platform: platformRegister }, null, 2));
    return;
  }
  io.stdout(`Tresor data register, version ${registerVersion}: each field, its class, and the protection the class requires.`);
  if (!fieldEncryptionEnforced) io.stdout('NOTE: per-field encryption and blind indexes are not enforced on stored records yet; records are stored in clear.');
  const platformLabels = platformRegister.map((r) => `${r.store}: ${r.field}`);
  const width = Math.max(...rows.map((r) => r.field.length), ...platformLabels.map((l) => l.length)) + 2;
  io.stdout(`${'field'.padEnd(width)}${'class'.padEnd(10)}required protection`);
  for (const row of rows) io.stdout(`${row.field.padEnd(width)}${row.class.padEnd(10)}${row.protection}`);
  io.stdout('');
  platformRegister.forEach((row, i) => io.stdout(`${(platformLabels[i] as string).padEnd(width)}${row.class.padEnd(10)}${row.note}`));
}

async function start(io: CliIo, config: Config): Promise<{ exitCode: number; close: () => Promise<void> }> {
  warmFhirValidator(supportedTypes);
  const app = await buildApp(config);
  const address = await app.http.listen({ host: config.server.host, port: config.server.port });
  io.stderr(`Tresor ${version} listening on ${address} (storage: ${config.storage.engine}, mode: ${config.mode})`);
  if (app.tls?.selfSigned) {
    io.stderr(`Self-signed development certificate ${app.tls.certFile}`);
    io.stderr(`SHA-256 fingerprint ${app.tls.fingerprint256}`);
  }
  if (app.tls === undefined) io.stderr('TLS is off: plain HTTP, for use behind a TLS-terminating proxy only.');
  const runtimeWarning = nodeEndOfLifeWarning(process.version, new Date());
  if (runtimeWarning !== undefined) io.stderr(`WARNING: ${runtimeWarning}`);
  return { exitCode: 0, close: () => app.close() };
}

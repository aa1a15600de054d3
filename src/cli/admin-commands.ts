import { readFileSync } from 'node:fs';
import type { Core } from '../app.js';
import { operatorEvent, type AuditAction } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { invitationMessage, operatorRealm, setupTokenHours } from '../identity/index.js';
import type { ClientInput } from '../oauth/index.js';
import { pruneAudit, verifyAudit } from './audit-commands.js';
import { cliOperator } from './cli-actor.js';
import type { CliIo, CliValues } from './io.js';
import { keyStatus, rotateKeys } from './keys-commands.js';
import { printTenants } from './tenant-list-command.js';
import { UsageError } from './usage-error.js';

const operator = cliOperator;

/** The commands on tenants, keys, people, apps, the outbox and the audit trail: over the services `buildCore` composes. */
/** Where people open the pages: `server.publicUrl`, else this machine on `server.port` as this command reads it. */
const pageBase = (config: Config): string => config.server.publicUrl?.replace(/\/+$/, '') ?? `${config.server.tls.enabled ? 'https' : 'http'}://localhost:${config.server.port}`;

export async function admin(io: CliIo, core: Core, config: Config, [command, sub, arg]: Array<string | undefined>, values: CliValues): Promise<number | void> {
  const need = (value: string | boolean | string[] | undefined, what: string): string => {
    if (typeof value !== 'string' || value === '') throw new UsageError(`missing ${what}`);
    return value;
  };
  const audited = (tenantId: string, action: AuditAction, fields: Parameters<typeof operatorEvent>[2] = {}) => core.audit.record(tenantId, [operatorEvent(action, operator(), fields)]);
  if (command === 'tenant' && sub === 'create') {
    const tenant = await core.tenants.create(need(arg, '<id>'), typeof values['name'] === 'string' ? values['name'] : undefined, typeof values['region'] === 'string' ? values['region'] : undefined);
    await audited(tenant.id, 'tenant.created', { detail: `region ${tenant.region}` });
    io.stdout(`created tenant ${tenant.id} (${tenant.name}) in region ${tenant.region}; data set: ${tenant.dataSet}`);
    return;
  }
  if (command === 'tenant' && sub === 'move') {
    await (await import('./tenant-move-command.js')).tenantMove(io, core, config, values);
    return;
  }
  if (command === 'tenant' && sub === 'list') {
    printTenants(io, await core.tenants.list(), values['json'] === true);
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
    io.stdout(`Give its owner this one-time setup token (valid ${setupTokenHours} h, works once): they choose a password at ${pageBase(config)}/tenants/${tenantId}/account/setup?token=<token> (or POST /tenants/${tenantId}/auth/setup {"token": "…", "password": "…"})`);
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
    io.stdout(`Give its owner this one-time setup token (valid ${setupTokenHours} h, works once): they choose a password at ${pageBase(config)}/platform/account/setup?token=<token> (or POST /platform/auth/setup {"token": "…", "password": "…"})`);
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
    // The one erasure path (privacy/erasure.ts): key, records, account, apps, tombstone, record.
    // The operator's tool overrides a retention duty (the record says so); a legal hold stops it.
    const done = await core.erasures.erase(tenantId, subject, { by: { actor: operator() }, reason: typeof values['reason'] === 'string' ? values['reason'] : 'crypto-shredding by the operator (tresor keys shred)', source: 'cli', overrideDuty: true });
    await audited(tenantId, 'key.shredded', { subjects: [subject], detail: `${done.counts.keyVersions} key versions, ${done.counts.records} records erased` });
    io.stdout(`${subject} in tenant ${tenantId}: ${done.counts.keyVersions} key version(s) destroyed, ${done.counts.records} record(s) marked erased${done.counts.accounts === 0 ? '' : `, ${done.counts.accounts} account(s) erased`}${done.dutyOverriddenUntil === undefined ? '' : `; the medical-records duty until ${done.dutyOverriddenUntil.slice(0, 10)} was overridden`}.`);
    // A tombstone the backup repository did not take: the erasure service said why on stderr.
    return done.tombstone === 'pending' ? 1 : undefined;
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
      io.stderr(
        `error: tresor outbox list shows live reset and invitation codes; it is refused in production mode. ${config.mail.smtp.host === undefined ? 'Set mail.smtp.host (TRESOR_SMTP_HOST) so messages reach people by mail' : 'Messages go to people through the relay at mail.smtp.host; the server log says why one waits (event mail.deferred)'}; a person whose message expired gets a new one (invite again, or ask for a new reset).`,
      );
      return 1;
    }
    const messages = await core.outbox.list(tenantId);
    await audited(tenantId, 'outbox.listed', { detail: `${messages.length} message(s)`, resources: messages.map((m) => `Account/${m.accountId}`) });
    // What a relay would send (or has yet to take): the tokens in them work until they expire or are used.
    io.stderr(`${messages.length} undelivered message(s) in the outbox of tenant ${tenantId}${config.mail.smtp.host === undefined ? '' : ', waiting for the mail relay'}; they carry live tokens, treat them like mail.`);
    if (values['json'] === true) io.stdout(JSON.stringify(messages, null, 2));
    else for (const m of messages) io.stdout(`${m.id}\t${m.createdAt}\t${m.kind}\tAccount/${m.accountId}\tto ${m.to}\t${m.subject}\n${m.text.replace(/^/gm, '    ')}\n`);
    return;
  }
  if (command === 'keys' && sub === 'rotate') return rotateKeys(io, core, values);
  if (command === 'keys' && sub === 'status') return keyStatus(io, core, values['json'] === true);
  if (command === 'audit' && sub === 'verify') return verifyAudit(io, core, typeof values['tenant'] === 'string' ? values['tenant'] : undefined, operator());
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

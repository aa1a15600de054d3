import type { FastifyInstance, FastifyRequest } from 'fastify';
import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenants } from '../tenants/index.js';
import { AccountError, type AccountInfo, type Accounts, type ChangeContext } from './accounts.js';
import type { Authenticator } from './authenticate.js';
import { IdentityError } from './errors.js';
import { invitationMessage } from './messages.js';
import type { Notifier } from './notifier.js';
import { exceedsReach, parseRole, personRoles, type Principal } from './permissions.js';
import type { Sessions } from './sessions.js';
import { admitAdministrator } from './two-factor-person.js';

export interface AdminRoutesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly tenants: Tenants;
  readonly authenticator: Authenticator;
  readonly notifier: Notifier;
  readonly audit: Audit;
  readonly publicUrl: string | undefined;
}

const accountIdPattern = /^usr_[0-9a-f]{16}$/;

/** What an administrator sees of an account: never a password hash, token or factor secret. */
const view = (account: AccountInfo & { createdAt?: string }) => ({
  id: account.id,
  role: account.role,
  status: account.status,
  email: account.email,
  secondFactor: account.secondFactor,
  patient: account.patient ?? null,
  practitioner: account.practitioner ?? null,
  ...(account.createdAt === undefined ? {} : { createdAt: account.createdAt }),
});

function body(request: FastifyRequest): Record<string, unknown> {
  const value = request.body as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
  return value as Record<string, unknown>;
}

function optionalString(fields: Record<string, unknown>, name: string): string | undefined {
  const value = fields[name];
  if (value !== undefined && typeof value !== 'string') throw new HttpError('body-invalid', `"${name}" is a string.`, { status: 400 });
  return value;
}

const refused = (message: string) => new AccountError('account-change-refused', message, { status: 409, expose: true });

/**
 * A change that would give an account more than the administrator's own reach (a patient bound
 * to a Patient, a clinician bound to a Practitioner, any role that reads records): one tenant
 * admin alone could grant it to an address they control and read what their role may not. A
 * platform operator approves it (`tresor user approve|update`); separation of duties, OWASP
 * ASVS 5 V8.2.1 and NIST SP 800-53 AC-5.
 */
const approvalRequired = (message: string) => new IdentityError('approval-required', message, { status: 403, expose: true });

/**
 * Account administration under `/tenants/{t}` (JSON, errors as RFC 9457 problem+json), for
 * callers whose role has `accounts:manage` — a tenant-admin's session or API key for reading,
 * a tenant-admin signed in with two factors for every change; everyone else gets 403 (OWASP
 * ASVS 5 V8.2.1), and the refusal is audited as `access.denied`. What would reach more than the
 * administrator's own role waits for a platform operator (`approvalRequired` above):
 *
 * - `GET /accounts`, `GET /accounts/{id}`; `POST /accounts` `{role, email, patient?,
 *   practitioner?}` invites (the setup link goes to the person through the notifier, never into
 *   the answer); `PATCH /accounts/{id}` `{role?, practitioner?}` (ends the account's sessions:
 *   its privileges changed, V7.2.4); `POST /accounts/{id}/disable|enable|unlock`;
 *   `POST /accounts/{id}/invite` (a new setup link for an account still invited);
 *   `POST /accounts/{id}/second-factors/reset` (a lost phone: every factor removed, sessions
 *   ended, enrolment asked again at the next sign-in; V6.4.4);
 *   `GET /accounts/{id}/sessions`, `DELETE /accounts/{id}/sessions/{sessionId}` (V7.5.2).
 * - `GET|PUT /settings/mfa` `{policy}`: who must sign in with a second factor.
 *
 * Nobody disables or demotes themself, and no change leaves the tenant without an active
 * tenant-admin (409 `account-change-refused`). Cookie-authenticated changes need the session's
 * `X-CSRF-Token` (authenticate.ts checks it).
 */
export function adminRoutes({ accounts, sessions, tenants, authenticator, notifier, audit, publicUrl }: AdminRoutesDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const tenantOf = (request: FastifyRequest) => (request.params as { tenant: string }).tenant;
    const actorOf = (p: Principal): Actor => (p.kind === 'person' ? { id: `account:${p.id}`, role: p.role, client: 'session' } : { id: p.id, role: p.role, client: p.label });

    /**
     * The caller, who must hold `accounts:manage` in this tenant; for a change (`changes`), a
     * person signed in with two factors (two-factor-person.ts), never an API key.
     */
    async function administrator(request: FastifyRequest, changes = false): Promise<{ principal: Principal; context: ChangeContext }> {
      const tenantId = tenantOf(request);
      const principal = await authenticator.principal(request, tenantId);
      // A refusal to someone of this tenant is an audit event (detection looks for these).
      const denied = (detail: string) =>
        audit.record(tenantId, [{ ...operatorEvent('access.denied', actorOf(principal), { outcome: 'failure', detail }), purpose: 'HOPERAT', sourceIp: request.ip, requestId: request.id, status: 403 }]);
      await admitAdministrator(principal, 'accounts:manage', changes, denied);
      return { principal, context: { by: actorOf(principal), sourceIp: request.ip, requestId: request.id } };
    }
    const changer = (request: FastifyRequest) => administrator(request, true);

    /** Refuses a grant beyond the administrator's reach; the attempt is an `access.denied` event on the account (detection looks for these). */
    async function needsOperator(request: FastifyRequest, context: ChangeContext, accountId: string, message: string): Promise<never> {
      await audit.record(tenantOf(request), [
        { ...operatorEvent('access.denied', context.by, { outcome: 'failure', resources: [`Account/${accountId}`], detail: 'approval-required' }), purpose: 'HOPERAT', sourceIp: request.ip, requestId: request.id, status: 403 },
      ]);
      throw approvalRequired(message);
    }

    const accountIdOf = (request: FastifyRequest) => {
      const { id } = request.params as { id: string };
      if (!accountIdPattern.test(id)) throw new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
      return id;
    };

    /** Ends the account's sessions after a change to it, but not the one this very request came with. */
    const endSessions = (request: FastifyRequest, principal: Principal, accountId: string) =>
      sessions.revokeAll(tenantOf(request), accountId, principal.kind === 'person' && principal.id === accountId ? principal.sessionId : undefined);

    app.get('/accounts', async (request, reply) => {
      await administrator(request);
      return reply.send({ accounts: (await accounts.list(tenantOf(request))).map(view) });
    });

    app.get('/accounts/:id', async (request, reply) => {
      await administrator(request);
      const id = accountIdOf(request);
      const found = (await accounts.list(tenantOf(request))).find((a) => a.id === id);
      if (found === undefined) throw new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
      return reply.send({ account: view(found) });
    });

    app.post('/accounts', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { principal, context } = await changer(request);
      const fields = body(request);
      const role = optionalString(fields, 'role');
      const email = optionalString(fields, 'email');
      if (role === undefined || email === undefined) throw new HttpError('body-invalid', 'Send "role" and "email" (and "patient" for a patient, "practitioner" optionally for staff).', { status: 400 });
      const patient = optionalString(fields, 'patient');
      const practitioner = optionalString(fields, 'practitioner');
      const tenantId = tenantOf(request);
      // More than the administrator's own reach, or a link to a Patient or Practitioner: the
      // account is made, but its setup link leaves only once a platform operator approves.
      const pending = exceedsReach(parseRole(role, personRoles), principal.role) || patient !== undefined || practitioner !== undefined;
      const { account, setupToken } = await accounts.invite({
        tenantId,
        role,
        email,
        ...(patient === undefined ? {} : { patient }),
        ...(practitioner === undefined ? {} : { practitioner }),
        by: context.by,
        ...(pending ? { awaitingApproval: true } : {}),
      });
      // The setup link reaches the person only: the administrator never sees a credential.
      if (!pending) await notifier.send(invitationMessage(account, setupToken, publicUrl));
      return reply
        .status(201)
        .header('location', `/tenants/${tenantId}/accounts/${account.id}`)
        .send({ account: view(account), ...(pending ? { approval: 'pending', next: `A platform operator approves it and the setup link is sent: tresor user approve --tenant ${tenantId} ${account.id}` } : {}) });
    });

    app.patch('/accounts/:id', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { principal, context } = await changer(request);
      const id = accountIdOf(request);
      const fields = body(request);
      const role = optionalString(fields, 'role');
      const given = fields['practitioner'];
      if (given !== undefined && given !== null && typeof given !== 'string') throw new HttpError('body-invalid', '"practitioner" is Practitioner/<id>, or null to remove it.', { status: 400 });
      const practitioner = given as string | null | undefined;
      if (role === undefined && practitioner === undefined) throw new HttpError('body-invalid', 'Send "role" and/or "practitioner".', { status: 400 });
      // Only tenant-admins manage accounts: any other role for oneself is a demotion.
      if (principal.kind === 'person' && principal.id === id && role !== undefined && role !== principal.role) throw refused('You cannot change your own role: ask another tenant-admin.');
      const current = await accounts.access(tenantOf(request), id);
      if (current === undefined) throw new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
      const operatorStep = `a platform operator makes this change: tresor user update --tenant ${tenantOf(request)} ${id}`;
      // A staff account never becomes a patient's (accounts.update refuses it as role-invalid).
      const kindKept = role === undefined || (parseRole(role, personRoles) === 'patient') === (current.role === 'patient');
      if (role !== undefined && kindKept && role !== current.role && exceedsReach(parseRole(role, personRoles), principal.role)) await needsOperator(request, context, id, `The role ${role} reaches more than yours; ${operatorStep} --role ${role}.`);
      // Which patients a clinician reaches follows the Practitioner: linking one is granting them.
      if (typeof practitioner === 'string' && practitioner !== current.practitioner) await needsOperator(request, context, id, `Linking a Practitioner grants its patients; ${operatorStep} --practitioner ${practitioner}.`);
      const { account, changed } = await accounts.update({ tenantId: tenantOf(request), accountId: id, ...(role === undefined ? {} : { role }), ...(practitioner === undefined ? {} : { practitioner }), context });
      // New privileges, new sessions (OWASP ASVS 5 V7.2.4): what was granted before ends now.
      const ended = changed ? await endSessions(request, principal, id) : 0;
      return reply.send({ account: view(account), sessionsEnded: ended });
    });

    for (const action of ['disable', 'enable'] as const) {
      app.post(`/accounts/:id/${action}`, async (request, reply) => {
        const { principal, context } = await changer(request);
        const id = accountIdOf(request);
        if (action === 'disable' && principal.kind === 'person' && principal.id === id) throw refused('You cannot disable your own account: ask another tenant-admin.');
        const { account, changed } = await accounts.setDisabled({ tenantId: tenantOf(request), accountId: id, disabled: action === 'disable', context });
        const ended = action === 'disable' ? await sessions.revokeAll(tenantOf(request), id) : 0;
        return reply.send({ account: view(account), changed, sessionsEnded: ended });
      });
    }

    // An invitation again (the first expired or was lost): a new setup link through the notifier.
    app.post('/accounts/:id/invite', async (request, reply) => {
      const { principal, context } = await changer(request);
      const id = accountIdOf(request);
      const invited = await accounts.access(tenantOf(request), id);
      if (invited === undefined) throw new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
      if (exceedsReach(parseRole(invited.role, personRoles), principal.role) || invited.patient !== undefined || invited.practitioner !== undefined) {
        await needsOperator(request, context, id, `This account reaches more than yours: a platform operator sends its setup link (tresor user approve --tenant ${tenantOf(request)} ${id}).`);
      }
      const { account, setupToken } = await accounts.reinvite({ tenantId: tenantOf(request), accountId: id, context });
      await notifier.send(invitationMessage(account, setupToken, publicUrl));
      return reply.send({ account: view(account), sent: true });
    });

    // A person who lost every second factor: removed by an administrator, sessions ended; the
    // tenant's policy makes them enrol anew at the next sign-in.
    app.post('/accounts/:id/second-factors/reset', async (request, reply) => {
      const { principal, context } = await changer(request);
      const tenantId = tenantOf(request);
      const id = accountIdOf(request);
      if (principal.kind === 'person' && principal.id === id) throw refused('Remove your own second factors at /auth (with your password and a code): another tenant-admin resets them for you.');
      const account = await accounts.resetSecondFactors({ tenantId, accountId: id, context });
      const ended = await sessions.revokeAll(tenantId, account.id);
      return reply.send({ account: view(account), sessionsEnded: ended });
    });

    app.post('/accounts/:id/unlock', async (request, reply) => {
      const { context } = await changer(request);
      const account = await accounts.unlock({ tenantId: tenantOf(request), accountId: accountIdOf(request), context });
      return reply.send({ account: view(account), unlocked: true });
    });

    app.get('/accounts/:id/sessions', async (request, reply) => {
      await administrator(request);
      const id = accountIdOf(request);
      if ((await accounts.access(tenantOf(request), id)) === undefined) throw new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
      return reply.send({ sessions: await sessions.list(tenantOf(request), id) });
    });

    app.delete('/accounts/:id/sessions/:sessionId', async (request, reply) => {
      const { context } = await changer(request);
      const id = accountIdOf(request);
      const { sessionId } = request.params as { sessionId: string };
      const tenantId = tenantOf(request);
      // The session must be a live one of this account: an id alone ends nothing.
      if (!(await sessions.list(tenantId, id)).some((s) => s.id === sessionId) || !(await sessions.revoke(tenantId, sessionId))) {
        throw new AccountError('session-not-found', 'This account has no live session with that id.', { status: 404, expose: true });
      }
      await audit.record(tenantId, [
        { ...operatorEvent('session.revoked', context.by, { resources: [`Account/${id}`], detail: 'by-administrator' }), purpose: 'HOPERAT', sourceIp: request.ip, requestId: request.id, status: 204 },
      ]);
      return reply.status(204).send();
    });

    app.get('/settings/mfa', async (request, reply) => {
      await administrator(request);
      return reply.send({ policy: await tenants.mfaPolicy(tenantOf(request)) });
    });

    app.put('/settings/mfa', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const { context } = await changer(request);
      const policy = optionalString(body(request), 'policy');
      if (policy === undefined) throw new HttpError('body-invalid', 'Send {"policy": "everyone" | "staff" | "optional"}.', { status: 400 });
      const tenant = await tenants.setMfaPolicy(tenantOf(request), policy);
      await audit.record(tenant.id, [
        { ...operatorEvent('tenant.settings_changed', context.by, { detail: `mfa ${tenant.mfaPolicy}` }), purpose: 'HOPERAT', sourceIp: request.ip, requestId: request.id, status: 200 },
      ]);
      return reply.send({ policy: tenant.mfaPolicy });
    });
  };
}

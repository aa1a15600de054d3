import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from '../platform/http/index.js';
import { AccountError, type AccountInfo } from './accounts.js';
import type { AccountAdministration } from './administration.js';
import type { Authenticator } from './authenticate.js';

export interface AdminRoutesDeps {
  readonly administration: AccountAdministration;
  readonly authenticator: Authenticator;
}

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

/**
 * Account administration under `/tenants/{t}` (JSON, errors as RFC 9457 problem+json), for
 * callers whose role has `accounts:manage` — a tenant-admin's session or API key for reading,
 * a tenant-admin signed in with two factors for every change; everyone else gets 403 (OWASP
 * ASVS 5 V8.2.1), and the refusal is audited as `access.denied`. What would reach more than the
 * administrator's own role waits for a platform operator (administration.ts, where these rules live for the console's
 * pages too):
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
export function adminRoutes({ administration, authenticator }: AdminRoutesDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const tenantOf = (request: FastifyRequest) => (request.params as { tenant: string }).tenant;

    /**
     * The caller, who must hold `accounts:manage` in this tenant; for a change (`changes`), a
     * person signed in with two factors (two-factor-person.ts), never an API key. The rules
     * live in administration.ts, which the clinic console's pages call too.
     */
    async function administrator(request: FastifyRequest, changes = false) {
      const tenantId = tenantOf(request);
      const principal = await authenticator.principal(request, tenantId);
      return administration.admit(tenantId, principal, { sourceIp: request.ip, requestId: request.id }, changes);
    }
    const changer = (request: FastifyRequest) => administrator(request, true);
    const accountIdOf = (request: FastifyRequest) => administration.checkAccountId((request.params as { id: string }).id);

    app.get('/accounts', async (request, reply) => {
      const admin = await administrator(request);
      return reply.send({ accounts: (await administration.list(admin)).map(view) });
    });

    app.get('/accounts/:id', async (request, reply) => {
      const admin = await administrator(request);
      const id = accountIdOf(request);
      const found = (await administration.list(admin)).find((a) => a.id === id);
      if (found === undefined) throw new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
      return reply.send({ account: view(found) });
    });

    app.post('/accounts', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admin = await changer(request);
      const fields = body(request);
      const role = optionalString(fields, 'role');
      const email = optionalString(fields, 'email');
      if (role === undefined || email === undefined) throw new HttpError('body-invalid', 'Send "role" and "email" (and "patient" for a patient, "practitioner" optionally for staff).', { status: 400 });
      const patient = optionalString(fields, 'patient');
      const practitioner = optionalString(fields, 'practitioner');
      const { account, pending } = await administration.invite(admin, { role, email, ...(patient === undefined ? {} : { patient }), ...(practitioner === undefined ? {} : { practitioner }) });
      return reply
        .status(201)
        .header('location', `/tenants/${admin.tenantId}/accounts/${account.id}`)
        .send({ account: view(account), ...(pending ? { approval: 'pending', next: `A platform operator approves it and the setup link is sent: tresor user approve --tenant ${admin.tenantId} ${account.id}` } : {}) });
    });

    app.patch('/accounts/:id', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admin = await changer(request);
      const id = accountIdOf(request);
      const fields = body(request);
      const role = optionalString(fields, 'role');
      const given = fields['practitioner'];
      if (given !== undefined && given !== null && typeof given !== 'string') throw new HttpError('body-invalid', '"practitioner" is Practitioner/<id>, or null to remove it.', { status: 400 });
      const practitioner = given as string | null | undefined;
      if (role === undefined && practitioner === undefined) throw new HttpError('body-invalid', 'Send "role" and/or "practitioner".', { status: 400 });
      const { account, sessionsEnded } = await administration.update(admin, id, { ...(role === undefined ? {} : { role }), ...(practitioner === undefined ? {} : { practitioner }) });
      return reply.send({ account: view(account), sessionsEnded });
    });

    for (const action of ['disable', 'enable'] as const) {
      app.post(`/accounts/:id/${action}`, async (request, reply) => {
        const admin = await changer(request);
        const { account, changed, sessionsEnded } = await administration.setDisabled(admin, accountIdOf(request), action === 'disable');
        return reply.send({ account: view(account), changed, sessionsEnded });
      });
    }

    // An invitation again (the first expired or was lost): a new setup link through the notifier.
    app.post('/accounts/:id/invite', async (request, reply) => {
      const admin = await changer(request);
      const account = await administration.reinvite(admin, accountIdOf(request));
      return reply.send({ account: view(account), sent: true });
    });

    // A person who lost every second factor: removed by an administrator, sessions ended; the
    // tenant's policy makes them enrol anew at the next sign-in. An optional {"reason"} goes
    // into the audit event.
    app.post('/accounts/:id/second-factors/reset', async (request, reply) => {
      const admin = await changer(request);
      const id = accountIdOf(request);
      const fields = request.body === undefined || request.body === null ? {} : body(request);
      const reason = optionalString(fields, 'reason');
      const { account, sessionsEnded } = await administration.resetSecondFactors(admin, id, reason);
      return reply.send({ account: view(account), sessionsEnded });
    });

    app.post('/accounts/:id/unlock', async (request, reply) => {
      const admin = await changer(request);
      const account = await administration.unlock(admin, accountIdOf(request));
      return reply.send({ account: view(account), unlocked: true });
    });

    app.get('/accounts/:id/sessions', async (request, reply) => {
      const admin = await administrator(request);
      return reply.send({ sessions: await administration.sessions(admin, accountIdOf(request)) });
    });

    app.delete('/accounts/:id/sessions/:sessionId', async (request, reply) => {
      const admin = await changer(request);
      const id = accountIdOf(request);
      await administration.endSession(admin, id, (request.params as { sessionId: string }).sessionId);
      return reply.status(204).send();
    });

    app.get('/settings/mfa', async (request, reply) => {
      const admin = await administrator(request);
      return reply.send({ policy: await administration.mfaPolicy(admin) });
    });

    app.put('/settings/mfa', { bodyLimit: 16 * 1024 }, async (request, reply) => {
      const admin = await changer(request);
      const policy = optionalString(body(request), 'policy');
      if (policy === undefined) throw new HttpError('body-invalid', 'Send {"policy": "everyone" | "staff" | "optional"}.', { status: 400 });
      return reply.send({ policy: await administration.setMfaPolicy(admin, policy) });
    });
  };
}

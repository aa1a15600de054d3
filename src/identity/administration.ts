import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import type { MfaPolicy, Tenants } from '../tenants/index.js';
import { AccountError, type AccountInfo, type Accounts, type ChangeContext } from './accounts.js';
import { IdentityError } from './errors.js';
import { invitationMessage } from './messages.js';
import type { Notifier } from './notifier.js';
import { exceedsReach, parseRole, personRoles, type Principal } from './permissions.js';
import type { SessionInfo, Sessions } from './sessions.js';
import { admitAdministrator } from './two-factor-person.js';

/** Where a request came from, for its audit events. */
export interface RequestContext {
  readonly sourceIp: string;
  readonly requestId: string;
}

/** An administrator admitted for one tenant: who, and the context their changes are audited with. */
export interface Administrator {
  readonly tenantId: string;
  readonly principal: Principal;
  readonly context: ChangeContext & RequestContext;
}

/** The longest reason an administrator gives for a second-factor reset (it goes into the audit trail). */
export const resetReasonMax = 200;

const accountIdPattern = /^usr_[0-9a-f]{16}$/;

const notFound = () => new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
const refused = (message: string) => new AccountError('account-change-refused', message, { status: 409, expose: true });

/**
 * A change that would give an account more than the administrator's own reach (a patient bound
 * to a Patient, a clinician bound to a Practitioner, any role that reads records): one tenant
 * admin alone could grant it to an address they control and read what their role may not. A
 * platform operator approves it (`tresor user approve|update`); separation of duties, OWASP
 * ASVS 5 V8.2.1 and NIST SP 800-53 AC-5.
 */
const approvalRequired = (message: string) => new IdentityError('approval-required', message, { status: 403, expose: true });

export const actorOf = (p: Principal): Actor => (p.kind === 'person' ? { id: `account:${p.id}`, role: p.role, client: 'session' } : { id: p.id, role: p.role, client: p.label });

/**
 * The rules of account administration in a tenant, called by the JSON admin routes and by the
 * clinic console's pages alike, so both refuse and audit the same way: the administrator's gate
 * (`accounts:manage`; two factors for a change; every refusal an `access.denied` event), nobody
 * disables, demotes or resets themself, the last tenant-admin stays (accounts.ts), and a grant
 * beyond the administrator's own reach waits for a platform operator.
 */
export interface AccountAdministration {
  /** The caller as an administrator of `tenantId` (`changes`: a person with two factors); 403 otherwise, audited. */
  admit(tenantId: string, principal: Principal, request: RequestContext, changes?: boolean): Promise<Administrator>;
  /** `404 account-not-found` for an id that is not of this shape (never reaches the database). */
  checkAccountId(id: string): string;
  list(admin: Administrator): Promise<Array<AccountInfo & { readonly createdAt: string }>>;
  /** Invites; beyond the administrator's reach (or linked to a Patient or Practitioner) the setup link waits for an operator (`pending`). */
  invite(admin: Administrator, input: { role: string; email: string; patient?: string; practitioner?: string }): Promise<{ account: AccountInfo; pending: boolean }>;
  update(admin: Administrator, accountId: string, input: { role?: string; practitioner?: string | null }): Promise<{ account: AccountInfo; sessionsEnded: number }>;
  setDisabled(admin: Administrator, accountId: string, disabled: boolean): Promise<{ account: AccountInfo; changed: boolean; sessionsEnded: number }>;
  reinvite(admin: Administrator, accountId: string): Promise<AccountInfo>;
  /** Whether this account's setup link is a platform operator's to send (it reaches more than the administrator). */
  invitationNeedsOperator(admin: Administrator, account: Pick<AccountInfo, 'role' | 'patient' | 'practitioner'>): boolean;
  /** Removes every second factor (`reason` into the audit detail), ends the account's sessions. */
  resetSecondFactors(admin: Administrator, accountId: string, reason?: string): Promise<{ account: AccountInfo; sessionsEnded: number }>;
  unlock(admin: Administrator, accountId: string): Promise<AccountInfo>;
  sessions(admin: Administrator, accountId: string): Promise<SessionInfo[]>;
  /** Ends one live session of the account; `404 session-not-found` otherwise. Audited `session.revoked`. */
  endSession(admin: Administrator, accountId: string, sessionId: string): Promise<void>;
  /** Ends every session of the account (never the administrator's own one). Audited `session.revoked`. */
  endSessions(admin: Administrator, accountId: string): Promise<number>;
  mfaPolicy(admin: Administrator): Promise<MfaPolicy>;
  /** Sets the tenant's second-factor policy; audited `tenant.settings_changed`. */
  setMfaPolicy(admin: Administrator, policy: string): Promise<MfaPolicy>;
}

export interface AccountAdministrationDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly tenants: Tenants;
  readonly notifier: Notifier;
  readonly audit: Audit;
  readonly publicUrl: string | undefined;
}

export function createAccountAdministration({ accounts, sessions, tenants, notifier, audit, publicUrl }: AccountAdministrationDeps): AccountAdministration {
  const operatorEventOf = (admin: Administrator, action: Parameters<typeof operatorEvent>[0], fields: Parameters<typeof operatorEvent>[2], status: number) => ({
    ...operatorEvent(action, admin.context.by, fields),
    purpose: 'HOPERAT' as const,
    sourceIp: admin.context.sourceIp,
    requestId: admin.context.requestId,
    status,
  });

  /** Refuses a grant beyond the administrator's reach; the attempt is an `access.denied` event on the account (detection looks for these). */
  async function needsOperator(admin: Administrator, accountId: string, message: string): Promise<never> {
    await audit.record(admin.tenantId, [operatorEventOf(admin, 'access.denied', { outcome: 'failure', resources: [`Account/${accountId}`], detail: 'approval-required' }, 403)]);
    throw approvalRequired(message);
  }

  const beyondReach = (admin: Administrator, account: Pick<AccountInfo, 'role' | 'patient' | 'practitioner'>) =>
    exceedsReach(parseRole(account.role, personRoles), admin.principal.role) || account.patient !== undefined || account.practitioner !== undefined;

  const isSelf = (admin: Administrator, accountId: string) => admin.principal.kind === 'person' && admin.principal.id === accountId;

  /** Ends the account's sessions after a change to it, but not the one this very request came with. */
  const endAll = (admin: Administrator, accountId: string) =>
    sessions.revokeAll(admin.tenantId, accountId, admin.principal.kind === 'person' && admin.principal.id === accountId ? admin.principal.sessionId : undefined);

  async function existing(admin: Administrator, accountId: string) {
    const found = await accounts.access(admin.tenantId, accountId);
    if (found === undefined) throw notFound();
    return found;
  }

  return {
    async admit(tenantId, principal, request, changes = false) {
      // A refusal to someone of this tenant is an audit event (detection looks for these).
      const denied = (detail: string) =>
        audit.record(tenantId, [{ ...operatorEvent('access.denied', actorOf(principal), { outcome: 'failure', detail }), purpose: 'HOPERAT', sourceIp: request.sourceIp, requestId: request.requestId, status: 403 }]);
      await admitAdministrator(principal, 'accounts:manage', changes, denied);
      return { tenantId, principal, context: { by: actorOf(principal), sourceIp: request.sourceIp, requestId: request.requestId } };
    },

    checkAccountId(id) {
      if (!accountIdPattern.test(id)) throw notFound();
      return id;
    },

    list: (admin) => accounts.list(admin.tenantId),

    async invite(admin, { role, email, patient, practitioner }) {
      // More than the administrator's own reach, or a link to a Patient or Practitioner: the
      // account is made, but its setup link leaves only once a platform operator approves.
      const pending = exceedsReach(parseRole(role, personRoles), admin.principal.role) || patient !== undefined || practitioner !== undefined;
      const { account, setupToken } = await accounts.invite({
        tenantId: admin.tenantId,
        role,
        email,
        ...(patient === undefined ? {} : { patient }),
        ...(practitioner === undefined ? {} : { practitioner }),
        by: admin.context.by,
        ...(pending ? { awaitingApproval: true } : {}),
      });
      // The setup link reaches the person only: the administrator never sees a credential.
      if (!pending) await notifier.send(invitationMessage(account, setupToken, publicUrl));
      return { account, pending };
    },

    async update(admin, accountId, { role, practitioner }) {
      const { tenantId, principal } = admin;
      // Only tenant-admins manage accounts: any other role for oneself is a demotion.
      if (isSelf(admin, accountId) && role !== undefined && role !== principal.role) throw refused('You cannot change your own role: ask another tenant-admin.');
      const current = await existing(admin, accountId);
      const operatorStep = `a platform operator makes this change: tresor user update --tenant ${tenantId} ${accountId}`;
      // A staff account never becomes a patient's (accounts.update refuses it as role-invalid).
      const kindKept = role === undefined || (parseRole(role, personRoles) === 'patient') === (current.role === 'patient');
      if (role !== undefined && kindKept && role !== current.role && exceedsReach(parseRole(role, personRoles), principal.role)) await needsOperator(admin, accountId, `The role ${role} reaches more than yours; ${operatorStep} --role ${role}.`);
      // Which patients a clinician reaches follows the Practitioner: linking one is granting them.
      if (typeof practitioner === 'string' && practitioner !== current.practitioner) await needsOperator(admin, accountId, `Linking a Practitioner grants its patients; ${operatorStep} --practitioner ${practitioner}.`);
      const { account, changed } = await accounts.update({ tenantId, accountId, ...(role === undefined ? {} : { role }), ...(practitioner === undefined ? {} : { practitioner }), context: admin.context });
      // New privileges, new sessions (OWASP ASVS 5 V7.2.4): what was granted before ends now.
      return { account, sessionsEnded: changed ? await endAll(admin, accountId) : 0 };
    },

    async setDisabled(admin, accountId, disabled) {
      if (disabled && isSelf(admin, accountId)) throw refused('You cannot disable your own account: ask another tenant-admin.');
      const { account, changed } = await accounts.setDisabled({ tenantId: admin.tenantId, accountId, disabled, context: admin.context });
      const sessionsEnded = disabled ? await sessions.revokeAll(admin.tenantId, accountId) : 0;
      return { account, changed, sessionsEnded };
    },

    invitationNeedsOperator: (admin, account) => beyondReach(admin, account),

    async reinvite(admin, accountId) {
      const invited = await existing(admin, accountId);
      if (beyondReach(admin, invited)) {
        await needsOperator(admin, accountId, `This account reaches more than yours: a platform operator sends its setup link (tresor user approve --tenant ${admin.tenantId} ${accountId}).`);
      }
      const { account, setupToken } = await accounts.reinvite({ tenantId: admin.tenantId, accountId, context: admin.context });
      await notifier.send(invitationMessage(account, setupToken, publicUrl));
      return account;
    },

    async resetSecondFactors(admin, accountId, reason) {
      if (isSelf(admin, accountId)) throw refused('Remove your own second factors at /auth (with your password and a code): another tenant-admin resets them for you.');
      const given = reason?.trim().replace(/\s+/g, ' ');
      if (given !== undefined && given.length > resetReasonMax) throw new AccountError('account-change-refused', `Give the reason in at most ${resetReasonMax} characters.`, { status: 400, expose: true });
      const account = await accounts.resetSecondFactors({ tenantId: admin.tenantId, accountId, context: admin.context, ...(given === undefined || given === '' ? {} : { reason: given }) });
      return { account, sessionsEnded: await sessions.revokeAll(admin.tenantId, account.id) };
    },

    unlock: (admin, accountId) => accounts.unlock({ tenantId: admin.tenantId, accountId, context: admin.context }),

    async sessions(admin, accountId) {
      await existing(admin, accountId);
      return sessions.list(admin.tenantId, accountId);
    },

    async endSession(admin, accountId, sessionId) {
      // The session must be a live one of this account: an id alone ends nothing.
      if (!(await sessions.list(admin.tenantId, accountId)).some((s) => s.id === sessionId) || !(await sessions.revoke(admin.tenantId, sessionId))) {
        throw new AccountError('session-not-found', 'This account has no live session with that id.', { status: 404, expose: true });
      }
      await audit.record(admin.tenantId, [operatorEventOf(admin, 'session.revoked', { resources: [`Account/${accountId}`], detail: 'by-administrator' }, 204)]);
    },

    async endSessions(admin, accountId) {
      await existing(admin, accountId);
      const ended = await endAll(admin, accountId);
      await audit.record(admin.tenantId, [operatorEventOf(admin, 'session.revoked', { resources: [`Account/${accountId}`], detail: `by-administrator; all (${ended})` }, 200)]);
      return ended;
    },

    mfaPolicy: (admin) => tenants.mfaPolicy(admin.tenantId),

    async setMfaPolicy(admin, policy) {
      const tenant = await tenants.setMfaPolicy(admin.tenantId, policy);
      await audit.record(tenant.id, [operatorEventOf(admin, 'tenant.settings_changed', { detail: `mfa ${tenant.mfaPolicy}` }, 200)]);
      return tenant.mfaPolicy;
    },
  };
}

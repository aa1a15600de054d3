import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { operatorEvent, type Actor, type Audit, type AuditAction, type AuditEventInput } from '../audit/index.js';
import type { Keys } from '../keys/index.js';
import { open, seal } from '../keys/envelope.js';
import type { Clock } from '../platform/clock.js';
import type { SqlExecutor, Storage } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import { hashToken, randomToken } from '../platform/random-token.js';
import {
  activateTotp,
  clearSecondFactors,
  clearTotp,
  countTokensExpiringAfter,
  deleteAccountsOfPatient,
  deleteAllSecondFactors,
  lockAccountRow,
  insertAccount,
  insertAccountToken,
  lockActiveAdmins,
  replaceRecoveryCodes,
  selectAccount,
  selectAccountByEmail,
  selectAccounts,
  selectLiveToken,
  selectSecondFactors,
  spendAccountToken,
  spendAllAccountTokens,
  type AccountRow,
  updateAccountRole,
  updateAccountStatus,
  updatePassword,
  updatePasswordHash,
  updatePendingTotp,
  updateRecoveryCodes,
  useTotpStep,
  type SecondFactorRow,
} from './account-store.js';
import { IdentityError } from './errors.js';
import { parseRole, personRoles, type PersonRole } from './permissions.js';
import { operatorRealm, operatorRoles, type OperatorRole } from './realm.js';
import { checkNewPassword, type PasswordHasher } from './passwords.js';
import type { PasskeyAssertions } from './passkeys.js';
import type { LoginThrottle, ThrottleVerdict } from './throttle.js';
import { matchRecoveryCode, newRecoveryCodes, newTotpSecret, totpEnrolment, verifyTotp, type TotpEnrolment } from './totp.js';


/** How long a setup link works: long enough for an invitation to be read, short enough to expire unused (ASVS 5 V6.4.1). */
export const setupTokenHours = 72;

export interface AccountInfo {
  readonly id: string;
  readonly tenantId: string;
  readonly kind: 'staff' | 'patient';
  readonly role: PersonRole | OperatorRole;
  readonly email: string;
  readonly patient?: string;
  /** A staff account's own Practitioner resource (a clinician's care relationships follow from it). */
  readonly practitioner?: string;
  readonly status: 'invited' | 'active' | 'disabled';
  readonly secondFactor: boolean;
}

export interface Accounts {
  /**
   * Creates an account that has no password yet, and a single-use setup token (256 bits, shown
   * once, stored as SHA-256) with which its owner chooses one.
   */
  /** `awaitingApproval`: its setup link is held back until a platform operator approves (audited so). */
  invite(input: { tenantId: string; role: string; email: string; patient?: string; practitioner?: string; by: Actor; awaitingApproval?: boolean }): Promise<{ account: AccountInfo; setupToken: string }>;
  /** Spends a setup token and sets the first password (policy: passwords.ts); the token works once. */
  completeSetup(input: { tenantId: string; token: string; password: string; sourceIp: string }): Promise<AccountInfo>;
  get(tenantId: string, id: string): Promise<AccountInfo | undefined>;
  /** What a request needs of its account (role, status, links), without opening the sealed email. */
  access(tenantId: string, id: string): Promise<Pick<AccountInfo, 'id' | 'role' | 'status' | 'patient' | 'practitioner' | 'secondFactor'> | undefined>;
  /** Which second factors the account has (its security page shows the matching controls); undefined for no such account. */
  factors(tenantId: string, id: string): Promise<{ readonly totp: boolean; readonly passkey: boolean } | undefined>;
  /**
   * The password step of a login. One answer — `401 login-failed` — and the same argon2 work for
   * a wrong password, an unknown email, an account without a password yet, and an unknown or
   * disabled tenant (`tenantActive` false). Throttled before any work, per submitted email (a
   * keyed hash) and per source address (throttle.ts). Audited: `auth.login_succeeded`,
   * `auth.login_failed`, `auth.locked_out` — never the password, never the email typed.
   */
  login(input: { tenantId: string; tenantActive: boolean; email: string; password: string; sourceIp: string }): Promise<{ readonly account: AccountInfo; readonly secondFactorTicket?: string; readonly secondFactorMethods?: readonly SecondFactorMethod[] }>;
  /**
   * The second step of a login for an account with a second factor: the ticket the password
   * step gave (5 minutes, once) and a TOTP code (each time step once), a recovery code (each
   * once) or a passkey's assertion (passkeys.ts). Failures count on their own throttle key;
   * `401 second-factor-failed` otherwise.
   */
  secondFactor(input: { tenantId: string; ticket: string; code?: string; passkey?: unknown; sourceIp: string }): Promise<AccountInfo>;
  /** Re-authentication by password before a sensitive change (OWASP ASVS 5 V7.5.1); wrong passwords count on the login throttle (`403 password-wrong`). */
  reauthenticate(input: { tenantId: string; accountId: string; password: string; sourceIp: string }): Promise<AccountInfo>;
  /** TOTP enrolment, step 1: re-authenticates with the password (OWASP ASVS 5 V7.5.1) and offers a new secret. */
  beginTotp(input: { tenantId: string; accountId: string; password: string; sourceIp: string }): Promise<TotpEnrolment>;
  /** Step 2: a code from the new secret makes it the account's second factor; ten recovery codes, shown once. */
  confirmTotp(input: { tenantId: string; accountId: string; code: string; sourceIp: string }): Promise<{ readonly recoveryCodes: readonly string[] }>;
  /** Removes the second factor: needs the password and a current code (or a recovery code). The caller ends the other sessions (V7.4.3). */
  removeTotp(input: { tenantId: string; accountId: string; password: string; code: string; sourceIp: string }): Promise<void>;
  /** Ten new recovery codes, shown once; the old ones stop working. Needs the password. */
  renewRecoveryCodes(input: { tenantId: string; accountId: string; password: string; sourceIp: string }): Promise<{ readonly recoveryCodes: readonly string[] }>;
  /**
   * A password change by its owner, who must give the current password (OWASP ASVS 5 V6.2.3);
   * the new one passes the policy. Wrong current passwords count towards the login throttle.
   * The caller ends the account's other sessions (V7.4.3).
   */
  changePassword(input: { tenantId: string; accountId: string; current: string; next: string; sourceIp: string }): Promise<void>;
  /** Every account of the tenant, for its administrators (email opened), oldest first. */
  list(tenantId: string): Promise<Array<AccountInfo & { readonly createdAt: string }>>;
  /**
   * A password reset asked for by email (OWASP ASVS 5 V6.4.1–V6.4.2): for an active account, a
   * single-use 256-bit token (stored as SHA-256) for {@link resetTokenMinutes} minutes, at most
   * {@link resetTokensPerHour} an hour; audited as `auth.password_reset_requested` (the account
   * id, never the email). Undefined — and nothing written — for an unknown email, an account
   * that is invited or disabled, an inactive tenant, or one request too many. The caller sends
   * the token and answers the same whatever this returns.
   */
  requestPasswordReset(input: { tenantId: string; tenantActive: boolean; email: string; sourceIp: string }): Promise<{ readonly account: AccountInfo; readonly token: string } | undefined>;
  /**
   * Spends a reset token and sets the new password (the policy: 8 characters with a second
   * factor, 15 without, no context words); the account's other reset tokens stop working and
   * its sign-in is unlocked (the password step; a second factor's lock stays, since a reset
   * proves only the mailbox). `400 token-invalid` for a used, expired or unknown token. The
   * second factor stays: the next login still asks for it. The caller ends every session (V7.4.3).
   */
  resetPassword(input: { tenantId: string; token: string; password: string; sourceIp: string }): Promise<AccountInfo>;
  /**
   * Changes a staff account's role and/or its Practitioner (`null` removes it); audited as
   * `role.changed` with `old→new`. Never turns a staff account into a patient's or back. `409
   * account-change-refused` when it would leave the tenant without an active tenant-admin.
   * The caller ends the account's sessions (its privileges changed; ASVS 5 V7.2.4).
   */
  update(input: { tenantId: string; accountId: string; role?: string; practitioner?: string | null; context: ChangeContext }): Promise<{ readonly account: AccountInfo; readonly changed: boolean }>;
  /**
   * Disables an account (`account.disabled`): its login answers like a wrong password, its live
   * tokens (setup, reset, second-factor tickets) are spent, and the caller ends its sessions;
   * refused (409) for the tenant's last active tenant-admin. Enabling (`account.enabled`)
   * returns it to active, or to invited if it never set a password. Idempotent; only a change
   * is audited.
   */
  setDisabled(input: { tenantId: string; accountId: string; disabled: boolean; context: ChangeContext }): Promise<{ readonly account: AccountInfo; readonly changed: boolean }>;
  /**
   * GDPR Art. 17: when a patient is erased (their data key shredded), their account goes too —
   * the row with its sealed email, its sessions, tokens, passkeys and queued messages — in one
   * transaction with its `account.erased` event (the account id only). Returns the ids erased.
   */
  eraseOfPatient(input: { tenantId: string; patient: string; by: Actor }): Promise<string[]>;
  /**
   * An administrator removes every second factor of an account whose owner lost them (OWASP
   * ASVS 5 V6.4.4: recovery without weakening the factor — the owner must enrol anew at the
   * next sign-in when the tenant's policy requires one, and the account's sessions end; the
   * caller ends them). Audited as `auth.mfa_removed` with detail `by-administrator` (and the
   * administrator's `reason`, when given: why an account lost its factors is what a reviewer asks).
   */
  resetSecondFactors(input: { tenantId: string; accountId: string; context: ChangeContext; reason?: string }): Promise<AccountInfo>;
  /**
   * A new setup token for an account that is still invited (the first one expired, was lost, or
   * was spent when the account was disabled): the earlier ones stop working. Audited as
   * `account.reinvited`; `409 account-change-refused` for an account that has a password.
   */
  reinvite(input: { tenantId: string; accountId: string; context: ChangeContext }): Promise<{ account: AccountInfo; setupToken: string }>;
  /** An administrator's unlock of the account's sign-in (the password step and the second factor's), audited as `auth.unlocked`. */
  unlock(input: { tenantId: string; accountId: string; context: ChangeContext }): Promise<AccountInfo>;
}

/** Who changes an account, for its audit event: the CLI's operator, or an administrator's request. */
export interface ChangeContext {
  readonly by: Actor;
  readonly sourceIp?: string;
  readonly requestId?: string;
}

/** A reset link works this long (OWASP Forgot Password Cheat Sheet: short-lived; ASVS 5 V6.4.1). */
export const resetTokenMinutes = 30;
/** At most this many reset tokens per account per hour: a stranger cannot flood someone's mailbox. */
export const resetTokensPerHour = 3;

export type AccountErrorCode = 'account-not-found' | 'account-change-refused' | 'reset-throttled' | 'session-not-found';

/** Account administration's own refusals (the identity codes of errors.ts cover signing in). */
export class AccountError extends AppError<AccountErrorCode> {}

export interface AccountsDeps {
  readonly storage: Storage;
  readonly keys: Keys;
  readonly clock: Clock;
  readonly audit: Audit;
  readonly hasher: PasswordHasher;
  readonly throttle: LoginThrottle;
  /** Checks passkey assertions at the login's second step (passkeys.ts); without it only codes work. */
  readonly passkeys?: PasskeyAssertions;
}

/** How a login's second step can be passed. */
export type SecondFactorMethod = 'totp' | 'passkey' | 'recovery-code';

/** Email as identifier: NFKC, trimmed, lower case (mail systems treat local parts case-insensitively in practice). */
export function canonicalEmail(email: string): string {
  const canonical = email.normalize('NFKC').trim().toLowerCase();
  if (canonical.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/u.test(canonical)) {
    throw new IdentityError('email-invalid', 'Not an email address.', { status: 400, expose: true });
  }
  return canonical;
}

function throttled(verdict: Exclude<ThrottleVerdict, { allowed: true }>): IdentityError {
  if (verdict.reason === 'locked') {
    return new IdentityError('account-locked', 'Too many failed sign-ins: this sign-in is locked. An administrator or a password reset unlocks it.', { status: 403, expose: true });
  }
  return new IdentityError('login-throttled', `Too many failed sign-ins; try again in ${verdict.retryAfterSeconds} s.`, { status: 429, expose: true, headers: { 'retry-after': String(verdict.retryAfterSeconds) } });
}

/** A patient account is linked to exactly one Patient; a staff account may be linked to its Practitioner. */
export function checkLinks(role: string, patient: string | undefined, practitioner: string | undefined): void {
  if ((role === 'patient') !== (patient !== undefined)) {
    throw new IdentityError('role-invalid', 'A patient account is linked to exactly one Patient (Patient/<id>), and only a patient account is.', { status: 400, expose: true });
  }
  if (patient !== undefined && !/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(patient)) throw new IdentityError('role-invalid', 'The patient must be given as Patient/<id>.', { status: 400, expose: true });
  if (practitioner !== undefined && (role === 'patient' || !/^Practitioner\/[A-Za-z0-9\-.]{1,64}$/.test(practitioner))) {
    throw new IdentityError('role-invalid', 'A staff account\'s practitioner is given as Practitioner/<id>; patient accounts have none.', { status: 400, expose: true });
  }
}

const tokenInvalid = () => new IdentityError('token-invalid', 'This link is not valid: it may have expired or been used already. Ask for a new one.', { status: 400, expose: true });

export function createAccounts({ storage, keys, clock, audit, hasher, throttle, passkeys }: AccountsDeps): Accounts {
  // Two keys derived from the tenant's index key (HKDF, RFC 5869; one purpose each): one makes
  // the email's lookup hash, the other seals the email itself (AES-256-GCM).
  const derived = async (tenantId: string, purpose: string) => Buffer.from(hkdfSync('sha256', await keys.indexKey(tenantId), Buffer.alloc(0), `tresor/account-email/${purpose}`, 32));
  const emailIndex = async (tenantId: string, email: string) => createHmac('sha256', await derived(tenantId, 'index')).update(email, 'utf8').digest('hex');
  // The login throttle's key for an email: the same for the login and for re-authentication.
  const throttleKeyOf = async (tenantId: string, email: string) => createHmac('sha256', await derived(tenantId, 'throttle')).update(email, 'utf8').digest('hex');
  // What a failed sign-in at an address no account has names in the trail: a pseudonym of the
  // typed address (HMAC under its own derived key, 64 bits), never the address itself — so that
  // detection can count distinct targets of a spray, while the trail lists nobody's address and
  // the throttle's keys stay unlinkable to it. Shredding the tenant's keys leaves it meaningless.
  const attemptedOf = async (tenantId: string, email: string) => `unknown-account:${createHmac('sha256', await derived(tenantId, 'audit-pseudonym')).update(email, 'utf8').digest('hex').slice(0, 16)}`;
  const emailAad = (tenantId: string, id: string) => `account-email|${tenantId}|${id}`;

  /** An account as callers see it, from its row (one read: the row says whether a factor is enrolled). */
  async function toInfo(tenantId: string, row: AccountRow): Promise<AccountInfo> {
    const email = open(await derived(tenantId, 'seal'), row.email_sealed, emailAad(tenantId, row.id)).toString('utf8');
    return {
      id: row.id,
      tenantId,
      kind: row.kind as AccountInfo['kind'],
      role: row.role as PersonRole,
      email,
      ...(row.patient === null ? {} : { patient: row.patient }),
      ...(row.practitioner === null || row.practitioner === undefined ? {} : { practitioner: row.practitioner }),
      status: row.status as AccountInfo['status'],
      secondFactor: Number(row.has_totp) === 1 || Number(row.has_passkey) === 1,
    };
  }

  async function info(tenantId: string, id: string): Promise<AccountInfo | undefined> {
    const row = await selectAccount(await storage.tenant(tenantId), id);
    return row === undefined ? undefined : toInfo(tenantId, row);
  }

  const totpAad = (tenantId: string, id: string) => `account-totp|${tenantId}|${id}`;
  const ticketMinutes = 5;
  const secondFactorFailed = () => new IdentityError('second-factor-failed', 'The code is not valid.', { status: 401, expose: true });
  const accountActor = (account: { id: string; role: string }) => ({ id: `account:${account.id}`, role: account.role, client: 'tresor-auth' });
  const hasTotp = (factors: SecondFactorRow): factors is SecondFactorRow & { totp_sealed: Uint8Array } => factors.totp_sealed !== null && factors.totp_sealed !== undefined;
  const authEvent = (action: 'auth.login_succeeded' | 'auth.login_throttled' | 'auth.mfa_failed' | 'auth.mfa_enrolled' | 'auth.mfa_removed' | 'auth.recovery_codes_renewed', account: { id: string; role: string }, sourceIp: string, status: number, detail = '') => ({
    ...operatorEvent(action, accountActor(account), { resources: [`Account/${account.id}`], outcome: status < 400 ? 'success' : 'failure', detail }),
    purpose: 'HOPERAT' as const,
    sourceIp,
    status,
  });

  /** Checks and uses up a TOTP code (its time step) or a recovery code; which one worked, or undefined. */
  async function useSecondFactor(tenantId: string, accountId: string, factors: SecondFactorRow, code: string, now: number): Promise<'totp' | 'recovery-code' | undefined> {
    const db = await storage.tenant(tenantId);
    // A passkey-only account has recovery codes but no TOTP secret.
    if (hasTotp(factors)) {
      const secret = open(await derived(tenantId, 'seal'), factors.totp_sealed, totpAad(tenantId, accountId));
      const step = await verifyTotp(secret, code.replace(/\s/g, ''), now, factors.totp_last_step === null ? undefined : Number(factors.totp_last_step));
      if (step !== undefined && (await useTotpStep(db, accountId, step))) return 'totp';
    }
    if (factors.recovery_codes === null) return undefined;
    const hashes = JSON.parse(factors.recovery_codes) as Array<string | null>;
    const index = matchRecoveryCode(hashes, code);
    if (index < 0) return undefined;
    const left = JSON.stringify(hashes.map((h, i) => (i === index ? null : h)));
    return (await replaceRecoveryCodes(db, accountId, factors.recovery_codes, left)) ? 'recovery-code' : undefined;
  }

  /** Re-authentication by password for a sensitive change; wrong passwords count on the login throttle. */
  async function reauthenticate(tenantId: string, accountId: string, password: string, sourceIp: string) {
    const row = await selectAccount(await storage.tenant(tenantId), accountId);
    const account = row === undefined ? undefined : await toInfo(tenantId, row);
    if (row === undefined || account === undefined || row.status !== 'active') throw new IdentityError('unauthenticated', 'Sign in first: there is no live session.', { status: 401, expose: true });
    const throttleKey = await throttleKeyOf(tenantId, account.email);
    const verdict = await throttle.check(throttleKey, sourceIp, tenantId);
    if (!verdict.allowed) throw throttled(verdict);
    if (!(await hasher.verify(row.password_hash ?? undefined, password)).ok) {
      await throttle.failed(throttleKey, sourceIp, tenantId);
      throw new IdentityError('password-wrong', 'The current password is wrong.', { status: 403, expose: true });
    }
    await throttle.succeeded(throttleKey);
    return { row, account };
  }

  return {
    async invite({ tenantId, role, email, patient, practitioner, by, awaitingApproval = false }) {
      // Platform operators live in their own realm and hold only the operator role (operators.ts).
      if (tenantId !== operatorRealm) parseRole(role, personRoles);
      else if (!(operatorRoles as readonly string[]).includes(role)) throw new IdentityError('role-invalid', `The platform operators' realm has the roles ${operatorRoles.join(' and ')}.`, { status: 400, expose: true });
      checkLinks(role, patient, practitioner);
      const canonical = canonicalEmail(email);
      const db = await storage.tenant(tenantId);
      const id = `usr_${randomBytes(8).toString('hex')}`;
      const token = randomToken();
      const now = clock.now().getTime();
      const index = await emailIndex(tenantId, canonical);
      const sealed = seal(await derived(tenantId, 'seal'), Buffer.from(canonical, 'utf8'), emailAad(tenantId, id));
      await db.transaction(async (tx) => {
        const created = await insertAccount(tx, { id, kind: role === 'patient' ? 'patient' : 'staff', role, email_index: index, email_sealed: sealed, patient: patient ?? null, practitioner: practitioner ?? null, password_hash: null, status: 'invited', at: now });
        if (!created) throw new IdentityError('account-exists', 'This tenant already has an account with that email address.', { status: 409, expose: true });
        await insertAccountToken(tx, { tokenHash: hashToken(token), accountId: id, purpose: 'setup', expiresAt: now + setupTokenHours * 3_600_000 });
        await audit.appendIn(tx, tenantId, [operatorEvent('account.created', by, { resources: [`Account/${id}`], subjects: patient === undefined ? [] : [patient], detail: awaitingApproval ? `${role}; awaiting approval` : role })]);
      });
      return { account: (await info(tenantId, id)) as AccountInfo, setupToken: token };
    },

    async completeSetup({ tenantId, token, password, sourceIp }) {
      let db;
      try {
        db = await storage.tenant(tenantId);
      } catch {
        // An unknown tenant answers like an unknown token: the link does not tell which tenants exist.
        throw tokenInvalid();
      }
      const accountId = await selectLiveToken(db, hashToken(token), 'setup', clock.now().getTime());
      const account = accountId === undefined ? undefined : await info(tenantId, accountId);
      if (account === undefined) throw tokenInvalid();
      // The policy first, so a refused password leaves the token usable for the next try.
      checkNewPassword(password, { hasSecondFactor: false, context: { email: account.email, tenant: tenantId } });
      const passwordHash = await hasher.hash(password);
      await db.transaction(async (tx) => {
        const now = clock.now().getTime();
        if ((await spendAccountToken(tx, hashToken(token), 'setup', now)) !== account.id) throw tokenInvalid();
        await updatePassword(tx, account.id, passwordHash, 'active', now);
        const actor = { id: `account:${account.id}`, role: account.role, client: 'tresor-auth' };
        await audit.appendIn(tx, tenantId, [{ ...operatorEvent('auth.password_changed', actor, { resources: [`Account/${account.id}`], detail: 'setup' }), purpose: 'HOPERAT', sourceIp }]);
      });
      return { ...account, status: 'active' };
    },

    get: info,

    async reauthenticate({ tenantId, accountId, password, sourceIp }) {
      return (await reauthenticate(tenantId, accountId, password, sourceIp)).account;
    },

    async factors(tenantId, id) {
      const row = await selectAccount(await storage.tenant(tenantId), id);
      return row === undefined ? undefined : { totp: Number(row.has_totp) === 1, passkey: Number(row.has_passkey) === 1 };
    },

    async access(tenantId, id) {
      const row = await selectAccount(await storage.tenant(tenantId), id);
      if (row === undefined) return undefined;
      return {
        id: row.id,
        role: row.role as PersonRole,
        status: row.status as AccountInfo['status'],
        ...(row.patient === null ? {} : { patient: row.patient }),
        ...(row.practitioner === null || row.practitioner === undefined ? {} : { practitioner: row.practitioner }),
        secondFactor: Number(row.has_totp) === 1 || Number(row.has_passkey) === 1,
      };
    },

    async changePassword({ tenantId, accountId, current, next, sourceIp }) {
      const { row, account } = await reauthenticate(tenantId, accountId, current, sourceIp).catch(async (error: unknown) => {
        if ((error as { code?: string }).code === 'password-wrong') {
          const known = await info(tenantId, accountId);
          if (known !== undefined) await audit.record(tenantId, [{ ...operatorEvent('auth.password_changed', accountActor(known), { resources: [`Account/${accountId}`], outcome: 'failure', detail: 'current-password-wrong' }), purpose: 'HOPERAT', sourceIp, status: 403 }]);
        }
        throw error;
      });
      checkNewPassword(next, { hasSecondFactor: account.secondFactor, context: { email: account.email, tenant: tenantId } });
      const hash = await hasher.hash(next);
      const db = await storage.tenant(tenantId);
      await db.transaction(async (tx) => {
        await updatePasswordHash(tx, row.id, hash, clock.now().getTime());
        await audit.appendIn(tx, tenantId, [{ ...operatorEvent('auth.password_changed', accountActor(account), { resources: [`Account/${row.id}`], detail: 'change' }), purpose: 'HOPERAT', sourceIp, status: 200 }]);
      });
    },

    async login({ tenantId, tenantActive, email, password, sourceIp }) {
      let canonical: string;
      try {
        canonical = canonicalEmail(email);
      } catch {
        canonical = email.normalize('NFKC').trim().toLowerCase();
      }
      // An unknown tenant has no keys (and gets none made for it by a stranger's request).
      const throttleKey = tenantActive
        ? await throttleKeyOf(tenantId, canonical)
        : createHash('sha256').update(`${tenantId}\n${canonical}`, 'utf8').digest('hex');
      const verdict = await throttle.check(throttleKey, sourceIp, tenantId);
      const lookUp = async () => (tenantActive ? selectAccountByEmail(await storage.tenant(tenantId), await emailIndex(tenantId, canonical)) : undefined);
      const eventOf = async (row: AccountRow | undefined, action: 'auth.login_succeeded' | 'auth.login_failed' | 'auth.locked_out' | 'auth.login_throttled', status: number, detail = '') => ({
        ...operatorEvent(action, row === undefined ? { id: 'unknown', role: 'none', client: 'tresor-auth' } : { id: `account:${row.id}`, role: row.role, client: 'tresor-auth' }, {
          resources: row === undefined ? [] : [`Account/${row.id}`],
          outcome: status < 400 ? 'success' : 'failure',
          detail: row === undefined && status >= 400 ? `${detail} ${await attemptedOf(tenantId, canonical)}`.trim() : detail,
        }),
        purpose: 'HOPERAT' as const,
        sourceIp,
        status,
      });
      if (!verdict.allowed) {
        // Refused before any password work: recorded too (an attacker at the throttle is what
        // detection must see; OWASP ASVS 5 V16.3.1), a bounded number of times per address.
        if (tenantActive && (await throttle.auditRefusal(sourceIp, tenantId))) await audit.record(tenantId, [await eventOf(await lookUp(), 'auth.login_throttled', verdict.reason === 'locked' ? 403 : 429, `password ${verdict.reason}`)]);
        throw throttled(verdict);
      }
      const row = await lookUp();
      const { ok, rehash } = await hasher.verify(row?.password_hash ?? undefined, password);
      const event = (action: 'auth.login_succeeded' | 'auth.login_failed' | 'auth.locked_out', status: number) => eventOf(row, action, status);
      if (!ok || row === undefined || row.status !== 'active') {
        const { locked } = await throttle.failed(throttleKey, sourceIp, tenantId);
        if (tenantActive) await audit.record(tenantId, locked ? [await event('auth.login_failed', 401), await event('auth.locked_out', 401)] : [await event('auth.login_failed', 401)]);
        throw new IdentityError('login-failed', 'The email address or the password is wrong.', { status: 401, expose: true });
      }
      await throttle.succeeded(throttleKey);
      const db = await storage.tenant(tenantId);
      if (rehash) await updatePasswordHash(db, row.id, await hasher.hash(password), clock.now().getTime());
      const account = await toInfo(tenantId, row);
      if (account.secondFactor) {
        // The password alone gets a step-up ticket, never a session.
        const ticket = randomToken();
        await insertAccountToken(db, { tokenHash: hashToken(ticket), accountId: row.id, purpose: 'second-factor', expiresAt: clock.now().getTime() + ticketMinutes * 60_000 });
        const methods: SecondFactorMethod[] = [...(Number(row.has_totp) === 1 ? ['totp' as const] : []), ...(Number(row.has_passkey) === 1 ? ['passkey' as const] : []), 'recovery-code'];
        return { account, secondFactorTicket: ticket, secondFactorMethods: methods };
      }
      await audit.record(tenantId, [await event('auth.login_succeeded', 200)]);
      return { account };
    },

    async secondFactor({ tenantId, ticket, code, passkey, sourceIp }) {
      const db = await storage.tenant(tenantId);
      const now = clock.now().getTime();
      const accountId = await selectLiveToken(db, hashToken(ticket), 'second-factor', now);
      const account = accountId === undefined ? undefined : await info(tenantId, accountId);
      const factors = accountId === undefined ? undefined : await selectSecondFactors(db, accountId);
      if (account === undefined || factors === undefined || !account.secondFactor) throw secondFactorFailed();
      const throttleKey = `second-factor|${tenantId}|${account.id}`;
      const verdict = await throttle.check(throttleKey, sourceIp, tenantId);
      if (!verdict.allowed) {
        if (await throttle.auditRefusal(sourceIp, tenantId)) await audit.record(tenantId, [authEvent('auth.login_throttled', account, sourceIp, verdict.reason === 'locked' ? 403 : 429, `second-factor ${verdict.reason}`)]);
        throw throttled(verdict);
      }
      // A passkey's assertion or a code; a wrong one of either counts on the same throttle.
      const verdictOfPasskey = passkey === undefined ? undefined : passkeys === undefined ? ({ ok: false, reason: 'invalid' } as const) : await passkeys.verifyAssertion({ tenantId, accountId: account.id, ticket, response: passkey });
      const method = verdictOfPasskey === undefined ? await useSecondFactor(tenantId, account.id, factors, code ?? '', now) : verdictOfPasskey.ok ? 'passkey' : undefined;
      if (method === undefined) {
        await throttle.failed(throttleKey, sourceIp, tenantId);
        // `passkey-counter`: a correctly signed assertion whose counter did not go up (a cloned authenticator?).
        const detail = verdictOfPasskey === undefined || verdictOfPasskey.ok ? '' : verdictOfPasskey.reason === 'counter' ? 'passkey-counter' : 'passkey';
        await audit.record(tenantId, [authEvent('auth.mfa_failed', account, sourceIp, 401, detail)]);
        throw secondFactorFailed();
      }
      if ((await spendAccountToken(db, hashToken(ticket), 'second-factor', now)) !== account.id) throw secondFactorFailed();
      await throttle.succeeded(throttleKey);
      await audit.record(tenantId, [authEvent('auth.login_succeeded', account, sourceIp, 200, method)]);
      return account;
    },

    async removeTotp({ tenantId, accountId, password, code, sourceIp }) {
      const { account, row } = await reauthenticate(tenantId, accountId, password, sourceIp);
      const db = await storage.tenant(tenantId);
      const factors = await selectSecondFactors(db, accountId);
      if (factors === undefined || !hasTotp(factors)) throw new IdentityError('second-factor-failed', 'This account has no second factor.', { status: 409, expose: true });
      const throttleKey = `second-factor|${tenantId}|${accountId}`;
      const verdict = await throttle.check(throttleKey, sourceIp, tenantId);
      if (!verdict.allowed) throw throttled(verdict);
      if ((await useSecondFactor(tenantId, accountId, factors, code, clock.now().getTime())) === undefined) {
        await throttle.failed(throttleKey, sourceIp, tenantId);
        await audit.record(tenantId, [authEvent('auth.mfa_failed', account, sourceIp, 401, 'remove')]);
        throw secondFactorFailed();
      }
      await throttle.succeeded(throttleKey);
      await db.transaction(async (tx) => {
        // With a passkey left, the account keeps a second factor and its recovery codes.
        if (Number(row.has_passkey) === 1) await clearTotp(tx, accountId, clock.now().getTime());
        else await clearSecondFactors(tx, accountId, clock.now().getTime());
        await audit.appendIn(tx, tenantId, [authEvent('auth.mfa_removed', account, sourceIp, 200, 'totp')]);
      });
    },

    async renewRecoveryCodes({ tenantId, accountId, password, sourceIp }) {
      const { account } = await reauthenticate(tenantId, accountId, password, sourceIp);
      const db = await storage.tenant(tenantId);
      const factors = await selectSecondFactors(db, accountId);
      if (factors === undefined || !account.secondFactor) throw new IdentityError('second-factor-failed', 'This account has no second factor.', { status: 409, expose: true });
      const { codes, hashes } = newRecoveryCodes();
      await db.transaction(async (tx) => {
        await updateRecoveryCodes(tx, accountId, JSON.stringify(hashes), clock.now().getTime());
        await audit.appendIn(tx, tenantId, [authEvent('auth.recovery_codes_renewed', account, sourceIp, 200)]);
      });
      return { recoveryCodes: codes };
    },

    async beginTotp({ tenantId, accountId, password, sourceIp }) {
      const { account } = await reauthenticate(tenantId, accountId, password, sourceIp);
      const secret = newTotpSecret();
      await updatePendingTotp(await storage.tenant(tenantId), accountId, seal(await derived(tenantId, 'seal'), secret, totpAad(tenantId, accountId)));
      return totpEnrolment(secret, `Tresor (${tenantId})`, account.email);
    },

    async confirmTotp({ tenantId, accountId, code, sourceIp }) {
      const db = await storage.tenant(tenantId);
      const account = await info(tenantId, accountId);
      const factors = await selectSecondFactors(db, accountId);
      if (account === undefined || factors?.totp_pending_sealed === null || factors?.totp_pending_sealed === undefined) {
        throw new IdentityError('second-factor-failed', 'Start the enrolment first: there is no new secret to confirm.', { status: 409, expose: true });
      }
      const key = await derived(tenantId, 'seal');
      const secret = open(key, factors.totp_pending_sealed, totpAad(tenantId, accountId));
      const step = await verifyTotp(secret, code.replace(/\s/g, ''), clock.now().getTime());
      if (step === undefined) throw secondFactorFailed();
      const { codes, hashes } = newRecoveryCodes();
      await db.transaction(async (tx) => {
        await activateTotp(tx, accountId, factors.totp_pending_sealed as Uint8Array, step, JSON.stringify(hashes), clock.now().getTime());
        await audit.appendIn(tx, tenantId, [authEvent('auth.mfa_enrolled', account, sourceIp, 200, 'totp')]);
      });
      return { recoveryCodes: codes };
    },

    async eraseOfPatient({ tenantId, patient, by }) {
      const db = await storage.tenant(tenantId);
      return db.transaction(async (tx) => {
        const erased = await deleteAccountsOfPatient(tx, patient);
        if (erased.length > 0) await audit.appendIn(tx, tenantId, [operatorEvent('account.erased', by, { resources: erased.map((id) => `Account/${id}`), subjects: [patient] })]);
        return erased;
      });
    },

    async list(tenantId) {
      const rows = await selectAccounts(await storage.tenant(tenantId));
      return Promise.all(rows.map(async (row) => ({ ...(await toInfo(tenantId, row)), createdAt: new Date(Number(row.created_at)).toISOString() })));
    },

    async requestPasswordReset({ tenantId, tenantActive, email, sourceIp }) {
      // An unknown tenant has no data set (and gets no keys made for it by a stranger's request).
      if (!tenantActive) return undefined;
      let canonical: string;
      try {
        canonical = canonicalEmail(email);
      } catch {
        return undefined;
      }
      const db = await storage.tenant(tenantId);
      const row = await selectAccountByEmail(db, await emailIndex(tenantId, canonical));
      if (row === undefined || row.status !== 'active') return undefined;
      const account = await toInfo(tenantId, row);
      const token = randomToken();
      const now = clock.now().getTime();
      // Whoever asked is not known: the event names the account and the source address only.
      const event = (outcome: 'success' | 'failure', detail: string) => ({
        ...operatorEvent('auth.password_reset_requested', { id: 'anonymous', role: 'none', client: 'tresor-auth' }, { resources: [`Account/${row.id}`], outcome, detail }),
        purpose: 'HOPERAT' as const,
        sourceIp,
        status: 202,
      });
      const issued = await db.transaction(async (tx) => {
        // Concurrent requests for one account count one after another (SQLite serialises writers;
        // PostgreSQL is told to, by locking the account's row).
        await lockAccountRow(tx, row.id);
        // A token issued within the last hour expires later than an hour less its lifetime from now.
        if ((await countTokensExpiringAfter(tx, row.id, 'reset', now + resetTokenMinutes * 60_000 - 3_600_000)) >= resetTokensPerHour) {
          await audit.appendIn(tx, tenantId, [event('failure', 'too-many-requests')]);
          return false;
        }
        await insertAccountToken(tx, { tokenHash: hashToken(token), accountId: row.id, purpose: 'reset', expiresAt: now + resetTokenMinutes * 60_000 });
        await audit.appendIn(tx, tenantId, [event('success', '')]);
        return true;
      });
      return issued ? { account, token } : undefined;
    },

    async resetPassword({ tenantId, token, password, sourceIp }) {
      let db;
      try {
        db = await storage.tenant(tenantId);
      } catch {
        throw tokenInvalid();
      }
      const accountId = await selectLiveToken(db, hashToken(token), 'reset', clock.now().getTime());
      const row = accountId === undefined ? undefined : await selectAccount(db, accountId);
      if (row === undefined || row.status !== 'active') throw tokenInvalid();
      const account = await toInfo(tenantId, row);
      // The policy first, so a refused password leaves the token usable for the next try.
      checkNewPassword(password, { hasSecondFactor: account.secondFactor, context: { email: account.email, tenant: tenantId } });
      const passwordHash = await hasher.hash(password);
      await db.transaction(async (tx) => {
        const now = clock.now().getTime();
        if ((await spendAccountToken(tx, hashToken(token), 'reset', now)) !== account.id) throw tokenInvalid();
        // Any other reset link of the account stops working too (OWASP Forgot Password Cheat Sheet).
        await spendAllAccountTokens(tx, account.id, now, 'reset');
        await updatePasswordHash(tx, account.id, passwordHash, now);
        await audit.appendIn(tx, tenantId, [{ ...operatorEvent('auth.password_reset', accountActor(account), { resources: [`Account/${account.id}`] }), purpose: 'HOPERAT', sourceIp, status: 200 }]);
      });
      // Reset unlocks the password step (throttle.ts). Not the second factor's lock: the reset
      // proved control of the mailbox, not of the factor, which is still asked for at login.
      await throttle.unlock(await throttleKeyOf(tenantId, account.email));
      return account;
    },

    async update({ tenantId, accountId, role, practitioner, context }) {
      if (role !== undefined) parseRole(role, personRoles);
      const db = await storage.tenant(tenantId);
      const result = await db.transaction(async (tx) => {
        const row = await selectAccount(tx, accountId);
        if (row === undefined) throw accountNotFound();
        const nextRole = role ?? row.role;
        if ((nextRole === 'patient') !== (row.role === 'patient')) {
          throw new IdentityError('role-invalid', 'A patient\'s account stays a patient\'s, and a staff account a staff account: invite a new account instead.', { status: 400, expose: true });
        }
        const nextPractitioner = practitioner === undefined ? row.practitioner : practitioner;
        checkLinks(nextRole, row.patient ?? undefined, nextPractitioner ?? undefined);
        const changes = [
          ...(nextRole === row.role ? [] : [`${row.role}→${nextRole}`]),
          ...(nextPractitioner === row.practitioner ? [] : [`practitioner ${row.practitioner ?? '-'}→${nextPractitioner ?? '-'}`]),
        ];
        if (changes.length === 0) return { row, changed: false };
        if (row.role === 'tenant-admin' && nextRole !== 'tenant-admin' && row.status === 'active') await keepAnAdmin(tx, row.id);
        if (!(await updateAccountRole(tx, row.id, row.role, nextRole, nextPractitioner, clock.now().getTime()))) throw changedMeanwhile();
        await audit.appendIn(tx, tenantId, [changeEvent('role.changed', row, context, changes.join('; '))]);
        return { row: { ...row, role: nextRole, practitioner: nextPractitioner }, changed: true };
      });
      return { account: await toInfo(tenantId, result.row), changed: result.changed };
    },

    async setDisabled({ tenantId, accountId, disabled, context }) {
      const db = await storage.tenant(tenantId);
      const result = await db.transaction(async (tx) => {
        const row = await selectAccount(tx, accountId);
        if (row === undefined) throw accountNotFound();
        if (disabled === (row.status === 'disabled')) return { row, changed: false };
        // Enabled again, an account that never set a password is back to invited (its setup token was spent at disabling: invite anew).
        const next = disabled ? 'disabled' : row.password_hash === null ? 'invited' : 'active';
        if (disabled && row.role === 'tenant-admin' && row.status === 'active') await keepAnAdmin(tx, row.id);
        const now = clock.now().getTime();
        if (!(await updateAccountStatus(tx, row.id, row.status, next, now))) throw changedMeanwhile();
        // Setup and reset links and second-factor tickets issued before must not outlive the disabling.
        if (disabled) await spendAllAccountTokens(tx, row.id, now);
        await audit.appendIn(tx, tenantId, [changeEvent(disabled ? 'account.disabled' : 'account.enabled', row, context)]);
        return { row: { ...row, status: next }, changed: true };
      });
      return { account: await toInfo(tenantId, result.row), changed: result.changed };
    },

    async reinvite({ tenantId, accountId, context }) {
      const db = await storage.tenant(tenantId);
      const token = randomToken();
      await db.transaction(async (tx) => {
        const row = await selectAccount(tx, accountId);
        if (row === undefined) throw accountNotFound();
        if (row.status !== 'invited') throw new AccountError('account-change-refused', 'This account has chosen a password already: a forgotten one is reset by its owner (POST /auth/password-reset).', { status: 409, expose: true });
        const now = clock.now().getTime();
        await spendAllAccountTokens(tx, row.id, now, 'setup');
        await insertAccountToken(tx, { tokenHash: hashToken(token), accountId: row.id, purpose: 'setup', expiresAt: now + setupTokenHours * 3_600_000 });
        await audit.appendIn(tx, tenantId, [changeEvent('account.reinvited', row, context)]);
      });
      return { account: (await info(tenantId, accountId)) as AccountInfo, setupToken: token };
    },

    async resetSecondFactors({ tenantId, accountId, context, reason }) {
      const db = await storage.tenant(tenantId);
      await db.transaction(async (tx) => {
        const row = await selectAccount(tx, accountId);
        if (row === undefined) throw accountNotFound();
        const now = clock.now().getTime();
        await deleteAllSecondFactors(tx, row.id, now);
        // Second-factor tickets issued before must not be usable with anything left.
        await spendAllAccountTokens(tx, row.id, now, 'second-factor');
        await audit.appendIn(tx, tenantId, [changeEvent('auth.mfa_removed', row, context, reason === undefined ? 'by-administrator' : `by-administrator; reason: ${reason}`)]);
      });
      return (await info(tenantId, accountId)) as AccountInfo;
    },

    async unlock({ tenantId, accountId, context }) {
      const account = await info(tenantId, accountId);
      if (account === undefined) throw accountNotFound();
      await throttle.unlock(await throttleKeyOf(tenantId, account.email));
      // The second factor's throttle key, as secondFactor() and removeTotp() count it.
      await throttle.unlock(`second-factor|${tenantId}|${account.id}`);
      await audit.record(tenantId, [changeEvent('auth.unlocked', { id: account.id, patient: account.patient ?? null }, context)]);
      return account;
    },
  };
}

const accountNotFound = () => new AccountError('account-not-found', 'No such account in this tenant.', { status: 404, expose: true });
const changedMeanwhile = () => new AccountError('account-change-refused', 'The account was changed by someone else meanwhile; reload it and try again.', { status: 409, expose: true });

/** Refuses a change that would leave the tenant without an active tenant-admin: nobody could manage its people any more. */
async function keepAnAdmin(tx: SqlExecutor, accountId: string): Promise<void> {
  if (!(await lockActiveAdmins(tx)).some((id) => id !== accountId)) {
    throw new AccountError('account-change-refused', 'This is the tenant\'s last active tenant-admin: make another account tenant-admin first.', { status: 409, expose: true });
  }
}

/** The audit event of an administrator's change to an account (ids only; a patient's account names its Patient). */
function changeEvent(action: AuditAction, account: { id: string; patient: string | null }, context: ChangeContext, detail = ''): AuditEventInput {
  return {
    ...operatorEvent(action, context.by, { resources: [`Account/${account.id}`], subjects: account.patient === null ? [] : [account.patient], detail }),
    ...(context.sourceIp === undefined ? {} : { purpose: 'HOPERAT' as const, sourceIp: context.sourceIp, requestId: context.requestId ?? '', status: 200 }),
  };
}

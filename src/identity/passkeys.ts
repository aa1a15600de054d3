import { createHash } from 'node:crypto';
import type * as WebAuthnServer from '@simplewebauthn/server';
import type * as WebAuthnHelpers from '@simplewebauthn/server/helpers';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON, WebAuthnCredential } from '@simplewebauthn/server';
import { operatorEvent, type Audit } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import type { SqlExecutor, Storage } from '../platform/db/index.js';
import { HttpError } from '../platform/http/index.js';
import { hashToken } from '../platform/random-token.js';
import {
  clearRecoveryCodes,
  deletePasskey,
  insertAccountToken,
  insertPasskey,
  selectLiveToken,
  selectPasskey,
  selectPasskeys,
  selectSecondFactors,
  spendAccountToken,
  updateRecoveryCodes,
  usePasskey,
  type PasskeyRow,
} from './account-store.js';
import { IdentityError } from './errors.js';
import { newRecoveryCodes } from './totp.js';

/**
 * Passkeys (WebAuthn Level 3) as a second factor, verified by `@simplewebauthn/server`.
 *
 * - Challenges are the server's own: 256 random bits from the library, kept for
 *   {@link challengeMinutes} minutes as SHA-256 together with what they are bound to — the
 *   session that asked to register, or the login ticket that asked to sign in — and spent by the
 *   first response that names them, whatever its outcome. A challenge the client echoes is
 *   looked up, never trusted.
 * - Attestation `none`: Tresor does not restrict which authenticators people use (no allow-list
 *   of makers), so an attestation would be checked against nothing; not asking for one also
 *   keeps the authenticator's model out of the database.
 * - The signature counter: a stored counter above zero must go up with every use; an assertion
 *   that is correctly signed but does not raise it is refused as a possible cloned
 *   authenticator (`auth.mfa_failed`, detail `passkey-counter`). Authenticators that keep no
 *   counter (always 0; most synced passkeys) are accepted.
 * - User verification is preferred, not required: the password was the first factor; a passkey
 *   adds possession (user presence is required).
 */
export interface RelyingParty {
  /** The domain credentials are scoped to (config `identity.webauthn.rpId`). */
  readonly rpId: string;
  /** The origins browsers may use them from (config `identity.webauthn.origins`). */
  readonly origins: readonly string[];
}

export interface PasskeyInfo {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

export type PasskeyVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: 'invalid' | 'counter' };

/** What the login's second step needs of passkeys (accounts.ts asks it; it knows no WebAuthn). */
export interface PasskeyAssertions {
  /**
   * Checks an assertion (`AuthenticationResponseJSON`) for the account a live login ticket
   * belongs to: a challenge issued for this ticket (spent now), one of the account's passkeys,
   * the origin, the rpId hash, user presence, the signature and the counter. The caller has
   * checked the ticket and the throttle and records the outcome.
   */
  verifyAssertion(input: { tenantId: string; accountId: string; ticket: string; response: unknown }): Promise<PasskeyVerdict>;
}

type Actor = { readonly id: string; readonly role: string };

export interface Passkeys extends PasskeyAssertions {
  /** Registration, step 1 (after the caller re-authenticated with the password): options for `navigator.credentials.create`, bound to this session. */
  registrationOptions(input: { tenantId: string; account: Actor & { readonly email: string }; sessionId: string }): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /**
   * Step 2: verifies the authenticator's response against a challenge issued to this session and
   * stores the credential; audited as `auth.mfa_enrolled` (`passkey`). The account's first second
   * factor also gets ten recovery codes, shown once.
   */
  register(input: { tenantId: string; account: Actor; sessionId: string; response: unknown; name: string; sourceIp: string }): Promise<{ readonly passkey: PasskeyInfo; readonly recoveryCodes?: readonly string[] }>;
  list(tenantId: string, accountId: string): Promise<PasskeyInfo[]>;
  /** Removes one of the account's passkeys (the caller re-authenticated); the last factor takes the recovery codes with it. Audited as `auth.mfa_removed` (`passkey`). */
  remove(input: { tenantId: string; account: Actor; id: string; sourceIp: string }): Promise<void>;
  /** Options for `navigator.credentials.get` in a login's second step: the account's passkeys, a challenge bound to the ticket. */
  loginOptions(input: { tenantId: string; ticket: string }): Promise<PublicKeyCredentialRequestOptionsJSON>;
}

/** How long a registration or sign-in challenge can be answered. */
export const challengeMinutes = 5;
/** At most this many passkeys per account. */
export const maxPasskeys = 20;

const knownTransports = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

const iso = (ms: number | string | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const toInfo = (row: PasskeyRow): PasskeyInfo => ({ id: row.credential_id, name: row.name, createdAt: iso(row.created_at) as string, lastUsedAt: iso(row.last_used_at) });
const transportsOf = (row: PasskeyRow): string[] | undefined => (row.transports === null ? undefined : (JSON.parse(row.transports) as string[]));
const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A challenge's stored form: SHA-256 over what it is bound to and the challenge itself. */
const challengeHash = (binding: string, challenge: string) => createHash('sha256').update(binding, 'utf8').update('\0').update(challenge, 'utf8').digest();
const sessionBinding = (sessionId: string) => `passkey-registration|session|${sessionId}`;
const ticketBinding = (ticket: string) => `passkey-login|ticket|${hashToken(ticket).toString('hex')}`;

/** The name its owner gives a passkey: 1–64 printable characters (no control, format or line-separator characters). */
export function passkeyName(name: string): string {
  const normalized = name.normalize('NFC').trim();
  if (!/^[^\p{C}\p{Zl}\p{Zp}]{1,64}$/u.test(normalized)) {
    throw new HttpError('body-invalid', 'Give the passkey a name of 1 to 64 printable characters.', { status: 400 });
  }
  return normalized;
}

// @simplewebauthn/server takes about a quarter of a second to load: a process pays for it at its
// first passkey operation, not at start (admin commands never use it).
type WebAuthn = typeof WebAuthnServer & typeof WebAuthnHelpers;
let webAuthn: Promise<WebAuthn> | undefined;
const loadWebAuthn = () => (webAuthn ??= Promise.all([import('@simplewebauthn/server'), import('@simplewebauthn/server/helpers')]).then(([server, helpers]) => ({ ...server, ...helpers })));

/** The challenge a response's clientDataJSON carries, or undefined when there is no readable one. */
function challengeOf({ decodeClientDataJSON }: WebAuthn, response: unknown): string | undefined {
  if (!isObject(response) || !isObject(response['response']) || typeof response['response']['clientDataJSON'] !== 'string') return undefined;
  try {
    const { challenge } = decodeClientDataJSON(response['response']['clientDataJSON']);
    return typeof challenge === 'string' && challenge.length > 0 ? challenge : undefined;
  } catch {
    return undefined;
  }
}

/** The counter an assertion's authenticatorData claims, or undefined. */
function counterOf({ parseAuthenticatorData, isoBase64URL }: WebAuthn, response: AuthenticationResponseJSON): number | undefined {
  try {
    return parseAuthenticatorData(isoBase64URL.toBuffer(response.response.authenticatorData)).counter;
  } catch {
    return undefined;
  }
}

export function createPasskeys({ storage, clock, audit, relyingParty }: { storage: Storage; clock: Clock; audit: Audit; relyingParty: RelyingParty }): Passkeys {
  const { rpId } = relyingParty;
  const origins = [...relyingParty.origins];
  const challengeMs = challengeMinutes * 60_000;
  const registrationFailed = () => new IdentityError('second-factor-failed', 'The passkey could not be verified: ask for new options and try again.', { status: 400, expose: true });
  const ticketInvalid = () => new IdentityError('second-factor-failed', 'This sign-in cannot continue with a passkey: sign in with the password again.', { status: 401, expose: true });
  const event = (action: 'auth.mfa_enrolled' | 'auth.mfa_removed', account: Actor, sourceIp: string) => ({
    ...operatorEvent(action, { id: `account:${account.id}`, role: account.role, client: 'tresor-auth' }, { resources: [`Account/${account.id}`], detail: 'passkey' }),
    purpose: 'HOPERAT' as const,
    sourceIp,
    status: 200,
  });
  /** Whether the account has a second factor other than passkeys (TOTP). */
  const hasTotp = async (db: SqlExecutor, accountId: string) => {
    const factors = await selectSecondFactors(db, accountId);
    return factors?.totp_sealed !== null && factors?.totp_sealed !== undefined;
  };

  return {
    async registrationOptions({ tenantId, account, sessionId }) {
      const db = await storage.tenant(tenantId);
      const existing = await selectPasskeys(db, account.id);
      if (existing.length >= maxPasskeys) throw new IdentityError('second-factor-failed', `An account holds at most ${maxPasskeys} passkeys: remove one first.`, { status: 409, expose: true });
      const { generateRegistrationOptions } = await loadWebAuthn();
      const options = await generateRegistrationOptions({
        rpName: `Tresor (${tenantId})`,
        rpID: rpId,
        userName: account.email,
        userDisplayName: account.email,
        // The user handle is the account id (random, no personal data), the same for all its passkeys.
        userID: new Uint8Array(Buffer.from(account.id, 'utf8')),
        timeout: challengeMs,
        attestationType: 'none',
        excludeCredentials: existing.map((row) => ({ id: row.credential_id, ...(row.transports === null ? {} : { transports: transportsOf(row) }) })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
      await insertAccountToken(db, { tokenHash: challengeHash(sessionBinding(sessionId), options.challenge), accountId: account.id, purpose: 'passkey-registration', expiresAt: clock.now().getTime() + challengeMs });
      return options;
    },

    async register({ tenantId, account, sessionId, response, name, sourceIp }) {
      const label = passkeyName(name);
      const db = await storage.tenant(tenantId);
      const webauthn = await loadWebAuthn();
      const challenge = challengeOf(webauthn, response);
      // The challenge must be one issued to this session, unused and unexpired; it is spent now, whatever follows.
      if (challenge === undefined || (await spendAccountToken(db, challengeHash(sessionBinding(sessionId), challenge), 'passkey-registration', clock.now().getTime())) !== account.id) {
        throw registrationFailed();
      }
      let verified;
      try {
        verified = await webauthn.verifyRegistrationResponse({ response: response as RegistrationResponseJSON, expectedChallenge: challenge, expectedOrigin: origins, expectedRPID: rpId, requireUserVerification: false });
      } catch {
        throw registrationFailed();
      }
      if (!verified.verified) throw registrationFailed();
      const { credential } = verified.registrationInfo;
      const transports = (credential.transports ?? []).filter((t) => typeof t === 'string' && knownTransports.has(t)).slice(0, knownTransports.size);
      const now = clock.now().getTime();
      const row: Omit<PasskeyRow, 'last_used_at'> = {
        credential_id: credential.id,
        account_id: account.id,
        public_key: Buffer.from(credential.publicKey),
        sign_count: credential.counter,
        transports: transports.length === 0 ? null : JSON.stringify(transports),
        name: label,
        created_at: now,
      };
      return db.transaction(async (tx) => {
        const existing = await selectPasskeys(tx, account.id);
        if (existing.length >= maxPasskeys) throw new IdentityError('second-factor-failed', `An account holds at most ${maxPasskeys} passkeys: remove one first.`, { status: 409, expose: true });
        const hadFactor = existing.length > 0 || (await hasTotp(tx, account.id));
        if (!(await insertPasskey(tx, row))) throw new IdentityError('second-factor-failed', 'This passkey is registered already.', { status: 409, expose: true });
        let recoveryCodes: string[] | undefined;
        if (!hadFactor) {
          // The account's first second factor: recovery codes, as with TOTP (the same per-account set).
          const { codes, hashes } = newRecoveryCodes();
          await updateRecoveryCodes(tx, account.id, JSON.stringify(hashes), now);
          recoveryCodes = codes;
        }
        await audit.appendIn(tx, tenantId, [event('auth.mfa_enrolled', account, sourceIp)]);
        return { passkey: toInfo({ ...row, last_used_at: null }), ...(recoveryCodes === undefined ? {} : { recoveryCodes }) };
      });
    },

    async list(tenantId, accountId) {
      return (await selectPasskeys(await storage.tenant(tenantId), accountId)).map(toInfo);
    },

    async remove({ tenantId, account, id, sourceIp }) {
      const db = await storage.tenant(tenantId);
      await db.transaction(async (tx) => {
        if (!(await deletePasskey(tx, account.id, id))) throw new HttpError('not-found', 'This account has no such passkey.', { status: 404 });
        const now = clock.now().getTime();
        if ((await selectPasskeys(tx, account.id)).length === 0 && !(await hasTotp(tx, account.id))) await clearRecoveryCodes(tx, account.id, now);
        await audit.appendIn(tx, tenantId, [event('auth.mfa_removed', account, sourceIp)]);
      });
    },

    async loginOptions({ tenantId, ticket }) {
      const db = await storage.tenant(tenantId);
      const now = clock.now().getTime();
      const accountId = await selectLiveToken(db, hashToken(ticket), 'second-factor', now);
      const keys = accountId === undefined ? [] : await selectPasskeys(db, accountId);
      if (accountId === undefined || keys.length === 0) throw ticketInvalid();
      const { generateAuthenticationOptions } = await loadWebAuthn();
      const options = await generateAuthenticationOptions({
        rpID: rpId,
        allowCredentials: keys.map((row) => ({ id: row.credential_id, ...(row.transports === null ? {} : { transports: transportsOf(row) }) })),
        userVerification: 'preferred',
        timeout: challengeMs,
      });
      await insertAccountToken(db, { tokenHash: challengeHash(ticketBinding(ticket), options.challenge), accountId, purpose: 'passkey-login', expiresAt: now + challengeMs });
      return options;
    },

    async verifyAssertion({ tenantId, accountId, ticket, response }) {
      const invalid: PasskeyVerdict = { ok: false, reason: 'invalid' };
      const db = await storage.tenant(tenantId);
      const now = clock.now().getTime();
      const webauthn = await loadWebAuthn();
      const challenge = challengeOf(webauthn, response);
      // Issued for this ticket, unused, unexpired — and spent now, whatever follows (single use).
      if (challenge === undefined || (await spendAccountToken(db, challengeHash(ticketBinding(ticket), challenge), 'passkey-login', now)) !== accountId) return invalid;
      const assertion = response as AuthenticationResponseJSON;
      const row = typeof assertion.id === 'string' ? await selectPasskey(db, accountId, assertion.id) : undefined;
      if (row === undefined) return invalid;
      const credential: WebAuthnCredential = {
        id: row.credential_id,
        publicKey: new Uint8Array(row.public_key),
        counter: Number(row.sign_count),
        ...(row.transports === null ? {} : { transports: transportsOf(row) }),
      };
      const verify = (against: WebAuthnCredential) =>
        webauthn.verifyAuthenticationResponse({ response: assertion, expectedChallenge: challenge, expectedOrigin: origins, expectedRPID: rpId, credential: against, requireUserVerification: false });
      let result;
      try {
        result = await verify(credential);
      } catch {
        // The library refuses a counter that did not go up before it checks the signature. A
        // response that passes every other check is a correctly signed assertion from a copy of
        // the key (or a replayed one): told apart from garbage, and audited as such.
        const claimed = counterOf(webauthn, assertion);
        const stale = claimed !== undefined && credential.counter > 0 && claimed <= credential.counter;
        const genuine = stale && (await verify({ ...credential, counter: 0 }).then((r) => r.verified, () => false));
        return genuine ? { ok: false, reason: 'counter' } : invalid;
      }
      if (!result.verified) return invalid;
      // Compare-and-set: two uses of one counter value cannot both pass.
      if (!(await usePasskey(db, accountId, row.credential_id, result.authenticationInfo.newCounter, now))) return { ok: false, reason: 'counter' };
      return { ok: true };
    },
  };
}

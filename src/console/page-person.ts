import type { FastifyRequest } from 'fastify';
import { cookieToken, type Accounts, type SessionInfo, type Sessions } from '../identity/index.js';
import type { MfaPolicy } from '../tenants/index.js';
import type { PageRealm } from './page-realm.js';

/** The person a page is for: their live session, their account, and the CSRF token every form of theirs carries. */
export interface PagePerson {
  readonly realmId: string;
  readonly token: string;
  readonly session: SessionInfo;
  readonly account: { readonly id: string; readonly role: string; readonly email: string; readonly patient?: string; readonly practitioner?: string; readonly secondFactor: boolean };
  /** The session's synchronizer token (OWASP CSRF Prevention Cheat Sheet), for every form. */
  readonly csrf: string;
  /** The layout's name of the realm (tenant name or "Platform"). */
  readonly space: string;
  /**
   * The realm's policy asks this role for a second factor and this session has none (the
   * account has none yet): only the account's own security pages serve it, as the API's
   * authenticator answers `second-factor-required` everywhere but `/auth`.
   */
  readonly mustEnrol: boolean;
}

export interface PagePeople {
  /** The live session of the cookie in this realm, of an active account; undefined otherwise. */
  of(request: FastifyRequest, realm: PageRealm): Promise<PagePerson | undefined>;
}

export function createPagePeople({ sessions, accounts, mfaPolicy }: { sessions: Sessions; accounts: Accounts; mfaPolicy: (realmId: string) => Promise<MfaPolicy> }): PagePeople {
  return {
    async of(request, realm) {
      const realmId = realm.of(request);
      const token = cookieToken(request);
      if (token === undefined) return undefined;
      const space = await realm.space(realmId);
      if (space === undefined) return undefined;
      const session = await sessions.resolve(realmId, token);
      if (session === undefined) return undefined;
      const account = await accounts.get(realmId, session.accountId);
      if (account === undefined || account.status !== 'active') return undefined;
      const policy = realm.kind === 'operators' ? 'everyone' : await mfaPolicy(realmId);
      const required = policy === 'everyone' || (policy === 'staff' && account.role !== 'patient');
      return {
        realmId,
        token,
        session,
        account: {
          id: account.id,
          role: account.role,
          email: account.email,
          secondFactor: account.secondFactor,
          ...(account.patient === undefined ? {} : { patient: account.patient }),
          ...(account.practitioner === undefined ? {} : { practitioner: account.practitioner }),
        },
        csrf: sessions.csrfToken(token),
        space,
        mustEnrol: required && !session.secondFactor,
      };
    },
  };
}

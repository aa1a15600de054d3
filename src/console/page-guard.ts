import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, OperatorPrincipal, OperatorRole, Principal } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { localeOf, seeOther, type Locale } from '../platform/pages/index.js';
import type { PagePeople, PagePerson } from './page-person.js';
import { operatorPages, type PageRealm } from './page-realm.js';

/** A page's caller: the person (for the layout and their forms' CSRF token) and the API's principal (for the services). */
export interface StaffCaller {
  readonly me: PagePerson;
  readonly principal: Principal;
  readonly locale: Locale;
  /** Alerts nobody has acknowledged yet, for the clinic navigation (roles with `alerts:read`). */
  readonly openAlerts?: number;
}

export interface OperatorCaller {
  readonly me: PagePerson;
  readonly principal: OperatorPrincipal;
  readonly locale: Locale;
}

/**
 * The one way a console or portal page learns who calls: the person's session (else to sign in,
 * and back here after), their second factor if the policy wants one (else to set it up), then
 * the same guard as the API — `authenticator.principal` for a tenant's people, `.operator` for
 * operators — which checks the session again, the tenant, the policy and, on a form's POST, the
 * session's CSRF token (the form's `csrf` field). A page never takes a bearer credential: API
 * keys and app tokens are for the API, and a page that accepted one could be driven by a script
 * holding a key without any person present.
 *
 * Returns undefined when it already answered (a redirect); the caller returns that reply.
 */
export interface PageGuard {
  person(request: FastifyRequest, reply: FastifyReply, realm: PageRealm): Promise<StaffCaller | undefined>;
  operator(request: FastifyRequest, reply: FastifyReply, role?: OperatorRole): Promise<OperatorCaller | undefined>;
}

const bearerRefused = () => new AppError('bearer-refused', 'Pages are for people signed in with a session; use the API with a key or token.', { status: 400, expose: true });

export function createPageGuard({ people, authenticator }: { people: PagePeople; authenticator: Authenticator }): PageGuard {
  /** Sign in first (a GET comes back here after); a factor to set up first. */
  async function signedIn(request: FastifyRequest, reply: FastifyReply, realm: PageRealm): Promise<PagePerson | undefined> {
    if (request.headers.authorization !== undefined) throw bearerRefused();
    const me = await people.of(request, realm);
    const account = `${realm.base(realm.of(request))}/account`;
    if (me === undefined) {
      const back = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
      await seeOther(reply, `${account}/sign-in${back}`);
      return undefined;
    }
    if (me.mustEnrol) {
      await seeOther(reply, `${account}/security?enrol=1`);
      return undefined;
    }
    return me;
  }

  return {
    async person(request, reply, realm) {
      const me = await signedIn(request, reply, realm);
      if (me === undefined) return undefined;
      const principal = await authenticator.principal(request, me.realmId);
      return { me, principal, locale: localeOf(request) };
    },
    async operator(request, reply, role) {
      const me = await signedIn(request, reply, operatorPages);
      if (me === undefined) return undefined;
      const principal = await authenticator.operator(request, role ?? (me.account.role as OperatorRole));
      return { me, principal, locale: localeOf(request) };
    },
  };
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, type Sessions } from '../../identity/index.js';
import { AppError } from '../../platform/errors.js';
import { html, localeOf, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { accountNav } from '../account-home.js';
import type { PagePeople, PagePerson } from '../page-person.js';
import type { PageRealm } from '../page-realm.js';
import { sendPersonPage } from '../person-page.js';

const text: Texts<'csrf'> = {
  en: { csrf: 'This form has expired; open the page again.' },
  de: { csrf: 'Dieses Formular ist abgelaufen; öffnen Sie die Seite neu.' },
};

/** `/tenants/:tenant/account` or `/platform/account`: the route prefix of a realm's account pages. */
export const accountPrefix = (realm: PageRealm) => (realm.kind === 'operators' ? '/platform/account' : '/tenants/:tenant/account');

export const accountBase = (realm: PageRealm, realmId: string) => `${realm.base(realmId)}/account`;

/** aria-describedby/aria-invalid for a field whose error is shown in the element with this id. */
export const described = (id: string, error: string | undefined) => (error === undefined ? undefined : html` aria-describedby="${id}" aria-invalid="true"`);

/** The form fields of a page's POST (servePages parsed them). */
export const formOf = (request: FastifyRequest) => (request.body ?? {}) as Record<string, string | undefined>;
export const field = (form: Record<string, string | undefined>, name: string) => (typeof form[name] === 'string' ? form[name] : '');

/** An exposed refusal (wrong password or code, policy, throttle) goes back onto the form; anything else is the page error handler's. */
export const refusal = (error: unknown): AppError | undefined => (error instanceof AppError && error.expose && error.status < 500 ? error : undefined);

export interface AccountCaller {
  readonly me: PagePerson;
  readonly locale: Locale;
  readonly base: string;
}

/**
 * The caller of an own-account page: the live session of this realm (as the API's `/auth`
 * endpoints take it, realmSessions in identity — a session that must still enrol a second factor
 * is served here too), and on a POST the session's CSRF token in the form's `csrf` field (OWASP
 * CSRF Prevention Cheat Sheet, synchronizer token). Without a session: to sign in, and back.
 */
export async function accountCaller(request: FastifyRequest, reply: FastifyReply, realm: PageRealm, people: PagePeople, sessions: Sessions): Promise<AccountCaller | undefined> {
  const locale = localeOf(request);
  const base = accountBase(realm, realm.of(request));
  if (request.headers.authorization !== undefined) throw new AppError('bearer-refused', 'Pages are for people signed in with a session; use the API with a key or token.', { status: 400, expose: true });
  const me = await people.of(request, realm);
  if (me === undefined) {
    if (request.method !== 'GET') throw new AppError('unauthenticated', text[locale].csrf, { status: 403, expose: true });
    await seeOther(reply, `${base}/sign-in?next=${encodeURIComponent(request.url)}`);
    return undefined;
  }
  if (request.method !== 'GET' && !sessions.checkCsrf(me.token, formOf(request)['csrf'])) throw new AppError('csrf-invalid', text[locale].csrf, { status: 403, expose: true });
  return { me, locale, base };
}

/** The session cookie under its new token (after a factor change or enrolment: OWASP ASVS 5 V7.2.4). */
export const setSessionCookie = (reply: FastifyReply, token: string) => reply.header('set-cookie', `${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`);

/** An account page in the one layout, with the account's navigation. */
export function sendAccountPage(
  request: FastifyRequest,
  reply: FastifyReply,
  realm: PageRealm,
  caller: AccountCaller,
  page: { title: string; body: Html; current: string; csrf?: string; notice?: string; error?: string; scripts?: string[]; wide?: boolean; status?: number },
) {
  return sendPersonPage(request, reply, caller, { ...page, nav: accountNav(realm, caller.me, caller.locale), signOut: `${caller.base}/sign-out` });
}

import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, type Accounts, type Sessions } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import { AppError } from '../platform/errors.js';
import { formLimit, html, layout, localeOf, seeOther, sendPage, type Locale, type Texts } from '../platform/pages/index.js';
import type { MfaPolicy } from '../tenants/index.js';
import type { PagePeople } from './page-person.js';
import { safeNext, type PageRealm } from './page-realm.js';

export interface SignInPagesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly keys: Keys;
  readonly people: PagePeople;
  readonly mfaPolicy: (realmId: string) => Promise<MfaPolicy>;
}

/** Before any session exists a form's CSRF pair is a random cookie and its HMAC in the form (signed double submit, OWASP CSRF Prevention Cheat Sheet). */
const formCookie = '__Host-tresor_form';
const clearFormCookie = `${formCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;

const text: Texts<
  'title' | 'intro' | 'email' | 'password' | 'submit' | 'forgot' | 'factorTitle' | 'factorIntro' | 'code' | 'continue' | 'expired' | 'signedOut' | 'already' | 'toHome'
> = {
  en: {
    title: 'Sign in',
    intro: 'Sign in with the email address and password of your account.',
    email: 'Email address',
    password: 'Password',
    submit: 'Sign in',
    forgot: 'Forgot your password?',
    factorTitle: 'Confirm it is you',
    factorIntro: 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
    code: 'Code',
    continue: 'Continue',
    expired: 'This form has expired; open the page again.',
    signedOut: 'You are signed out.',
    already: 'You are signed in.',
    toHome: 'Continue',
  },
  de: {
    title: 'Anmelden',
    intro: 'Melden Sie sich mit der E-Mail-Adresse und dem Passwort Ihres Kontos an.',
    email: 'E-Mail-Adresse',
    password: 'Passwort',
    submit: 'Anmelden',
    forgot: 'Passwort vergessen?',
    factorTitle: 'Bestätigen Sie, dass Sie es sind',
    factorIntro: 'Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.',
    code: 'Code',
    continue: 'Weiter',
    expired: 'Dieses Formular ist abgelaufen; öffnen Sie die Seite neu.',
    signedOut: 'Sie sind abgemeldet.',
    already: 'Sie sind angemeldet.',
    toHome: 'Weiter',
  },
};

const described = (id: string, error: string | undefined) => (error === undefined ? undefined : html` aria-describedby="${id}" aria-invalid="true"`);

/**
 * Signing in to the pages, for both realms (`/tenants/{t}/account/…` and `/platform/account/…`):
 * password, then the second factor when the account has one, then a session (the same cookie
 * as the JSON API: `__Host-`, HttpOnly, SameSite=Strict; a new token on every sign-in, OWASP
 * ASVS 5 V7.2.4). A person whose policy asks for a second factor they have not set up gets a
 * session that only their security page serves, and is sent there. `?next=` brings them back to
 * the page that sent them, if it is a page of the same realm.
 */
export function signInPages(realm: PageRealm, { accounts, sessions, keys, people, mfaPolicy }: SignInPagesDeps) {
  async function formToken(realmId: string, nonce: string): Promise<string> {
    const key = Buffer.from(hkdfSync('sha256', await keys.indexKey(realmId), Buffer.alloc(0), 'tresor account forms', 32));
    return createHmac('sha256', key).update(nonce).digest('base64url');
  }

  function nonceOf(request: FastifyRequest): string | undefined {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === formCookie) return value.join('=') || undefined;
    }
    return undefined;
  }

  async function checkForm(request: FastifyRequest, realmId: string, locale: Locale): Promise<Record<string, string>> {
    const form = (request.body ?? {}) as Record<string, string>;
    const nonce = nonceOf(request);
    const ok = nonce !== undefined && typeof form['csrf'] === 'string' && constantTimeEqual(Buffer.from(form['csrf']), Buffer.from(await formToken(realmId, nonce)));
    if (!ok) throw new AppError('csrf-invalid', text[locale].expired, { status: 403, expose: true });
    return form;
  }

  const pathsOf = (realmId: string) => {
    const account = `${realm.base(realmId)}/account`;
    return { signIn: `${account}/sign-in`, secondFactor: `${account}/second-factor`, signOut: `${account}/sign-out`, forgot: `${account}/forgot`, security: `${account}/security` };
  };

  async function signInForm(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, input: { error?: string; email?: string; next?: string; notice?: string; status?: number }) {
    const locale = localeOf(request);
    const t = text[locale];
    const paths = pathsOf(realmId);
    const nonce = randomBytes(32).toString('base64url');
    reply.header('set-cookie', `${formCookie}=${nonce}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=1800`);
    const csrf = await formToken(realmId, nonce);
    const body = html`<p>${t.intro}</p>
<form method="post" action="${paths.signIn}" novalidate>
<input type="hidden" name="csrf" value="${csrf}">${input.next === undefined ? undefined : html`<input type="hidden" name="next" value="${input.next}">`}
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${input.email ?? ''}"${described('page-error', input.error)}>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described('page-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.submit}</button></div>
</form>
<p><a href="${paths.forgot}">${t.forgot}</a></p>`;
    return sendPage(reply, layout({ locale, title: t.title, space, path: request.url, body, ...(input.error === undefined ? {} : { error: input.error }), ...(input.notice === undefined ? {} : { notice: input.notice }) }), input.status ?? 200);
  }

  function secondFactorForm(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, input: { csrf: string; ticket: string; next?: string; error?: string; status?: number }) {
    const locale = localeOf(request);
    const t = text[locale];
    const body = html`<p>${t.factorIntro}</p>
<form method="post" action="${pathsOf(realmId).secondFactor}" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="ticket" value="${input.ticket}">${input.next === undefined ? undefined : html`<input type="hidden" name="next" value="${input.next}">`}
<label for="code">${t.code}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required${described('page-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.continue}</button></div>
</form>`;
    return sendPage(reply, layout({ locale, title: t.factorTitle, space, path: request.url, body, ...(input.error === undefined ? {} : { error: input.error }) }), input.status ?? 200);
  }

  async function startSession(request: FastifyRequest, reply: FastifyReply, realmId: string, account: { id: string; role: string; secondFactor: boolean }, secondFactor: boolean, next: string | undefined) {
    const policy = realm.kind === 'operators' ? 'everyone' : await mfaPolicy(realmId);
    const mustEnrol = !secondFactor && (policy === 'everyone' || (policy === 'staff' && account.role !== 'patient'));
    const { token } = await sessions.start(realmId, account.id, { secondFactor, sourceIp: request.ip });
    reply.header('set-cookie', [`${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`, clearFormCookie]);
    if (mustEnrol) return seeOther(reply, `${pathsOf(realmId).security}?enrol=1`);
    return seeOther(reply, next ?? realm.home(realmId, account.role));
  }

  /** An exposed refusal (wrong password, throttled, locked) goes back onto the form; anything else is the page error handler's. */
  const refusal = (error: unknown): AppError | undefined => (error instanceof AppError && error.expose && error.status < 500 ? error : undefined);

  return async function plugin(app: FastifyInstance): Promise<void> {
    const prefix = realm.kind === 'operators' ? '/platform/account' : '/tenants/:tenant/account';
    const spaceOf = async (request: FastifyRequest) => {
      const realmId = realm.of(request);
      const space = await realm.space(realmId);
      if (space === undefined) throw new AppError('not-found', 'There is no such page.', { status: 404, expose: true });
      return { realmId, space };
    };

    app.get(`${prefix}/sign-in`, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const query = request.query as Record<string, unknown>;
      const next = safeNext(query['next'], realm.base(realmId));
      const me = await people.of(request, realm);
      if (me !== undefined && !me.mustEnrol) return seeOther(reply, next ?? realm.home(realmId, me.account.role));
      return signInForm(request, reply, realmId, space, { ...(next === undefined ? {} : { next }), ...(query['signedOut'] === '1' ? { notice: text[localeOf(request)].signedOut } : {}) });
    });

    app.post(`${prefix}/sign-in`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const form = await checkForm(request, realmId, localeOf(request));
      const next = safeNext(form['next'], realm.base(realmId));
      const email = String(form['email'] ?? '');
      try {
        const { account, secondFactorTicket } = await accounts.login({ tenantId: realmId, tenantActive: true, email, password: String(form['password'] ?? ''), sourceIp: request.ip });
        if (secondFactorTicket !== undefined) return secondFactorForm(request, reply, realmId, space, { csrf: String(form['csrf']), ticket: secondFactorTicket, ...(next === undefined ? {} : { next }) });
        return await startSession(request, reply, realmId, account, false, next);
      } catch (error) {
        const known = refusal(error);
        if (known === undefined) throw error;
        for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
        return signInForm(request, reply, realmId, space, { error: known.message, email, status: known.status, ...(next === undefined ? {} : { next }) });
      }
    });

    app.post(`${prefix}/second-factor`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const form = await checkForm(request, realmId, localeOf(request));
      const next = safeNext(form['next'], realm.base(realmId));
      const ticket = String(form['ticket'] ?? '');
      try {
        const account = await accounts.secondFactor({ tenantId: realmId, ticket, code: String(form['code'] ?? ''), sourceIp: request.ip });
        return await startSession(request, reply, realmId, account, true, next);
      } catch (error) {
        const known = refusal(error);
        if (known === undefined) throw error;
        return secondFactorForm(request, reply, realmId, space, { csrf: String(form['csrf']), ticket, error: known.message, status: known.status, ...(next === undefined ? {} : { next }) });
      }
    });

    app.post(`${prefix}/sign-out`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId } = await spaceOf(request);
      const me = await people.of(request, realm);
      const form = (request.body ?? {}) as Record<string, string>;
      // Only with the session's own CSRF token: a cross-site form cannot sign a person out either.
      if (me !== undefined) {
        if (!sessions.checkCsrf(me.token, typeof form['csrf'] === 'string' ? form['csrf'] : undefined)) return seeOther(reply, realm.home(realmId, me.account.role));
        await sessions.revoke(realmId, me.session.id);
      }
      reply.header('set-cookie', `${sessionCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
      return seeOther(reply, `${pathsOf(realmId).signIn}?signedOut=1`);
    });
  };
}

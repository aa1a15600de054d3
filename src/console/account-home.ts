import type { FastifyInstance } from 'fastify';
import { html, localeOf, seeOther, type Locale, type NavItem, type Texts } from '../platform/pages/index.js';
import type { PagePeople, PagePerson } from './page-person.js';
import type { PageRealm } from './page-realm.js';
import { sendPersonPage } from './person-page.js';

const text: Texts<'title' | 'intro' | 'enrol' | 'enrolLink' | 'security' | 'sessions' | 'apps' | 'home' | 'account'> = {
  en: {
    title: 'Your account',
    intro: 'Your sign-in, your second factors and your sessions.',
    enrol: 'Your organisation requires a second factor for your account. Set one up before you continue.',
    enrolLink: 'Set up a second factor',
    security: 'Password and second factors',
    sessions: 'Where you are signed in',
    apps: 'Connected apps',
    home: 'Home',
    account: 'Account',
  },
  de: {
    title: 'Ihr Konto',
    intro: 'Ihre Anmeldung, Ihre zweiten Faktoren und Ihre Sitzungen.',
    enrol: 'Ihre Organisation verlangt für Ihr Konto einen zweiten Faktor. Richten Sie ihn ein, bevor Sie fortfahren.',
    enrolLink: 'Zweiten Faktor einrichten',
    security: 'Passwort und zweite Faktoren',
    sessions: 'Wo Sie angemeldet sind',
    apps: 'Verbundene Apps',
    home: 'Start',
    account: 'Konto',
  },
};

/** The account's own navigation: the realm's home and the account pages. */
export function accountNav(realm: PageRealm, me: PagePerson, locale: Locale): NavItem[] {
  const t = text[locale];
  const base = `${realm.base(me.realmId)}/account`;
  return [
    ...(me.mustEnrol ? [] : [{ href: realm.home(me.realmId, me.account.role), label: t.home }]),
    { href: `${base}/`, label: t.account },
    { href: `${base}/security`, label: t.security },
    { href: `${base}/sessions`, label: t.sessions },
    ...(realm.kind === 'tenant' ? [{ href: `${base}/apps`, label: t.apps }] : []),
  ];
}

/** `…/account/`: who is signed in, and the way to each account page. */
export function accountHome(realm: PageRealm, { people }: { people: PagePeople }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const prefix = realm.kind === 'operators' ? '/platform/account' : '/tenants/:tenant/account';
    app.get(`${prefix}/`, async (request, reply) => {
      const me = await people.of(request, realm);
      const base = `${realm.base(realm.of(request))}/account`;
      if (me === undefined) return seeOther(reply, `${base}/sign-in?next=${encodeURIComponent(`${base}/`)}`);
      const locale = localeOf(request);
      const t = text[locale];
      const nav = accountNav(realm, me, locale);
      const body = html`<p>${t.intro}</p>
${me.mustEnrol ? html`<p class="alert" role="alert">${t.enrol} <a href="${base}/security">${t.enrolLink}</a></p>` : undefined}
<ul>${nav.slice(me.mustEnrol ? 1 : 2).map((item) => html`<li><a href="${item.href}">${item.label}</a></li>`)}</ul>`;
      return sendPersonPage(request, reply, { me, locale }, { title: t.title, nav, current: `${base}/`, signOut: `${base}/sign-out`, body });
    });
  };
}

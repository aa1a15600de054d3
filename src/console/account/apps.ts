import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError } from '../../identity/index.js';
import { connectedApps, describeScopeFor, patientOption, type Clients, type ConnectedApp, type Consents, type OAuthServer } from '../../oauth/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDate, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import type { RecordAccess } from '../../records/index.js';
import { accountNav } from '../account-home.js';
import { pageAccessContext } from '../page-access.js';
import { sendPersonPage } from '../person-page.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';

export interface AppsPageDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly clients: Clients;
  readonly consents: Consents;
  readonly oauth: OAuthServer;
  /** Reads as the signed-in person, permission-checked and audited as over FHIR. */
  readonly access: RecordAccess;
}

const text: Texts<
  | 'title'
  | 'intro'
  | 'none'
  | 'publisher'
  | 'since'
  | 'times'
  | 'mayDo'
  | 'recordsOf'
  | 'own'
  | 'unseen'
  | 'disabled'
  | 'pending'
  | 'removed'
  | 'removedName'
  | 'withdraw'
  | 'withdrawn'
> = {
  en: {
    title: 'Connected apps',
    intro: 'Apps you allowed to use records through your account. Withdrawing an app ends its access at once: every token it holds stops working.',
    none: 'You have not connected any app.',
    publisher: 'Published by',
    since: 'Connected since',
    times: 'Authorised',
    mayDo: 'It may',
    recordsOf: 'Records of',
    own: 'your own records',
    unseen: 'a patient record you can no longer see',
    disabled: 'Your clinic has switched this app off: it cannot use your records now. Withdraw it to end your permission for good.',
    pending: 'This app waits for approval by the platform operator: it cannot use your records yet.',
    removed: 'Your clinic removed this app: it cannot use your records. Withdraw it to remove your permission too.',
    removedName: 'A removed app',
    withdraw: 'Withdraw access of {app}',
    withdrawn: 'Access withdrawn: {app} can no longer use your records.',
  },
  de: {
    title: 'Verbundene Apps',
    intro: 'Apps, denen Sie erlaubt haben, über Ihr Konto Daten zu nutzen. Wenn Sie eine App trennen, endet ihr Zugriff sofort: Jedes Token der App wird ungültig.',
    none: 'Sie haben keine App verbunden.',
    publisher: 'Anbieter',
    since: 'Verbunden seit',
    times: 'Erlaubt',
    mayDo: 'Sie darf',
    recordsOf: 'Daten von',
    own: 'Ihre eigenen Daten',
    unseen: 'eine Patientenakte, die Sie nicht mehr sehen dürfen',
    disabled: 'Ihre Praxis hat diese App abgeschaltet: Sie kann Ihre Daten jetzt nicht nutzen. Trennen Sie sie, um Ihre Erlaubnis endgültig zu beenden.',
    pending: 'Diese App wartet auf die Freigabe durch den Plattformbetrieb: Sie kann Ihre Daten noch nicht nutzen.',
    removed: 'Ihre Praxis hat diese App entfernt: Sie kann Ihre Daten nicht nutzen. Trennen Sie sie, um auch Ihre Erlaubnis zu entfernen.',
    removedName: 'Eine entfernte App',
    withdraw: 'Zugriff von {app} widerrufen',
    withdrawn: 'Zugriff widerrufen: {app} kann Ihre Daten nicht mehr nutzen.',
  },
};

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_m, key: string) => values[key] ?? '');
const clientIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** An app as the page shows it: names instead of ids. */
interface AppView {
  readonly app: ConnectedApp;
  readonly name: string;
  readonly patients: readonly string[];
}

function appsBody(locale: Locale, input: { apps: readonly AppView[]; csrf: string; base: string; audience: 'patient' | 'staff' }): Html {
  const t = text[locale];
  if (input.apps.length === 0) return html`<p>${t.intro}</p>\n<p>${t.none}</p>`;
  return html`<p>${t.intro}</p>
<ul class="plain">
${input.apps.map(({ app, name, patients }, i) => {
  const status = app.client === undefined ? t.removed : app.client.status === 'disabled' ? t.disabled : app.client.status === 'pending' ? t.pending : undefined;
  return html`<li>
<h2 id="app-${i}">${name}</h2>
${status === undefined ? undefined : html`<p class="notice">${status}</p>`}
<dl class="facts">
${app.client === undefined ? undefined : html`<dt>${t.publisher}</dt><dd>${app.client.publisher}</dd>`}
<dt>${t.since}</dt><dd>${formatDate(locale, app.since)}</dd>
${app.authorisations > 1 ? html`<dt>${t.times}</dt><dd>${app.authorisations} ×</dd>` : undefined}
${patients.length === 0 ? undefined : html`<dt>${t.recordsOf}</dt><dd>${patients.join('; ')}</dd>`}
</dl>
<p>${t.mayDo}:</p>
<ul>${app.scopes.map((s) => html`<li>${describeScopeFor(locale, s, input.audience)} <span class="hint">(${s})</span></li>`)}</ul>
<form method="post" action="${input.base}/apps/${app.clientId}/withdraw">
<input type="hidden" name="csrf" value="${input.csrf}">
<button type="submit" class="danger">${fill(t.withdraw, { app: name })}</button>
</form>
</li>`;
})}
</ul>`;
}

/**
 * "Connected apps" at `/tenants/{t}/account/apps`: the apps the signed-in person allowed, one
 * entry per app however often they authorised it, with what it may do in plain words and whose
 * records it works with — the person's own, or for staff the patient's name, read through the
 * records service as that person (permission-checked and audited like an API read; a record they
 * may no longer see is named as such). Withdrawing ends every authorisation of that app at once
 * (and every token of them). Every person of a tenant has it, whatever their role: an app acts
 * for its person, so anyone who can authorise one can withdraw it.
 */
export function appsPage({ guard, realm, clients, consents, oauth, access }: AppsPageDeps) {
  /** A patient's name as this person may read it now, or that they may not. */
  async function patientName(request: FastifyRequest, caller: StaffCaller, subject: string): Promise<string> {
    const t = text[caller.locale];
    if (caller.me.account.patient === subject) return t.own;
    const id = subject.replace(/^Patient\//, '');
    const ctx = pageAccessContext(request, caller);
    try {
      const stored = await access.read(ctx, 'Patient', id);
      return patientOption(id, stored.content).name;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      // A refusal or failure is audited as the API audits it (a 403 is `access.denied`).
      const shown = await access.failed(ctx, 'record.read', `Patient/${id}`, error);
      // Refused (out of reach, role changed), deleted or erased: no name, and no id either.
      if (shown === error && (error instanceof IdentityError || error.status === 403 || error.status === 404 || error.status === 410)) return t.unseen;
      throw shown;
    }
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/account/apps', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      const { me, locale } = caller;
      const t = text[locale];
      const base = `${realm.base(me.realmId)}/account`;
      const views: AppView[] = [];
      for (const connected of await connectedApps({ clients, consents }, me.realmId, me.account.id)) {
        const names: string[] = [];
        for (const subject of connected.patients) names.push(await patientName(request, caller, subject));
        views.push({ app: connected, name: connected.client?.name ?? t.removedName, patients: [...new Set(names)] });
      }
      // The notice names the app from the register, never text from the URL (no content spoofing by link).
      const withdrawn = (request.query as { withdrawn?: unknown }).withdrawn;
      const gone = typeof withdrawn === 'string' && clientIdPattern.test(withdrawn) ? ((await clients.get(me.realmId, withdrawn))?.name ?? t.removedName) : undefined;
      const notice = gone === undefined ? undefined : fill(t.withdrawn, { app: gone });
      return sendPersonPage(request, reply, caller, {
        title: t.title,
        nav: accountNav(realm, me, locale),
        current: `${base}/apps`,
        signOut: `${base}/sign-out`,
        notice,
        body: appsBody(locale, { apps: views, csrf: me.csrf, base, audience: me.account.role === 'patient' ? 'patient' : 'staff' }),
      });
    });

    app.post('/tenants/:tenant/account/apps/:clientId/withdraw', async (request, reply) => {
      // The guard checks the form's CSRF token (the API's authenticator) before anything changes.
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      const { clientId } = request.params as { clientId: string };
      if (!clientIdPattern.test(clientId)) throw new AppError('consent-not-found', 'No such connected app.', { status: 404, expose: true });
      await oauth.withdrawApp(caller.me.realmId, clientId, { accountId: caller.me.account.id, role: caller.me.account.role }, { sourceIp: request.ip, requestId: request.id, status: 303 });
      return seeOther(reply, `${realm.base(caller.me.realmId)}/account/apps?withdrawn=${encodeURIComponent(clientId)}`);
    });
  };
}

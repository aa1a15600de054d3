import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { backendRoles, clientKinds, type AppManager, type AppRegister, type ClientInfo, type ClientInput } from '../../oauth/index.js';
import { html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { buttonForm, confirmBody, csrfField, described, doneOf, formOf, lookOnly, mayChange, refusalOf, requestContext } from './forms.js';

type Key =
  | 'title' | 'intro' | 'register' | 'registerTitle' | 'registerIntro' | 'name' | 'publisher' | 'kind' | 'redirectUris' | 'redirectHint' | 'scope' | 'scopeHint' | 'serviceRole' | 'serviceRoleHint'
  | 'status' | 'actions' | 'none' | 'apps' | 'noApps' | 'disable' | 'enable' | 'rotate' | 'back' | 'cancel' | 'submit' | 'kindHint'
  | 'kindConfidential' | 'kindPublic' | 'kindBackend' | 'statusActive' | 'statusDisabled' | 'statusPending'
  | 'secretTitle' | 'secretOnce' | 'secretLabel' | 'clientId' | 'secretDone' | 'noSecret' | 'pending'
  | 'disableTitle' | 'disableText' | 'disableConfirm' | 'rotateTitle' | 'rotateText' | 'rotateConfirm' | 'doneDisabled' | 'doneEnabled';

const text: Texts<Key> = {
  en: {
    title: 'Apps',
    intro: 'Third-party apps that may ask your patients and staff for access (OAuth clients). An app gets only what a person approves, within the scopes registered here.',
    register: 'Register an app',
    registerTitle: 'Register an app',
    registerIntro: 'Register only apps whose publisher you trust. A confidential app gets a secret, shown once after registering.',
    name: 'Name',
    publisher: 'Publisher',
    kind: 'Kind',
    kindHint: 'Confidential: a web app with a server that keeps a secret. Public: a browser or mobile app (no secret; PKCE). Backend service: a system without a person; it waits for a platform operator’s approval.',
    redirectUris: 'Redirect URIs',
    redirectHint: 'One per line, exact (https, or a loopback address for native apps). Not for backend services.',
    scope: 'Scopes',
    scopeHint: 'Space-separated, e.g. “openid fhirUser launch/patient patient/Observation.rs”; backend services ask for system/ scopes.',
    serviceRole: 'Service role (backend services)',
    serviceRoleHint: 'What a backend service’s tokens may do: read and write (service) or only read (service-reader).',
    status: 'Status',
    actions: 'Actions',
    none: '—',
    apps: 'Registered apps',
    noApps: 'No app is registered yet.',
    disable: 'Disable…',
    enable: 'Enable',
    rotate: 'New secret…',
    back: 'Back to apps',
    cancel: 'Cancel',
    submit: 'Register app',
    kindConfidential: 'Confidential (web app with a server)',
    kindPublic: 'Public (browser or mobile app)',
    kindBackend: 'Backend service (no person)',
    statusActive: 'active',
    statusDisabled: 'disabled',
    statusPending: 'awaiting approval',
    secretTitle: 'The app’s secret',
    secretOnce: 'Copy the secret now and hand it to the app’s publisher through a safe channel. It is shown only this once: Tresor keeps only a fingerprint of it and cannot show it again. If it is lost, make a new one.',
    secretLabel: 'Client secret',
    clientId: 'Client ID',
    secretDone: 'I have copied it — back to apps',
    noSecret: 'The app is registered. It has no secret (a public app proves itself with PKCE).',
    pending: 'A backend service gets tokens only after a platform operator approves it.',
    disableTitle: 'Disable this app?',
    disableText: 'The app gets no new tokens and its tokens stop working. You can enable it again later.',
    disableConfirm: 'Disable app',
    rotateTitle: 'Make a new secret for this app?',
    rotateText: 'The current secret stops working at once: the app fails until its publisher installs the new one.',
    rotateConfirm: 'Make a new secret',
    doneDisabled: 'App disabled.',
    doneEnabled: 'App enabled.',
  },
  de: {
    title: 'Apps',
    intro: 'Apps von Drittanbietern, die Ihre Patientinnen, Patienten und Mitarbeitenden um Zugriff bitten dürfen (OAuth-Clients). Eine App erhält nur, was eine Person freigibt, innerhalb der hier eingetragenen Berechtigungen.',
    register: 'App registrieren',
    registerTitle: 'App registrieren',
    registerIntro: 'Registrieren Sie nur Apps von Anbietern, denen Sie vertrauen. Eine vertrauliche App erhält ein Geheimnis, das nach der Registrierung einmal angezeigt wird.',
    name: 'Name',
    publisher: 'Anbieter',
    kind: 'Art',
    kindHint: 'Vertraulich: eine Web-App mit Server, der ein Geheimnis bewahrt. Öffentlich: eine Browser- oder Mobil-App (kein Geheimnis; PKCE). Hintergrunddienst: ein System ohne Person; er wartet auf die Freigabe durch den Plattformbetrieb.',
    redirectUris: 'Weiterleitungs-URIs',
    redirectHint: 'Eine pro Zeile, exakt (https, oder eine Loopback-Adresse für native Apps). Nicht für Hintergrunddienste.',
    scope: 'Berechtigungen (Scopes)',
    scopeHint: 'Durch Leerzeichen getrennt, z. B. „openid fhirUser launch/patient patient/Observation.rs“; Hintergrunddienste verwenden system/-Scopes.',
    serviceRole: 'Dienstrolle (Hintergrunddienste)',
    serviceRoleHint: 'Was die Tokens eines Hintergrunddienstes dürfen: lesen und schreiben (service) oder nur lesen (service-reader).',
    status: 'Status',
    actions: 'Aktionen',
    none: '—',
    apps: 'Registrierte Apps',
    noApps: 'Noch keine App registriert.',
    disable: 'Deaktivieren …',
    enable: 'Aktivieren',
    rotate: 'Neues Geheimnis …',
    back: 'Zurück zu den Apps',
    cancel: 'Abbrechen',
    submit: 'App registrieren',
    kindConfidential: 'Vertraulich (Web-App mit Server)',
    kindPublic: 'Öffentlich (Browser- oder Mobil-App)',
    kindBackend: 'Hintergrunddienst (ohne Person)',
    statusActive: 'aktiv',
    statusDisabled: 'deaktiviert',
    statusPending: 'wartet auf Freigabe',
    secretTitle: 'Das Geheimnis der App',
    secretOnce: 'Kopieren Sie das Geheimnis jetzt und geben Sie es dem Anbieter der App auf sicherem Weg. Es wird nur dieses eine Mal angezeigt: Tresor speichert nur einen Fingerabdruck davon und kann es nicht erneut zeigen. Geht es verloren, erzeugen Sie ein neues.',
    secretLabel: 'Client-Geheimnis',
    clientId: 'Client-ID',
    secretDone: 'Kopiert – zurück zu den Apps',
    noSecret: 'Die App ist registriert. Sie hat kein Geheimnis (eine öffentliche App weist sich mit PKCE aus).',
    pending: 'Ein Hintergrunddienst erhält erst Tokens, wenn der Plattformbetrieb ihn freigibt.',
    disableTitle: 'Diese App deaktivieren?',
    disableText: 'Die App erhält keine neuen Tokens und ihre Tokens werden ungültig. Sie können sie später wieder aktivieren.',
    disableConfirm: 'App deaktivieren',
    rotateTitle: 'Ein neues Geheimnis für diese App erzeugen?',
    rotateText: 'Das bisherige Geheimnis wird sofort ungültig: Die App funktioniert erst wieder, wenn ihr Anbieter das neue einträgt.',
    rotateConfirm: 'Neues Geheimnis erzeugen',
    doneDisabled: 'App deaktiviert.',
    doneEnabled: 'App aktiviert.',
  },
};

const kindText = (t: Record<Key, string>, kind: string) => (kind === 'confidential' ? t.kindConfidential : kind === 'public' ? t.kindPublic : t.kindBackend);
const statusText = (t: Record<Key, string>, status: ClientInfo['status']) => (status === 'active' ? t.statusActive : status === 'disabled' ? t.statusDisabled : t.statusPending);
/** Only an app that authenticates with a secret gets a new one (clients.renewSecret refuses the others). */
const hasSecret = (c: ClientInfo) => c.authMethod === 'client_secret_basic';

function appList(base: string, apps: readonly ClientInfo[], caller: StaffCaller): Html {
  const { locale } = caller;
  const csrf = caller.me.csrf;
  const canChange = mayChange(caller);
  const t = text[locale];
  return html`<p>${t.intro}</p>
${canChange ? html`<p><a href="${base}register">${t.register}</a></p>` : lookOnly(caller)}
${apps.length === 0
    ? html`<p>${t.noApps}</p>`
    : html`<table>
<caption>${t.apps}</caption>
<thead><tr><th scope="col">${t.name}</th><th scope="col">${t.publisher}</th><th scope="col">${t.kind}</th><th scope="col">${t.redirectUris}</th><th scope="col">${t.scope}</th><th scope="col">${t.status}</th>${canChange ? html`<th scope="col">${t.actions}</th>` : undefined}</tr></thead>
<tbody>${apps.map(
        (a) => html`<tr><th scope="row">${a.name}<br><span class="hint">${a.clientId}</span></th><td>${a.publisher}</td><td>${kindText(t, a.kind)}</td><td>${a.redirectUris.length === 0 ? t.none : a.redirectUris.map((u, i) => html`${i === 0 ? undefined : html`<br>`}${u}`)}</td><td>${a.scope}</td><td>${statusText(t, a.status)}</td>${canChange ? html`<td><div class="actions">${
          a.status === 'disabled' ? buttonForm(`${base}${a.clientId}/enable`, csrf, t.enable) : html`<a href="${base}${a.clientId}/disable" aria-label="${t.disable} ${a.name}">${t.disable}</a>`
        }${hasSecret(a) ? html`<a href="${base}${a.clientId}/secret" aria-label="${t.rotate} ${a.name}">${t.rotate}</a>` : undefined}</div></td>` : undefined}</tr>`,
      )}</tbody>
</table>`}`;
}

interface RegisterValues {
  name?: string;
  publisher?: string;
  kind?: string;
  redirectUris?: string;
  scope?: string;
  role?: string;
}

function registerForm(base: string, csrf: string, locale: Locale, values: RegisterValues, error?: string): Html {
  const t = text[locale];
  const kind = values.kind ?? 'confidential';
  return html`<p>${t.registerIntro}</p>
<form method="post" action="${base}register" novalidate>
${csrfField(csrf)}
<label for="name">${t.name}</label>
<input id="name" name="name" type="text" required value="${values.name ?? ''}"${described(error)}>
<label for="publisher">${t.publisher}</label>
<input id="publisher" name="publisher" type="text" required value="${values.publisher ?? ''}"${described(error)}>
<fieldset aria-describedby="kind-hint"><legend>${t.kind}</legend>
${clientKinds.map((k) => html`<label><input type="radio" name="kind" value="${k}"${k === kind ? html` checked` : undefined}> ${kindText(t, k)}</label>`)}
<p class="hint" id="kind-hint">${t.kindHint}</p>
</fieldset>
<label for="redirectUris">${t.redirectUris}</label>
<textarea id="redirectUris" name="redirectUris" rows="3" aria-describedby="redirect-hint${error === undefined ? '' : ' page-error'}">${values.redirectUris ?? ''}</textarea>
<p class="hint" id="redirect-hint">${t.redirectHint}</p>
<label for="scope">${t.scope}</label>
<input id="scope" name="scope" type="text" required value="${values.scope ?? ''}" aria-describedby="scope-hint${error === undefined ? '' : ' page-error'}">
<p class="hint" id="scope-hint">${t.scopeHint}</p>
<label for="role">${t.serviceRole}</label>
<select id="role" name="role" aria-describedby="role-hint">${backendRoles.map((r) => html`<option value="${r}"${r === (values.role ?? 'service-reader') ? html` selected` : undefined}>${r}</option>`)}</select>
<p class="hint" id="role-hint">${t.serviceRoleHint}</p>
<div class="actions"><button type="submit" class="primary">${t.submit}</button> <a href="${base}">${t.back}</a></div>
</form>`;
}

function secretBody(base: string, client: ClientInfo, secret: string | undefined, pending: boolean, locale: Locale): Html {
  const t = text[locale];
  return html`<dl class="facts"><dt>${t.name}</dt><dd>${client.name}</dd><dt>${t.clientId}</dt><dd class="secret">${client.clientId}</dd></dl>
${secret === undefined
    ? html`<p>${t.noSecret}</p>`
    : html`<p class="alert">${t.secretOnce}</p>
<label for="secret">${t.secretLabel}</label>
<input id="secret" type="text" class="secret" readonly value="${secret}" autocomplete="off" spellcheck="false">`}
${pending ? html`<p class="notice">${t.pending}</p>` : undefined}
<p><a href="${base}">${t.secretDone}</a></p>`;
}

/**
 * `/tenants/{t}/console/apps/…`: the tenant's app register, through the same service as the JSON
 * `/apps` routes (oauth/app-register.ts: the gate, the validation of clients.ts, the approval a
 * backend service waits for, the audit events). A secret is shown once, on the answer to the
 * POST that made it — under `no-store` like every page — and never logged or kept.
 */
export function appPages({ guard, realm, appRegister }: { guard: PageGuard; realm: PageRealm; appRegister: AppRegister }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const baseOf = (tenantId: string) => `/tenants/${tenantId}/console/apps/`;
    const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

    async function admitted(request: FastifyRequest, reply: FastifyReply, changes: boolean): Promise<{ caller: StaffCaller; m: AppManager } | undefined> {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return undefined;
      return { caller, m: await appRegister.admit(caller.me.realmId, caller.principal, requestContext(request), changes) };
    }

    app.get('/tenants/:tenant/console/apps/', async (request, reply) => {
      const it = await admitted(request, reply, false);
      if (it === undefined) return reply;
      const t = text[it.caller.locale];
      const done = doneOf(request, ['disabled', 'enabled'] as const);
      return sendClinicPage(request, reply, it.caller, {
        section: 'apps',
        title: t.title,
        body: appList(baseOf(it.m.tenantId), await appRegister.list(it.m), it.caller),
        ...(done === undefined ? {} : { notice: done === 'disabled' ? t.doneDisabled : t.doneEnabled }),
      });
    });

    app.get('/tenants/:tenant/console/apps/register', async (request, reply) => {
      // Offered only to who may register: a person signed in with two factors, as the POST asks.
      const it = await admitted(request, reply, true);
      if (it === undefined) return reply;
      return sendClinicPage(request, reply, it.caller, { section: 'apps', title: text[it.caller.locale].registerTitle, body: registerForm(baseOf(it.m.tenantId), it.caller.me.csrf, it.caller.locale, {}) });
    });

    app.post('/tenants/:tenant/console/apps/register', async (request, reply) => {
      const it = await admitted(request, reply, true);
      if (it === undefined) return reply;
      const t = text[it.caller.locale];
      const form = formOf(request);
      const values = { name: form['name'] ?? '', publisher: form['publisher'] ?? '', kind: form['kind'] ?? '', redirectUris: form['redirectUris'] ?? '', scope: (form['scope'] ?? '').trim(), role: form['role'] ?? '' };
      const uris = values.redirectUris.split(/\r?\n/).map((u) => u.trim()).filter((u) => u !== '');
      // The same input the JSON route builds; clients.ts validates it (one set of rules).
      const input = {
        name: values.name,
        publisher: values.publisher,
        kind: values.kind,
        scope: values.scope,
        ...(values.kind === 'backend' ? { role: values.role } : { redirectUris: uris }),
      } as ClientInput;
      try {
        const { client, clientSecret, pending } = await appRegister.register(it.m, input);
        return sendClinicPage(request, reply, it.caller, { section: 'apps', title: t.secretTitle, body: secretBody(baseOf(it.m.tenantId), client, clientSecret, pending, it.caller.locale), status: 201 });
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal === undefined) throw error;
        return sendClinicPage(request, reply, it.caller, { section: 'apps', title: t.registerTitle, body: registerForm(baseOf(it.m.tenantId), it.caller.me.csrf, it.caller.locale, values, refusal.message), error: refusal.message, status: refusal.status });
      }
    });

    // Confirmation steps for disabling and for a new secret (the old one stops working).
    for (const step of ['disable', 'secret'] as const) {
      app.get(`/tenants/:tenant/console/apps/:id/${step}`, async (request, reply) => {
        const it = await admitted(request, reply, true);
        if (it === undefined) return reply;
        const t = text[it.caller.locale];
        const client = await appRegister.get(it.m, idOf(request));
        const base = baseOf(it.m.tenantId);
        const body = confirmBody({
          action: `${base}${client.clientId}/${step}`,
          csrf: it.caller.me.csrf,
          consequence: step === 'disable' ? t.disableText : t.rotateText,
          button: step === 'disable' ? t.disableConfirm : t.rotateConfirm,
          cancel: { href: base, label: t.cancel },
        });
        return sendClinicPage(request, reply, it.caller, { section: 'apps', title: step === 'disable' ? t.disableTitle : t.rotateTitle, body: html`<p><strong>${client.name}</strong> (${client.publisher})</p>${body}` });
      });
    }

    for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
      app.post(`/tenants/:tenant/console/apps/:id/${verb}`, async (request, reply) => {
        const it = await admitted(request, reply, true);
        if (it === undefined) return reply;
        await appRegister.setDisabled(it.m, idOf(request), disabled);
        return seeOther(reply, `${baseOf(it.m.tenantId)}?done=${verb}d`);
      });
    }

    app.post('/tenants/:tenant/console/apps/:id/secret', async (request, reply) => {
      const it = await admitted(request, reply, true);
      if (it === undefined) return reply;
      const { client, clientSecret } = await appRegister.renewSecret(it.m, idOf(request));
      return sendClinicPage(request, reply, it.caller, { section: 'apps', title: text[it.caller.locale].secretTitle, body: secretBody(baseOf(it.m.tenantId), client, clientSecret, false, it.caller.locale) });
    });
  };
}

import type { FastifyInstance } from 'fastify';
import type { AccountAdministration } from '../../identity/index.js';
import { html, seeOther, type Html, type Texts } from '../../platform/pages/index.js';
import { mfaPolicies, type MfaPolicy } from '../../tenants/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { regionSection } from './region-section.js';
import type { RegionReport } from '../../regions/index.js';
import { csrfField, doneOf, formOf, lookOnly, mayChange, requestContext } from './forms.js';

type Key = 'title' | 'intro' | 'legend' | 'save' | 'saved' | 'current' | MfaPolicy | `${MfaPolicy}Text`;

const text: Texts<Key> = {
  en: {
    title: 'Settings',
    intro: 'Who must sign in with a second factor (an authenticator app or a passkey) besides their password. A person who must and has none sets one up at their next sign-in.',
    legend: 'Second factor at sign-in',
    save: 'Save setting',
    saved: 'Setting saved.',
    current: 'current setting',
    everyone: 'Everyone',
    everyoneText: 'Staff and patients. The strongest protection; patients need an authenticator app or a passkey to see their records.',
    staff: 'Staff only',
    staffText: 'Everyone who works in the clinic; patients may add a second factor but need not. Recommended: staff reach many patients’ records.',
    optional: 'Optional',
    optionalText: 'Nobody must; anyone may add one. Changes to accounts and apps still need a tenant admin signed in with two factors.',
  },
  de: {
    title: 'Einstellungen',
    intro: 'Wer sich neben dem Passwort mit einem zweiten Faktor (Authenticator-App oder Passkey) anmelden muss. Wer muss und keinen hat, richtet ihn bei der nächsten Anmeldung ein.',
    legend: 'Zweiter Faktor bei der Anmeldung',
    save: 'Einstellung speichern',
    saved: 'Einstellung gespeichert.',
    current: 'aktuelle Einstellung',
    everyone: 'Alle',
    everyoneText: 'Mitarbeitende und Patienten. Der stärkste Schutz; Patienten brauchen eine Authenticator-App oder einen Passkey, um ihre Akte zu sehen.',
    staff: 'Nur Mitarbeitende',
    staffText: 'Alle, die in der Praxis arbeiten; Patienten können einen zweiten Faktor hinzufügen, müssen aber nicht. Empfohlen: Mitarbeitende erreichen die Akten vieler Patienten.',
    optional: 'Freiwillig',
    optionalText: 'Niemand muss; alle können einen hinzufügen. Änderungen an Konten und Apps verlangen weiterhin eine Praxis-Administration mit zwei Faktoren.',
  },
};

function settingsForm(action: string, caller: StaffCaller, policy: MfaPolicy): Html {
  const { locale } = caller;
  const csrf = caller.me.csrf;
  const t = text[locale];
  if (!mayChange(caller)) {
    return html`<p>${t.intro}</p>${lookOnly(caller)}<dl class="facts"><dt>${t.legend}</dt><dd>${t[policy]}</dd></dl><p class="hint">${t[`${policy}Text`]}</p>`;
  }
  return html`<p>${t.intro}</p>
<form method="post" action="${action}">
${csrfField(csrf)}
<fieldset><legend>${t.legend}</legend>
${mfaPolicies.map(
    (p) => html`<label for="policy-${p}"><input type="radio" id="policy-${p}" name="policy" value="${p}" aria-describedby="policy-${p}-text"${p === policy ? html` checked` : undefined}> ${t[p]}${p === policy ? html` <span class="hint">(${t.current})</span>` : undefined}</label>
<p class="hint" id="policy-${p}-text">${t[`${p}Text`]}</p>`,
  )}
</fieldset>
<div class="actions"><button type="submit" class="primary">${t.save}</button></div>
</form>`;
}

/**
 * `/tenants/{t}/console/settings/`: the tenant's second-factor policy, through the same service
 * call as `PUT /tenants/{t}/settings/mfa` (identity/administration.ts: `accounts:manage`, two
 * factors to change it, audited as `tenant.settings_changed`). NIST SP 800-63B §4.2: AAL2 for
 * whoever reaches health data.
 */
export function settingsPages({ guard, realm, administration, region }: { guard: PageGuard; realm: PageRealm; administration: AccountAdministration; region?: ((tenantId: string) => RegionReport) | undefined }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/settings/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      const admin = await administration.admit(caller.me.realmId, caller.principal, requestContext(request), false);
      const t = text[caller.locale];
      const done = doneOf(request, ['saved'] as const);
      const policy = await administration.mfaPolicy(admin);
      return sendClinicPage(request, reply, caller, { section: 'settings', title: t.title, body: html`${settingsForm(request.url.split('?')[0] as string, caller, policy)}${region === undefined ? undefined : regionSection(caller.locale, region(admin.tenantId))}`, ...(done === undefined ? {} : { notice: t.saved }) });
    });

    app.post('/tenants/:tenant/console/settings/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      const admin = await administration.admit(caller.me.realmId, caller.principal, requestContext(request), true);
      // tenants.setMfaPolicy refuses anything but the three policies (400, the error page).
      await administration.setMfaPolicy(admin, formOf(request)['policy'] ?? '');
      return seeOther(reply, `/tenants/${admin.tenantId}/console/settings/?done=saved`);
    });
  };
}

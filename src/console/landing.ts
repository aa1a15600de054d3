import type { FastifyInstance } from 'fastify';
import { html, layout, localeOf, seeOther, sendPage, type Texts } from '../platform/pages/index.js';
import { parseTenantId } from '../tenants/index.js';

const text: Texts<'title' | 'what' | 'people' | 'organisation' | 'organisationHint' | 'go' | 'operators' | 'developers' | 'developersText' | 'badOrganisation'> = {
  en: {
    title: 'Tresor',
    what: 'This server keeps personal health and payment data for the organisations that use it: every field encrypted, every access recorded, and people can see who looked at their records.',
    people: 'Staff and patients',
    organisation: 'Your organisation’s Tresor id',
    organisationHint: 'Your organisation gave it to you with your invitation (for example “clinic-berlin”).',
    go: 'Go to sign-in',
    operators: 'Operators of this server: sign in to the platform console',
    developers: 'Developers',
    developersText: 'Apps use the FHIR API under /tenants/{id}/fhir with an API key or OAuth 2.0 (SMART on FHIR).',
    badOrganisation: 'A Tresor id is lowercase letters, digits and hyphens.',
  },
  de: {
    title: 'Tresor',
    what: 'Dieser Server verwahrt persönliche Gesundheits- und Zahlungsdaten für die Organisationen, die ihn nutzen: jedes Feld verschlüsselt, jeder Zugriff protokolliert, und Menschen sehen, wer ihre Daten angesehen hat.',
    people: 'Mitarbeitende und Patientinnen und Patienten',
    organisation: 'Tresor-Kennung Ihrer Organisation',
    organisationHint: 'Ihre Organisation hat sie Ihnen mit Ihrer Einladung genannt (zum Beispiel „praxis-berlin“).',
    go: 'Zur Anmeldung',
    operators: 'Betrieb dieses Servers: Anmeldung zur Plattform-Konsole',
    developers: 'Entwicklerinnen und Entwickler',
    developersText: 'Apps nutzen die FHIR-API unter /tenants/{id}/fhir mit einem API-Schlüssel oder OAuth 2.0 (SMART on FHIR).',
    badOrganisation: 'Eine Tresor-Kennung besteht aus Kleinbuchstaben, Ziffern und Bindestrichen.',
  },
};

/**
 * `/`: what this server is and where to sign in — never which tenants it serves (a public list
 * would tell anyone which clinics keep data here). A person types their organisation's id and
 * is sent to its sign-in page; an unknown id gets that tenant's sign-in page too, which answers
 * like any wrong password, so the form reveals nothing either.
 */
export function landingPages() {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/', async (request, reply) => {
      const locale = localeOf(request);
      const t = text[locale];
      const organisation = (request.query as Record<string, unknown>)['organisation'];
      let error: string | undefined;
      if (typeof organisation === 'string' && organisation !== '') {
        try {
          return seeOther(reply, `/tenants/${parseTenantId(organisation.trim().toLowerCase())}/account/sign-in`);
        } catch {
          error = t.badOrganisation;
        }
      }
      const body = html`<p>${t.what}</p>
<h2>${t.people}</h2>
<form method="get" action="/">
<label for="organisation">${t.organisation}</label>
<p class="hint" id="organisation-hint">${t.organisationHint}</p>
<input id="organisation" name="organisation" type="text" autocomplete="organization" required aria-describedby="organisation-hint${error === undefined ? '' : ' page-error'}"${error === undefined ? undefined : html` aria-invalid="true"`}>
<div class="actions"><button class="primary" type="submit">${t.go}</button></div>
</form>
<p><a href="/platform/account/sign-in">${t.operators}</a></p>
<h2>${t.developers}</h2>
<p>${t.developersText}</p>`;
      return sendPage(reply, layout({ locale, title: t.title, path: request.url, body, ...(error === undefined ? {} : { error }) }), error === undefined ? 200 : 400);
    });
  };
}

import type { FastifyInstance } from 'fastify';
import { parseRole, personRoles, type PersonRole } from '../../identity/index.js';
import { html, seeOther, type Texts } from '../../platform/pages/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { sectionLabel, sectionPath, sectionsOf } from './nav.js';

const text: Texts<'title' | 'intro' | 'nothing'> = {
  en: { title: 'Clinic console', intro: 'What your role lets you do here:', nothing: 'Your role has no console tasks. Your account pages are under “Your account”.' },
  de: { title: 'Praxis-Konsole', intro: 'Was Ihre Rolle hier erlaubt:', nothing: 'Ihre Rolle hat keine Aufgaben in der Konsole. Ihre Kontoseiten finden Sie unter „Ihr Konto“.' },
};

/** `/tenants/{t}/console/`: the sections of the person's role; a patient is sent to the portal. */
export function clinicHome({ guard, realm }: { guard: PageGuard; realm: PageRealm }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      if (caller.principal.role === 'patient') return seeOther(reply, `/tenants/${caller.me.realmId}/me/`);
      const t = text[caller.locale];
      const sections = sectionsOf(parseRole(caller.principal.role, personRoles) as PersonRole).filter((s) => s !== 'home');
      const body =
        sections.length === 0
          ? html`<p>${t.nothing}</p>`
          : html`<p>${t.intro}</p><ul>${sections.map((s) => html`<li><a href="${sectionPath(caller.me.realmId, s)}">${sectionLabel(s, caller.locale)}</a></li>`)}</ul>`;
      return sendClinicPage(request, reply, caller, { section: 'home', title: t.title, body });
    });
  };
}

import type { FastifyInstance } from 'fastify';
import { html, type Texts } from '../../platform/pages/index.js';
import type { PageGuard } from '../page-guard.js';
import { sectionLabel, sectionPath, sectionsOf, sendOperatorPage, type OperatorSection } from './nav.js';

const text: Texts<'title' | 'intro' | OperatorSection> = {
  en: {
    title: 'Operator console',
    intro: 'What your role lets you do here:',
    home: '',
    tenants: 'create tenants, disable them, set their second-factor policy',
    backups: 'snapshots, the last verify and restore drill (RTO, RPO), restore one tenant',
    keys: 'master key and tenant key versions, key rotation jobs',
    health: 'storage, backup age, replication',
    alerts: 'the platform’s own alerts: acknowledge, resolve, who is told and when',
    incidents: 'security incidents: states, timeline, tasks, customer updates',
    status: 'the public status page: scheduled maintenance and security notices',
    privacy: 'the deployment’s records of processing for every tenant (GDPR Art. 30(2)), generated from the live system',
  },
  de: {
    title: 'Betriebskonsole',
    intro: 'Was Ihre Rolle hier erlaubt:',
    home: '',
    tenants: 'Mandanten anlegen, deaktivieren, ihre Regel für den zweiten Faktor festlegen',
    backups: 'Sicherungen, letzte Prüfung und Wiederherstellungsübung (RTO, RPO), einen Mandanten wiederherstellen',
    keys: 'Versionen des Hauptschlüssels und der Mandantenschlüssel, Schlüsselrotationen',
    health: 'Speicher, Alter der Sicherung, Replikation',
    alerts: 'die eigenen Warnmeldungen der Plattform: bestätigen, erledigen, wer wann benachrichtigt wird',
    incidents: 'Sicherheitsvorfälle: Status, Verlauf, Aufgaben, Kundeninformationen',
    status: 'die öffentliche Statusseite: geplante Wartungen und Sicherheitshinweise',
    privacy: 'das Verzeichnis der Verarbeitungstätigkeiten der Plattform für alle Mandanten (DSGVO Art. 30 Abs. 2), aus dem laufenden System erzeugt',
  },
};

/** `/platform/console/`: the sections of the operator's role. */
export function operatorHome({ guard }: { guard: PageGuard }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/platform/console/', async (request, reply) => {
      const caller = await guard.operator(request, reply);
      if (caller === undefined) return reply;
      const t = text[caller.locale];
      const sections = sectionsOf(caller.principal.role).filter((s) => s !== 'home');
      const body = html`<p>${t.intro}</p><ul>${sections.map((s) => html`<li><a href="${sectionPath(s)}">${sectionLabel(s, caller.locale)}</a>: ${t[s]}</li>`)}</ul>`;
      return sendOperatorPage(request, reply, caller, { section: 'home', title: t.title, body });
    });
  };
}

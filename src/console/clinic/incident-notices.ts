import type { IncidentPage } from '../incident-pages.js';
import type { DraftRow, NoticeDrafts, NoticeKind } from '../../notification/index.js';
import { formatDateTime, html, type Html, type Texts } from '../../platform/pages/index.js';

type Key = 'heading' | 'intro' | 'customer' | 'authority' | 'media' | 'draft' | 'approved' | 'sent' | 'german' | 'english';

const text: Texts<Key> = {
  en: {
    heading: 'Breach notices for your practice',
    intro: 'Prepared by the platform operators from the breach scope: the notice to you, and the report you file with your supervisory authority as the data controller. The letters to your patients are sent by the operators after a second person approved them.',
    customer: 'Notice to you', authority: 'Report to the authority (for you to file)', media: 'Media notice', draft: 'draft', approved: 'approved', sent: 'sent', german: 'German', english: 'English',
  },
  de: {
    heading: 'Benachrichtigungen für Ihre Praxis',
    intro: 'Von den Betreibern der Plattform aus dem Umfang des Vorfalls vorbereitet: die Mitteilung an Sie und die Meldung, die Sie als Verantwortlicher bei Ihrer Aufsichtsbehörde einreichen. Die Briefe an Ihre Patienten versenden die Betreiber, nachdem eine zweite Person sie freigegeben hat.',
    customer: 'Mitteilung an Sie', authority: 'Meldung an die Behörde (zum Einreichen)', media: 'Mitteilung an die Medien', draft: 'Entwurf', approved: 'freigegeben', sent: 'gesendet', german: 'Deutsch', english: 'Englisch',
  },
};

/**
 * A clinic admin's section of an incident: their tenant's customer notice, authority report and
 * media notice, each with its state and downloads (the API's tenant routes, which audit them).
 */
export function clinicNoticeSection(drafts: NoticeDrafts) {
  return async (page: IncidentPage, incidentId: string): Promise<Html | undefined> => {
    const list = await drafts.list(page.caller, incidentId);
    if (list.length === 0) return undefined;
    const t = text[page.locale];
    const tenant = page.caller.tenant as string;
    const label = (kind: NoticeKind) => (kind === 'individual' ? '' : t[kind]);
    const state = (d: DraftRow) => (d.state === 'sent' && d.sentAt !== null ? html`${t.sent} <time datetime="${new Date(d.sentAt).toISOString()}">${formatDateTime(page.locale, d.sentAt)}</time>` : t[d.state]);
    const link = (d: DraftRow, language: 'de' | 'en', format: 'html' | 'pdf') => `/tenants/${tenant}/incidents/${incidentId}/drafts/${d.id}?format=${format}&language=${language}`;
    return html`<section aria-labelledby="notices-heading"><h2 id="notices-heading">${t.heading}</h2><p>${t.intro}</p><ul>${list.map(
      (d) => html`<li><strong>${label(d.kind)}</strong> (${state(d)}): ${(['de', 'en'] as const).map((l, i) => html`${i === 0 ? '' : ' · '}${l === 'de' ? t.german : t.english} <a href="${link(d, l, 'html')}" aria-label="${label(d.kind)}, ${l === 'de' ? t.german : t.english}, HTML">HTML</a> <a href="${link(d, l, 'pdf')}" aria-label="${label(d.kind)}, ${l === 'de' ? t.german : t.english}, PDF">PDF</a>`)}</li>`,
    )}</ul></section>`;
  };
}

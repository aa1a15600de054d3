import type { Message } from '../identity/index.js';
import { formatDate, html } from '../platform/pages/index.js';
import type { RequestType } from './requests-types.js';

export type RequestNews = 'extended' | 'completed' | 'accepted' | 'rejected';

const typeWords: Readonly<Record<RequestType, { de: string; en: string }>> = {
  access: { de: 'Auskunft über Ihre Daten', en: 'access to your data' },
  portability: { de: 'Ihre Daten zum Mitnehmen', en: 'a copy of your data to take elsewhere' },
  rectification: { de: 'Berichtigung Ihrer Daten', en: 'rectification of your data' },
  erasure: { de: 'Löschung Ihrer Daten', en: 'erasure of your data' },
  restriction: { de: 'Einschränkung der Verarbeitung', en: 'restriction of processing' },
  objection: { de: 'Widerspruch gegen die Verarbeitung', en: 'objection to processing' },
};

/**
 * What a patient is told of their request by mail — German first, as the other messages (there is
 * no session whose language to follow). The mail carries no record contents and none of the text
 * anyone wrote (reasons, notes): only that something happened, the new due date of an extension,
 * and where to read the rest — the portal, behind sign-in. A rejection names the rights of GDPR
 * Art. 12(4): a complaint to a supervisory authority (Art. 77) and a judicial remedy (Art. 79).
 */
export function requestMessage(input: { tenantId: string; accountId: string; to: string; type: RequestType; news: RequestNews; dueAt?: number; portalUrl: string }): Message {
  const what = typeWords[input.type];
  const due = input.dueAt === undefined ? undefined : { de: formatDate('de', input.dueAt), en: formatDate('en', input.dueAt) };
  const lines: Record<RequestNews, { subject: string; de: string[]; en: string[] }> = {
    extended: {
      subject: 'Ihre Anfrage: Frist verlängert / Your request: deadline extended',
      de: [`Die Frist für Ihre Anfrage (${what.de}) wurde verlängert, bis zum ${due?.de ?? ''} (Art. 12 Abs. 3 DSGVO). Den Grund finden Sie im Portal.`],
      en: [`The deadline of your request (${what.en}) was extended to ${due?.en ?? ''} (GDPR Art. 12(3)). The reason is in the portal.`],
    },
    completed: {
      subject: 'Ihre Anfrage ist erledigt / Your request is complete',
      de: [`Ihre Anfrage (${what.de}) ist erledigt. Die Antwort finden Sie im Portal.`],
      en: [`Your request (${what.en}) is complete. The answer is in the portal.`],
    },
    accepted: {
      subject: 'Ihre Anfrage wurde angenommen / Your request was accepted',
      de: [`Ihre Anfrage (${what.de}) wurde angenommen; Ihre Daten wurden berichtigt. Einzelheiten finden Sie im Portal.`],
      en: [`Your request (${what.en}) was accepted and your data rectified. The details are in the portal.`],
    },
    rejected: {
      subject: 'Ihre Anfrage wurde abgelehnt / Your request was rejected',
      de: [`Ihre Anfrage (${what.de}) wurde abgelehnt. Den Grund finden Sie im Portal.`, 'Sie können sich bei einer Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO) und einen gerichtlichen Rechtsbehelf einlegen (Art. 79 DSGVO).'],
      en: [`Your request (${what.en}) was rejected. The reason is in the portal.`, 'You may lodge a complaint with a data protection supervisory authority (GDPR Art. 77) and seek a judicial remedy (GDPR Art. 79).'],
    },
  };
  const parts = lines[input.news];
  const text = [...parts.de, input.portalUrl, '', '—', '', ...parts.en, input.portalUrl, ''].join('\n');
  const body = html`<!doctype html><html lang="de"><body>${parts.de.map((line) => html`<p>${line}</p>`)}<p><a href="${input.portalUrl}">${input.portalUrl}</a></p><hr><div lang="en">${parts.en.map((line) => html`<p>${line}</p>`)}<p><a href="${input.portalUrl}">${input.portalUrl}</a></p></div></body></html>`;
  return { kind: 'privacy-request', tenantId: input.tenantId, accountId: input.accountId, to: input.to, subject: parts.subject, text, html: body.toString() };
}

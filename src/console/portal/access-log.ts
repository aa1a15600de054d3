import type { FastifyInstance } from 'fastify';
import type { AccessEntry } from '../../records/index.js';
import { formatDateTime, html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { portalCaller, portalContext, portalPath, sendPortalPage, type PortalDeps } from './portal-page.js';

export const periods = ['30d', '1y', 'all'] as const;
export type Period = (typeof periods)[number];
const periodDays: Readonly<Record<Period, number | undefined>> = { '30d': 30, '1y': 365, all: undefined };

/** Entries per page (newest first; "Older entries" pages on). */
export const accessPageSize = 50;

const text: Texts<
  | 'intro'
  | 'period'
  | 'period30d'
  | 'period1y'
  | 'periodall'
  | 'caption'
  | 'when'
  | 'who'
  | 'what'
  | 'why'
  | 'you'
  | 'via'
  | 'none'
  | 'older'
  | 'newest'
  | 'refused'
  | 'emergency'
  | 'reason'
> = {
  en: {
    intro: 'Every time someone opened your records — the clinic’s staff, apps you connected, and you yourself — it is recorded here. The list cannot be changed afterwards.',
    period: 'Period',
    period30d: 'Last 30 days',
    period1y: 'Last year',
    periodall: 'All',
    caption: 'Accesses to your records, newest first',
    when: 'When',
    who: 'Who',
    what: 'What',
    why: 'Why',
    you: 'You',
    via: 'via',
    none: 'No accesses in this period.',
    older: 'Older entries',
    newest: 'Back to the newest',
    refused: 'refused',
    emergency: 'Emergency access',
    reason: 'Stated reason',
  },
  de: {
    intro: 'Jedes Mal, wenn jemand Ihre Daten geöffnet hat – Mitarbeitende der Praxis, von Ihnen verbundene Apps und Sie selbst –, wird es hier festgehalten. Die Liste kann nachträglich nicht verändert werden.',
    period: 'Zeitraum',
    period30d: 'Letzte 30 Tage',
    period1y: 'Letztes Jahr',
    periodall: 'Alle',
    caption: 'Zugriffe auf Ihre Daten, neueste zuerst',
    when: 'Wann',
    who: 'Wer',
    what: 'Was',
    why: 'Warum',
    you: 'Sie',
    via: 'über',
    none: 'Keine Zugriffe in diesem Zeitraum.',
    older: 'Ältere Einträge',
    newest: 'Zurück zu den neuesten',
    refused: 'abgelehnt',
    emergency: 'Notfallzugriff',
    reason: 'Angegebener Grund',
  },
};

/**
 * What someone did with the patient's data, in words. Every audit action that can name a patient
 * (records, access decisions, consents, apps' tokens, privacy requests and rights, breach notices)
 * has its words here — the portal never shows an action code; `patientActions` lists them and a
 * test holds the list complete.
 */
export const patientActions = [
  'record.read', 'record.searched', 'record.created', 'record.updated', 'record.deleted', 'record.history-read', 'record.exported', 'record.integrity_failed', 'bundle.processed',
  'audit.read', 'access.emergency_granted', 'access.emergency_reviewed', 'access.denied', 'access.redacted', 'account.created', 'account.erased', 'key.shredded',
  'consent.granted', 'consent.refused', 'consent.revoked', 'token.issued', 'token.refreshed', 'token.revoked',
  'privacy.export_started', 'privacy.export_downloaded', 'privacy.export_failed',
  'privacy.request_received', 'privacy.request_read', 'privacy.request_assigned', 'privacy.request_noted', 'privacy.request_extended', 'privacy.request_completed', 'privacy.request_rejected', 'privacy.request_withdrawn', 'privacy.request_erased', 'privacy.request_due',
  'privacy.erased', 'privacy.erasure_refused', 'privacy.hold_set', 'privacy.hold_released', 'privacy.restricted', 'privacy.restriction_lifted',
  'breach.people_resolved', 'notice.sent',
] as const;

const actionText: Texts<(typeof patientActions)[number]> = {
  en: {
    'record.read': 'opened',
    'record.searched': 'looked through',
    'record.created': 'added',
    'record.updated': 'changed',
    'record.deleted': 'deleted',
    'record.history-read': 'looked at earlier versions of',
    'record.exported': 'exported',
    'record.integrity_failed': 'found damaged data (an integrity check failed)',
    'bundle.processed': 'processed',
    'audit.read': 'looked at who accessed the records',
    'access.emergency_granted': 'opened in an emergency',
    'access.emergency_reviewed': 'reviewed an emergency access',
    'access.denied': 'tried to open (refused)',
    'access.redacted': 'opened without what your consent keeps from them',
    'account.created': 'created your account',
    'account.erased': 'erased your account',
    'key.shredded': 'destroyed the key of your data',
    'consent.granted': 'gave an app access',
    'consent.refused': 'refused an app access',
    'consent.revoked': 'withdrew an app’s access',
    'token.issued': 'received access from you',
    'token.refreshed': 'renewed its access',
    'token.revoked': 'lost its access',
    'privacy.export_started': 'started a download of your data',
    'privacy.export_downloaded': 'downloaded a file of your data',
    'privacy.export_failed': 'could not prepare a download of your data',
    'privacy.request_received': 'received your privacy request',
    'privacy.request_read': 'read your privacy request',
    'privacy.request_assigned': 'took on your privacy request',
    'privacy.request_noted': 'added a note to your privacy request',
    'privacy.request_extended': 'extended the deadline of your privacy request',
    'privacy.request_completed': 'completed your privacy request',
    'privacy.request_rejected': 'rejected your privacy request',
    'privacy.request_withdrawn': 'withdrew your privacy request',
    'privacy.request_erased': 'erased the texts of your privacy requests',
    'privacy.request_due': 'was reminded of the deadline of your privacy request',
    'privacy.erased': 'erased your data',
    'privacy.erasure_refused': 'could not erase your data (a duty to keep it, or a legal hold)',
    'privacy.hold_set': 'put a legal hold on your data',
    'privacy.hold_released': 'released a legal hold on your data',
    'privacy.restricted': 'restricted the use of your data',
    'privacy.restriction_lifted': 'lifted the restriction on your data',
    'breach.people_resolved': 'found you among the people a security incident may affect',
    'notice.sent': 'sent you a notice about a security incident',
  },
  de: {
    'record.read': 'geöffnet',
    'record.searched': 'durchgesehen',
    'record.created': 'hinzugefügt',
    'record.updated': 'geändert',
    'record.deleted': 'gelöscht',
    'record.history-read': 'frühere Fassungen angesehen',
    'record.exported': 'exportiert',
    'record.integrity_failed': 'beschädigte Daten gefunden (Integritätsprüfung fehlgeschlagen)',
    'bundle.processed': 'verarbeitet',
    'audit.read': 'angesehen, wer auf die Daten zugegriffen hat',
    'access.emergency_granted': 'im Notfall geöffnet',
    'access.emergency_reviewed': 'einen Notfallzugriff geprüft',
    'access.denied': 'versucht zu öffnen (abgelehnt)',
    'access.redacted': 'geöffnet, ohne was Ihre Einwilligung vorenthält',
    'account.created': 'Ihr Konto angelegt',
    'account.erased': 'Ihr Konto gelöscht',
    'key.shredded': 'den Schlüssel Ihrer Daten vernichtet',
    'consent.granted': 'einer App Zugriff gegeben',
    'consent.refused': 'einer App Zugriff verweigert',
    'consent.revoked': 'den Zugriff einer App widerrufen',
    'token.issued': 'von Ihnen Zugriff erhalten',
    'token.refreshed': 'seinen Zugriff erneuert',
    'token.revoked': 'seinen Zugriff verloren',
    'privacy.export_started': 'einen Download Ihrer Daten gestartet',
    'privacy.export_downloaded': 'eine Datei Ihrer Daten heruntergeladen',
    'privacy.export_failed': 'einen Download Ihrer Daten nicht vorbereiten können',
    'privacy.request_received': 'Ihre Datenschutzanfrage erhalten',
    'privacy.request_read': 'Ihre Datenschutzanfrage gelesen',
    'privacy.request_assigned': 'Ihre Datenschutzanfrage übernommen',
    'privacy.request_noted': 'Ihrer Datenschutzanfrage einen Vermerk hinzugefügt',
    'privacy.request_extended': 'die Frist Ihrer Datenschutzanfrage verlängert',
    'privacy.request_completed': 'Ihre Datenschutzanfrage erledigt',
    'privacy.request_rejected': 'Ihre Datenschutzanfrage abgelehnt',
    'privacy.request_withdrawn': 'Ihre Datenschutzanfrage zurückgezogen',
    'privacy.request_erased': 'die Texte Ihrer Datenschutzanfragen gelöscht',
    'privacy.request_due': 'an die Frist Ihrer Datenschutzanfrage erinnert',
    'privacy.erased': 'Ihre Daten gelöscht',
    'privacy.erasure_refused': 'Ihre Daten nicht löschen können (Aufbewahrungspflicht oder Sperre)',
    'privacy.hold_set': 'eine rechtliche Sperre auf Ihre Daten gelegt',
    'privacy.hold_released': 'eine rechtliche Sperre Ihrer Daten aufgehoben',
    'privacy.restricted': 'die Verarbeitung Ihrer Daten eingeschränkt',
    'privacy.restriction_lifted': 'die Einschränkung Ihrer Daten aufgehoben',
    'breach.people_resolved': 'Sie unter den Personen gefunden, die ein Sicherheitsvorfall betreffen kann',
    'notice.sent': 'Ihnen eine Benachrichtigung zu einem Sicherheitsvorfall gesandt',
  },
};

/** An action without words of its own (none should reach a patient): said plainly, never as a code. */
const otherAction: Texts<'other'> = { en: { other: 'handled your data' }, de: { other: 'Ihre Daten bearbeitet' } };

const roleText: Texts<'tenant-admin' | 'clinician' | 'front-desk' | 'billing' | 'auditor' | 'patient' | 'service' | 'service-reader' | 'operator'> = {
  en: { 'tenant-admin': 'Practice administrator', clinician: 'Clinician', 'front-desk': 'Front desk', billing: 'Billing', auditor: 'Auditor', patient: 'Patient', service: 'Connected system', 'service-reader': 'Connected system (read-only)', operator: 'Platform operator' },
  de: { 'tenant-admin': 'Praxisverwaltung', clinician: 'Ärztin/Arzt', 'front-desk': 'Empfang', billing: 'Abrechnung', auditor: 'Prüfung', patient: 'Patient/in', service: 'Angebundenes System', 'service-reader': 'Angebundenes System (nur lesend)', operator: 'Plattformbetrieb' },
};

const typeText: Texts<'Patient' | 'Observation' | 'Appointment' | 'Consent' | 'Invoice' | 'Practitioner' | 'Account'> = {
  en: { Patient: 'your details', Observation: 'measurements and results', Appointment: 'appointments', Consent: 'consents', Invoice: 'invoices', Practitioner: 'practitioners', Account: 'your account' },
  de: { Patient: 'Ihre Angaben', Observation: 'Messwerte und Befunde', Appointment: 'Termine', Consent: 'Einwilligungen', Invoice: 'Rechnungen', Practitioner: 'Behandelnde', Account: 'Ihr Konto' },
};

const purposeText: Texts<'TREAT' | 'ETREAT' | 'HPAYMT' | 'HOPERAT' | 'PATRQT' | 'SYSADMIN' | 'other'> = {
  en: { TREAT: 'Treatment', ETREAT: 'Emergency treatment', HPAYMT: 'Payment', HOPERAT: 'Running the practice', PATRQT: 'Your own request', SYSADMIN: 'System administration', other: 'Other' },
  de: { TREAT: 'Behandlung', ETREAT: 'Notfallbehandlung', HPAYMT: 'Abrechnung', HOPERAT: 'Praxisbetrieb', PATRQT: 'Ihre eigene Anfrage', SYSADMIN: 'Systemverwaltung', other: 'Sonstiges' },
};

const lookup = <T extends Record<string, string>>(table: T, key: string, fallback: string): string => (Object.hasOwn(table, key) ? (table[key as keyof T] as string) : fallback);

function whoCell(entry: AccessEntry, locale: Locale): Html {
  const t = text[locale];
  const role = lookup(roleText[locale], entry.who.role, entry.who.role);
  const via = entry.who.via === undefined ? undefined : html` <span class="hint">${t.via} ${entry.who.via}</span>`;
  if (entry.who.kind === 'you') return html`<strong>${t.you}</strong>${via}`;
  if (entry.who.kind === 'app') return html`${entry.who.name} <span class="role">(${role})</span>`;
  return html`${entry.who.name} <span class="role">(${role})</span>${via}`;
}

function whatCell(entry: AccessEntry, locale: Locale): string {
  const action = lookup(actionText[locale], entry.action, otherAction[locale].other);
  const types = entry.types.map((type) => lookup(typeText[locale], type, type));
  // Which records: for reads, writes and access decisions; other acts name their object in their words.
  const onRecords = entry.action.startsWith('record.') || entry.action.startsWith('access.') || entry.action === 'bundle.processed' || entry.action === 'audit.read';
  return types.length === 0 || !onRecords ? action : `${action}: ${types.join(', ')}`;
}

function whyCell(entry: AccessEntry, locale: Locale): Html {
  const t = text[locale];
  const purpose = lookup(purposeText[locale], entry.purpose, purposeText[locale].other);
  if (entry.reason !== undefined) return html`<strong>${t.emergency}</strong><br>${t.reason}: “${entry.reason}”`;
  return html`${purpose}`;
}

/**
 * `/tenants/{t}/me/access`: who accessed my data — the same entries as FHIR's `$access-log`
 * (one service, one query), newest first, 50 a page, filtered by period. Reading it is an
 * audit event of its own, as over FHIR.
 */
export function portalAccessPage({ guard, realm, access, clock }: PortalDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/me/access', async (request, reply) => {
      const found = await portalCaller(guard, realm, request, reply, 'access');
      if (found === undefined) return reply;
      const { caller, patient } = found;
      const { locale } = caller;
      const t = text[locale];
      const query = request.query as Record<string, unknown>;
      const period: Period = (periods as readonly unknown[]).includes(query['period']) ? (query['period'] as Period) : '30d';
      const before = typeof query['before'] === 'string' && /^[1-9]\d{0,15}$/.test(query['before']) ? Number(query['before']) : undefined;
      const days = periodDays[period];
      const log = await access.accessLog(portalContext(request, caller), patient, {
        count: accessPageSize,
        ...(days === undefined ? {} : { from: clock.now().getTime() - days * 86_400_000 }),
        ...(before === undefined ? {} : { before }),
      });
      const base = portalPath(caller.me.realmId, 'access');
      const body = html`<p>${t.intro}</p>
<nav aria-label="${t.period}" ><ul>${periods.map((p) => html`<li><a href="${base}?period=${p}"${p === period ? html` aria-current="page"` : undefined}>${t[`period${p}`]}</a></li>`)}</ul></nav>
${
  log.entries.length === 0
    ? html`<p>${t.none}</p>`
    : html`<table class="access-log"><caption>${t.caption}</caption>
<thead><tr><th scope="col">${t.when}</th><th scope="col">${t.who}</th><th scope="col">${t.what}</th><th scope="col">${t.why}</th></tr></thead>
<tbody>${log.entries.map((entry) => html`<tr${entry.who.kind === 'you' ? html` class="you"` : undefined}><th scope="row">${formatDateTime(locale, entry.at)}</th><td>${whoCell(entry, locale)}</td><td>${whatCell(entry, locale)}${entry.outcome === 'failure' && entry.action !== 'access.denied' ? ` (${t.refused})` : ''}</td><td>${whyCell(entry, locale)}</td></tr>`)}</tbody></table>`
}
<p>${log.next === undefined ? undefined : html`<a href="${base}?period=${period}&amp;before=${log.next}">${t.older}</a>`}${before === undefined ? undefined : html` <a href="${base}?period=${period}">${t.newest}</a>`}</p>`;
      return sendPortalPage(request, reply, caller, { section: 'access', body });
    });
  };
}

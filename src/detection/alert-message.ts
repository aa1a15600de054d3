import { alertPath, escalatedAlertPath, runbookPath } from './links.js';
import type { Message } from '../identity/index.js';
import { formatDateTime, html, type Html } from '../platform/pages/index.js';
import type { Alert } from './store.js';

/** Whom one mail goes to, in which realm's outbox (an operator's is the operators' realm). */
export interface Recipient {
  /** The realm whose outbox spools the mail: the recipient's own. */
  readonly realm: string;
  /** The account it goes to; `security-contact` for the tenant's security contact (no account). */
  readonly accountId: string;
  readonly email: string;
}

export interface AlertMailInput {
  readonly alert: Alert;
  /** The tenant's name and id, or the platform for the operators' realm. */
  readonly where: { readonly id: string; readonly name: string; readonly platform: boolean };
  /** 1 admins, 2 security contact, 3 operators (escalation-policy.ts). */
  readonly level: number;
  /** Whether this mail repeats an earlier step's because the alert grew more severe. */
  readonly moreSevere: boolean;
  readonly timeZone: string;
  readonly publicUrl: string | undefined;
  /** Minutes until the next level hears of it without an acknowledgement; undefined: none. */
  readonly escalatesInMinutes: number | undefined;
}

const levelText = {
  1: { de: 'Sie erhalten diese Nachricht als Administrator:in des Mandanten.', en: 'You receive this as an administrator of the tenant.' },
  2: { de: 'Sie erhalten diese Nachricht als Sicherheitskontakt: Niemand hat den Alarm rechtzeitig bestätigt.', en: 'You receive this as the security contact: nobody acknowledged the alert in time.' },
  3: { de: 'Sie erhalten diese Nachricht als Plattform-Betreiber:in.', en: 'You receive this as a platform operator.' },
} as const;

// Header text from names people chose: no line breaks or controls in a subject (RFC 5322 §2.2).
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

/**
 * An alert as mail, German first and English below like every Tresor message (tenants have no
 * language setting). It says what the alert is — rule, severity, subject (an id), the rule's
 * one-sentence summary of ids and counts, how many findings, when — and links to the alert's
 * page and the rule's runbook. It never carries record contents, tokens or passwords: an alert
 * holds none (detection/types.ts), and this adds nothing but ids, counts, times and links.
 */
export function alertMessage(input: AlertMailInput, to: Recipient): Message {
  const { alert, where, publicUrl } = input;
  const base = (publicUrl ?? '').replace(/\/+$/, '');
  // The operators' mail about a tenant's alert opens their own console's page of it: they cannot open the clinic console.
  const operatorsOfTenant = input.level === 3 && !where.platform;
  const alertLink = `${base}${operatorsOfTenant ? escalatedAlertPath({ id: alert.id, realm: where.id }) : alertPath({ id: alert.id, realm: where.id }, where.platform)}`;
  const runbookLink = `${base}${runbookPath(alert.rule)}`;
  const place = where.platform ? 'Plattform / platform' : `${oneLine(where.name)} (${where.id})`;
  const subject = `[Tresor ${alert.severity.toUpperCase()}] ${oneLine(alert.title)} – ${place}`;
  const first = `${formatDateTime('en', alert.firstAt)} (${formatDateTime('en', alert.firstAt, input.timeZone)})`;
  const last = `${formatDateTime('en', alert.lastAt)} (${formatDateTime('en', alert.lastAt, input.timeZone)})`;
  const why = levelText[input.level as 1 | 2 | 3] ?? levelText[1];
  const de = [
    input.moreSevere ? `Ein Alarm ist jetzt schwerwiegender (${alert.severity}).` : `Tresor hat einen Alarm (${alert.severity}) ausgelöst.`,
    why.de,
    input.escalatesInMinutes === undefined ? 'Bitte prüfen Sie ihn und bestätigen Sie ihn in der Konsole.' : `Bitte prüfen Sie ihn und bestätigen Sie ihn in der Konsole; sonst wird in ${input.escalatesInMinutes} Minuten die nächste Stelle benachrichtigt.`,
  ];
  const en = [
    input.moreSevere ? `An alert is now more severe (${alert.severity}).` : `Tresor raised an alert (${alert.severity}).`,
    why.en,
    input.escalatesInMinutes === undefined ? 'Please look into it and acknowledge it in the console.' : `Please look into it and acknowledge it in the console; otherwise the next level is told in ${input.escalatesInMinutes} minutes.`,
  ];
  const facts: Array<[string, string]> = [
    ['Alarm / Alert', alert.id],
    ['Regel / Rule', `${alert.rule} – ${oneLine(alert.title)}`],
    ['Schwere / Severity', alert.severity],
    ['Mandant / Tenant', place],
    ['Betrifft / Subject', alert.subject],
    ['Befund / Finding', oneLine(alert.summary)],
    ['Anzahl / Count', String(alert.count)],
    ['Zuerst / First seen', first],
    ['Zuletzt / Last seen', last],
  ];
  const note = publicUrl === undefined ? ['', 'Hinweis: server.publicUrl ist nicht gesetzt; setzen Sie die Adresse Ihres Tresor-Servers vor die Pfade. / Note: server.publicUrl is unset; put your Tresor server\'s address in front of the paths.'] : [];
  const text = [
    ...de,
    '',
    ...en,
    '',
    ...facts.map(([label, value]) => `${label}: ${value}`),
    '',
    `Alarm ansehen / View the alert: ${alertLink}`,
    `Runbook: ${runbookLink}`,
    ...note,
    '',
    '-- ',
    'Tresor',
  ].join('\n');
  const paragraph = (lang: 'de' | 'en', lines: readonly string[]): Html => html`<p lang="${lang}">${lines.map((line, i) => (i === 0 ? line : html`<br>${line}`))}</p>`;
  const body = html`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>${subject}</title></head>
<body>
${paragraph('de', de)}
${paragraph('en', en)}
<table>${facts.map(([label, value]) => html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`)}</table>
<p><a href="${alertLink}">Alarm ansehen / <span lang="en">View the alert</span></a></p>
<p><a href="${runbookLink}">Runbook: ${alert.rule}</a></p>
${publicUrl === undefined ? html`<p>${note[1]}</p>` : ''}
</body></html>`;
  return { kind: 'alert', tenantId: to.realm, accountId: to.accountId, to: to.email, subject, text, html: body.toString() };
}

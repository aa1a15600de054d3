import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';
import { formatDate, formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { daysLeft, elementText, mergedElement, isRequestState, openStates, rectifiableElements, requestCallerOf, requestChannels, requestTypes, type PrivacyRequest, type PrivacyRequests, type Rectifications, type RequestState, type RequestType } from '../../privacy/index.js';
import type { Accounts } from '../../identity/index.js';
import type { RecordAccess } from '../../records/index.js';
import { pageAccessContext } from '../page-access.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { namePeople } from './people.js';
import { requireSection } from './section-access.js';

type Key =
  | 'title' | 'intro' | 'queue' | 'none' | 'type' | 'patient' | 'channel' | 'received' | 'due' | 'state' | 'owner' | 'open' | 'show' | 'showOpen' | 'showAll' | 'filter'
  | 'record' | 'recordIntro' | 'receivedOn' | 'receivedOnHint' | 'patientHint' | 'verification' | 'verificationHint' | 'text' | 'submit' | 'dueIn' | 'overdueBy' | 'dueToday' | 'nobody'
  | 'details' | 'handle' | 'history' | 'when' | 'who' | 'what' | 'asked' | 'verified' | 'extension' | 'outcome' | 'link' | 'notes' | 'erased'
  | 'assign' | 'assignMe' | 'extend' | 'months' | 'one' | 'two' | 'reason' | 'reasonHint' | 'complete' | 'note' | 'fulfil' | 'reject' | 'rejectHint' | 'addNote'
  | 'proposal' | 'element' | 'current' | 'proposed' | 'accept' | 'acceptHint' | 'closed' | 'changed' | 'back' | 'unreadable';


const text: Texts<Key> = {
  en: {
    title: 'Privacy requests', intro: 'Requests of patients under GDPR Art. 15–21. Each must be answered within one calendar month of receipt (Art. 12(3)); the deadline can be extended once by up to two months, with a reason, within that first month.',
    queue: 'Requests, soonest due first', none: 'No requests here.', type: 'Type', patient: 'Patient', channel: 'Received by', received: 'Received', due: 'Due', state: 'State', owner: 'Owner', open: 'Open', show: 'Show', showOpen: 'Open requests', showAll: 'All requests', filter: 'Filter',
    record: 'Record a request received by letter, e-mail or in person', recordIntro: 'The month runs from receipt: give the day it arrived if that was not today. Say how you verified the person’s identity (GDPR Art. 12(6)).', patientHint: 'The patient’s record id, e.g. Patient/123 (from the patient’s page).',
    receivedOn: 'Received on (optional)', receivedOnHint: 'The day the letter or e-mail arrived, as YYYY-MM-DD; empty for today. The month runs from then.',
    verification: 'How identity was verified', verificationHint: 'E.g. “ID card checked at the front desk”, “signature compared with the admission form”. 10–4000 characters.', text: 'What the person asks (optional)', submit: 'Record the request',
    dueIn: 'due in {n} days', overdueBy: 'overdue by {n} days', dueToday: 'due today', nobody: 'nobody yet',
    details: 'Request', handle: 'Handle the request', history: 'History', when: 'When', who: 'Who', what: 'What', asked: 'What the person asks', verified: 'Identity verified by', extension: 'Reason for the extension', outcome: 'Outcome', link: 'Answer', notes: 'Notes', erased: 'The patient was erased: what was written about this request is gone.',
    assign: 'Owner', assignMe: 'Assign to me', extend: 'Extend the deadline', months: 'By', one: 'one month', two: 'two months', reason: 'Reason', reasonHint: 'The patient is told of the extension by mail; the reason is shown in their portal. 10–4000 characters.',
    complete: 'Complete', note: 'Note to the patient', fulfil: 'Fulfil (prepare the answer and complete)', reject: 'Reject', rejectHint: 'Why the request is refused (GDPR Art. 12(4)): shown to the patient with their right to complain to a supervisory authority.', addNote: 'Add a note',
    proposal: 'Proposed changes', element: 'Element', current: 'Now', proposed: 'Proposed', accept: 'Accept and correct the record', acceptHint: 'Writes a new version of the patient’s record as you, tagged as a rectification on request.',
    closed: 'This request is closed.', changed: 'The request was updated.', back: 'All requests', unreadable: 'Not shown to your role.',
  },
  de: {
    title: 'Datenschutzanfragen', intro: 'Anfragen von Patientinnen und Patienten nach Art. 15–21 DSGVO. Jede ist binnen eines Kalendermonats nach Eingang zu beantworten (Art. 12 Abs. 3); die Frist kann innerhalb dieses Monats einmal um bis zu zwei Monate verlängert werden, mit Begründung.',
    queue: 'Anfragen, die am frühesten fälligen zuerst', none: 'Keine Anfragen.', type: 'Art', patient: 'Patient', channel: 'Eingang per', received: 'Eingegangen', due: 'Fällig', state: 'Stand', owner: 'Zuständig', open: 'Öffnen', show: 'Anzeigen', showOpen: 'Offene Anfragen', showAll: 'Alle Anfragen', filter: 'Filtern',
    record: 'Anfrage per Brief, E-Mail oder persönlich erfassen', recordIntro: 'Die Frist läuft ab Eingang: Geben Sie den Eingangstag an, wenn er nicht heute war. Geben Sie an, wie Sie die Identität geprüft haben (Art. 12 Abs. 6 DSGVO).', patientHint: 'Die Akten-ID, z. B. Patient/123 (von der Seite des Patienten).',
    receivedOn: 'Eingegangen am (optional)', receivedOnHint: 'Der Tag, an dem Brief oder E-Mail eintraf, als JJJJ-MM-TT; leer für heute. Die Frist läuft ab dann.',
    verification: 'Wie die Identität geprüft wurde', verificationHint: 'Z. B. „Ausweis am Empfang geprüft“, „Unterschrift mit dem Aufnahmebogen verglichen“. 10–4000 Zeichen.', text: 'Was die Person verlangt (optional)', submit: 'Anfrage erfassen',
    dueIn: 'fällig in {n} Tagen', overdueBy: 'seit {n} Tagen überfällig', dueToday: 'heute fällig', nobody: 'noch niemand',
    details: 'Anfrage', handle: 'Anfrage bearbeiten', history: 'Verlauf', when: 'Wann', who: 'Wer', what: 'Was', asked: 'Was die Person verlangt', verified: 'Identität geprüft durch', extension: 'Grund der Verlängerung', outcome: 'Ergebnis', link: 'Antwort', notes: 'Vermerke', erased: 'Der Patient wurde gelöscht: Was zu dieser Anfrage geschrieben wurde, ist nicht mehr vorhanden.',
    assign: 'Zuständig', assignMe: 'Mir zuweisen', extend: 'Frist verlängern', months: 'Um', one: 'einen Monat', two: 'zwei Monate', reason: 'Grund', reasonHint: 'Der Patient erfährt die Verlängerung per E-Mail; den Grund sieht er im Portal. 10–4000 Zeichen.',
    complete: 'Erledigen', note: 'Vermerk für den Patienten', fulfil: 'Ausführen (Antwort erstellen und erledigen)', reject: 'Ablehnen', rejectHint: 'Warum die Anfrage abgelehnt wird (Art. 12 Abs. 4 DSGVO): wird dem Patienten mit seinem Beschwerderecht bei einer Aufsichtsbehörde gezeigt.', addNote: 'Vermerk hinzufügen',
    proposal: 'Vorgeschlagene Änderungen', element: 'Angabe', current: 'Jetzt', proposed: 'Vorgeschlagen', accept: 'Annehmen und Akte berichtigen', acceptHint: 'Schreibt eine neue Version der Patientenakte in Ihrem Namen, gekennzeichnet als Berichtigung auf Antrag.',
    closed: 'Diese Anfrage ist abgeschlossen.', changed: 'Die Anfrage wurde aktualisiert.', back: 'Alle Anfragen', unreadable: 'Für Ihre Rolle nicht sichtbar.',
  },
};

export const typeWords: Texts<RequestType> = {
  en: { access: 'Access (Art. 15)', portability: 'Portability (Art. 20)', rectification: 'Rectification (Art. 16)', erasure: 'Erasure (Art. 17)', restriction: 'Restriction (Art. 18)', objection: 'Objection (Art. 21)' },
  de: { access: 'Auskunft (Art. 15)', portability: 'Datenübertragbarkeit (Art. 20)', rectification: 'Berichtigung (Art. 16)', erasure: 'Löschung (Art. 17)', restriction: 'Einschränkung (Art. 18)', objection: 'Widerspruch (Art. 21)' },
};
export const stateWords: Texts<RequestState> = {
  en: { received: 'received', 'in-progress': 'in progress', completed: 'completed', rejected: 'rejected', withdrawn: 'withdrawn' },
  de: { received: 'eingegangen', 'in-progress': 'in Bearbeitung', completed: 'erledigt', rejected: 'abgelehnt', withdrawn: 'zurückgezogen' },
};
const channelWords: Texts<(typeof requestChannels)[number]> = {
  en: { portal: 'portal', letter: 'letter', email: 'e-mail', 'in-person': 'in person' },
  de: { portal: 'Portal', letter: 'Brief', email: 'E-Mail', 'in-person': 'persönlich' },
};

/** What happened to a request, in words (the history's action codes). */
const actionWords: Texts<'privacy.request_received' | 'privacy.request_assigned' | 'privacy.request_extended' | 'privacy.request_noted' | 'privacy.request_completed' | 'privacy.request_rejected' | 'privacy.request_withdrawn' | 'privacy.request_erased'> = {
  en: {
    'privacy.request_received': 'received',
    'privacy.request_assigned': 'assigned',
    'privacy.request_extended': 'deadline extended',
    'privacy.request_noted': 'note added',
    'privacy.request_completed': 'completed',
    'privacy.request_rejected': 'rejected',
    'privacy.request_withdrawn': 'withdrawn',
    'privacy.request_erased': 'texts erased with the patient',
  },
  de: {
    'privacy.request_received': 'eingegangen',
    'privacy.request_assigned': 'zugewiesen',
    'privacy.request_extended': 'Frist verlängert',
    'privacy.request_noted': 'Vermerk hinzugefügt',
    'privacy.request_completed': 'erledigt',
    'privacy.request_rejected': 'abgelehnt',
    'privacy.request_withdrawn': 'zurückgezogen',
    'privacy.request_erased': 'Texte mit dem Patienten gelöscht',
  },
};
const actionText = (locale: Locale, action: string): string => (actionWords[locale] as Record<string, string>)[action] ?? action;

/** "due in 12 days" / "overdue by 3 days": whole days, as the deadline is counted in days. */
export function countdownText(locale: Locale, dueAt: number, now: number): string {
  const t = text[locale];
  const days = daysLeft(dueAt, now);
  if (days === 0) return t.dueToday;
  return (days > 0 ? t.dueIn : t.overdueBy).replace('{n}', String(Math.abs(days)));
}

export interface ClinicRequestPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly access: RecordAccess;
  readonly requests: PrivacyRequests;
  readonly rectifications: Rectifications;
  /** The tenant's accounts: who handled a request is shown by e-mail address, not by account id. */
  readonly accounts: Pick<Accounts, 'list'>;
  readonly now: () => number;
}

const base = (tenantId: string) => `/tenants/${tenantId}/console/requests/`;

/**
 * `/tenants/{t}/console/requests/` (`privacy:manage`): the queue of data subjects' requests with
 * countdowns, soonest due first; recording a request received by letter, e-mail or in person;
 * one request's page — its texts, its history, assign, extend, add a note, complete (with a note,
 * or the type's fulfilment), reject with a reason, and for a rectification the current and
 * proposed values side by side with "accept". Forms post and redirect (RFC 9110 §15.4.4, 303);
 * a refusal shows on the page it came from. Every act goes through the same service as the API.
 */
export function clinicRequestPages({ guard, realm, access, requests, rectifications, accounts, now }: ClinicRequestPagesDeps) {

  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<StaffCaller | undefined> {
    const caller = await guard.person(request, reply, realm);
    if (caller === undefined) return undefined;
    try {
      requireSection(caller, 'requests');
    } catch (error) {
      if (error instanceof AppError) throw await access.failed(pageAccessContext(request, caller), 'access.denied', '', error);
      throw error;
    }
    return caller;
  }
  const byOf = (request: FastifyRequest, caller: StaffCaller) => requestCallerOf(caller.principal, request.id, request.ip);
  const csrfField = (caller: StaffCaller) => html`<input type="hidden" name="csrf" value="${caller.me.csrf}">`;

  async function queuePage(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, options: { error?: string; status?: number } = {}): Promise<FastifyReply> {
    const t = text[caller.locale];
    const locale = caller.locale;
    const query = request.query as Record<string, unknown>;
    const state = isRequestState(query['state']) ? query['state'] : undefined;
    const all = query['show'] === 'all';
    const list = await requests.list(caller.me.realmId, byOf(request, caller), { ...(state === undefined ? {} : { state }), ...(all || state !== undefined ? {} : { open: true }) });
    const who = await namePeople(accounts, caller.me.realmId, locale);
    const at = now();
    const rows = list.map(
      (r) => html`<tr><td><a href="${base(caller.me.realmId)}${r.id}">${typeWords[locale][r.type]}</a></td><td>${r.subject}</td><td>${channelWords[locale][r.channel]}</td>
<td><time datetime="${new Date(r.receivedAt).toISOString()}">${formatDate(locale, r.receivedAt)}</time></td>
<td><time datetime="${new Date(r.dueAt).toISOString()}">${formatDate(locale, r.dueAt)}</time>${openStates.includes(r.state) ? html` <strong${r.dueAt < at ? html` class="danger"` : undefined}>(${countdownText(locale, r.dueAt, at)})</strong>` : undefined}</td>
<td>${stateWords[locale][r.state]}</td><td>${r.owner === undefined ? t.nobody : who(r.owner)}</td></tr>`,
    );
    const body = html`<p>${t.intro}</p>
<form method="get" action="${base(caller.me.realmId)}" class="inline"><label for="show">${t.show}</label> <select id="show" name="show"><option value="open"${all ? undefined : html` selected`}>${t.showOpen}</option><option value="all"${all ? html` selected` : undefined}>${t.showAll}</option></select> <button type="submit">${t.filter}</button></form>
${list.length === 0 ? html`<p role="status">${t.none}</p>` : html`<table><caption>${t.queue}</caption><thead><tr><th scope="col">${t.type}</th><th scope="col">${t.patient}</th><th scope="col">${t.channel}</th><th scope="col">${t.received}</th><th scope="col">${t.due}</th><th scope="col">${t.state}</th><th scope="col">${t.owner}</th></tr></thead><tbody>${rows}</tbody></table>`}
<section aria-labelledby="record-heading"><h2 id="record-heading">${t.record}</h2><p>${t.recordIntro}</p>
<form method="post" action="${base(caller.me.realmId)}">${csrfField(caller)}
${options.error === undefined ? undefined : html`<p class="alert" role="alert" id="record-error">${options.error}</p>`}
<label for="subject">${t.patient}</label><input type="text" id="subject" name="subject" required aria-describedby="subject-hint" maxlength="80"><p class="hint" id="subject-hint">${t.patientHint}</p>
<label for="type">${t.type}</label><select id="type" name="type">${requestTypes.map((type) => html`<option value="${type}">${typeWords[locale][type]}</option>`)}</select>
<label for="channel">${t.channel}</label><select id="channel" name="channel">${requestChannels.filter((c) => c !== 'portal').map((c) => html`<option value="${c}">${channelWords[locale][c]}</option>`)}</select>
<label for="received-on">${t.receivedOn}</label><input type="text" id="received-on" name="receivedAt" maxlength="10" aria-describedby="received-on-hint"><p class="hint" id="received-on-hint">${t.receivedOnHint}</p>
<label for="verification">${t.verification}</label><textarea id="verification" name="verification" rows="2" required minlength="10" maxlength="4000" aria-describedby="verification-hint"></textarea><p class="hint" id="verification-hint">${t.verificationHint}</p>
<label for="text">${t.text}</label><textarea id="text" name="text" rows="3" maxlength="4000"></textarea>
<button type="submit" class="primary">${t.submit}</button></form></section>`;
    return sendClinicPage(request, reply, caller, { section: 'requests', title: t.title, body, ...(options.status === undefined ? {} : { status: options.status }) });
  }

  async function requestPage(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, id: string, options: { error?: string; status?: number; notice?: string } = {}): Promise<FastifyReply> {
    const t = text[caller.locale];
    const locale = caller.locale;
    const by = byOf(request, caller);
    const detail = await requests.get(caller.me.realmId, by, id);
    const who = await namePeople(accounts, caller.me.realmId, locale);
    const comparison = detail.type === 'rectification' ? await rectifications.compare(pageAccessContext(request, caller), by, id) : undefined;
    const open = openStates.includes(detail.state);
    const at = now();
    const texts = detail.texts;
    const action = (path: string) => `${base(caller.me.realmId)}${id}/${path}`;
    const form = (path: string, label: string, inner: Html | undefined, primary = false) =>
      html`<form method="post" action="${action(path)}">${csrfField(caller)}${inner}<button type="submit"${primary ? html` class="primary"` : undefined}>${label}</button></form>`;
    const facts = html`<dl class="facts"><dt>${t.type}</dt><dd>${typeWords[locale][detail.type]}</dd><dt>${t.patient}</dt><dd>${detail.subject}</dd>
<dt>${t.channel}</dt><dd>${channelWords[locale][detail.channel]}</dd><dt>${t.received}</dt><dd>${formatDateTime(locale, detail.receivedAt)}</dd>
<dt>${t.due}</dt><dd>${formatDate(locale, detail.dueAt)}${open ? html` <strong>(${countdownText(locale, detail.dueAt, at)})</strong>` : undefined}</dd>
<dt>${t.state}</dt><dd>${stateWords[locale][detail.state]}</dd><dt>${t.owner}</dt><dd>${detail.owner === undefined ? t.nobody : who(detail.owner)}</dd></dl>`;
    const written =
      texts === undefined
        ? html`<p>${t.erased}</p>`
        : html`<dl class="facts">${texts.text === undefined ? undefined : html`<dt>${t.asked}</dt><dd class="prewrap">${texts.text}</dd>`}
${texts.verification === undefined ? undefined : html`<dt>${t.verified}</dt><dd class="prewrap">${texts.verification}</dd>`}
${texts.extensionReason === undefined ? undefined : html`<dt>${t.extension}</dt><dd class="prewrap">${texts.extensionReason}</dd>`}
${texts.outcome === undefined ? undefined : html`<dt>${t.outcome}</dt><dd class="prewrap">${texts.outcome}</dd>`}
${texts.link === undefined ? undefined : html`<dt>${t.link}</dt><dd><a href="${texts.link}">${texts.link}</a></dd>`}
${texts.notes === undefined ? undefined : html`<dt>${t.notes}</dt><dd><ul>${texts.notes.map((n) => html`<li>${formatDateTime(locale, n.at)} — ${who(n.by)}: <span class="prewrap">${n.text}</span></li>`)}</ul></dd>`}</dl>`;
    const proposal =
      comparison === undefined || Object.keys(comparison.proposed).length === 0
        ? undefined
        : html`<section aria-labelledby="proposal-heading"><h2 id="proposal-heading">${t.proposal}</h2><table aria-labelledby="proposal-heading"><thead><tr><th scope="col">${t.element}</th><th scope="col">${t.current}</th><th scope="col">${t.proposed}</th></tr></thead><tbody>
${rectifiableElements.filter((e) => e in comparison.proposed).map((e) => html`<tr><th scope="row">${e}</th><td>${comparison.current === undefined ? t.unreadable : elementText(comparison.current[e])}</td><td>${elementText(comparison.current === undefined ? comparison.proposed[e] : mergedElement(e, comparison.current[e], comparison.proposed[e]))}</td></tr>`)}
</tbody></table>
${open ? form('accept', t.accept, html`<label for="accept-note">${t.note}</label><textarea id="accept-note" name="note" rows="2" required maxlength="4000" aria-describedby="accept-hint"></textarea><p class="hint" id="accept-hint">${t.acceptHint}</p>`, true) : undefined}</section>`;
    const acts = open
      ? html`<section aria-labelledby="acts-heading"><h2 id="acts-heading">${t.handle}</h2>
${detail.owner === by.accountId ? undefined : form('assign', t.assignMe, undefined)}
<h3>${t.complete}</h3>${requests.fulfils(detail.type) ? form('fulfil', t.fulfil, undefined, true) : undefined}
${form('complete', t.complete, html`<label for="complete-note">${t.note}</label><textarea id="complete-note" name="note" rows="2" required maxlength="4000"></textarea>`)}
<h3>${t.reject}</h3>${form('reject', t.reject, html`<label for="reject-reason">${t.reason}</label><textarea id="reject-reason" name="reason" rows="2" required minlength="10" maxlength="4000" aria-describedby="reject-hint"></textarea><p class="hint" id="reject-hint">${t.rejectHint}</p>`)}
${detail.extendedAt === undefined && at <= detail.dueAt ? html`<h3>${t.extend}</h3>${form('extend', t.extend, html`<label for="extend-months">${t.months}</label><select id="extend-months" name="months"><option value="1">${t.one}</option><option value="2">${t.two}</option></select><label for="extend-reason">${t.reason}</label><textarea id="extend-reason" name="reason" rows="2" required minlength="10" maxlength="4000" aria-describedby="extend-hint"></textarea><p class="hint" id="extend-hint">${t.reasonHint}</p>`)}` : undefined}
<h3>${t.addNote}</h3>${form('notes', t.addNote, html`<label for="note-text">${t.notes}</label><textarea id="note-text" name="text" rows="2" required maxlength="4000"></textarea>`)}</section>`
      : html`<p role="status">${t.closed}</p>`;
    const history = html`<section aria-labelledby="history-heading"><h2 id="history-heading">${t.history}</h2><table aria-labelledby="history-heading"><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.who}</th><th scope="col">${t.what}</th><th scope="col">${t.state}</th></tr></thead><tbody>
${detail.history.map((h) => html`<tr><td>${formatDateTime(locale, h.at)}</td><td>${who(h.by)}</td><td>${actionText(locale, h.action)}</td><td>${stateWords[locale][h.state]}</td></tr>`)}</tbody></table></section>`;
    const body = html`<p><a href="${base(caller.me.realmId)}">${t.back}</a></p>${options.error === undefined ? undefined : html`<p class="alert" role="alert">${options.error}</p>`}${facts}${written}${proposal}${acts}${history}`;
    return sendClinicPage(request, reply, caller, { section: 'requests', title: `${typeWords[locale][detail.type]} — ${detail.subject}`, body, ...(options.notice === undefined ? {} : { notice: options.notice }), ...(options.status === undefined ? {} : { status: options.status }) });
  }

  /** A form of one request: the act, then Post/Redirect/Get; a refusal (4xx but 404) shows on the request's page. */
  function act(app: FastifyInstance, path: string, work: (request: FastifyRequest, caller: StaffCaller, id: string, form: Record<string, unknown>) => Promise<PrivacyRequest>): void {
    app.post(`/tenants/:tenant/console/requests/:id/${path}`, async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      const { id } = request.params as { id: string };
      try {
        await work(request, caller, id, (request.body ?? {}) as Record<string, unknown>);
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500 || error.status === 404 || error.status === 403) throw error;
        return requestPage(request, reply, caller, id, { error: error.message, status: error.status });
      }
      return seeOther(reply, `${base(caller.me.realmId)}${id}?changed=1`);
    });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/requests/', async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      return queuePage(request, reply, caller);
    });

    app.post('/tenants/:tenant/console/requests/', async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      const form = (request.body ?? {}) as Record<string, unknown>;
      const subject = typeof form['subject'] === 'string' ? form['subject'].trim() : '';
      let created: PrivacyRequest;
      try {
        created = await requests.open(caller.me.realmId, byOf(request, caller), {
          type: form['type'],
          subject: subject.startsWith('Patient/') ? subject : `Patient/${subject}`,
          channel: form['channel'],
          verification: form['verification'],
          text: form['text'],
          receivedAt: form['receivedAt'],
        });
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500 || error.status === 403) throw error;
        return queuePage(request, reply, caller, { error: error.message, status: error.status });
      }
      return seeOther(reply, `${base(caller.me.realmId)}${created.id}`);
    });

    app.get('/tenants/:tenant/console/requests/:id', async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      const changed = (request.query as Record<string, unknown>)['changed'] === '1';
      return requestPage(request, reply, caller, (request.params as { id: string }).id, changed ? { notice: text[caller.locale].changed } : {});
    });

    act(app, 'assign', (request, caller, id) => requests.assign(caller.me.realmId, byOf(request, caller), id, caller.principal.id));
    act(app, 'extend', (request, caller, id, form) => requests.extend(caller.me.realmId, byOf(request, caller), id, { months: form['months'], reason: form['reason'] }));
    act(app, 'notes', (request, caller, id, form) => requests.note(caller.me.realmId, byOf(request, caller), id, form['text']));
    act(app, 'complete', (request, caller, id, form) => requests.complete(caller.me.realmId, id, { by: byOf(request, caller), note: form['note'] }));
    act(app, 'fulfil', (request, caller, id) => requests.fulfil(caller.me.realmId, byOf(request, caller), id));
    act(app, 'reject', (request, caller, id, form) => requests.reject(caller.me.realmId, id, { by: byOf(request, caller), reason: form['reason'] }));
    act(app, 'accept', (request, caller, id, form) => rectifications.accept(pageAccessContext(request, caller), byOf(request, caller), id, form['note']));
  };
}

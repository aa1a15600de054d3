import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';
import { formatDate, formatDateTime, html, seeOther, type Texts } from '../../platform/pages/index.js';
import { changesFromForm, elementText, openStates, rectifiableElements, requestCallerOf, requestTypes, type PrivacyRequests, type RequestType } from '../../privacy/index.js';
import { countdownText, stateWords } from '../clinic/privacy-requests.js';
import type { StaffCaller } from '../page-guard.js';
import { portalCaller, portalPath, sendPortalPage, type PortalDeps } from './portal-page.js';

type Key =
  | 'intro' | 'ask' | 'askIntro' | 'which' | 'text' | 'textHint' | 'correct' | 'correctIntro' | 'family' | 'given' | 'phone' | 'email' | 'line' | 'city' | 'postalCode' | 'country'
  | 'birthDate' | 'birthHint' | 'gender' | 'unchanged' | 'male' | 'female' | 'other' | 'unknown' | 'language' | 'send' | 'mine' | 'none' | 'what' | 'received' | 'due' | 'state'
  | 'withdraw' | 'sent' | 'withdrawn' | 'open' | 'back' | 'asked' | 'proposed' | 'extension' | 'answer' | 'reason' | 'complaint' | 'link';

const text: Texts<Key> = {
  en: {
    intro: 'You have rights over the data the clinic holds about you (GDPR Art. 15–21). Ask here; the clinic answers within one month, or tells you within that month why it needs up to two more.',
    ask: 'Make a request', askIntro: 'Choose what you ask for.', which: 'I would like', text: 'Anything you want to add (optional)', textHint: 'Up to 4000 characters. Only the clinic’s staff handling your request read it.',
    correct: 'If you ask for a correction: the correct values', correctIntro: 'Fill in only what is wrong; leave the rest empty. For other records, describe the correction above.',
    family: 'Family name', given: 'Given names', phone: 'Phone', email: 'E-mail', line: 'Street and number', city: 'City', postalCode: 'Postal code', country: 'Country',
    birthDate: 'Date of birth', birthHint: 'As YYYY-MM-DD, e.g. 1980-02-03.', gender: 'Gender', unchanged: 'unchanged', male: 'male', female: 'female', other: 'other', unknown: 'unknown', language: 'Preferred language (e.g. de, en)',
    send: 'Send the request', mine: 'Your requests', none: 'You have not made any requests.', what: 'Request', received: 'Received', due: 'Answer due', state: 'State',
    withdraw: 'Withdraw', sent: 'Your request was sent. The clinic answers within one month.', withdrawn: 'Your request was withdrawn.', open: 'Details', back: 'Your requests',
    asked: 'What you asked', proposed: 'Corrections you proposed', extension: 'Why the clinic needs more time', answer: 'The clinic’s answer', reason: 'Why the clinic refused',
    complaint: 'If you disagree, you may complain to a data protection supervisory authority (GDPR Art. 77) and seek a remedy in court (GDPR Art. 79).', link: 'Your download',
  },
  de: {
    intro: 'Sie haben Rechte an den Daten, die die Praxis über Sie speichert (Art. 15–21 DSGVO). Stellen Sie hier Ihre Anfrage; die Praxis antwortet innerhalb eines Monats oder teilt Ihnen in diesem Monat mit, warum sie bis zu zwei Monate länger braucht.',
    ask: 'Anfrage stellen', askIntro: 'Wählen Sie, was Sie möchten.', which: 'Ich möchte', text: 'Was Sie ergänzen möchten (optional)', textHint: 'Bis zu 4000 Zeichen. Nur die Mitarbeitenden, die Ihre Anfrage bearbeiten, lesen es.',
    correct: 'Wenn Sie eine Berichtigung möchten: die richtigen Angaben', correctIntro: 'Füllen Sie nur aus, was falsch ist; lassen Sie den Rest leer. Für andere Einträge beschreiben Sie die Berichtigung oben.',
    family: 'Nachname', given: 'Vornamen', phone: 'Telefon', email: 'E-Mail', line: 'Straße und Hausnummer', city: 'Ort', postalCode: 'Postleitzahl', country: 'Land',
    birthDate: 'Geburtsdatum', birthHint: 'Als JJJJ-MM-TT, z. B. 1980-02-03.', gender: 'Geschlecht', unchanged: 'unverändert', male: 'männlich', female: 'weiblich', other: 'divers', unknown: 'unbekannt', language: 'Bevorzugte Sprache (z. B. de, en)',
    send: 'Anfrage senden', mine: 'Ihre Anfragen', none: 'Sie haben noch keine Anfragen gestellt.', what: 'Anfrage', received: 'Eingegangen', due: 'Antwort fällig', state: 'Stand',
    withdraw: 'Zurückziehen', sent: 'Ihre Anfrage wurde gesendet. Die Praxis antwortet innerhalb eines Monats.', withdrawn: 'Ihre Anfrage wurde zurückgezogen.', open: 'Einzelheiten', back: 'Ihre Anfragen',
    asked: 'Was Sie gefragt haben', proposed: 'Ihre vorgeschlagenen Berichtigungen', extension: 'Warum die Praxis mehr Zeit braucht', answer: 'Die Antwort der Praxis', reason: 'Warum die Praxis abgelehnt hat',
    complaint: 'Wenn Sie nicht einverstanden sind, können Sie sich bei einer Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO) und gerichtlich dagegen vorgehen (Art. 79 DSGVO).', link: 'Ihr Download',
  },
};

/** The rights in plain words, as a patient chooses them. */
const plainTypes: Texts<RequestType> = {
  en: {
    access: 'to know what data you hold about me (access)',
    portability: 'a copy of my data to take to another provider (portability)',
    rectification: 'to have wrong data about me corrected (rectification)',
    erasure: 'to have my data deleted (erasure)',
    restriction: 'my data kept but no longer used, for now (restriction)',
    objection: 'to object to a use of my data (objection)',
  },
  de: {
    access: 'wissen, welche Daten Sie über mich speichern (Auskunft)',
    portability: 'eine Kopie meiner Daten zum Mitnehmen (Datenübertragbarkeit)',
    rectification: 'falsche Daten über mich berichtigen lassen (Berichtigung)',
    erasure: 'meine Daten löschen lassen (Löschung)',
    restriction: 'dass meine Daten vorerst nur aufbewahrt, nicht verwendet werden (Einschränkung)',
    objection: 'einer Verwendung meiner Daten widersprechen (Widerspruch)',
  },
};

/**
 * `/tenants/{t}/me/requests`: the patient asks (the right chosen in plain words, optional text,
 * and for a rectification the correct values of their own record as fields), sees their requests
 * with state and due date, opens one (the clinic's answer, an extension's reason, a refusal's
 * reason with the right to complain), and withdraws an open one. Forms post and redirect (303).
 */
export function portalRequestsPage({ guard, realm, requests, clock }: PortalDeps & { readonly requests: PrivacyRequests }) {
  const path = (tenantId: string) => portalPath(tenantId, 'requests');
  const byOf = (request: FastifyRequest, caller: StaffCaller) => requestCallerOf(caller.principal, request.id, request.ip);

  async function listPage(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, options: { notice?: string; error?: string; status?: number } = {}): Promise<FastifyReply> {
    const t = text[caller.locale];
    const locale = caller.locale;
    const tenantId = caller.me.realmId;
    const mine = await requests.list(tenantId, byOf(request, caller));
    const now = clock.now().getTime();
    const csrf = html`<input type="hidden" name="csrf" value="${caller.me.csrf}">`;
    // Phone numbers as text with a telephone keypad (inputmode): the stylesheet styles text fields.
    const field = (name: Key, type = 'text', hint?: Key) =>
      html`<label for="rect-${name}">${t[name]}</label><input type="${type === 'tel' ? 'text' : type}"${type === 'tel' ? html` inputmode="tel"` : undefined} id="rect-${name}" name="${name}" maxlength="200"${hint === undefined ? undefined : html` aria-describedby="rect-${name}-hint"`}>${hint === undefined ? undefined : html`<p class="hint" id="rect-${name}-hint">${t[hint]}</p>`}`;
    const body = html`${options.notice === undefined ? undefined : html`<p class="notice" role="status">${options.notice}</p>`}<p>${t.intro}</p>
<section aria-labelledby="mine-heading"><h2 id="mine-heading">${t.mine}</h2>
${mine.length === 0 ? html`<p>${t.none}</p>` : html`<table aria-labelledby="mine-heading"><thead><tr><th scope="col">${t.what}</th><th scope="col">${t.received}</th><th scope="col">${t.due}</th><th scope="col">${t.state}</th><th scope="col">${t.withdraw}</th></tr></thead><tbody>
${mine.map(
  (r) => html`<tr><td><a href="${path(tenantId)}/${r.id}">${plainTypes[locale][r.type]}</a></td><td>${formatDate(locale, r.receivedAt)}</td>
<td>${formatDate(locale, r.dueAt)}${openStates.includes(r.state) ? html` (${countdownText(locale, r.dueAt, now)})` : undefined}</td><td>${stateWords[locale][r.state]}</td>
<td>${openStates.includes(r.state) ? html`<form method="post" action="${path(tenantId)}/${r.id}/withdraw" class="inline">${csrf}<button type="submit" aria-label="${t.withdraw}: ${plainTypes[locale][r.type]}, ${formatDate(locale, r.receivedAt)}">${t.withdraw}</button></form>` : undefined}</td></tr>`,
)}</tbody></table>`}</section>
<section aria-labelledby="ask-heading"><h2 id="ask-heading">${t.ask}</h2>
<form method="post" action="${path(tenantId)}">${csrf}
${options.error === undefined ? undefined : html`<p class="alert" role="alert">${options.error}</p>`}
<fieldset><legend>${t.which}</legend>${requestTypes.map((type, i) => html`<label><input type="radio" name="type" value="${type}"${i === 0 ? html` required` : undefined}> ${plainTypes[locale][type]}</label>`)}</fieldset>
<label for="request-text">${t.text}</label><textarea id="request-text" name="text" rows="3" maxlength="4000" aria-describedby="request-text-hint"></textarea><p class="hint" id="request-text-hint">${t.textHint}</p>
<fieldset><legend>${t.correct}</legend><p class="hint">${t.correctIntro}</p>
${field('family')}${field('given')}${field('phone', 'tel')}${field('email', 'email')}${field('line')}${field('postalCode')}${field('city')}${field('country')}${field('birthDate', 'text', 'birthHint')}
<label for="rect-gender">${t.gender}</label><select id="rect-gender" name="gender"><option value="">${t.unchanged}</option><option value="female">${t.female}</option><option value="male">${t.male}</option><option value="other">${t.other}</option><option value="unknown">${t.unknown}</option></select>
${field('language')}</fieldset>
<button type="submit" class="primary">${t.send}</button></form></section>`;
    return sendPortalPage(request, reply, caller, { section: 'requests', body, ...(options.status === undefined ? {} : { status: options.status }) });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/me/requests', async (request, reply) => {
      const me = await portalCaller(guard, realm, request, reply, 'requests');
      if (me === undefined) return reply;
      const query = request.query as Record<string, unknown>;
      const t = text[me.caller.locale];
      const notice = query['sent'] === '1' ? t.sent : query['withdrawn'] === '1' ? t.withdrawn : undefined;
      return listPage(request, reply, me.caller, notice === undefined ? {} : { notice });
    });

    app.post('/tenants/:tenant/me/requests', async (request, reply) => {
      const me = await portalCaller(guard, realm, request, reply, 'requests');
      if (me === undefined) return reply;
      const form = (request.body ?? {}) as Record<string, unknown>;
      try {
        const changes = form['type'] === 'rectification' ? changesFromForm(form) : undefined;
        await requests.open(me.caller.me.realmId, byOf(request, me.caller), { type: form['type'], text: form['text'], ...(changes === undefined || Object.keys(changes).length === 0 ? {} : { changes }) });
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500 || error.status === 403) throw error;
        return listPage(request, reply, me.caller, { error: error.message, status: error.status });
      }
      return seeOther(reply, `${path(me.caller.me.realmId)}?sent=1`);
    });

    app.get('/tenants/:tenant/me/requests/:id', async (request, reply) => {
      const me = await portalCaller(guard, realm, request, reply, 'requests');
      if (me === undefined) return reply;
      const t = text[me.caller.locale];
      const locale = me.caller.locale;
      const r = await requests.get(me.caller.me.realmId, byOf(request, me.caller), (request.params as { id: string }).id);
      const texts = r.texts ?? {};
      const proposed = texts.changes === undefined ? [] : rectifiableElements.filter((e) => texts.changes !== undefined && e in texts.changes);
      const body = html`<p><a href="${path(me.caller.me.realmId)}">${t.back}</a></p><h2>${plainTypes[locale][r.type]}</h2>
<dl class="facts"><dt>${t.received}</dt><dd>${formatDateTime(locale, r.receivedAt)}</dd><dt>${t.due}</dt><dd>${formatDate(locale, r.dueAt)}</dd><dt>${t.state}</dt><dd>${stateWords[locale][r.state]}</dd>
${texts.text === undefined ? undefined : html`<dt>${t.asked}</dt><dd class="prewrap">${texts.text}</dd>`}
${proposed.length === 0 ? undefined : html`<dt>${t.proposed}</dt><dd><ul>${proposed.map((e) => html`<li>${e}: ${elementText(texts.changes?.[e])}</li>`)}</ul></dd>`}
${texts.extensionReason === undefined ? undefined : html`<dt>${t.extension}</dt><dd class="prewrap">${texts.extensionReason}</dd>`}
${texts.outcome === undefined ? undefined : html`<dt>${r.state === 'rejected' ? t.reason : t.answer}</dt><dd class="prewrap">${texts.outcome}</dd>`}
${texts.link === undefined ? undefined : html`<dt>${t.link}</dt><dd><a href="${texts.link}">${t.link}</a></dd>`}</dl>
${r.state === 'rejected' ? html`<p>${t.complaint}</p>` : undefined}`;
      return sendPortalPage(request, reply, me.caller, { section: 'requests', body });
    });

    app.post('/tenants/:tenant/me/requests/:id/withdraw', async (request, reply) => {
      const me = await portalCaller(guard, realm, request, reply, 'requests');
      if (me === undefined) return reply;
      try {
        await requests.withdraw(me.caller.me.realmId, byOf(request, me.caller), (request.params as { id: string }).id);
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500 || error.status === 403 || error.status === 404) throw error;
        return listPage(request, reply, me.caller, { error: error.message, status: error.status });
      }
      return seeOther(reply, `${path(me.caller.me.realmId)}?withdrawn=1`);
    });
  };
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../../audit/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDate, formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { privacyEvent, retentionClasses, type Erasures, type ErasureCheck, type Holds, type PrivacyCaller, type Retention, type RetentionSettings } from '../../privacy/index.js';
import { actorOf } from '../../records/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { csrfField, described, doneOf, formOf, lookOnly, mayChange } from './forms.js';
import { requireSection } from './section-access.js';

type Key =
  | 'title' | 'intro' | 'checkTitle' | 'patientId' | 'patientHint' | 'check' | 'erasable' | 'notErasable' | 'holdBy' | 'duty' | 'eraseTitle' | 'eraseWarning' | 'reason' | 'reasonHint'
  | 'requestId' | 'confirm' | 'confirmHint' | 'erase' | 'confirmMismatch' | 'holdsTitle' | 'noHolds' | 'subject' | 'since' | 'until' | 'actions' | 'release' | 'releaseReason'
  | 'setHold' | 'untilHint' | 'erasuresTitle' | 'noErasures' | 'when' | 'approvedBy' | 'counts' | 'tombstone' | 'retentionTitle' | 'retentionIntro' | 'medicalRecords'
  | 'noLimit' | 'years' | 'expiringTitle' | 'noExpiring' | 'lastActivity' | 'expires' | 'wholeAt' | 'held' | 'runNow' | 'lastRuns' | 'noRuns' | 'ranAt' | 'report'
  | 'erased' | 'holdSet' | 'holdReleased' | 'ran' | 'personal' | 'health' | 'payment';

const text: Texts<Key> = {
  en: {
    title: 'Erasure & retention', intro: 'Erasing a patient (GDPR Art. 17) destroys their key: every record, their account, their connected apps and pending requests go, also from restored backups. A legal hold or the duty to keep medical records stops it.',
    checkTitle: 'Check a patient', patientId: 'Patient id', patientHint: 'The id of the Patient record, as in Patient/<id>.', check: 'Check',
    erasable: 'Nothing stands in the way of erasing this patient.', notErasable: 'This patient cannot be erased now:', holdBy: 'Legal hold', duty: 'Medical records must be kept until',
    eraseTitle: 'Erase this patient', eraseWarning: 'This cannot be undone. The patient receives a confirmation by e-mail; the erasure record keeps no name or address.', reason: 'Reason', reasonHint: 'The ground and how the request was verified; no names (it is kept).',
    requestId: 'Request id (optional)', confirm: 'Type the patient id to confirm', confirmHint: 'Exactly the id above.', erase: 'Erase patient', confirmMismatch: 'The typed id does not match the patient: nothing was erased.',
    holdsTitle: 'Legal holds', noHolds: 'No legal hold is in force.', subject: 'Patient', since: 'Since', until: 'Until', actions: 'Actions', release: 'Release', releaseReason: 'Why released',
    setHold: 'Set a legal hold', untilHint: 'Optional: the day it ends (YYYY-MM-DD).',
    erasuresTitle: 'Erasure records', noErasures: 'No patient was erased yet.', when: 'When', approvedBy: 'Approved by', counts: 'Erased', tombstone: 'Backups',
    retentionTitle: 'Retention by class', retentionIntro: 'How long records are kept after the patient’s last activity; a daily job erases what expired (a patient on legal hold is kept and reported).', medicalRecords: 'Duty to keep medical records after the last treatment',
    noLimit: 'no limit', years: 'years', expiringTitle: 'Expiring in the next 90 days', noExpiring: 'Nothing expires in the next 90 days.', lastActivity: 'Last activity', expires: 'Expires', wholeAt: 'Patient erased', held: 'on hold',
    runNow: 'Run retention now', lastRuns: 'Last runs', noRuns: 'No run yet.', ranAt: 'Run', report: 'Report',
    erased: 'The patient was erased.', holdSet: 'The legal hold was set.', holdReleased: 'The legal hold was released.', ran: 'Retention ran; its report is below.',
    personal: 'Personal data', health: 'Health records', payment: 'Payment records',
  },
  de: {
    title: 'Löschung & Aufbewahrung', intro: 'Das Löschen eines Patienten (Art. 17 DSGVO) vernichtet seinen Schlüssel: alle Akten, sein Zugang, verbundene Apps und offene Anträge verschwinden, auch aus wiederhergestellten Sicherungen. Eine Sperre (Legal Hold) oder die Aufbewahrungspflicht für Patientenakten verhindert es.',
    checkTitle: 'Patienten prüfen', patientId: 'Patienten-ID', patientHint: 'Die ID der Patient-Akte, wie in Patient/<id>.', check: 'Prüfen',
    erasable: 'Der Löschung dieses Patienten steht nichts entgegen.', notErasable: 'Dieser Patient kann jetzt nicht gelöscht werden:', holdBy: 'Sperre', duty: 'Die Patientenakte ist aufzubewahren bis',
    eraseTitle: 'Diesen Patienten löschen', eraseWarning: 'Das lässt sich nicht rückgängig machen. Der Patient erhält eine Bestätigung per E-Mail; der Löschnachweis enthält weder Name noch Adresse.', reason: 'Begründung', reasonHint: 'Rechtsgrund und wie der Antrag geprüft wurde; keine Namen (sie wird aufbewahrt).',
    requestId: 'Antrags-ID (optional)', confirm: 'Zur Bestätigung die Patienten-ID eingeben', confirmHint: 'Genau die ID oben.', erase: 'Patient löschen', confirmMismatch: 'Die eingegebene ID passt nicht zum Patienten: Es wurde nichts gelöscht.',
    holdsTitle: 'Sperren (Legal Hold)', noHolds: 'Keine Sperre in Kraft.', subject: 'Patient', since: 'Seit', until: 'Bis', actions: 'Aktionen', release: 'Aufheben', releaseReason: 'Grund der Aufhebung',
    setHold: 'Sperre setzen', untilHint: 'Optional: der letzte Tag (JJJJ-MM-TT).',
    erasuresTitle: 'Löschnachweise', noErasures: 'Noch kein Patient gelöscht.', when: 'Wann', approvedBy: 'Freigegeben von', counts: 'Gelöscht', tombstone: 'Sicherungen',
    retentionTitle: 'Aufbewahrung nach Datenklasse', retentionIntro: 'Wie lange Akten nach der letzten Aktivität des Patienten aufbewahrt werden; ein täglicher Lauf löscht, was abgelaufen ist (gesperrte Patienten bleiben und werden gemeldet).', medicalRecords: 'Aufbewahrungspflicht der Patientenakte nach der letzten Behandlung',
    noLimit: 'unbegrenzt', years: 'Jahre', expiringTitle: 'Läuft in den nächsten 90 Tagen ab', noExpiring: 'In den nächsten 90 Tagen läuft nichts ab.', lastActivity: 'Letzte Aktivität', expires: 'Läuft ab', wholeAt: 'Patient gelöscht', held: 'gesperrt',
    runNow: 'Aufbewahrung jetzt prüfen', lastRuns: 'Letzte Läufe', noRuns: 'Noch kein Lauf.', ranAt: 'Lauf', report: 'Bericht',
    erased: 'Der Patient wurde gelöscht.', holdSet: 'Die Sperre wurde gesetzt.', holdReleased: 'Die Sperre wurde aufgehoben.', ran: 'Die Aufbewahrung wurde geprüft; der Bericht steht unten.',
    personal: 'Personendaten', health: 'Behandlungsdaten', payment: 'Abrechnungsdaten',
  },
};

export interface ErasurePagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly audit: Audit;
  readonly erasures: Erasures;
  readonly holds: Holds;
  readonly retention: Retention;
  readonly settings: RetentionSettings;
}

const patientIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * `/tenants/{t}/console/erasure/` (`privacy:erase`): a patient's erasure check with its reasons
 * and the erase form (confirmed by typing the id), legal holds, the erasure records, the retention
 * periods, what expires in the next 90 days and the last retention runs — the same services as
 * `/tenants/{t}/privacy/…`. Changes need two factors; each form answers Post/Redirect/Get.
 */
export function erasurePages({ guard, realm, audit, erasures, holds, retention, settings }: ErasurePagesDeps) {
  const base = (caller: StaffCaller) => `/tenants/${caller.me.realmId}/console/erasure/`;
  const by = (request: FastifyRequest, caller: StaffCaller): PrivacyCaller => ({ actor: actorOf(caller.principal), requestId: request.id, sourceIp: request.ip });

  function checkSection(caller: StaffCaller, patientId: string | undefined, found: ErasureCheck | undefined, error?: string): Html {
    const t = text[caller.locale];
    const locale = caller.locale;
    const form = html`<form method="get" action="${base(caller)}">
<label for="patient">${t.patientId}</label>
<input type="text" id="patient" name="patient" required value="${patientId ?? ''}" aria-describedby="patient-hint">
<p class="hint" id="patient-hint">${t.patientHint}</p>
<div class="actions"><button type="submit">${t.check}</button></div>
</form>`;
    if (found === undefined || patientId === undefined) return html`<h2>${t.checkTitle}</h2>${form}`;
    const reasons = html`<ul>${found.holds.map((h) => html`<li>${t.holdBy} (${formatDate(locale, h.setAt)}${h.endsAt === undefined ? '' : ` – ${formatDate(locale, h.endsAt)}`}): ${h.reason}</li>`)}${found.duty === undefined ? undefined : html`<li>${t.duty} <time datetime="${found.duty.endsAt}">${formatDate(locale, found.duty.endsAt)}</time> (${found.duty.basis})</li>`}</ul>`;
    const result = found.erasable ? html`<p role="status">${t.erasable}</p>` : html`<div role="status"><p>${t.notErasable}</p>${reasons}</div>`;
    const eraseForm = !found.erasable
      ? undefined
      : mayChange(caller)
        ? html`<h3>${t.eraseTitle}</h3><p>${t.eraseWarning}</p>
<form method="post" action="${base(caller)}erase" novalidate>
${csrfField(caller.me.csrf)}<input type="hidden" name="patient" value="${patientId}">
<label for="reason">${t.reason}</label>
<textarea id="reason" name="reason" rows="2" required maxlength="500" aria-describedby="reason-hint"></textarea>
<p class="hint" id="reason-hint">${t.reasonHint}</p>
<label for="request">${t.requestId}</label>
<input type="text" id="request" name="requestId" maxlength="100">
<label for="confirm">${t.confirm}</label>
<input type="text" id="confirm" name="confirm" required autocomplete="off" aria-describedby="confirm-hint"${described(error)}>
<p class="hint" id="confirm-hint">${t.confirmHint}</p>
<div class="actions"><button type="submit" class="danger">${t.erase}</button></div>
</form>`
        : lookOnly(caller);
    return html`<h2>${t.checkTitle}</h2>${form}<h3>Patient/${patientId}</h3>${result}${eraseForm}`;
  }

  async function page(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, options: { patient?: string; error?: string; status?: number; notice?: string } = {}): Promise<FastifyReply> {
    const t = text[caller.locale];
    const locale: Locale = caller.locale;
    const tenantId = caller.me.realmId;
    const patientId = options.patient !== undefined && patientIdPattern.test(options.patient) ? options.patient : undefined;
    const found = patientId === undefined ? undefined : await erasures.check(tenantId, `Patient/${patientId}`);
    const [inForce, records, periods, expiring, runs] = await Promise.all([holds.list(tenantId, { active: true }), erasures.list(tenantId, 50), settings.of(tenantId), retention.preview(tenantId, { withinDays: 90 }), retention.reports(tenantId, 5)]);
    const change = mayChange(caller);
    const yearsText = (y: number | null) => (y === null ? t.noLimit : `${y} ${t.years}`);
    const holdsSection = html`<h2>${t.holdsTitle}</h2>
${inForce.length === 0 ? html`<p>${t.noHolds}</p>` : html`<table><caption>${t.holdsTitle}</caption><thead><tr><th scope="col">${t.subject}</th><th scope="col">${t.reason}</th><th scope="col">${t.since}</th><th scope="col">${t.until}</th>${change ? html`<th scope="col">${t.actions}</th>` : undefined}</tr></thead><tbody>${inForce.map(
      (h) => html`<tr><th scope="row">${h.subject}</th><td>${h.reason}</td><td>${formatDate(locale, h.setAt)}</td><td>${h.endsAt === undefined ? '—' : formatDate(locale, h.endsAt)}</td>${
        change
          ? html`<td><form method="post" action="${base(caller)}holds/${h.id}/release" class="inline">${csrfField(caller.me.csrf)}<label for="release-${h.id}">${t.releaseReason}</label> <input type="text" id="release-${h.id}" name="reason" required maxlength="500"> <button type="submit">${t.release}</button></form></td>`
          : undefined
      }</tr>`,
    )}</tbody></table>`}
${change ? html`<h3>${t.setHold}</h3><form method="post" action="${base(caller)}holds" novalidate>${csrfField(caller.me.csrf)}
<label for="hold-patient">${t.patientId}</label><input type="text" id="hold-patient" name="patient" required>
<label for="hold-reason">${t.reason}</label><textarea id="hold-reason" name="reason" rows="2" required maxlength="500"></textarea>
<label for="hold-until">${t.until}</label><input id="hold-until" name="until" type="date" aria-describedby="hold-until-hint"><p class="hint" id="hold-until-hint">${t.untilHint}</p>
<div class="actions"><button type="submit">${t.setHold}</button></div></form>` : undefined}`;
    const erasureSection = html`<h2>${t.erasuresTitle}</h2>
${records.length === 0 ? html`<p>${t.noErasures}</p>` : html`<table><caption>${t.erasuresTitle}</caption><thead><tr><th scope="col">${t.subject}</th><th scope="col">${t.when}</th><th scope="col">${t.approvedBy}</th><th scope="col">${t.counts}</th><th scope="col">${t.tombstone}</th></tr></thead><tbody>${records.map(
      (e) => html`<tr><th scope="row">${e.subject}</th><td>${formatDateTime(locale, e.erasedAt)}</td><td>${e.approvedBy} (${e.source})</td><td>${e.counts.records} / ${e.counts.keyVersions} keys / ${e.counts.accounts} accounts</td><td>${e.tombstone}</td></tr>`,
    )}</tbody></table>`}`;
    const retentionSection = html`<h2>${t.retentionTitle}</h2><p>${t.retentionIntro}</p>
<dl class="facts"><dt>${t.medicalRecords}</dt><dd>${yearsText(periods.medicalRecordsYears)}</dd>${retentionClasses.map((c) => html`<dt>${t[c]}</dt><dd>${yearsText(periods.years[c])}</dd>`)}</dl>
<h3>${t.expiringTitle}</h3>
${expiring.length === 0 ? html`<p>${t.noExpiring}</p>` : html`<table><caption>${t.expiringTitle}</caption><thead><tr><th scope="col">${t.subject}</th><th scope="col">${t.lastActivity}</th><th scope="col">${t.expires}</th><th scope="col">${t.wholeAt}</th></tr></thead><tbody>${expiring.map(
      (s) => html`<tr><th scope="row">${s.subject}${s.held ? html` <span class="hint">(${t.held})</span>` : undefined}</th><td>${formatDate(locale, s.lastActivity)}</td><td>${s.classes.map((c) => `${t[c.class]} (${c.records}): ${formatDate(locale, c.expiresAt)}`).join('; ')}</td><td>${s.erasedWholeAt === undefined ? '—' : formatDate(locale, s.erasedWholeAt)}</td></tr>`,
    )}</tbody></table>`}
${change ? html`<form method="post" action="${base(caller)}retention/run">${csrfField(caller.me.csrf)}<div class="actions"><button type="submit">${t.runNow}</button></div></form>` : undefined}
<h3>${t.lastRuns}</h3>
${runs.length === 0 ? html`<p>${t.noRuns}</p>` : html`<ul>${runs.map((r) => html`<li>${formatDateTime(locale, r.ranAt)} (${r.by}): ${String(r.subjectsErased)} patients erased; ${retentionClasses.map((c) => `${t[c]} ${r.recordsErased[c]}`).join(', ')}; ${String(r.held.length)} ${t.held}; ${String(r.failures.length)} failed</li>`)}</ul>`}`;
    const body = html`<p>${t.intro}</p>${options.error === undefined ? undefined : html`<p class="alert" role="alert" id="page-error">${options.error}</p>`}${checkSection(caller, patientId, found, options.error)}${holdsSection}${erasureSection}${retentionSection}`;
    return sendClinicPage(request, reply, caller, { section: 'erasure', title: t.title, body, ...(options.notice === undefined ? {} : { notice: options.notice }), ...(options.status === undefined ? {} : { status: options.status }) });
  }

  /** A form's act, then 303 to the page; a refusal of the service (4xx but 403) is shown on the page. */
  function form(app: FastifyInstance, url: string, work: (request: FastifyRequest, caller: StaffCaller, fields: Record<string, string>) => Promise<string>): void {
    app.post(url, async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'erasure');
      const fields = formOf(request);
      if (!mayChange(caller)) throw new AppError('forbidden', 'Changes need you signed in with a second factor.', { status: 403, expose: true });
      try {
        return seeOther(reply, `${base(caller)}?done=${await work(request, caller, fields)}`);
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500 || error.status === 403 || !error.expose) throw error;
        return page(request, reply, caller, { ...(fields['patient'] === undefined ? {} : { patient: fields['patient'] }), error: error.message, status: error.status });
      }
    });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/erasure/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'erasure');
      const t = text[caller.locale];
      const done = doneOf(request, ['erased', 'holdSet', 'holdReleased', 'ran'] as const);
      const patient = (request.query as Record<string, unknown>)['patient'];
      return page(request, reply, caller, { ...(typeof patient === 'string' ? { patient: patient.replace(/^Patient\//, '') } : {}), ...(done === undefined ? {} : { notice: t[done] }) });
    });

    form(app, '/tenants/:tenant/console/erasure/erase', async (request, caller, fields) => {
      const patient = fields['patient'] ?? '';
      if (!patientIdPattern.test(patient) || fields['confirm']?.trim().replace(/^Patient\//, '') !== patient) {
        await audit.record(caller.me.realmId, [privacyEvent(by(request, caller), 'privacy.erasure_refused', { subjects: patientIdPattern.test(patient) ? [`Patient/${patient}`] : [], outcome: 'failure', status: 400, detail: 'confirmation-mismatch' })]);
        throw new AppError('confirmation-mismatch', text[caller.locale].confirmMismatch, { status: 400 });
      }
      const requestId = fields['requestId']?.trim();
      await erasures.erase(caller.me.realmId, `Patient/${patient}`, { by: by(request, caller), reason: fields['reason'] ?? '', ...(requestId === undefined || requestId === '' ? {} : { requestId }), source: 'console' });
      return 'erased';
    });

    form(app, '/tenants/:tenant/console/erasure/holds', async (request, caller, fields) => {
      const until = fields['until']?.trim();
      const patient = (fields['patient'] ?? '').trim().replace(/^Patient\//, '');
      await holds.set(caller.me.realmId, { subject: `Patient/${patient}`, reason: fields['reason'] ?? '', ...(until === undefined || until === '' ? {} : { endsAt: `${until}T23:59:59Z` }) }, by(request, caller));
      return 'holdSet';
    });

    form(app, '/tenants/:tenant/console/erasure/holds/:id/release', async (request, caller, fields) => {
      await holds.release(caller.me.realmId, (request.params as { id: string }).id, fields['reason'] ?? '', by(request, caller));
      return 'holdReleased';
    });

    form(app, '/tenants/:tenant/console/erasure/retention/run', async (request, caller) => {
      await retention.run(caller.me.realmId, by(request, caller));
      return 'ran';
    });
  };
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasCapability, mayDo } from '../../identity/index.js';
import { formatDate, formatDateTime, formatNumber, html, timeSeriesChart, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { AppError } from '../../platform/errors.js';
import { breakGlassReason, type AccessContext, type RecordAccess } from '../../records/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { pageAccessContext } from '../page-access.js';
import { requireSection } from './section-access.js';

type Key =
  | 'title' | 'search' | 'name' | 'identifier' | 'birthdate' | 'find' | 'hintSearch' | 'results' | 'none' | 'more' | 'open' | 'gender'
  | 'patient' | 'demographics' | 'observations' | 'appointments' | 'consents' | 'when' | 'what' | 'value' | 'status' | 'description' | 'scope'
  | 'noObservations' | 'noAppointments' | 'noConsents' | 'notInCare' | 'breakGlass' | 'reason' | 'reasonHint' | 'open-emergency' | 'emergencyOn' | 'back' | 'address' | 'phone' | 'unnamed' | 'reasonInvalid';

/** The privacy action on the patient's page (console/clinic/data-download.ts). */
const dataDownloadLabel: Readonly<Record<Locale, string>> = { en: 'Prepare this patient’s data download', de: 'Datenexport für diese Person vorbereiten' };

const text: Texts<Key> = {
  en: {
    title: 'Patients', search: 'Find a patient', name: 'Name', identifier: 'Identifier (e.g. MRN)', birthdate: 'Date of birth', find: 'Search patients',
    hintSearch: 'Search by any of name, identifier or date of birth. You see the patients your role reaches; a clinician sees the patients in their care.',
    results: 'Patients found', none: 'No patient in your reach matches.', more: 'More patients match; narrow the search.', open: 'Open', gender: 'Gender',
    patient: 'Patient', demographics: 'Demographics', observations: 'Observations', appointments: 'Appointments', consents: 'Consents',
    when: 'When', what: 'What', value: 'Value', status: 'Status', description: 'Description', scope: 'Scope',
    noObservations: 'No observations.', noAppointments: 'No appointments.', noConsents: 'No consents.',
    notInCare: 'This patient is not in your care.', breakGlass: 'Emergency access (break the glass)',
    reason: 'Why do you need this record now?', reasonHint: '10–500 characters. The access and your reason are recorded and reviewed by an auditor.',
    'open-emergency': 'Open the record in an emergency', emergencyOn: 'Emergency access: this view is recorded with your reason and will be reviewed.',
    back: 'Back to the patient search', address: 'Address', phone: 'Phone', unnamed: '(no name)', reasonInvalid: 'State why you need the record, in 10–500 characters.',
  },
  de: {
    title: 'Patienten', search: 'Patient suchen', name: 'Name', identifier: 'Kennung (z. B. Patientennummer)', birthdate: 'Geburtsdatum', find: 'Patienten suchen',
    hintSearch: 'Suche nach Name, Kennung oder Geburtsdatum. Sie sehen die Patienten, die Ihre Rolle erreicht; Ärztinnen und Ärzte sehen die Patienten in ihrer Behandlung.',
    results: 'Gefundene Patienten', none: 'Kein Patient in Ihrer Reichweite passt.', more: 'Weitere Patienten passen; schränken Sie die Suche ein.', open: 'Öffnen', gender: 'Geschlecht',
    patient: 'Patient', demographics: 'Stammdaten', observations: 'Messwerte', appointments: 'Termine', consents: 'Einwilligungen',
    when: 'Wann', what: 'Was', value: 'Wert', status: 'Status', description: 'Beschreibung', scope: 'Bereich',
    noObservations: 'Keine Messwerte.', noAppointments: 'Keine Termine.', noConsents: 'Keine Einwilligungen.',
    notInCare: 'Dieser Patient ist nicht in Ihrer Behandlung.', breakGlass: 'Notfallzugriff',
    reason: 'Warum brauchen Sie diese Akte jetzt?', reasonHint: '10–500 Zeichen. Der Zugriff und Ihre Begründung werden protokolliert und von einer Prüferin oder einem Prüfer nachgesehen.',
    'open-emergency': 'Akte im Notfall öffnen', emergencyOn: 'Notfallzugriff: Diese Ansicht wird mit Ihrer Begründung protokolliert und geprüft.',
    back: 'Zurück zur Patientensuche', address: 'Adresse', phone: 'Telefon', unnamed: '(ohne Name)', reasonInvalid: 'Begründen Sie in 10–500 Zeichen, warum Sie die Akte brauchen.',
  },
};

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** "Given Family" of a FHIR HumanName list (the first name; `text` when given). */
export function nameOf(patient: Json): string | undefined {
  const name = obj(arr(patient['name'])[0]);
  const textual = str(name['text']);
  if (textual !== undefined) return textual;
  const parts = [...arr(name['given']).filter((g): g is string => typeof g === 'string'), str(name['family'])].filter((p): p is string => p !== undefined);
  return parts.length === 0 ? undefined : parts.join(' ');
}

const identifierOf = (patient: Json): string | undefined => {
  const id = obj(arr(patient['identifier'])[0]);
  return str(id['value']);
};

/** A CodeableConcept's words: its text, else the first coding's display, else its code. */
const conceptText = (concept: unknown): string => {
  const c = obj(concept);
  const coding = obj(arr(c['coding'])[0]);
  return str(c['text']) ?? str(coding['display']) ?? str(coding['code']) ?? '';
};
const conceptKey = (concept: unknown): string => {
  const coding = obj(arr(obj(concept)['coding'])[0]);
  return `${str(coding['system']) ?? ''}|${str(coding['code']) ?? conceptText(concept)}`;
};

interface Measurement {
  readonly key: string;
  readonly label: string;
  readonly at: Date | undefined;
  readonly value: number | undefined;
  readonly unit: string;
  readonly shown: string;
}

function measurementOf(observation: Json, locale: Locale): Measurement {
  const quantity = obj(observation['valueQuantity']);
  const value = typeof quantity['value'] === 'number' ? quantity['value'] : undefined;
  const unit = str(quantity['unit']) ?? str(quantity['code']) ?? '';
  const when = str(observation['effectiveDateTime']) ?? str(obj(observation['effectivePeriod'])['start']) ?? str(observation['issued']);
  const at = when === undefined || Number.isNaN(Date.parse(when)) ? undefined : new Date(when);
  const shown =
    value !== undefined ? `${formatNumber(locale, value)} ${unit}`.trim() : (str(observation['valueString']) ?? (observation['valueCodeableConcept'] === undefined ? '' : conceptText(observation['valueCodeableConcept'])));
  return { key: conceptKey(observation['code']), label: conceptText(observation['code']), at, value, unit, shown };
}

const hasAny = (query: Json) => ['name', 'identifier', 'birthdate'].some((k) => typeof query[k] === 'string' && (query[k] as string).trim() !== '');

function searchForm(t: (typeof text)['en'], action: string, query: Json): Html {
  const value = (k: string) => (typeof query[k] === 'string' ? (query[k] as string) : '');
  return html`<form method="get" action="${action}" role="search" aria-labelledby="search-heading">
<h2 id="search-heading">${t.search}</h2>
<p class="hint" id="search-hint">${t.hintSearch}</p>
<div class="filters">
<div><label for="name">${t.name}</label><input type="search" id="name" name="name" value="${value('name')}" autocomplete="off" aria-describedby="search-hint"></div>
<div><label for="identifier">${t.identifier}</label><input type="search" id="identifier" name="identifier" value="${value('identifier')}" autocomplete="off"></div>
<div><label for="birthdate">${t.birthdate}</label><input type="date" id="birthdate" name="birthdate" value="${value('birthdate')}"></div>
</div>
<button type="submit" class="primary">${t.find}</button>
</form>`;
}

export interface PatientPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly access: RecordAccess;
}

/**
 * `/tenants/{t}/console/patients/` (search) and `…/patients/{id}` (one patient): FHIR reads and
 * searches through the record access service as the signed-in person — the API's guard, reach
 * (care relationship), field classes and audit events. Break-the-glass is a POST with a reason.
 */
export function patientPages({ guard, realm, access }: PatientPagesDeps) {
  /** Runs an access; a refusal or failure is audited as the API audits it, then thrown. */
  async function audited<T>(ctx: AccessContext, action: 'record.read' | 'record.searched', ref: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof AppError) throw await access.failed(ctx, action, ref, error);
      throw error;
    }
  }

  async function patientView(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, id: string, emergencyReason?: string): Promise<FastifyReply> {
    const { locale, principal } = caller;
    const t = text[locale];
    const ctx = pageAccessContext(request, caller, emergencyReason);
    const base = `/tenants/${caller.me.realmId}/console/patients`;
    let patient: Json;
    try {
      patient = JSON.parse((await audited(ctx, 'record.read', `Patient/${id}`, () => access.read(ctx, 'Patient', id))).content) as Json;
    } catch (error) {
      // Outside the care relationship: the API's answer (403 not-in-care), with the way the API
      // offers — break-the-glass — only to a role that may use it (ASVS 5 V8.2.1, least privilege).
      if (error instanceof AppError && error.code === 'not-in-care' && hasCapability(principal.role, 'emergency:access')) {
        return sendClinicPage(request, reply, caller, { section: 'patients', title: t.patient, status: 403, body: breakGlassForm(caller, id) });
      }
      throw error;
    }
    const patientSearch = (type: 'Observation' | 'Appointment' | 'Consent', params: Array<[string, string]>) =>
      mayDo(principal.role, type, 'search') ? audited(ctx, 'record.searched', type, () => access.search(ctx, type, [['patient', id], ...params])).then((r) => r.matches.map((m) => JSON.parse(m.content) as Json)) : Promise.resolve(undefined);
    const observations = await patientSearch('Observation', [['_sort', '-date'], ['_count', '200']]);
    const appointments = await patientSearch('Appointment', [['_sort', '-date'], ['_count', '50']]);
    const consents = await patientSearch('Consent', [['_count', '50']]);
    const name = nameOf(patient) ?? t.unnamed;
    const body = html`${emergencyReason === undefined ? undefined : html`<p class="alert" role="status">${t.emergencyOn}</p>`}
<p><a href="${base}/">${t.back}</a>${hasCapability(caller.principal.role, 'privacy:manage') ? html` · <a href="${base}/${id}/data-download">${dataDownloadLabel[locale]}</a>` : undefined}</p>
${demographics(patient, locale)}
${observations === undefined ? undefined : observationSection(observations, locale)}
${appointments === undefined ? undefined : appointmentSection(appointments, locale)}
${consents === undefined ? undefined : consentSection(consents, locale)}`;
    return sendClinicPage(request, reply, caller, { section: 'patients', title: `${t.patient}: ${name}`, body });
  }

  function breakGlassForm(caller: StaffCaller, id: string, error?: string): Html {
    const t = text[caller.locale];
    const base = `/tenants/${caller.me.realmId}/console/patients`;
    return html`<p>${t.notInCare}</p>
<form method="post" action="${base}/${id}/break-glass" novalidate>
<fieldset><legend>${t.breakGlass}</legend>
<input type="hidden" name="csrf" value="${caller.me.csrf}">
<label for="reason">${t.reason}</label>
${error === undefined ? undefined : html`<p class="alert" role="alert" id="reason-error">${error}</p>`}
<textarea id="reason" name="reason" rows="3" required minlength="10" maxlength="500" aria-describedby="${error === undefined ? 'reason-hint' : 'reason-error reason-hint'}"${error === undefined ? undefined : html` aria-invalid="true"`}></textarea>
<p class="hint" id="reason-hint">${t.reasonHint}</p>
<button type="submit" class="danger">${t['open-emergency']}</button>
</fieldset>
</form>
<p><a href="${base}/">${t.back}</a></p>`;
  }

  function demographics(patient: Json, locale: Locale): Html {
    const t = text[locale];
    const birth = str(patient['birthDate']);
    const phone = arr(patient['telecom']).map(obj).find((c) => c['system'] === 'phone');
    const address = obj(arr(patient['address'])[0]);
    const addressText = str(address['text']) ?? [...arr(address['line']).filter((l): l is string => typeof l === 'string'), str(address['postalCode']), str(address['city'])].filter((p) => p !== undefined && p !== '').join(', ');
    const fact = (label: string, value: string | undefined) => (value === undefined || value === '' ? undefined : html`<dt>${label}</dt><dd>${value}</dd>`);
    return html`<section aria-labelledby="demographics"><h2 id="demographics">${t.demographics}</h2>
<dl class="facts">${fact(t.name, nameOf(patient))}${fact(t.identifier, identifierOf(patient))}${fact(t.birthdate, birth === undefined ? undefined : /^\d{4}-\d{2}-\d{2}$/.test(birth) ? formatDate(locale, `${birth}T00:00:00Z`) : birth)}${fact(t.gender, str(patient['gender']))}${fact(t.phone, str(phone?.['value']))}${fact(t.address, addressText)}</dl></section>`;
  }

  function observationSection(observations: Json[], locale: Locale): Html {
    const t = text[locale];
    const measured = observations.map((o) => measurementOf(o, locale));
    // One chart per code with numeric values over time, in its unit (the first unit seen).
    const series = new Map<string, { label: string; unit: string; points: Array<{ at: Date; value: number }> }>();
    for (const m of measured) {
      if (m.value === undefined || m.at === undefined) continue;
      const s = series.get(m.key) ?? { label: m.label, unit: m.unit, points: [] };
      if (s.unit === m.unit) s.points.push({ at: m.at, value: m.value });
      series.set(m.key, s);
    }
    const charts = [...series.values()]
      .filter((s) => s.points.length >= 2)
      .map((s, i) => timeSeriesChart({ locale, title: s.label, unit: s.unit, points: [...s.points].sort((a, b) => a.at.getTime() - b.at.getTime()), id: `chart-${i}` }));
    return html`<section aria-labelledby="observations"><h2 id="observations">${t.observations}</h2>
${measured.length === 0 ? html`<p>${t.noObservations}</p>` : html`${charts}
<table><caption>${t.observations}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.what}</th><th scope="col" class="num">${t.value}</th></tr></thead>
<tbody>${measured.map((m) => html`<tr><td>${m.at === undefined ? '' : formatDateTime(locale, m.at)}</td><th scope="row">${m.label}</th><td class="num">${m.shown}</td></tr>`)}</tbody></table>`}</section>`;
  }

  function appointmentSection(appointments: Json[], locale: Locale): Html {
    const t = text[locale];
    return html`<section aria-labelledby="appointments"><h2 id="appointments">${t.appointments}</h2>
${appointments.length === 0 ? html`<p>${t.noAppointments}</p>` : html`<table><caption>${t.appointments}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.description}</th><th scope="col">${t.status}</th></tr></thead>
<tbody>${appointments.map((a) => {
        const start = str(a['start']);
        return html`<tr><th scope="row">${start === undefined || Number.isNaN(Date.parse(start)) ? '' : formatDateTime(locale, start)}</th><td>${str(a['description']) ?? conceptText(arr(a['serviceType'])[0])}</td><td>${str(a['status']) ?? ''}</td></tr>`;
      })}</tbody></table>`}</section>`;
  }

  function consentSection(consents: Json[], locale: Locale): Html {
    const t = text[locale];
    return html`<section aria-labelledby="consents"><h2 id="consents">${t.consents}</h2>
${consents.length === 0 ? html`<p>${t.noConsents}</p>` : html`<table><caption>${t.consents}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.scope}</th><th scope="col">${t.status}</th></tr></thead>
<tbody>${consents.map((c) => {
        const when = str(c['dateTime']);
        return html`<tr><th scope="row">${when === undefined || Number.isNaN(Date.parse(when)) ? '' : formatDateTime(locale, when)}</th><td>${[conceptText(c['scope']), ...arr(c['category']).map(conceptText)].filter((s) => s !== '').join(' · ')}</td><td>${str(c['status']) ?? ''}</td></tr>`;
      })}</tbody></table>`}</section>`;
  }

  const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;
  const checkId = (id: string) => {
    if (!idPattern.test(id)) throw new AppError('id-invalid', 'Not a patient id.', { status: 404, expose: true });
  };

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/patients/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'patients');
      const t = text[caller.locale];
      const query = request.query as Json;
      const base = `/tenants/${caller.me.realmId}/console/patients`;
      let results: Html | undefined;
      if (hasAny(query)) {
        const params: Array<[string, string]> = [];
        for (const k of ['name', 'identifier', 'birthdate']) {
          const v = typeof query[k] === 'string' ? (query[k] as string).trim() : '';
          if (v !== '') params.push([k, v]);
        }
        params.push(['_count', '50']);
        const ctx = pageAccessContext(request, caller);
        const result = await audited(ctx, 'record.searched', 'Patient', () => access.search(ctx, 'Patient', params));
        const rows = result.matches.map((m) => ({ id: m.id, resource: JSON.parse(m.content) as Json }));
        results =
          rows.length === 0
            ? html`<p role="status">${t.none}</p>`
            : html`<table><caption>${t.results}</caption><thead><tr><th scope="col">${t.name}</th><th scope="col">${t.birthdate}</th><th scope="col">${t.identifier}</th><th scope="col">${t.gender}</th></tr></thead>
<tbody>${rows.map((r) => {
                const birth = str(r.resource['birthDate']);
                return html`<tr><th scope="row"><a href="${base}/${r.id}">${nameOf(r.resource) ?? t.unnamed}</a></th><td>${birth === undefined ? '' : /^\d{4}-\d{2}-\d{2}$/.test(birth) ? formatDate(caller.locale, `${birth}T00:00:00Z`) : birth}</td><td>${identifierOf(r.resource) ?? ''}</td><td>${str(r.resource['gender']) ?? ''}</td></tr>`;
              })}</tbody></table>${result.hasMore ? html`<p class="hint">${t.more}</p>` : undefined}`;
      }
      return sendClinicPage(request, reply, caller, { section: 'patients', title: t.title, body: html`${searchForm(t, `${base}/`, query)}${results}` });
    });

    app.get('/tenants/:tenant/console/patients/:id', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'patients');
      const { id } = request.params as { id: string };
      checkId(id);
      return patientView(request, reply, caller, id);
    });

    // Break-the-glass: the same check as the API's X-Break-Glass-Reason; the grant is recorded
    // (access.emergency_granted, purpose ETREAT) before anything outside the care is shown. Like
    // the API's header it covers this one request, so the answer is the record itself, not a
    // redirect: a GET after it would be outside the care again.
    app.post('/tenants/:tenant/console/patients/:id/break-glass', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'patients');
      const { id } = request.params as { id: string };
      checkId(id);
      const form = (request.body ?? {}) as Record<string, unknown>;
      let reason: string;
      try {
        reason = breakGlassReason(caller.principal, typeof form['reason'] === 'string' ? form['reason'] : '');
      } catch (error) {
        if (error instanceof AppError && error.status === 400) {
          return sendClinicPage(request, reply, caller, { section: 'patients', title: text[caller.locale].patient, status: 400, body: breakGlassForm(caller, id, text[caller.locale].reasonInvalid) });
        }
        // A role that cannot break the glass is refused and audited, as the API's header is.
        if (error instanceof AppError) throw await access.failed(pageAccessContext(request, caller), 'record.read', `Patient/${id}`, error);
        throw error;
      }
      return patientView(request, reply, caller, id, reason);
    });
  };
}

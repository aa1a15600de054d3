import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../../audit/index.js';
import { hasCapability, roles, type Accounts, type Role } from '../../identity/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Texts } from '../../platform/pages/index.js';
import { restrictionGrounds, type RestrictionCaller, type RestrictionGround, type Restrictions } from '../../privacy/index.js';
import { accessEvent, actorOf, defaultPurpose } from '../../records/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { namePeople } from './people.js';
import { confirmBody, csrfField, described, doneOf, formOf, lookOnly, mayChange } from './forms.js';
import { requireSection } from './section-access.js';

type Key =
  | 'title' | 'intro' | 'listTitle' | 'none' | 'patient' | 'since' | 'ground' | 'allowed' | 'setBy' | 'request' | 'actions' | 'lift' | 'nobody'
  | 'restrictTitle' | 'patientId' | 'patientHint' | 'groundLegend' | 'allowedLegend' | 'allowedHint' | 'requestId' | 'requestHint' | 'restrict'
  | 'liftTitle' | 'liftConsequence' | 'liftButton' | 'cancel' | 'restricted' | 'lifted' | 'notRestricted' | 'patientInvalid' | 'groundMissing';

const text: Texts<Key> = {
  en: {
    title: 'Restrictions', intro: 'A restricted patient’s data is kept but not processed (GDPR Art. 18): every role but the ones you allow is refused their records, the patient still sees their own, and whatever is still shown is marked restricted. Tell the patient before you lift a restriction (Art. 18(3)).',
    listTitle: 'Restricted patients', none: 'No patient is restricted.', patient: 'Patient', since: 'Since', ground: 'Grounds', allowed: 'Allowed roles', setBy: 'Set by', request: 'request', actions: 'Actions', lift: 'Lift', nobody: 'none',
    restrictTitle: 'Restrict a patient', patientId: 'Patient id', patientHint: 'The id of the Patient record, as in Patient/<id>.', groundLegend: 'Why the processing is restricted', allowedLegend: 'Roles that may still use the data', allowedHint: 'Only for the patient’s consent, legal claims or another person’s rights (Art. 18(2)). The patient always sees their own.',
    requestId: 'Request id (optional)', requestHint: 'The patient’s request that asked for it, if any.', restrict: 'Restrict processing',
    liftTitle: 'Lift the restriction', liftConsequence: 'Every role may process this patient’s data again as before. Have you told the patient (GDPR Art. 18(3))?', liftButton: 'Lift the restriction', cancel: 'Keep it',
    restricted: 'The patient is restricted.', lifted: 'The restriction was lifted.', notRestricted: 'This patient is not restricted.', patientInvalid: 'A patient id is 1–64 of A–Z, a–z, 0–9, “-” and “.”.', groundMissing: 'Choose why the processing is restricted.',
  },
  de: {
    title: 'Einschränkungen', intro: 'Die Daten eines eingeschränkten Patienten werden aufbewahrt, aber nicht verarbeitet (Art. 18 DSGVO): Jede Rolle außer den erlaubten erhält seine Akten nicht, der Patient sieht seine eigenen weiterhin, und was noch angezeigt wird, ist als eingeschränkt gekennzeichnet. Unterrichten Sie den Patienten, bevor Sie eine Einschränkung aufheben (Art. 18 Abs. 3).',
    listTitle: 'Eingeschränkte Patienten', none: 'Kein Patient ist eingeschränkt.', patient: 'Patient', since: 'Seit', ground: 'Grund', allowed: 'Erlaubte Rollen', setBy: 'Gesetzt von', request: 'Anfrage', actions: 'Aktionen', lift: 'Aufheben', nobody: 'keine',
    restrictTitle: 'Patienten einschränken', patientId: 'Patienten-ID', patientHint: 'Die ID der Patient-Akte, wie in Patient/<id>.', groundLegend: 'Warum die Verarbeitung eingeschränkt wird', allowedLegend: 'Rollen, die die Daten weiter nutzen dürfen', allowedHint: 'Nur mit Einwilligung des Patienten, für Rechtsansprüche oder zum Schutz der Rechte anderer (Art. 18 Abs. 2). Der Patient sieht seine eigenen immer.',
    requestId: 'Antrags-ID (optional)', requestHint: 'Die Anfrage des Patienten, die es verlangt hat, falls vorhanden.', restrict: 'Verarbeitung einschränken',
    liftTitle: 'Einschränkung aufheben', liftConsequence: 'Alle Rollen dürfen die Daten dieses Patienten wieder wie zuvor verarbeiten. Haben Sie den Patienten unterrichtet (Art. 18 Abs. 3 DSGVO)?', liftButton: 'Einschränkung aufheben', cancel: 'Beibehalten',
    restricted: 'Der Patient ist eingeschränkt.', lifted: 'Die Einschränkung wurde aufgehoben.', notRestricted: 'Dieser Patient ist nicht eingeschränkt.', patientInvalid: 'Eine Patienten-ID besteht aus 1–64 Zeichen A–Z, a–z, 0–9, „-“ und „.“.', groundMissing: 'Wählen Sie, warum die Verarbeitung eingeschränkt wird.',
  },
};

/** GDPR Art. 18(1)(a)–(d) in plain words. */
const groundText: Texts<RestrictionGround> = {
  en: {
    'accuracy-contested': 'The patient contests that their data is accurate, while it is checked (a)',
    'unlawful-processing': 'The processing is unlawful and the patient wants restriction instead of erasure (b)',
    'legal-claims': 'The practice no longer needs the data, but the patient needs it for legal claims (c)',
    'objection-pending': 'The patient has objected, while their objection is weighed (d)',
  },
  de: {
    'accuracy-contested': 'Der Patient bestreitet die Richtigkeit seiner Daten, solange sie geprüft wird (a)',
    'unlawful-processing': 'Die Verarbeitung ist unrechtmäßig und der Patient will Einschränkung statt Löschung (b)',
    'legal-claims': 'Die Praxis braucht die Daten nicht mehr, der Patient aber für Rechtsansprüche (c)',
    'objection-pending': 'Der Patient hat widersprochen, solange der Widerspruch geprüft wird (d)',
  },
};

const roleText: Texts<Exclude<Role, 'patient'>> = {
  en: { 'tenant-admin': 'Practice administrator', clinician: 'Clinician', 'front-desk': 'Front desk', billing: 'Billing', auditor: 'Auditor', service: 'Connected system', 'service-reader': 'Connected system (read-only)' },
  de: { 'tenant-admin': 'Praxisverwaltung', clinician: 'Ärztin/Arzt', 'front-desk': 'Empfang', billing: 'Abrechnung', auditor: 'Prüfung', service: 'Angebundenes System', 'service-reader': 'Angebundenes System (nur lesend)' },
};

/** Roles a restriction may allow: everyone but the patient, who always reads their own. */
const allowableRoles = roles.filter((r): r is Exclude<Role, 'patient'> => r !== 'patient');
/** Preselected, as the service's default: the practice administrator only. */
const preselected: ReadonlySet<Role> = new Set(['tenant-admin']);
const patientIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;

export interface RestrictionPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly audit: Audit;
  readonly restrictions: Restrictions;
  /** The tenant's accounts: who set a restriction is shown by e-mail address, not by account id. */
  readonly accounts: Pick<Accounts, 'list'>;
}

/**
 * `/tenants/{t}/console/restrictions/` (`privacy:restrict`): the restricted patients (since when,
 * the ground of Art. 18(1) in words, the allowed roles, who set it and for which request), the
 * form to restrict one and, behind a confirmation, lifting. The same service as
 * `/tenants/{t}/privacy/restrictions/…`; changes need two factors; forms answer Post/Redirect/Get.
 */
export function restrictionPages({ guard, realm, audit, restrictions, accounts }: RestrictionPagesDeps) {
  const base = (caller: StaffCaller) => `/tenants/${caller.me.realmId}/console/restrictions/`;
  const by = (request: FastifyRequest, caller: StaffCaller): RestrictionCaller => ({ actor: actorOf(caller.principal), purpose: defaultPurpose[caller.principal.role], requestId: request.id, sourceIp: request.ip });

  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<StaffCaller | undefined> {
    const caller = await guard.person(request, reply, realm);
    if (caller === undefined) return undefined;
    requireSection(caller, 'restrictions');
    return caller;
  }

  function restrictForm(caller: StaffCaller, error: string | undefined, fields: Record<string, string>): Html {
    const t = text[caller.locale];
    if (!mayChange(caller)) return html`<h2>${t.restrictTitle}</h2>${lookOnly(caller)}`;
    const posted = fields['patient'] !== undefined;
    const checked = (role: Role) => (posted ? fields[`role-${role}`] === 'yes' : preselected.has(role));
    return html`<h2>${t.restrictTitle}</h2>
<form method="post" action="${base(caller)}" novalidate>${csrfField(caller.me.csrf)}
<label for="patient">${t.patientId}</label>
<input type="text" id="patient" name="patient" required maxlength="80" value="${fields['patient'] ?? ''}" aria-describedby="patient-hint"${described(error)}>
<p class="hint" id="patient-hint">${t.patientHint}</p>
<fieldset><legend>${t.groundLegend}</legend>${restrictionGrounds.map(
      (g) => html`<label class="check"><input type="radio" name="ground" value="${g}" required${fields['ground'] === g ? html` checked` : undefined}> ${groundText[caller.locale][g]}</label>`,
    )}</fieldset>
<fieldset aria-describedby="allowed-hint"><legend>${t.allowedLegend}</legend><p class="hint" id="allowed-hint">${t.allowedHint}</p>${allowableRoles.map(
      (r) => html`<label class="check"><input type="checkbox" name="role-${r}" value="yes"${checked(r) ? html` checked` : undefined}> ${roleText[caller.locale][r]}</label>`,
    )}</fieldset>
<label for="request">${t.requestId}</label>
<input type="text" id="request" name="requestId" maxlength="100" value="${fields['requestId'] ?? ''}" aria-describedby="request-hint">
<p class="hint" id="request-hint">${t.requestHint}</p>
<div class="actions"><button type="submit" class="primary">${t.restrict}</button></div>
</form>`;
  }

  async function page(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, options: { error?: string; status?: number; notice?: string; fields?: Record<string, string> } = {}): Promise<FastifyReply> {
    const t = text[caller.locale];
    const locale = caller.locale;
    const tenantId = caller.me.realmId;
    const list = await restrictions.list(tenantId);
    const who = await namePeople(accounts, tenantId, locale);
    // Who is restricted is data about those patients: the look is on their record, as the API's GET is.
    const ctx = { principal: caller.principal, purpose: defaultPurpose[caller.principal.role], requestId: request.id, sourceIp: request.ip };
    await audit.record(tenantId, [{ ...accessEvent(ctx, 'record.read', list.map((r) => ({ ref: r.patient, subject: r.patient, classes: [] })), 200), detail: `restrictions count=${list.length}` }]);
    const change = mayChange(caller);
    const roleWords = (allowed: readonly Role[]) => (allowed.length === 0 ? t.nobody : allowed.map((r) => (r === 'patient' ? r : roleText[locale][r])).join(', '));
    const table =
      list.length === 0
        ? html`<p role="status">${t.none}</p>`
        : html`<table><caption>${t.listTitle}</caption><thead><tr><th scope="col">${t.patient}</th><th scope="col">${t.since}</th><th scope="col">${t.ground}</th><th scope="col">${t.allowed}</th><th scope="col">${t.setBy}</th>${change ? html`<th scope="col">${t.actions}</th>` : undefined}</tr></thead><tbody>${list.map(
            (r) => html`<tr><th scope="row">${r.patient}</th><td><time datetime="${new Date(r.at).toISOString()}">${formatDateTime(locale, r.at)}</time></td><td>${groundText[locale][r.ground] ?? r.ground}</td><td>${roleWords(r.allowedRoles)}</td><td>${who(r.by)}${
              r.requestId === undefined
                ? undefined
                : // A request of the queue (its id) links to it; a reference staff wrote (a letter's) is shown as written.
                  /^[0-9a-f-]{36}$/.test(r.requestId) && hasCapability(caller.principal.role, 'privacy:manage')
                  ? html` (<a href="/tenants/${tenantId}/console/requests/${r.requestId}">${t.request} ${r.requestId}</a>)`
                  : html` (${t.request} ${r.requestId})`
            }</td>${
              change ? html`<td><a href="${base(caller)}${r.patient.slice('Patient/'.length)}/lift" aria-label="${t.lift} ${r.patient}">${t.lift}</a></td>` : undefined
            }</tr>`,
          )}</tbody></table>`;
    const body = html`<p>${t.intro}</p>${options.error === undefined ? undefined : html`<p class="alert" role="alert" id="page-error">${options.error}</p>`}<h2>${t.listTitle}</h2>${table}${restrictForm(caller, options.error, options.fields ?? {})}`;
    return sendClinicPage(request, reply, caller, { section: 'restrictions', title: t.title, body, ...(options.notice === undefined ? {} : { notice: options.notice }), ...(options.status === undefined ? {} : { status: options.status }) });
  }

  /** A form's act, then 303 to the list; a refusal of the service (4xx but 403) is shown on the page. */
  function form(app: FastifyInstance, url: string, work: (request: FastifyRequest, caller: StaffCaller, fields: Record<string, string>) => Promise<'restricted' | 'lifted'>): void {
    app.post(url, async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      const fields = formOf(request);
      if (!mayChange(caller)) throw new AppError('forbidden', 'Changes need you signed in with a second factor.', { status: 403, expose: true });
      try {
        return seeOther(reply, `${base(caller)}?done=${await work(request, caller, fields)}`);
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500 || error.status === 403 || !error.expose) throw error;
        return page(request, reply, caller, { error: error.message, status: error.status, fields });
      }
    });
  }

  const patientOf = (caller: StaffCaller, value: string | undefined): string => {
    const id = (value ?? '').trim().replace(/^Patient\//, '');
    if (!patientIdPattern.test(id)) throw new AppError('restriction-invalid', text[caller.locale].patientInvalid, { status: 400, expose: true });
    return `Patient/${id}`;
  };

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/restrictions/', async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      const done = doneOf(request, ['restricted', 'lifted'] as const);
      return page(request, reply, caller, done === undefined ? {} : { notice: text[caller.locale][done] });
    });

    // The confirmation step of lifting: a GET that changes nothing, then the POST that lifts.
    app.get('/tenants/:tenant/console/restrictions/:id/lift', async (request, reply) => {
      const caller = await admit(request, reply);
      if (caller === undefined) return reply;
      const t = text[caller.locale];
      const patient = patientOf(caller, (request.params as { id: string }).id);
      if (!mayChange(caller)) return sendClinicPage(request, reply, caller, { section: 'restrictions', title: t.liftTitle, body: lookOnly(caller) });
      const body = html`<h2>${patient}</h2>${confirmBody({ action: `${base(caller)}${patient.slice('Patient/'.length)}/lift`, csrf: caller.me.csrf, consequence: t.liftConsequence, button: t.liftButton, cancel: { href: base(caller), label: t.cancel } })}`;
      return sendClinicPage(request, reply, caller, { section: 'restrictions', title: t.liftTitle, body });
    });

    form(app, '/tenants/:tenant/console/restrictions/', async (request, caller, fields) => {
      const patient = patientOf(caller, fields['patient']);
      if (!(restrictionGrounds as readonly string[]).includes(fields['ground'] ?? '')) throw new AppError('restriction-invalid', text[caller.locale].groundMissing, { status: 400, expose: true });
      const requestId = fields['requestId']?.trim();
      await restrictions.restrict(caller.me.realmId, patient, {
        by: by(request, caller),
        ground: fields['ground'] ?? '',
        allowedRoles: allowableRoles.filter((r) => fields[`role-${r}`] === 'yes'),
        ...(requestId === undefined || requestId === '' ? {} : { requestId }),
      });
      return 'restricted';
    });

    form(app, '/tenants/:tenant/console/restrictions/:id/lift', async (request, caller) => {
      const patient = patientOf(caller, (request.params as { id: string }).id);
      if (!(await restrictions.lift(caller.me.realmId, patient, { by: by(request, caller) }))) throw new AppError('restriction-not-found', text[caller.locale].notRestricted, { status: 404, expose: true });
      return 'lifted';
    });
  };
}

import type { FastifyInstance } from 'fastify';
import type { Clients } from '../../oauth/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { appSystem, dataClassSystem, isPrivacyConsent, parseConsent, PrivacyError, type ConsentWriter, type Provision } from '../../privacy/index.js';
import { portalCaller, portalContext, portalPath, sendPortalPage, type PortalDeps } from './portal-page.js';

export interface PortalConsentDeps extends PortalDeps {
  readonly clients: Clients;
  readonly consentWriter: ConsentWriter;
}

type Json = Record<string, unknown>;
const classes = ['health', 'payment', 'personal'] as const;

const text: Texts<
  | 'intro'
  | 'current'
  | 'none'
  | 'withdraw'
  | 'withdrawn'
  | 'earlier'
  | 'since'
  | 'until'
  | 'research'
  | 'researchText'
  | 'researchButton'
  | 'app'
  | 'appText'
  | 'appLabel'
  | 'appButton'
  | 'noApps'
  | 'clinician'
  | 'clinicianText'
  | 'clinicianLabel'
  | 'classesLabel'
  | 'clinicianButton'
  | 'noClinicians'
  | 'health'
  | 'payment'
  | 'personal'
  | 'denyResearch'
  | 'denyApp'
  | 'denyClasses'
  | 'other'
  | 'saved'
  | 'removed'
  | 'invalid'
> = {
  en: {
    intro: 'Here you decide who may use your records, beyond what your clinic needs to treat you. Your choices take effect at once, and every refusal they cause is recorded in “Who accessed my data”. In an emergency, clinicians can still open your records; such access is recorded and reviewed.',
    current: 'Your choices in effect',
    none: 'You have made no choices: your clinic’s usual rules apply.',
    withdraw: 'Withdraw: {what}',
    withdrawn: 'Withdrawn',
    earlier: 'Earlier choices',
    since: 'since {at}',
    until: 'withdrawn',
    research: 'Research',
    researchText: 'Refuse that your records are used for research.',
    researchButton: 'Refuse research use',
    app: 'An app',
    appText: 'Refuse an app any use of your records, even if someone at your clinic connects it.',
    appLabel: 'App',
    appButton: 'Refuse this app',
    noApps: 'Your clinic has no apps registered.',
    clinician: 'A clinician',
    clinicianText: 'Keep some kinds of data from one person of your care team.',
    clinicianLabel: 'Clinician',
    classesLabel: 'Keep from them',
    clinicianButton: 'Limit this clinician',
    noClinicians: 'No clinician is named in your records yet.',
    health: 'Health data (results, diagnoses, notes)',
    payment: 'Payment data (invoices)',
    personal: 'Personal details (contact details, identifiers)',
    denyResearch: 'No use of your records for research',
    denyApp: 'No use of your records by the app {app}',
    denyClasses: '{who} may not see: {classes}',
    other: 'A consent recorded by your clinic',
    saved: 'Saved: your choice applies from now on.',
    removed: 'Withdrawn: that choice no longer applies.',
    invalid: 'Choose what to refuse (an app, a clinician and at least one kind of data).',
  },
  de: {
    intro: 'Hier entscheiden Sie, wer Ihre Daten über das hinaus nutzen darf, was Ihre Praxis für Ihre Behandlung braucht. Ihre Entscheidungen gelten sofort, und jede Ablehnung, die sie bewirken, steht unter „Wer hat meine Daten gesehen“. Im Notfall können Behandelnde Ihre Daten trotzdem öffnen; ein solcher Zugriff wird festgehalten und geprüft.',
    current: 'Ihre geltenden Entscheidungen',
    none: 'Sie haben nichts festgelegt: Es gelten die üblichen Regeln Ihrer Praxis.',
    withdraw: 'Widerrufen: {what}',
    withdrawn: 'Widerrufen',
    earlier: 'Frühere Entscheidungen',
    since: 'seit {at}',
    until: 'widerrufen',
    research: 'Forschung',
    researchText: 'Lehnen Sie ab, dass Ihre Daten für die Forschung genutzt werden.',
    researchButton: 'Forschungsnutzung ablehnen',
    app: 'Eine App',
    appText: 'Verweigern Sie einer App jede Nutzung Ihrer Daten, auch wenn jemand in Ihrer Praxis sie verbindet.',
    appLabel: 'App',
    appButton: 'Diese App ablehnen',
    noApps: 'Ihre Praxis hat keine Apps registriert.',
    clinician: 'Eine behandelnde Person',
    clinicianText: 'Halten Sie bestimmte Arten von Daten von einer Person Ihres Behandlungsteams fern.',
    clinicianLabel: 'Behandelnde Person',
    classesLabel: 'Vorenthalten',
    clinicianButton: 'Diese Person einschränken',
    noClinicians: 'In Ihren Daten ist noch keine behandelnde Person genannt.',
    health: 'Gesundheitsdaten (Befunde, Diagnosen, Notizen)',
    payment: 'Zahlungsdaten (Rechnungen)',
    personal: 'Persönliche Angaben (Kontaktdaten, Kennungen)',
    denyResearch: 'Keine Nutzung Ihrer Daten für die Forschung',
    denyApp: 'Keine Nutzung Ihrer Daten durch die App {app}',
    denyClasses: '{who} darf nicht sehen: {classes}',
    other: 'Eine von Ihrer Praxis erfasste Einwilligung',
    saved: 'Gespeichert: Ihre Entscheidung gilt ab sofort.',
    removed: 'Widerrufen: Diese Entscheidung gilt nicht mehr.',
    invalid: 'Wählen Sie, was Sie ablehnen (eine App, eine Person und mindestens eine Art von Daten).',
  },
};

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_m, key: string) => values[key] ?? '');
const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;
const clientIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
const recipient = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] };

/** A patient-privacy Consent as the portal writes it: permit by default, one nested deny (FHIR R4 Consent). */
function privacyConsent(patient: string, deny: Json, now: Date): Json {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: patient },
    dateTime: now.toISOString(),
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
    provision: { type: 'permit', provision: [{ type: 'deny', ...deny }] },
  };
}

/** One consent in plain words, from its first nested deny (what the portal writes); anything else is named as the clinic's. */
function describe(provision: Provision, locale: Locale, names: { app: (id: string) => string; practitioner: (id: string) => string }): string {
  const t = text[locale];
  const deny = provision.provisions.find((p) => p.type === 'deny');
  if (provision.type !== 'permit' || deny === undefined || provision.provisions.length !== 1) return t.other;
  const actor = deny.actors[0];
  if (deny.purposes.includes('HRESCH') && actor === undefined) return t.denyResearch;
  if (actor?.kind === 'app' && deny.classes.length === 0) return fill(t.denyApp, { app: names.app(actor.client) });
  if (actor?.kind === 'practitioner' && deny.classes.length > 0) return fill(t.denyClasses, { who: names.practitioner(actor.id), classes: deny.classes.map((c) => t[c as (typeof classes)[number]] ?? c).join(', ') });
  return t.other;
}

/**
 * "My consents" at `/tenants/{t}/me/consents`: the patient's privacy consents in plain words, and
 * forms to refuse research use, an app, or some kinds of data to one clinician — each a FHIR
 * Consent (scope patient-privacy) written through the records service as the patient, so the
 * permission matrix and the guard decide and the audit trail records it as any write. Withdrawing
 * writes a new version with status inactive (GDPR Art. 7(3)): the history keeps what applied when.
 * Post/Redirect/Get; the page guard checks each form's CSRF token.
 */
export function portalConsentsPage({ guard, realm, access, clock, clients, consentWriter }: PortalConsentDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/me/consents', async (request, reply) => {
      const found = await portalCaller(guard, realm, request, reply, 'consents');
      if (found === undefined) return reply;
      const { caller, patient } = found;
      const { locale } = caller;
      const t = text[locale];
      const ctx = portalContext(request, caller);
      const stored = await access.search(ctx, 'Consent', [
        ['patient', patient],
        ['_count', '200'],
      ]);
      const me = JSON.parse((await access.read(ctx, 'Patient', patient.replace(/^Patient\//, ''))).content) as Json;
      const appointments = await access.search(ctx, 'Appointment', [
        ['patient', patient],
        ['_count', '100'],
      ]);
      // The care team as the patient's records name it (a patient reads no Practitioner records): their GP and the people of their appointments.
      const team = new Map<string, string>();
      const refs = [...((me['generalPractitioner'] as Json[] | undefined) ?? []), ...appointments.matches.flatMap((m) => ((JSON.parse(m.content) as Json)['participant'] as Json[] | undefined)?.map((p) => (p['actor'] ?? {}) as Json) ?? [])];
      for (const ref of refs) {
        const m = /^Practitioner\/([A-Za-z0-9\-.]{1,64})$/.exec(String(ref['reference'] ?? ''));
        if (m !== null && !team.has(m[1] as string)) team.set(m[1] as string, typeof ref['display'] === 'string' && ref['display'] !== '' ? ref['display'] : (m[1] as string));
      }
      const registered = (await clients.list(caller.me.realmId)).filter((c) => c.status !== 'disabled');
      const names = { app: (id: string) => registered.find((c) => c.clientId === id)?.name ?? id, practitioner: (id: string) => team.get(id) ?? id };

      const all = stored.matches.map((m) => ({ id: m.id, resource: JSON.parse(m.content) as Json, updated: JSON.parse(m.content)?.meta?.lastUpdated as string | undefined }));
      const privacy = all.filter((c) => ((c.resource['scope'] as Json | undefined)?.['coding'] as Json[] | undefined)?.some((x) => x['code'] === 'patient-privacy'));
      const active = privacy.filter((c) => isPrivacyConsent(c.resource));
      const inactive = privacy.filter((c) => c.resource['status'] === 'inactive');
      const say = (c: { id: string; resource: Json }) => {
        const parsed = parseConsent(c.id, { ...c.resource, status: 'active' });
        return parsed === undefined ? t.other : describe(parsed.provision, locale, names);
      };
      const base = portalPath(caller.me.realmId, 'consents');
      const csrf = html`<input type="hidden" name="csrf" value="${caller.me.csrf}">`;
      const q = request.query as { done?: unknown };
      const notice = q.done === 'saved' ? t.saved : q.done === 'withdrawn' ? t.removed : q.done === 'invalid' ? t.invalid : undefined;
      const body: Html = html`${notice === undefined ? undefined : html`<p class="notice" role="status">${notice}</p>`}
<p>${t.intro}</p>
<section aria-labelledby="current-h"><h2 id="current-h">${t.current}</h2>
${
  active.length === 0
    ? html`<p>${t.none}</p>`
    : html`<ul class="plain">${active.map(
        (c) => html`<li><p>${say(c)}${c.updated === undefined ? undefined : html` <span class="hint">(${fill(t.since, { at: formatDateTime(locale, Date.parse(c.updated)) })})</span>`}</p>
<form method="post" action="${base}/${c.id}/withdraw">${csrf}<button type="submit" class="danger">${fill(t.withdraw, { what: say(c) })}</button></form></li>`,
      )}</ul>`
}
</section>
<section aria-labelledby="research-h"><h2 id="research-h">${t.research}</h2><p>${t.researchText}</p>
<form method="post" action="${base}">${csrf}<input type="hidden" name="kind" value="research"><button type="submit">${t.researchButton}</button></form></section>
<section aria-labelledby="app-h"><h2 id="app-h">${t.app}</h2><p>${t.appText}</p>
${
  registered.length === 0
    ? html`<p>${t.noApps}</p>`
    : html`<form method="post" action="${base}">${csrf}<input type="hidden" name="kind" value="app">
<p><label for="consent-app">${t.appLabel}</label> <select id="consent-app" name="client">${registered.map((c) => html`<option value="${c.clientId}">${c.name} (${c.publisher})</option>`)}</select></p>
<button type="submit">${t.appButton}</button></form>`
}</section>
<section aria-labelledby="clinician-h"><h2 id="clinician-h">${t.clinician}</h2><p>${t.clinicianText}</p>
${
  team.size === 0
    ? html`<p>${t.noClinicians}</p>`
    : html`<form method="post" action="${base}">${csrf}<input type="hidden" name="kind" value="clinician">
<p><label for="consent-clinician">${t.clinicianLabel}</label> <select id="consent-clinician" name="practitioner">${[...team].map(([id, name]) => html`<option value="${id}">${name}</option>`)}</select></p>
<fieldset><legend>${t.classesLabel}</legend>${classes.map((c) => html`<p><input type="checkbox" id="class-${c}" name="class-${c}" value="yes"${c === 'health' ? html` checked` : undefined}> <label for="class-${c}">${t[c]}</label></p>`)}</fieldset>
<button type="submit">${t.clinicianButton}</button></form>`
}</section>
${
  inactive.length === 0
    ? undefined
    : html`<section aria-labelledby="earlier-h"><h2 id="earlier-h">${t.earlier}</h2><ul>${inactive.map((c) => html`<li>${say(c)} — ${t.until}${c.updated === undefined ? undefined : html` ${formatDateTime(locale, Date.parse(c.updated))}`}</li>`)}</ul></section>`
}`;
      return sendPortalPage(request, reply, caller, { section: 'consents', body });
    });

    app.post('/tenants/:tenant/me/consents', async (request, reply) => {
      // The page guard checks the form's CSRF token before anything changes.
      const found = await portalCaller(guard, realm, request, reply, 'consents');
      if (found === undefined) return reply;
      const { caller, patient } = found;
      const base = portalPath(caller.me.realmId, 'consents');
      const form = (request.body ?? {}) as Record<string, unknown>;
      const one = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
      // One field per class: the page forms' parser keeps one value per name.
      const picked = classes.filter((c) => one(`class-${c}`) === 'yes');
      let deny: Json | undefined;
      if (one('kind') === 'research') deny = { purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH', display: 'healthcare research' }] };
      const client = one('client');
      if (one('kind') === 'app' && client !== undefined && clientIdPattern.test(client) && (await clients.get(caller.me.realmId, client)) !== undefined) {
        deny = { actor: [{ role: recipient, reference: { identifier: { system: appSystem, value: client } } }] };
      }
      const practitioner = one('practitioner');
      if (one('kind') === 'clinician' && practitioner !== undefined && idPattern.test(practitioner) && picked.length > 0) {
        deny = { actor: [{ role: recipient, reference: { reference: `Practitioner/${practitioner}` } }], class: picked.map((code) => ({ system: dataClassSystem, code })) };
      }
      if (deny === undefined) return seeOther(reply, `${base}?done=invalid`);
      await consentWriter.save(portalContext(request, caller), privacyConsent(patient, deny, clock.now()));
      return seeOther(reply, `${base}?done=saved`);
    });

    app.post('/tenants/:tenant/me/consents/:id/withdraw', async (request, reply) => {
      const found = await portalCaller(guard, realm, request, reply, 'consents');
      if (found === undefined) return reply;
      const { caller } = found;
      const { id } = request.params as { id: string };
      if (!idPattern.test(id)) throw new PrivacyError('consent-form-invalid', 'No such consent.', { status: 404 });
      const ctx = portalContext(request, caller);
      try {
        const current = JSON.parse((await access.read(ctx, 'Consent', id)).content) as Json;
        // A new version, inactive: withdrawn from now on, the earlier version kept in the history (GDPR Art. 7(3)).
        const { meta: _meta, ...rest } = current;
        await consentWriter.save(ctx, { ...rest, status: 'inactive' }, id);
      } catch (error) {
        if (error instanceof AppError && error.status < 500) throw await access.failed(ctx, 'record.updated', `Consent/${id}`, error);
        throw error;
      }
      return seeOther(reply, `${portalPath(caller.me.realmId, 'consents')}?done=withdrawn`);
    });
  };
}

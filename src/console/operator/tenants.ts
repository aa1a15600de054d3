import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createOperatorTenants, type OperatorAct, type TenantMover } from '../../identity/index.js';
import type { MoveReport } from '../../regions/index.js';
import type { Audit } from '../../audit/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDate, html, seeOther, type Locale, type Texts } from '../../platform/pages/index.js';
import { mfaPolicies, tenantIdPattern, type Tenant, type Tenants } from '../../tenants/index.js';
import type { OperatorCaller, PageGuard } from '../page-guard.js';
import { field, queryValue, sectionRole, sendOperatorPage } from './nav.js';

type Key =
  | 'title'
  | 'caption'
  | 'none'
  | 'id'
  | 'name'
  | 'status'
  | 'mfa'
  | 'created'
  | 'actions'
  | 'active'
  | 'disabled'
  | 'everyone'
  | 'staff'
  | 'optional'
  | 'setPolicy'
  | 'policyOf'
  | 'disable'
  | 'disableOf'
  | 'createHeading'
  | 'idHint'
  | 'nameHint'
  | 'region'
  | 'regionHint'
  | 'create'
  | 'createdNotice'
  | 'disabledNotice'
  | 'policyNotice'
  | 'confirmTitle'
  | 'confirmText'
  | 'confirmButton'
  | 'cancel'
  | 'move'
  | 'moveOf'
  | 'moveTitle'
  | 'moveText'
  | 'currentRegion'
  | 'moveTo'
  | 'reason'
  | 'reasonHint'
  | 'confirmId'
  | 'confirmIdHint'
  | 'moveButton'
  | 'idMismatch'
  | 'movedNotice'
  | 'unavailableFor'
  | 'backup'
  | 'backupTaken'
  | 'backupSkipped'
  | 'backupFailed'
  | 'back'
  | 'moving';

const text: Texts<Key> = {
  en: {
    title: 'Tenants',
    caption: 'Every tenant of this deployment',
    none: 'No tenant yet.',
    id: 'Id',
    name: 'Name',
    status: 'Status',
    mfa: 'Second factor',
    created: 'Created',
    actions: 'Actions',
    active: 'active',
    disabled: 'disabled',
    everyone: 'everyone (patients too)',
    staff: 'staff only',
    optional: 'optional',
    setPolicy: 'Set policy',
    policyOf: 'Second-factor policy of',
    disable: 'Disable…',
    disableOf: 'Disable tenant',
    createHeading: 'Create a tenant',
    idHint: 'Lower-case letters, digits and hyphens, up to 40 characters; it is part of every address of the tenant and cannot change.',
    nameHint: 'What people of the tenant see (the id when empty).',
    region: 'Region',
    regionHint: 'Where its data, keys and backups are kept. It can be moved later (Move… in the list above).',
    create: 'Create tenant',
    createdNotice: 'Tenant created:',
    disabledNotice: 'Tenant disabled:',
    policyNotice: 'Second-factor policy changed:',
    confirmTitle: 'Disable a tenant',
    confirmText: 'Nobody of this tenant can sign in or call the API any more, and its apps stop working. Its data is kept. Enabling it again is not offered here.',
    confirmButton: 'Disable this tenant',
    cancel: 'Cancel',
    move: 'Move…',
    moveOf: 'Move tenant',
    moveTitle: 'Move to another region',
    moveText:
      'Its data set is copied to the region chosen, its keys are wrapped again under that region’s master key, the copy is checked, and only then the tenant is switched over; its data and keys in the old region are then destroyed. Meanwhile every request for the tenant is answered “503, try again shortly”, usually for seconds. If anything fails before the switch, nothing is moved.',
    currentRegion: 'Region now',
    moveTo: 'Move to region',
    reason: 'Reason',
    reasonHint: 'Why it moves, at most 200 characters; it goes into the tenant’s and the operators’ audit trails. Write why, not who the patients are.',
    confirmId: 'Tenant id, to confirm',
    confirmIdHint: 'Type the id of the tenant you move.',
    moveButton: 'Move this tenant',
    idMismatch: 'The id typed is not this tenant’s: nothing was moved.',
    movedNotice: 'Tenant moved:',
    unavailableFor: 'Requests answered 503 for',
    backup: 'Backup afterwards',
    backupTaken: 'snapshot',
    backupSkipped: 'none taken:',
    backupFailed: 'failed (the move stands):',
    back: 'Back to the tenants',
    moving: 'being moved to another region',
  },
  de: {
    title: 'Mandanten',
    caption: 'Alle Mandanten dieser Installation',
    none: 'Noch kein Mandant.',
    id: 'Kennung',
    name: 'Name',
    status: 'Status',
    mfa: 'Zweiter Faktor',
    created: 'Angelegt',
    actions: 'Aktionen',
    active: 'aktiv',
    disabled: 'deaktiviert',
    everyone: 'alle (auch Patienten)',
    staff: 'nur Mitarbeitende',
    optional: 'freiwillig',
    setPolicy: 'Regel setzen',
    policyOf: 'Regel für den zweiten Faktor von',
    disable: 'Deaktivieren…',
    disableOf: 'Mandant deaktivieren:',
    createHeading: 'Mandant anlegen',
    idHint: 'Kleinbuchstaben, Ziffern und Bindestriche, bis zu 40 Zeichen; sie ist Teil jeder Adresse des Mandanten und kann sich nicht ändern.',
    nameHint: 'Was die Personen des Mandanten sehen (leer: die Kennung).',
    region: 'Region',
    regionHint: 'Wo seine Daten, Schlüssel und Sicherungen liegen. Er kann später umziehen (Umziehen… in der Liste oben).',
    create: 'Mandant anlegen',
    createdNotice: 'Mandant angelegt:',
    disabledNotice: 'Mandant deaktiviert:',
    policyNotice: 'Regel für den zweiten Faktor geändert:',
    confirmTitle: 'Mandant deaktivieren',
    confirmText: 'Niemand dieses Mandanten kann sich dann anmelden oder die API aufrufen, seine Apps funktionieren nicht mehr. Seine Daten bleiben erhalten. Wieder aktivieren lässt er sich hier nicht.',
    confirmButton: 'Diesen Mandanten deaktivieren',
    cancel: 'Abbrechen',
    move: 'Umziehen…',
    moveOf: 'Mandant umziehen:',
    moveTitle: 'In eine andere Region umziehen',
    moveText:
      'Sein Datenbestand wird in die gewählte Region kopiert, seine Schlüssel werden mit dem Hauptschlüssel dieser Region neu verpackt, die Kopie wird geprüft, und erst dann wird der Mandant umgestellt; seine Daten und Schlüssel in der alten Region werden danach vernichtet. Währenddessen wird jede Anfrage an den Mandanten mit „503, bitte gleich erneut versuchen“ beantwortet, meist für Sekunden. Schlägt vor der Umstellung etwas fehl, wird nichts umgezogen.',
    currentRegion: 'Region jetzt',
    moveTo: 'Umziehen in Region',
    reason: 'Grund',
    reasonHint: 'Warum er umzieht, höchstens 200 Zeichen; das steht im Prüfprotokoll des Mandanten und der Betreiber. Schreiben Sie warum, nicht wer die Patienten sind.',
    confirmId: 'Kennung des Mandanten, zur Bestätigung',
    confirmIdHint: 'Geben Sie die Kennung des Mandanten ein, den Sie umziehen.',
    moveButton: 'Diesen Mandanten umziehen',
    idMismatch: 'Die eingegebene Kennung ist nicht die dieses Mandanten: Es wurde nichts umgezogen.',
    movedNotice: 'Mandant umgezogen:',
    unavailableFor: 'Anfragen mit 503 beantwortet für',
    backup: 'Sicherung danach',
    backupTaken: 'Snapshot',
    backupSkipped: 'keine:',
    backupFailed: 'fehlgeschlagen (der Umzug gilt):',
    back: 'Zurück zu den Mandanten',
    moving: 'zieht in eine andere Region um',
  },
};

const base = '/platform/console/tenants/';

/** A region as people know it: its label, with the name where they differ ("Switzerland (ch)"). */
const regionShown = (regions: Tenants['regions'], name: string): string => {
  const label = regions.labels?.[name] ?? name;
  return label === name ? name : `${label} (${name})`;
};

function tenantsBody(t: (typeof text)[Locale], locale: Locale, csrf: string, list: readonly Tenant[], form: { id: string; name: string; region: string; error: boolean }, regions: Tenants['regions'], movable: boolean) {
  const rows = list.map(
    (tenant) => html`<tr>
<th scope="row">${tenant.id}</th>
<td>${tenant.name}</td>
<td>${tenant.status === 'active' ? t.active : t.disabled}${tenant.movingSince === undefined ? undefined : html`, ${t.moving}`}</td>
<td>${
      tenant.status === 'active'
        ? html`<form method="post" action="${base}${tenant.id}/mfa" class="inline"><input type="hidden" name="csrf" value="${csrf}"><select name="policy" aria-label="${t.policyOf} ${tenant.id}">${mfaPolicies.map((p) => html`<option value="${p}"${p === tenant.mfaPolicy ? html` selected` : undefined}>${t[p]}</option>`)}</select> <button type="submit" aria-label="${t.setPolicy}: ${tenant.id}">${t.setPolicy}</button></form>`
        : t[tenant.mfaPolicy]
    }</td>
<td>${formatDate(locale, tenant.createdAt)}</td>
<td>${tenant.status === 'active' ? html`<a href="${base}${tenant.id}/disable" aria-label="${t.disableOf} ${tenant.id}">${t.disable}</a>` : undefined}${
      // Only where there is somewhere to move to.
      movable ? html` <a href="${base}${tenant.id}/move" aria-label="${t.moveOf} ${tenant.id}">${t.move}</a>` : undefined
    }</td>
</tr>`,
  );
  const described = form.error ? 'tenant-id-hint page-error' : 'tenant-id-hint';
  return html`${
    list.length === 0
      ? html`<p>${t.none}</p>`
      : html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.id}</th><th scope="col">${t.name}</th><th scope="col">${t.status}</th><th scope="col">${t.mfa}</th><th scope="col">${t.created}</th><th scope="col">${t.actions}</th></tr></thead><tbody>${rows}</tbody></table>`
  }
<h2 id="create-heading">${t.createHeading}</h2>
<form method="post" action="${base}" aria-labelledby="create-heading">
<input type="hidden" name="csrf" value="${csrf}">
<label for="tenant-id">${t.id}</label>
<p class="hint" id="tenant-id-hint">${t.idHint}</p>
<input type="text" id="tenant-id" name="id" required maxlength="40" pattern="[a-z0-9](?:[a-z0-9\\-]{0,38}[a-z0-9])?" autocomplete="off" spellcheck="false" value="${form.id}" aria-describedby="${described}"${form.error ? html` aria-invalid="true"` : undefined}>
<label for="tenant-name">${t.name}</label>
<p class="hint" id="tenant-name-hint">${t.nameHint}</p>
<input type="text" id="tenant-name" name="name" maxlength="200" autocomplete="off" value="${form.name}" aria-describedby="tenant-name-hint">
${
  // The choice only where there is one: a deployment of one region creates every tenant there.
  regions.names.length > 1
    ? html`<label for="tenant-region">${t.region}</label>
<p class="hint" id="tenant-region-hint">${t.regionHint}</p>
<select id="tenant-region" name="region" aria-describedby="tenant-region-hint">${regions.names.map((name) => html`<option value="${name}"${name === (form.region || regions.default) ? html` selected` : undefined}>${regionShown(regions, name)}</option>`)}</select>
`
    : undefined
}<p class="actions"><button type="submit" class="primary">${t.create}</button></p>
</form>`;
}

/**
 * `/platform/console/tenants/`: the tenants (id, name, status, second-factor policy, created),
 * create, disable after a confirmation page, set the policy — each through the same service
 * calls and audit events as `/platform/tenants…` (identity/operator-tenants.ts).
 */
export function operatorTenantPages({ guard, tenants, audit, mover }: { guard: PageGuard; tenants: Tenants; audit: Audit; mover?: TenantMover | undefined }) {
  const desk = createOperatorTenants({ tenants, audit, mover });
  const movable = mover !== undefined && tenants.regions.names.length > 1;
  const by = (request: FastifyRequest, caller: OperatorCaller): OperatorAct => ({ operatorId: caller.principal.id, sourceIp: request.ip, requestId: request.id });
  const signedIn = (request: FastifyRequest, reply: FastifyReply) => guard.operator(request, reply, sectionRole.tenants);
  /** An id from a path or a query: only a tenant id's shape is used (it is shown and put into links). */
  const idOf = (value: string | undefined) => (value !== undefined && tenantIdPattern.test(value) ? value : undefined);

  async function list(request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, form = { id: '', name: '', region: '', error: undefined as string | undefined }, status = 200) {
    const t = text[caller.locale];
    const tenantsNow = await desk.list(by(request, caller));
    const created = idOf(queryValue(request, 'created'));
    const disabled = idOf(queryValue(request, 'disabled'));
    const policy = idOf(queryValue(request, 'policy'));
    const notice = created !== undefined ? `${t.createdNotice} ${created}` : disabled !== undefined ? `${t.disabledNotice} ${disabled}` : policy !== undefined ? `${t.policyNotice} ${policy}` : undefined;
    const body = tenantsBody(t, caller.locale, caller.me.csrf, tenantsNow, { id: form.id, name: form.name, region: form.region, error: form.error !== undefined }, tenants.regions, movable);
    return sendOperatorPage(request, reply, caller, { section: 'tenants', title: t.title, body, notice: form.error === undefined ? notice : undefined, error: form.error, status });
  }

  /** A refusal the sender can fix (exposed, 4xx) stays on the page with the form as typed; anything else is the error page's. */
  const fixable = (error: unknown): error is AppError => error instanceof AppError && error.expose && error.status < 500 && error.status !== 403;

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get(base, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      return list(request, reply, caller);
    });

    app.post(base, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const id = field(request, 'id').trim();
      const name = field(request, 'name').trim();
      const region = field(request, 'region').trim();
      try {
        const created = await desk.create(by(request, caller), id, name === '' ? undefined : name, region === '' ? undefined : region);
        return seeOther(reply, `${base}?created=${created.id}`);
      } catch (error) {
        if (!fixable(error)) throw error;
        return list(request, reply, caller, { id, name, region, error: error.message }, error.status);
      }
    });

    app.post(`${base}:id/mfa`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const changed = await desk.setMfaPolicy(by(request, caller), (request.params as { id: string }).id, field(request, 'policy'));
      return seeOther(reply, `${base}?policy=${changed.id}`);
    });

    app.get(`${base}:id/disable`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const t = text[caller.locale];
      const tenant = await tenants.get((request.params as { id: string }).id);
      if (tenant === undefined || tenant.status !== 'active') return seeOther(reply, base);
      const body = html`<dl class="facts"><dt>${t.id}</dt><dd>${tenant.id}</dd><dt>${t.name}</dt><dd>${tenant.name}</dd><dt>${t.created}</dt><dd>${formatDate(caller.locale, tenant.createdAt)}</dd></dl>
<p>${t.confirmText}</p>
<form method="post" action="${base}${tenant.id}/disable" class="actions"><input type="hidden" name="csrf" value="${caller.me.csrf}"><button type="submit" class="danger">${t.confirmButton}</button> <a href="${base}">${t.cancel}</a></form>`;
      return sendOperatorPage(request, reply, caller, { section: 'tenants', title: t.confirmTitle, body });
    });

    /** The move form: where to, why, and the tenant's id typed again; a refusal stays on it, as typed. */
    function movePage(request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, tenant: Tenant, form: { to: string; reason: string; error?: string | undefined }, status = 200) {
      const t = text[caller.locale];
      const targets = tenants.regions.names.filter((name) => name !== tenant.region);
      const invalid = form.error === undefined ? undefined : html` aria-invalid="true"`;
      const body = html`<dl class="facts"><dt>${t.id}</dt><dd>${tenant.id}</dd><dt>${t.name}</dt><dd>${tenant.name}</dd><dt>${t.currentRegion}</dt><dd>${tenant.region}</dd></dl>
<p>${t.moveText}</p>
<form method="post" action="${base}${tenant.id}/move" aria-labelledby="move-heading">
<h2 id="move-heading">${t.moveTitle}</h2>
<input type="hidden" name="csrf" value="${caller.me.csrf}">
<label for="move-to">${t.moveTo}</label>
<select id="move-to" name="to" required>${targets.map((name) => html`<option value="${name}"${name === form.to ? html` selected` : undefined}>${regionShown(tenants.regions, name)}</option>`)}</select>
<label for="move-reason">${t.reason}</label>
<p class="hint" id="move-reason-hint">${t.reasonHint}</p>
<input type="text" id="move-reason" name="reason" required maxlength="200" autocomplete="off" value="${form.reason}" aria-describedby="move-reason-hint">
<label for="move-confirm">${t.confirmId}</label>
<p class="hint" id="move-confirm-hint">${t.confirmIdHint}</p>
<input type="text" id="move-confirm" name="confirm" required maxlength="40" autocomplete="off" spellcheck="false" aria-describedby="move-confirm-hint${form.error === undefined ? '' : ' page-error'}"${invalid}>
<p class="actions"><button type="submit" class="danger">${t.moveButton}</button> <a href="${base}">${t.cancel}</a></p>
</form>`;
      return sendOperatorPage(request, reply, caller, { section: 'tenants', title: `${t.moveOf} ${tenant.id}`, body, error: form.error, status });
    }

    function movedPage(request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, report: MoveReport) {
      const t = text[caller.locale];
      const backup = 'snapshot' in report.backup ? `${t.backupTaken} ${report.backup.snapshot}` : 'skipped' in report.backup ? `${t.backupSkipped} ${report.backup.skipped}` : `${t.backupFailed} ${report.backup.failed}`;
      const seconds = (report.unavailableMs / 1000).toLocaleString(caller.locale === 'de' ? 'de-DE' : 'en-GB', { maximumFractionDigits: 1 });
      const body = html`<dl class="facts"><dt>${t.id}</dt><dd>${report.tenant}</dd><dt>${t.currentRegion}</dt><dd>${report.to}</dd><dt>${t.unavailableFor}</dt><dd>${seconds} s</dd><dt>${t.backup}</dt><dd>${backup}</dd></dl>
<p><a href="${base}">${t.back}</a></p>`;
      return sendOperatorPage(request, reply, caller, { section: 'tenants', title: t.moveTitle, body, notice: `${t.movedNotice} ${report.tenant} (${report.from} → ${report.to})` });
    }

    app.get(`${base}:id/move`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const tenant = await tenants.get((request.params as { id: string }).id);
      if (tenant === undefined || !movable) return seeOther(reply, base);
      return movePage(request, reply, caller, tenant, { to: '', reason: '' });
    });

    app.post(`${base}:id/move`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const tenant = await tenants.get((request.params as { id: string }).id);
      if (tenant === undefined || !movable) return seeOther(reply, base);
      const form = { to: field(request, 'to').trim(), reason: field(request, 'reason') };
      if (field(request, 'confirm').trim() !== tenant.id) return movePage(request, reply, caller, tenant, { ...form, error: text[caller.locale].idMismatch }, 400);
      try {
        return movedPage(request, reply, caller, await desk.move(by(request, caller), tenant.id, form.to, form.reason));
      } catch (error) {
        if (!fixable(error)) throw error;
        return movePage(request, reply, caller, tenant, { ...form, error: error.message }, error.status);
      }
    });

    app.post(`${base}:id/disable`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const disabled = await desk.disable(by(request, caller), (request.params as { id: string }).id);
      return seeOther(reply, `${base}?disabled=${disabled.id}`);
    });
  };
}

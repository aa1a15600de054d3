import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../../audit/index.js';
import { createBackupDesk, parseSnapshotId, type BackupAct, type RegionBackups, type SnapshotSummary } from '../../backup/index.js';
import { operatorRealm } from '../../identity/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, formatNumber, html, seeOther, type Locale, type Texts } from '../../platform/pages/index.js';
import { tenantIdPattern, type Tenants } from '../../tenants/index.js';
import type { OperatorCaller, PageGuard } from '../page-guard.js';
import { field, queryValue, sectionRole, sendOperatorPage } from './nav.js';

type Key =
  | 'title'
  | 'notConfigured'
  | 'notConfiguredHow'
  | 'caption'
  | 'none'
  | 'taken'
  | 'size'
  | 'tenants'
  | 'verified'
  | 'notVerified'
  | 'verifiedIn'
  | 'actions'
  | 'restoreLink'
  | 'recovery'
  | 'lastDrill'
  | 'noDrill'
  | 'passed'
  | 'failed'
  | 'rto'
  | 'rpoAtDrill'
  | 'rpoNow'
  | 'noVerified'
  | 'lastFailure'
  | 'seconds'
  | 'restoreTitle'
  | 'snapshot'
  | 'restoreText'
  | 'tenant'
  | 'confirm'
  | 'confirmHint'
  | 'mismatch'
  | 'restoreButton'
  | 'cancel'
  | 'noTenants'
  | 'restored'
  | 'regions'
  | 'regionNoRepository';

const text: Texts<Key> = {
  en: {
    title: 'Backups',
    notConfigured: 'No backup repository is configured.',
    notConfiguredHow: 'This server takes no snapshots and cannot restore. Set backup.repository (and the backup key) in the configuration and restart; see the operators’ guide.',
    caption: 'Snapshots in the repository, newest first',
    none: 'The repository holds no snapshot yet.',
    taken: 'Taken',
    size: 'Size',
    tenants: 'Tenants',
    verified: 'Verified',
    notVerified: 'not verified',
    verifiedIn: 'restored and checked in',
    actions: 'Actions',
    restoreLink: 'Restore one tenant…',
    recovery: 'Recovery as measured',
    lastDrill: 'Last restore drill',
    noDrill: 'no drill yet',
    passed: 'passed',
    failed: 'failed',
    rto: 'Recovery time (RTO) of the last drill',
    rpoAtDrill: 'Recovery point (RPO) at the last drill',
    rpoNow: 'Recovery point (RPO) now: age of the newest verified snapshot',
    noVerified: 'no verified snapshot',
    lastFailure: 'Last failed backup operation',
    seconds: 's',
    restoreTitle: 'Restore one tenant',
    snapshot: 'Snapshot',
    restoreText: 'The tenant’s data goes back to this snapshot in the running system; everything of that tenant written since is replaced. The state before is kept as a new snapshot, so the restore can be undone. Other tenants are not touched. This can take a while: keep this page open until it answers.',
    tenant: 'Tenant to restore',
    confirm: 'Type the tenant id to confirm',
    confirmHint: 'Exactly the id chosen above.',
    mismatch: 'The typed id is not the tenant chosen: nothing was restored.',
    restoreButton: 'Restore this tenant',
    cancel: 'Cancel',
    noTenants: 'This snapshot holds no tenant.',
    restored: 'Tenant {tenant} restored to snapshot {snapshot}. The state before is kept as snapshot {kept}.',
    regions: 'Regions — each is backed up into its own repository:',
    regionNoRepository: 'Region {region} has no backup repository: Tresor takes no snapshots of its data. Set regions.{region}.backup.repository in the configuration and restart.',
  },
  de: {
    title: 'Sicherungen',
    notConfigured: 'Es ist kein Sicherungs-Repository eingerichtet.',
    notConfiguredHow: 'Dieser Server legt keine Sicherungen an und kann nichts wiederherstellen. Setzen Sie backup.repository (und den Sicherungsschlüssel) in der Konfiguration und starten Sie neu; siehe die Anleitung für den Betrieb.',
    caption: 'Sicherungen im Repository, neueste zuerst',
    none: 'Das Repository enthält noch keine Sicherung.',
    taken: 'Angelegt',
    size: 'Größe',
    tenants: 'Mandanten',
    verified: 'Geprüft',
    notVerified: 'nicht geprüft',
    verifiedIn: 'wiederhergestellt und geprüft in',
    actions: 'Aktionen',
    restoreLink: 'Einen Mandanten wiederherstellen…',
    recovery: 'Gemessene Wiederherstellung',
    lastDrill: 'Letzte Wiederherstellungsübung',
    noDrill: 'noch keine Übung',
    passed: 'bestanden',
    failed: 'fehlgeschlagen',
    rto: 'Wiederherstellungszeit (RTO) der letzten Übung',
    rpoAtDrill: 'Wiederherstellungspunkt (RPO) bei der letzten Übung',
    rpoNow: 'Wiederherstellungspunkt (RPO) jetzt: Alter der neuesten geprüften Sicherung',
    noVerified: 'keine geprüfte Sicherung',
    lastFailure: 'Letzter fehlgeschlagener Sicherungsvorgang',
    seconds: 's',
    restoreTitle: 'Einen Mandanten wiederherstellen',
    snapshot: 'Sicherung',
    restoreText: 'Die Daten des Mandanten werden im laufenden System auf diese Sicherung zurückgesetzt; alles, was dieser Mandant seitdem geschrieben hat, wird ersetzt. Der Stand davor bleibt als neue Sicherung erhalten, die Wiederherstellung lässt sich also rückgängig machen. Andere Mandanten bleiben unberührt. Das kann dauern: Lassen Sie diese Seite offen, bis sie antwortet.',
    tenant: 'Wiederherzustellender Mandant',
    confirm: 'Geben Sie zur Bestätigung die Kennung des Mandanten ein',
    confirmHint: 'Genau die oben gewählte Kennung.',
    mismatch: 'Die eingegebene Kennung ist nicht der gewählte Mandant: Es wurde nichts wiederhergestellt.',
    restoreButton: 'Diesen Mandanten wiederherstellen',
    cancel: 'Abbrechen',
    noTenants: 'Diese Sicherung enthält keinen Mandanten.',
    restored: 'Mandant {tenant} auf Sicherung {snapshot} zurückgesetzt. Der Stand davor ist als Sicherung {kept} erhalten.',
    regions: 'Regionen — jede wird in ein eigenes Repository gesichert:',
    regionNoRepository: 'Region {region} hat kein Sicherungs-Repository: Tresor legt keine Sicherungen ihrer Daten an. Setzen Sie regions.{region}.backup.repository in der Konfiguration und starten Sie neu.',
  },
};

const base = '/platform/console/backups/';
const snapshotPattern = /^[a-z0-9][a-z0-9._-]{0,100}$/;

/** Bytes as people read them: 1.2 MB (decimal units, as disks and `tresor backup` count them). */
export function bytesText(locale: Locale, bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${formatNumber(locale, value, unit === 0 ? 0 : 1)} ${units[unit] as string}`;
}

/** A duration in seconds, as a number of seconds below two minutes, else minutes / hours. */
export function durationText(locale: Locale, seconds: number): string {
  if (seconds < 120) return `${formatNumber(locale, seconds, seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${formatNumber(locale, seconds / 60, 0)} min`;
  return `${formatNumber(locale, seconds / 3600, 1)} h`;
}

const tenantsOf = (summary: SnapshotSummary): string[] => summary.manifest.dataSets.filter((d) => d.kind === 'tenant' && d.id !== operatorRealm).map((d) => d.id);

/**
 * `/platform/console/backups/` (role `backup-operator`, as `/platform/backups`): the snapshots
 * (when, size, verified), the last restore drill with RTO and RPO as measured, the RPO now, and
 * the restore of one tenant after typing its id. Listing and restoring go through the same
 * service calls and audit events as the JSON routes (backup/operator-backups.ts). A restore runs
 * while the request waits, as `POST /platform/backups/{id}/restore` does (there is no job).
 * With regions, each region's repository has its own page (`?region=<name>`), reached by a list
 * of regions at the top; a tenant is restored from its own region's snapshots only.
 */
export function backupPages({ guard, backups, audit, tenants, now }: { guard: PageGuard; backups: RegionBackups; audit: Audit; tenants: Tenants; now: () => number }) {
  const desk = createBackupDesk({ backups, audit, tenants });
  const by = (request: FastifyRequest, caller: OperatorCaller): BackupAct => ({ operatorId: caller.principal.id, sourceIp: request.ip, requestId: request.id });
  const signedIn = (request: FastifyRequest, reply: FastifyReply) => guard.operator(request, reply, sectionRole.backups);
  /** The page's region: `?region=` (default the home region); unknown is a 404. */
  const regionOf = (request: FastifyRequest) => desk.regionOf(queryValue(request, 'region'));
  /** `?region=R` on every link and form of a region's page (nothing for the home region). */
  const inRegion = (region: string) => (region === desk.regions[0] ? '' : `?region=${encodeURIComponent(region)}`);
  /** The region's label, with its name where they differ ("Switzerland (ch)"). */
  const shown = (name: string) => (backups.labelOf(name) === name ? name : `${backups.labelOf(name)} (${name})`);
  const regionList = (t: (typeof text)[Locale], region: string) =>
    backups.regional
      ? html`<nav aria-labelledby="regions-label"><p id="regions-label">${t.regions}</p><ul>${desk.regions.map((name) => html`<li><a href="${base}${inRegion(name)}"${name === region ? html` aria-current="page"` : undefined}>${shown(name)}</a></li>`)}</ul></nav>`
      : undefined;
  const notConfigured = (request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, region: string) => {
    const t = text[caller.locale];
    const why = region === desk.regions[0] && !backups.regional ? html`<strong>${t.notConfigured}</strong> ${t.notConfiguredHow}` : html`<strong>${t.regionNoRepository.replaceAll('{region}', region)}</strong>`;
    return sendOperatorPage(request, reply, caller, { section: 'backups', title: t.title, body: html`${regionList(t, region)}<p class="alert" role="alert">${why}</p>` });
  };

  function overview(t: (typeof text)[Locale], locale: Locale, region: string, snapshots: readonly SnapshotSummary[], status: Awaited<ReturnType<typeof desk.list>>['status']) {
    const drill = status.lastDrill;
    const newest = [...snapshots].reverse();
    const rows = newest.map(
      (s) => html`<tr>
<th scope="row">${formatDateTime(locale, s.manifest.takenAt)}<br><span class="hint">${s.manifest.id}</span></th>
<td class="num">${bytesText(locale, s.manifest.dataSets.reduce((n, d) => n + d.bytes, 0))}</td>
<td>${tenantsOf(s).join(', ')}</td>
<td>${s.verified === undefined ? t.notVerified : html`${formatDateTime(locale, s.verified.verifiedAt)} <span class="hint">(${t.verifiedIn} ${durationText(locale, s.verified.seconds)})</span>`}</td>
<td>${tenantsOf(s).length === 0 ? undefined : html`<a href="${base}${s.manifest.id}/restore${inRegion(region)}" aria-label="${t.restoreLink} ${s.manifest.id}">${t.restoreLink}</a>`}</td>
</tr>`,
    );
    return html`${regionList(t, region)}<h2>${t.recovery}</h2>
<dl class="facts">
<dt>${t.lastDrill}</dt><dd>${drill === undefined ? t.noDrill : html`${formatDateTime(locale, drill.at)}: <strong>${drill.ok ? t.passed : t.failed}</strong>`}</dd>
<dt>${t.rto}</dt><dd>${drill?.restoreSeconds === undefined ? '–' : durationText(locale, drill.restoreSeconds)}</dd>
<dt>${t.rpoAtDrill}</dt><dd>${drill?.rpoSeconds === undefined ? '–' : durationText(locale, drill.rpoSeconds)}</dd>
<dt>${t.rpoNow}</dt><dd>${status.newestVerifiedTakenAt === undefined ? t.noVerified : durationText(locale, Math.max(0, (now() - status.newestVerifiedTakenAt) / 1000))}</dd>
${status.lastFailureAt === undefined ? undefined : html`<dt>${t.lastFailure}</dt><dd>${formatDateTime(locale, status.lastFailureAt)}</dd>`}
</dl>
<h2 id="snapshots-heading">${t.caption}</h2>
${
  snapshots.length === 0
    ? html`<p>${t.none}</p>`
    : html`<table aria-labelledby="snapshots-heading"><thead><tr><th scope="col">${t.taken}</th><th scope="col" class="num">${t.size}</th><th scope="col">${t.tenants}</th><th scope="col">${t.verified}</th><th scope="col">${t.actions}</th></tr></thead><tbody>${rows}</tbody></table>`
}`;
  }

  async function confirmPage(request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, region: string, snapshotId: string, form: { tenant: string; confirm: string; error?: string | undefined }, status = 200) {
    const t = text[caller.locale];
    const { snapshots } = await desk.list(by(request, caller), region);
    const summary = snapshots.find((s) => s.manifest.id === snapshotId);
    if (summary === undefined) throw new AppError('not-found', 'No such snapshot.', { status: 404, expose: true });
    const choices = tenantsOf(summary);
    const invalid = form.error === undefined ? undefined : html` aria-invalid="true"`;
    const body = html`<dl class="facts"><dt>${t.snapshot}</dt><dd>${summary.manifest.id}</dd><dt>${t.taken}</dt><dd>${formatDateTime(caller.locale, summary.manifest.takenAt)}</dd><dt>${t.verified}</dt><dd>${summary.verified === undefined ? t.notVerified : formatDateTime(caller.locale, summary.verified.verifiedAt)}</dd></dl>
<p>${t.restoreText}</p>
${
  choices.length === 0
    ? html`<p>${t.noTenants}</p>`
    : html`<form method="post" action="${base}${summary.manifest.id}/restore${inRegion(region)}">
<input type="hidden" name="csrf" value="${caller.me.csrf}">
<label for="restore-tenant">${t.tenant}</label>
<select id="restore-tenant" name="tenant">${choices.map((id) => html`<option value="${id}"${id === form.tenant ? html` selected` : undefined}>${id}</option>`)}</select>
<label for="restore-confirm">${t.confirm}</label>
<p class="hint" id="restore-confirm-hint">${t.confirmHint}</p>
<input type="text" id="restore-confirm" name="confirm" required autocomplete="off" spellcheck="false" value="${form.confirm}" aria-describedby="${form.error === undefined ? 'restore-confirm-hint' : 'restore-confirm-hint page-error'}"${invalid}>
<p class="actions"><button type="submit" class="danger">${t.restoreButton}</button> <a href="${base}${inRegion(region)}">${t.cancel}</a></p>
</form>`
}`;
    return sendOperatorPage(request, reply, caller, { section: 'backups', title: t.restoreTitle, body, error: form.error, status });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get(base, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const region = regionOf(request);
      if (!desk.configured(region)) return notConfigured(request, reply, caller, region);
      const t = text[caller.locale];
      const { snapshots, status } = await desk.list(by(request, caller), region);
      const restored = queryValue(request, 'restored');
      const from = queryValue(request, 'from');
      const kept = queryValue(request, 'kept');
      const notice =
        restored !== undefined && tenantIdPattern.test(restored) && from !== undefined && snapshotPattern.test(from) && kept !== undefined && snapshotPattern.test(kept)
          ? t.restored.replace('{tenant}', restored).replace('{snapshot}', from).replace('{kept}', kept)
          : undefined;
      return sendOperatorPage(request, reply, caller, { section: 'backups', title: t.title, body: overview(t, caller.locale, region, snapshots, status), notice });
    });

    app.get(`${base}:id/restore`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const region = regionOf(request);
      if (!desk.configured(region)) return notConfigured(request, reply, caller, region);
      return confirmPage(request, reply, caller, region, parseSnapshotId((request.params as { id: string }).id), { tenant: '', confirm: '' });
    });

    app.post(`${base}:id/restore`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const region = regionOf(request);
      if (!desk.configured(region)) return notConfigured(request, reply, caller, region);
      const snapshotId = parseSnapshotId((request.params as { id: string }).id);
      const tenant = field(request, 'tenant');
      const confirm = field(request, 'confirm').trim();
      // The typed id must be the chosen tenant: a restore replaces a tenant's data, so a slip of
      // the select alone never starts one (a deliberate, confirmed action; OWASP ASVS 5 V2.3.1 business logic).
      if (tenant === '' || confirm !== tenant) return confirmPage(request, reply, caller, region, snapshotId, { tenant, confirm, error: text[caller.locale].mismatch }, 400);
      const result = await desk.restoreTenant(by(request, caller), snapshotId, tenant, region);
      const back = inRegion(region);
      return seeOther(reply, `${base}${back === '' ? '?' : `${back}&`}restored=${encodeURIComponent(tenant)}&from=${encodeURIComponent(result.manifest.id)}&kept=${encodeURIComponent(result.preRestoreSnapshot)}`);
    });
  };
}

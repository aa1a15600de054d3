import type { FastifyInstance } from 'fastify';
import { operatorRealm } from '../../identity/index.js';
import type { KeyCensus, KeyProvider, Keys } from '../../keys/index.js';
import { formatDateTime, formatNumber, html, type Locale, type Texts } from '../../platform/pages/index.js';
import { keyStatus, rotationProgress, type Rotation, type RotationJob } from '../../rotation/index.js';
import type { PageGuard } from '../page-guard.js';
import { sectionRole, sendOperatorPage } from './nav.js';

type Key =
  | 'title'
  | 'master'
  | 'provider'
  | 'current'
  | 'onHand'
  | 'backupsOnly'
  | 'missing'
  | 'tenantsCaption'
  | 'tenant'
  | 'operatorsRealm'
  | 'kek'
  | 'index'
  | 'data'
  | 'noneYet'
  | 'live'
  | 'destroyed'
  | 'noTenants'
  | 'rotations'
  | 'noRotations'
  | 'scope'
  | 'masterKey'
  | 'toVersion'
  | 'progress'
  | 'phase'
  | 'state'
  | 'finished'
  | 'running'
  | 'noRunner'
  | 'failedRows'
  | 'retired'
  | 'howToRotate'
  | 'reencrypt'
  | 'sweep'
  | 'rewrap'
  | 'retire'
  | 'done';

const text: Texts<Key> = {
  en: {
    title: 'Keys',
    master: 'Master key',
    provider: 'Provider',
    current: 'Current version',
    onHand: 'Versions on hand',
    backupsOnly: 'Kept only for backups',
    missing: 'missing from the provider: backups that need it cannot be read',
    tenantsCaption: 'Key versions per tenant (no key material is ever shown)',
    tenant: 'Tenant',
    operatorsRealm: 'platform operators (their own data set)',
    kek: 'Key-encryption key',
    index: 'Index key',
    data: 'Data keys',
    noneYet: 'none yet',
    live: 'live',
    destroyed: 'destroyed',
    noTenants: 'No tenant has keys yet.',
    rotations: 'Key rotations',
    noRotations: 'No key rotation has run.',
    scope: 'Scope',
    masterKey: 'master key',
    toVersion: 'To version',
    progress: 'Progress',
    phase: 'Phase',
    state: 'State',
    finished: 'finished',
    running: 'running',
    noRunner: 'no runner: start the server or run tresor keys rotate again',
    failedRows: 'failed their integrity check',
    retired: 'retired',
    howToRotate: 'Rotations are started on the host with tresor keys rotate (--master for the master key); their progress shows here.',
    reencrypt: 're-encrypting',
    sweep: 'sweeping up late writes',
    rewrap: 're-wrapping tenant keys',
    retire: 'retiring old versions',
    done: 'done',
  },
  de: {
    title: 'Schlüssel',
    master: 'Hauptschlüssel',
    provider: 'Anbieter',
    current: 'Aktuelle Version',
    onHand: 'Vorhandene Versionen',
    backupsOnly: 'Nur für Sicherungen aufbewahrt',
    missing: 'fehlt beim Anbieter: Sicherungen, die sie brauchen, sind nicht lesbar',
    tenantsCaption: 'Schlüsselversionen je Mandant (Schlüsselmaterial wird nie gezeigt)',
    tenant: 'Mandant',
    operatorsRealm: 'Betrieb (eigener Datenbestand)',
    kek: 'Schlüssel-Verschlüsselungsschlüssel',
    index: 'Indexschlüssel',
    data: 'Datenschlüssel',
    noneYet: 'noch keiner',
    live: 'in Gebrauch',
    destroyed: 'vernichtet',
    noTenants: 'Noch kein Mandant hat Schlüssel.',
    rotations: 'Schlüsselrotationen',
    noRotations: 'Es ist noch keine Schlüsselrotation gelaufen.',
    scope: 'Bereich',
    masterKey: 'Hauptschlüssel',
    toVersion: 'Auf Version',
    progress: 'Fortschritt',
    phase: 'Phase',
    state: 'Stand',
    finished: 'abgeschlossen',
    running: 'läuft',
    noRunner: 'niemand führt sie aus: Server starten oder tresor keys rotate erneut aufrufen',
    failedRows: 'haben ihre Integritätsprüfung nicht bestanden',
    retired: 'entfernt',
    howToRotate: 'Rotationen werden auf dem Server mit tresor keys rotate gestartet (--master für den Hauptschlüssel); ihr Fortschritt erscheint hier.',
    reencrypt: 'verschlüsselt neu',
    sweep: 'erfasst späte Schreibvorgänge',
    rewrap: 'verpackt Mandantenschlüssel neu',
    retire: 'entfernt alte Versionen',
    done: 'fertig',
  },
};

function versions(t: (typeof text)[Locale], locale: Locale, rows: readonly KeyCensus[], kind: KeyCensus['kind']) {
  const of = rows.filter((r) => r.kind === kind);
  if (of.length === 0) return t.noneYet;
  return of.map((r) => (kind === 'data' ? `v${r.version}: ${formatNumber(locale, r.live)} ${t.live}${r.destroyed > 0 ? `, ${formatNumber(locale, r.destroyed)} ${t.destroyed}` : ''}` : `v${r.version}`)).join('; ');
}

function rotationRow(t: (typeof text)[Locale], locale: Locale, job: RotationJob) {
  const ratio = rotationProgress(job);
  const percent = Math.round(ratio * 100);
  const label = job.scope === 'master' ? t.masterKey : job.tenantId;
  return html`<tr>
<th scope="row">${label}</th>
<td class="num">${job.generation}</td>
<td><progress max="100" value="${String(percent)}" aria-label="${t.progress} ${label ?? ''}">${percent} %</progress> ${percent} % <span class="hint">(${formatNumber(locale, job.rowsDone)}/${formatNumber(locale, job.rowsTotal)})</span></td>
<td>${t[job.phase]}</td>
<td>${
    job.finishedAt === undefined
      ? html`${t.running}${job.leaseOwner === undefined ? html` <strong>(${t.noRunner})</strong>` : undefined}`
      : html`${t.finished} ${formatDateTime(locale, job.finishedAt)}${job.retired === undefined ? undefined : html`; ${t.retired}: ${job.retired}`}`
  }${job.rowsFailed > 0 ? html`; <strong>${formatNumber(locale, job.rowsFailed)} ${t.failedRows}</strong>` : undefined}</td>
</tr>`;
}

/**
 * `/platform/console/keys/` (role `operator`): what `tresor keys status` shows, from the same
 * service call (rotation/status.ts) — master key versions and those kept for backups, every
 * tenant's key versions, the rotation jobs with their progress. Read-only: rotations start on the
 * host (`tresor keys rotate`), where the master key's provider is.
 */
export function keyPages({ guard, keys, rotation, provider }: { guard: PageGuard; keys: Keys; rotation: Rotation; provider: KeyProvider }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/platform/console/keys/', async (request, reply) => {
      const caller = await guard.operator(request, reply, sectionRole.keys);
      if (caller === undefined) return reply;
      const { locale } = caller;
      const t = text[locale];
      const status = await keyStatus({ keys, rotation, provider });
      const tenantIds = [...new Set(status.census.map((c) => c.tenantId))];
      const body = html`<h2>${t.master}</h2>
<dl class="facts">
<dt>${t.provider}</dt><dd>${status.provider}</dd>
<dt>${t.current}</dt><dd>${status.currentMasterVersion}</dd>
<dt>${t.onHand}</dt><dd>${status.masterVersions.join(', ')}</dd>
${status.backupsOnly.length === 0 ? undefined : html`<dt>${t.backupsOnly}</dt><dd>${status.backupsOnly.map((v) => html`v${v}${status.masterVersions.includes(v) ? undefined : html` <strong>(${t.missing})</strong>`} `)}</dd>`}
</dl>
<h2 id="rotations-heading">${t.rotations}</h2>
<p class="hint">${t.howToRotate}</p>
${
  status.rotations.length === 0
    ? html`<p>${t.noRotations}</p>`
    : html`<table aria-labelledby="rotations-heading"><thead><tr><th scope="col">${t.scope}</th><th scope="col" class="num">${t.toVersion}</th><th scope="col">${t.progress}</th><th scope="col">${t.phase}</th><th scope="col">${t.state}</th></tr></thead><tbody>${status.rotations.map((job) => rotationRow(t, locale, job))}</tbody></table>`
}
<h2 id="tenant-keys-heading">${t.tenantsCaption}</h2>
${
  tenantIds.length === 0
    ? html`<p>${t.noTenants}</p>`
    : html`<table aria-labelledby="tenant-keys-heading"><thead><tr><th scope="col">${t.tenant}</th><th scope="col">${t.kek}</th><th scope="col">${t.index}</th><th scope="col">${t.data}</th></tr></thead><tbody>${tenantIds.map((id) => {
        const rows = status.census.filter((c) => c.tenantId === id);
        return html`<tr><th scope="row">${id === operatorRealm ? t.operatorsRealm : id}</th><td>${versions(t, locale, rows, 'kek')}</td><td>${versions(t, locale, rows, 'index')}</td><td>${versions(t, locale, rows, 'data')}</td></tr>`;
      })}</tbody></table>`
}`;
      return sendOperatorPage(request, reply, caller, { section: 'keys', title: t.title, body });
    });
  };
}

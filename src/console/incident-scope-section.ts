import type { FrozenScopeCheck, FrozenScopeSummary, TenantScopePart } from '../incidents/index.js';
import { formatDateTime, html, type Html, type Locale, type Texts } from '../platform/pages/index.js';

type Key =
  | 'heading' | 'intro' | 'none' | 'caption' | 'when' | 'who' | 'tenant' | 'patients' | 'records' | 'attempts' | 'inClear' | 'cipherOnly' | 'hash' | 'json' | 'verify'
  | 'compute' | 'from' | 'to' | 'timeHint' | 'kind' | 'apiKey' | 'account' | 'client' | 'address' | 'rawFiles' | 'rawFilesKeys' | 'values' | 'valuesHint' | 'tenants' | 'tenantsHint' | 'freeze'
  | 'notices' | 'ownIntro' | 'patient' | 'disclosure' | 'first' | 'last' | 'window' | 'suspect' | 'verified' | 'yes' | 'no' | 'intact' | 'matchesTrail' | 'differences' | 'total';

export const scopeTexts: Texts<Key> = {
  en: {
    heading: 'Breach scope', intro: 'Scopes computed from the audit trails and frozen into this incident with their inputs and a SHA-256 hash. A new computation adds a scope; none is ever changed.', none: 'No scope frozen yet.',
    caption: 'Frozen scopes, oldest first', when: 'Computed', who: 'By', tenant: 'Tenant', patients: 'Patients', records: 'Records', attempts: 'Refused attempts', inClear: 'in clear', cipherOnly: 'ciphertext only', hash: 'Hash', json: 'JSON', verify: 'Verify',
    compute: 'Compute and freeze a scope', from: 'From', to: 'To', timeHint: 'ISO 8601 with a zone, e.g. 2026-03-01T00:00:00Z.', kind: 'Suspect', apiKey: 'API keys', account: 'Accounts', client: 'Apps (OAuth clients)', address: 'Source addresses (or CIDR ranges)', rawFiles: 'Raw database or backup files (keys safe)', rawFilesKeys: 'Raw files with the keys', values: 'Ids or addresses', valuesHint: 'One per line; not needed for raw files.', tenants: 'Tenants', tenantsHint: 'Tenant ids, separated by commas; empty: all tenants.', freeze: 'Compute and freeze',
    notices: 'Breach notices: drafts, approval, delivery',
    ownIntro: 'What the breach scope found in your data: you are the data controller and notify your patients. Other customers of the platform are not shown.', patient: 'Patient', disclosure: 'Disclosure', first: 'First access', last: 'Last access', window: 'Window', suspect: 'Suspect',
    verified: 'Verification', yes: 'yes', no: 'NO', intact: 'unchanged since frozen', matchesTrail: 'matches the audit trail', differences: 'differences', total: 'Total',
  },
  de: {
    heading: 'Umfang der Verletzung', intro: 'Aus den Protokollen berechnete Umfänge, mit ihren Eingaben und einem SHA-256-Hash in diesem Vorfall festgehalten. Eine neue Berechnung fügt einen Umfang hinzu; keiner wird je geändert.', none: 'Noch kein Umfang festgehalten.',
    caption: 'Festgehaltene Umfänge, älteste zuerst', when: 'Berechnet', who: 'Von', tenant: 'Mandant', patients: 'Patienten', records: 'Datensätze', attempts: 'Abgewiesene Versuche', inClear: 'im Klartext', cipherOnly: 'nur verschlüsselt', hash: 'Hash', json: 'JSON', verify: 'Prüfen',
    compute: 'Umfang berechnen und festhalten', from: 'Von', to: 'Bis', timeHint: 'ISO 8601 mit Zone, z. B. 2026-03-01T00:00:00Z.', kind: 'Verdacht', apiKey: 'API-Schlüssel', account: 'Konten', client: 'Apps (OAuth-Clients)', address: 'Quelladressen (oder CIDR-Bereiche)', rawFiles: 'Rohdateien der Datenbank oder Sicherung (Schlüssel sicher)', rawFilesKeys: 'Rohdateien samt Schlüsseln', values: 'IDs oder Adressen', valuesHint: 'Eine pro Zeile; bei Rohdateien nicht nötig.', tenants: 'Mandanten', tenantsHint: 'Mandanten-IDs, durch Kommas getrennt; leer: alle Mandanten.', freeze: 'Berechnen und festhalten',
    notices: 'Benachrichtigungen: Entwürfe, Freigabe, Zustellung',
    ownIntro: 'Was die Umfangsberechnung in Ihren Daten fand: Sie sind der Verantwortliche und benachrichtigen Ihre Patienten. Andere Kunden der Plattform werden nicht gezeigt.', patient: 'Patient', disclosure: 'Offenlegung', first: 'Erster Zugriff', last: 'Letzter Zugriff', window: 'Zeitraum', suspect: 'Verdacht',
    verified: 'Prüfung', yes: 'ja', no: 'NEIN', intact: 'unverändert seit dem Festhalten', matchesTrail: 'stimmt mit dem Protokoll überein', differences: 'Abweichungen', total: 'Summe',
  },
};

export const suspectKinds = ['api-key', 'account', 'client', 'address', 'raw-files', 'raw-files-keys'] as const;

const time = (locale: Locale, at: number | null): Html | string => (at === null ? '–' : html`<time datetime="${new Date(at).toISOString()}">${formatDateTime(locale, at)}</time>`);

/** The verification's result as one sentence for the page's notice. */
export function verifyNotice(locale: Locale, check: FrozenScopeCheck): string {
  const t = scopeTexts[locale];
  return `${t.verified}: ${t.intact} — ${check.intact ? t.yes : t.no}; ${t.matchesTrail} — ${check.matchesTrail ? t.yes : t.no}${check.differences.length === 0 ? '' : `; ${t.differences}: ${check.differences.join('; ')}`}`;
}

/** The operators' section: each frozen scope's totals per tenant, its hash, the JSON, Verify; and the form that freezes one. */
export function operatorScopeSection(locale: Locale, scopes: readonly FrozenScopeSummary[], action: (path: string) => string, csrf: Html): Html {
  const t = scopeTexts[locale];
  const kindLabel: Record<(typeof suspectKinds)[number], string> = { 'api-key': t.apiKey, account: t.account, client: t.client, address: t.address, 'raw-files': t.rawFiles, 'raw-files-keys': t.rawFilesKeys };
  const list =
    scopes.length === 0
      ? html`<p>${t.none}</p>`
      : scopes.map(
          (s) => html`<table><caption>${t.when} ${time(locale, s.computedAt)}, ${t.who} ${s.computedBy}</caption><thead><tr><th scope="col">${t.tenant}</th><th scope="col">${t.patients}</th><th scope="col">${t.inClear}</th><th scope="col">${t.cipherOnly}</th><th scope="col">${t.records}</th><th scope="col">${t.attempts}</th></tr></thead>
<tbody>${s.tenants.map((x) => html`<tr><th scope="row">${x.tenantId}</th><td>${x.patients}</td><td>${x.inClear}</td><td>${x.ciphertextOnly}</td><td>${x.records}</td><td>${x.attempts}</td></tr>`)}
<tr><th scope="row">${t.total}</th><td>${s.totals.patients}</td><td></td><td></td><td>${s.totals.records}</td><td>${s.totals.attempts}</td></tr></tbody></table>
<p>${t.hash}: <code class="hash">${s.hash}</code> · <a href="${action(`scopes/${s.id}`)}" download="scope-${s.id}.json">${t.json}</a></p>
<form class="inline" method="post" action="${action(`scopes/${s.id}/verify`)}">${csrf}<button type="submit" aria-label="${t.verify}: ${s.hash.slice(0, 12)}">${t.verify}</button></form>`,
        );
  const form = html`<h3 id="scope-form-heading">${t.compute}</h3><form method="post" action="${action('scopes')}" aria-labelledby="scope-form-heading">${csrf}
<label for="scope-from">${t.from}</label><input type="text" id="scope-from" name="from" required aria-describedby="scope-time-hint">
<label for="scope-to">${t.to}</label><input type="text" id="scope-to" name="to" required aria-describedby="scope-time-hint"><p class="hint" id="scope-time-hint">${t.timeHint}</p>
<label for="scope-kind">${t.kind}</label><select id="scope-kind" name="kind">${suspectKinds.map((k) => html`<option value="${k}">${kindLabel[k]}</option>`)}</select>
<label for="scope-values">${t.values}</label><textarea id="scope-values" name="values" rows="3" maxlength="8000" aria-describedby="scope-values-hint"></textarea><p class="hint" id="scope-values-hint">${t.valuesHint}</p>
<label for="scope-tenants">${t.tenants}</label><input type="text" id="scope-tenants" name="tenants" aria-describedby="scope-tenants-hint"><p class="hint" id="scope-tenants-hint">${t.tenantsHint}</p>
<button type="submit" class="primary">${t.freeze}</button></form>`;
  const notices = scopes.length === 0 ? undefined : html`<p class="actions"><a href="${action('drafts')}">${t.notices}</a></p>`;
  return html`<section aria-labelledby="scope-heading"><h2 id="scope-heading">${t.heading}</h2><p>${t.intro}</p>${list}${notices}${form}</section>`;
}

/** A clinic's section: its own part of each frozen scope — counts, classes and its patients (it is the data controller). */
export function tenantScopeSection(locale: Locale, parts: readonly TenantScopePart[]): Html {
  const t = scopeTexts[locale];
  const body =
    parts.length === 0
      ? html`<p>${t.none}</p>`
      : parts.map(
          (p) => html`<h3>${t.when} ${time(locale, p.computedAt)}</h3><dl class="facts"><dt>${t.window}</dt><dd>${time(locale, p.window.from)} – ${time(locale, p.window.to)}</dd><dt>${t.suspect}</dt><dd>${p.suspect}</dd>
<dt>${t.patients}</dt><dd>${p.tenant.patients.count}</dd><dt>${t.records}</dt><dd>${p.tenant.records.count}</dd><dt>${t.attempts}</dt><dd>${p.tenant.attempts.count}</dd>
<dt>${t.inClear}</dt><dd>${p.tenant.classes.inClear.join(', ') || '–'}</dd><dt>${t.cipherOnly}</dt><dd>${p.tenant.classes.ciphertextOnly.join(', ') || '–'}</dd><dt>${t.hash}</dt><dd><code class="hash">${p.hash}</code></dd></dl>
${p.tenant.patients.list.length === 0 ? undefined : html`<table><caption>${t.patients}</caption><thead><tr><th scope="col">${t.patient}</th><th scope="col">${t.disclosure}</th><th scope="col">${t.first}</th><th scope="col">${t.last}</th></tr></thead><tbody>${p.tenant.patients.list.map(
              (x) => html`<tr><th scope="row">${x.patient}</th><td>${x.disclosure === 'in-clear' ? t.inClear : t.cipherOnly}</td><td>${time(locale, x.first)}</td><td>${time(locale, x.last)}</td></tr>`,
            )}</tbody></table>`}`,
        );
  return html`<section aria-labelledby="scope-heading"><h2 id="scope-heading">${t.heading}</h2><p>${t.ownIntro}</p>${body}</section>`;
}

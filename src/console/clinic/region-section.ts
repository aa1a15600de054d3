import { html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import type { RegionReport, SharedComponentId } from '../../regions/index.js';

type Key = 'heading' | 'intro' | 'region' | 'location' | 'home' | 'caption' | 'component' | 'where' | 'holds' | 'none' | SharedComponentId | `${SharedComponentId}Holds`;

const text: Texts<Key> = {
  en: {
    heading: 'Where your data is kept',
    intro: 'Your records, accounts, audit trail, keys, audit checkpoints and exports are kept in this region. The services below are not: each runs where it says.',
    region: 'Region',
    location: 'Location',
    home: 'the deployment’s home region',
    caption: 'Services that are not kept in your region',
    component: 'Service',
    where: 'Where it runs',
    holds: 'What of yours it holds or sees',
    none: 'Every service is kept in your region.',
    'server-processes': 'Tresor’s servers',
    'server-processesHolds': 'Each request in memory while it is served (records are decrypted there, never stored there).',
    'platform-registry': 'The platform registry',
    'platform-registryHolds': 'Your tenant’s id and name, its status, the hashes of your API keys.',
    'operators-realm': 'The platform operators’ accounts and audit trail',
    'operators-realmHolds': 'Which tenant an operator acted on (ids only).',
    'platform-signing-keys': 'The platform’s signing keys',
    'platform-signing-keysHolds': 'The keys that sign audit checkpoints; no key of your data.',
    'oauth-issuer': 'The sign-in address for apps (OAuth issuer)',
    'oauth-issuerHolds': 'Only the address; its signing keys are kept in your region.',
    'status-page': 'The public status page',
    'status-pageHolds': 'Component states and incident updates; none of your data.',
    'mail-relay': 'The mail relay',
    'mail-relayHolds': 'Messages to people (invitations, password resets) while they are relayed.',
    'siem-file': 'The security log copy (file)',
    'siem-fileHolds': 'A copy of the audit trail: who accessed which records, by id.',
    'siem-syslog': 'The security log copy (SIEM)',
    'siem-syslogHolds': 'A copy of the audit trail: who accessed which records, by id.',
    'alert-webhooks': 'Alert notifications (webhooks)',
    'alert-webhooksHolds': 'Alerts: rule ids, counts and record ids, never record contents.',
    backups: 'Backups',
    backupsHolds: 'Your region’s data is not in Tresor’s own backups yet; your operator backs it up by other means.',
  },
  de: {
    heading: 'Wo Ihre Daten liegen',
    intro: 'Ihre Akten, Konten, Ihr Protokoll, Ihre Schlüssel, Protokoll-Prüfpunkte und Exporte liegen in dieser Region. Die folgenden Dienste nicht: jeder läuft dort, wo es angegeben ist.',
    region: 'Region',
    location: 'Standort',
    home: 'die Heimatregion der Installation',
    caption: 'Dienste, die nicht in Ihrer Region liegen',
    component: 'Dienst',
    where: 'Wo er läuft',
    holds: 'Was er von Ihnen hält oder sieht',
    none: 'Alle Dienste liegen in Ihrer Region.',
    'server-processes': 'Die Server von Tresor',
    'server-processesHolds': 'Jede Anfrage im Arbeitsspeicher, solange sie bearbeitet wird (Akten werden dort entschlüsselt, nie gespeichert).',
    'platform-registry': 'Das Plattformverzeichnis',
    'platform-registryHolds': 'Kennung und Name Ihres Mandanten, sein Status, die Hashes Ihrer API-Schlüssel.',
    'operators-realm': 'Konten und Protokoll der Plattformbetreiber',
    'operators-realmHolds': 'Für welchen Mandanten ein Betreiber gehandelt hat (nur Kennungen).',
    'platform-signing-keys': 'Die Signaturschlüssel der Plattform',
    'platform-signing-keysHolds': 'Die Schlüssel, die Protokoll-Prüfpunkte signieren; kein Schlüssel Ihrer Daten.',
    'oauth-issuer': 'Die Anmeldeadresse für Apps (OAuth-Aussteller)',
    'oauth-issuerHolds': 'Nur die Adresse; ihre Signaturschlüssel liegen in Ihrer Region.',
    'status-page': 'Die öffentliche Statusseite',
    'status-pageHolds': 'Zustände der Komponenten und Meldungen zu Vorfällen; keine Ihrer Daten.',
    'mail-relay': 'Der Mail-Server',
    'mail-relayHolds': 'Nachrichten an Personen (Einladungen, Passwort-Zurücksetzungen), während sie weitergeleitet werden.',
    'siem-file': 'Die Kopie des Sicherheitsprotokolls (Datei)',
    'siem-fileHolds': 'Eine Kopie des Protokolls: wer auf welche Akten zugegriffen hat, nach Kennung.',
    'siem-syslog': 'Die Kopie des Sicherheitsprotokolls (SIEM)',
    'siem-syslogHolds': 'Eine Kopie des Protokolls: wer auf welche Akten zugegriffen hat, nach Kennung.',
    'alert-webhooks': 'Warnmeldungen (Webhooks)',
    'alert-webhooksHolds': 'Warnmeldungen: Regel-Kennungen, Anzahlen und Akten-Kennungen, nie Inhalte.',
    backups: 'Sicherungen',
    backupsHolds: 'Die Daten Ihrer Region sind noch nicht in den eigenen Sicherungen von Tresor; Ihr Betreiber sichert sie auf anderem Weg.',
  },
};

/** The settings page's section on residency: the tenant's region and what is not regionalised (GDPR Art. 13(1)(f): told of transfers). */
export function regionSection(locale: Locale, report: RegionReport): Html {
  const t = text[locale];
  const rows = report.notRegionalised.map((c) => html`<tr><th scope="row">${t[c.id]}</th><td>${c.where}</td><td>${t[`${c.id}Holds`]}</td></tr>`);
  return html`<section aria-labelledby="region-heading">
<h2 id="region-heading">${t.heading}</h2>
<dl class="facts"><dt>${t.region}</dt><dd>${report.region.label}${report.region.home ? html` (${t.home})` : undefined}</dd>${report.region.location === undefined ? undefined : html`<dt>${t.location}</dt><dd>${report.region.location}</dd>`}</dl>
<p>${t.intro}</p>
${rows.length === 0 ? html`<p>${t.none}</p>` : html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.component}</th><th scope="col">${t.where}</th><th scope="col">${t.holds}</th></tr></thead><tbody>${rows}</tbody></table>`}
</section>`;
}

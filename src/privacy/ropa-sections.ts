import type { RopaDocument } from './ropa-document.js';

/** One section of the records of processing, ready for any format: a heading, lines of text, a table. */
export interface RopaSection {
  readonly id: string;
  readonly heading: string;
  readonly paragraphs: readonly string[];
  readonly table?: { readonly head: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> };
}

export type RopaLocale = 'en' | 'de';

// Headings in the reader's language; the generated content stays English (it names settings, roles and codes as Tresor spells them).
const headings = {
  en: {
    title: 'Records of processing activities',
    about: 'About this record',
    controller: 'Controller and processor',
    subjects: 'Categories of data subjects',
    categories: 'Categories of personal data',
    roles: 'Purposes: roles',
    apps: 'Purposes: registered apps',
    purposesOfUse: 'Purposes stated in the audit trail',
    recipients: 'Recipients',
    transfers: 'Where the data lives; transfers',
    retention: 'Retention',
    measures: 'Technical and organisational measures',
    toBeAdded: 'To be added by the controller',
  },
  de: {
    title: 'Verzeichnis von Verarbeitungstätigkeiten',
    about: 'Zu diesem Verzeichnis',
    controller: 'Verantwortlicher und Auftragsverarbeiter',
    subjects: 'Kategorien betroffener Personen',
    categories: 'Kategorien personenbezogener Daten',
    roles: 'Zwecke: Rollen',
    apps: 'Zwecke: registrierte Apps',
    purposesOfUse: 'Im Protokoll angegebene Zwecke',
    recipients: 'Empfänger',
    transfers: 'Speicherort; Übermittlungen',
    retention: 'Aufbewahrung',
    measures: 'Technische und organisatorische Maßnahmen',
    toBeAdded: 'Vom Verantwortlichen zu ergänzen',
  },
} as const;

export const ropaTitle = (doc: RopaDocument, locale: RopaLocale): string =>
  `${headings[locale].title}: ${doc.scope === 'tenant' ? (doc.controllers[0]?.name ?? '') : 'Tresor deployment (processor)'}`;

const list = (values: readonly string[]) => (values.length === 0 ? '—' : values.join(', '));

/** The document as sections, in the order of GDPR Art. 30(1)(a)–(g) (and 30(2) for the platform). */
export function ropaSections(doc: RopaDocument, locale: RopaLocale = 'en'): RopaSection[] {
  const h = headings[locale];
  const { retention } = doc;
  return [
    {
      id: 'about',
      heading: h.about,
      paragraphs: [
        `Generated ${doc.generatedAt} by Tresor ${doc.tresorVersion} from data register version ${doc.registerVersion}, the permission matrix, the configuration and the live system. Generate it again rather than editing it.`,
        doc.scope === 'tenant' ? 'Scope: this tenant as controller (GDPR Art. 30(1); ISO/IEC 27701 7.2.8).' : 'Scope: the deployment’s operator as processor for every tenant (GDPR Art. 30(2); ISO/IEC 27701 8.2.6).',
      ],
    },
    {
      id: 'controller',
      heading: h.controller,
      paragraphs: [`Processor: ${doc.processor.name}; contact ${list(doc.processor.contact)}.`],
      table: { head: ['controller', 'tenant id', 'security contact'], rows: doc.controllers.map((c) => [c.name, c.id ?? '', list(c.contact)]) },
    },
    {
      id: 'subjects',
      heading: h.subjects,
      paragraphs: [],
      table: { head: ['category', 'count now', 'counted from'], rows: doc.dataSubjects.map((s) => [s.category, String(s.count), s.source]) },
    },
    {
      id: 'categories',
      heading: h.categories,
      paragraphs: [
        'Each element of each record type has one data class (the data register). Health data is a special category (GDPR Art. 9(1)).',
        doc.dataCategories.fieldEncryptionEnforced ? 'Per-field encryption is enforced on stored records.' : 'NOTE: per-field encryption is not enforced on stored records.',
        ...doc.dataCategories.classes.map((c) => `${c.class}${c.specialCategory ? ' (special category, Art. 9)' : ''}: ${c.protection}; in ${list(c.types)}`),
        ...doc.dataCategories.platform.map((r) => `outside records — ${r.store}: ${r.field} (${r.class})${r.note === '' ? '' : `: ${r.note}`}`),
      ],
      table: {
        head: ['record type', 'records', 'class', 'elements'],
        rows: doc.dataCategories.types.flatMap((t) => t.classes.map((c) => [t.resourceType, t.records === null ? '' : String(t.records), `${c.class}${c.specialCategory ? ' (Art. 9)' : ''}`, c.elements.join(', ')])),
      },
    },
    {
      id: 'roles',
      heading: h.roles,
      paragraphs: doc.purposes.roles.map((r) => `${r.role}: ${r.description} Reach: ${r.reach}.${r.capabilities.length === 0 ? '' : ` Also: ${r.capabilities.join(', ')}.`}`),
      table: { head: ['role', 'record type', 'actions', 'reads', 'writes'], rows: doc.purposes.roles.flatMap((r) => r.records.map((g) => [r.role, g.resourceType, g.actions.join(', '), list(g.reads), list(g.writes)])) },
    },
    ...(doc.scope === 'tenant'
      ? [
          {
            id: 'apps',
            heading: h.apps,
            paragraphs: doc.purposes.apps.length === 0 ? ['No app is registered.'] : ['An app has no declared purpose field in the app register; its scopes bound what it may read.'],
            table: { head: ['app', 'publisher', 'kind', 'status', 'scopes', 'declared purpose'], rows: doc.purposes.apps.map((a) => [a.name, a.publisher, a.kind, a.status, a.scopes.join(' '), a.declaredPurpose ?? 'not declared']) },
          },
        ]
      : []),
    {
      id: 'purposes-of-use',
      heading: h.purposesOfUse,
      paragraphs: [`HL7 v3 PurposeOfUse codes of audit events over the last ${doc.purposes.purposesOfUse.sinceDays} days.${doc.purposes.purposesOfUse.counts.length === 0 ? ' None.' : ''}`],
      table: { head: ['PurposeOfUse', 'events'], rows: doc.purposes.purposesOfUse.counts.map((c) => [c.code, String(c.events)]) },
    },
    {
      id: 'recipients',
      heading: h.recipients,
      paragraphs: [],
      table: { head: ['recipient', 'kind', 'where', 'receives'], rows: doc.recipients.map((r) => [r.name, r.kind, r.where, r.receives]) },
    },
    {
      id: 'transfers',
      heading: h.transfers,
      paragraphs: doc.transfers.thirdCountries.length === 0 ? ['Third countries: none; every recipient above is on the deployment’s own machines.'] : ['Third countries: Tresor cannot tell which country a host is in:', ...doc.transfers.thirdCountries.map((t) => t.finding)],
      table: { head: ['region', 'data', 'backups', 'keys'], rows: doc.transfers.regions.map((r) => [r.name, r.storage, r.backupRepository, r.keyProvider]) },
    },
    {
      id: 'retention',
      heading: h.retention,
      paragraphs: [
        `Audit trail: ${retention.auditTrailDays} days, then pruned behind a signed cut point.`,
        retention.backups.configured ? `Backups: every snapshot for ${retention.backups.allForHours} h, daily ones for ${retention.backups.dailyForDays} days, monthly ones for ${retention.backups.monthlyForMonths} months; erased patients stay erased in every one.` : 'Backups: none configured.',
        `Sessions: ${retention.sessions.idleMinutes} min idle, ${retention.sessions.absoluteHours} h at most. App access tokens: ${retention.oauth.accessTokenMinutes} min; refresh tokens: ${retention.oauth.refreshTokenIdleDays} days unused; an approval of an app: ${retention.oauth.grantDays} days.`,
      ],
      table: { head: ['class', 'kept', 'basis'], rows: retention.classes.map((c) => [c.class, c.period, c.basis]) },
    },
    {
      id: 'measures',
      heading: h.measures,
      paragraphs: ['Each measure as read from the running system or its configuration when this record was generated (GDPR Art. 32).'],
      table: { head: ['measure', 'state', 'detail'], rows: doc.measures.map((m) => [m.title, m.state, m.detail]) },
    },
    { id: 'to-be-added', heading: h.toBeAdded, paragraphs: doc.toBeAdded.map((t) => `- ${t}`) },
  ];
}

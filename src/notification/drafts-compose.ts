import type { Scope } from '../breach/index.js';
import { classWords, fill, letterTexts, reportClassWords, reportTexts, type FreeText } from './drafts-texts.js';
import type { AffectedPerson, NoticeLanguage } from './people.js';
import { disclosureCounts } from './assessment-facts.js';

/** The four notices a breach may call for. */
export const noticeKinds = ['individual', 'customer', 'authority', 'media'] as const;
export type NoticeKind = (typeof noticeKinds)[number];

/**
 * A notice as structured text, before it is text, HTML or PDF: a title, an optional address
 * block, and blocks of a heading with paragraphs and list items. Every renderer takes this, so
 * the three formats say the same thing.
 */
export interface NoticeDocument {
  readonly language: NoticeLanguage;
  readonly title: string;
  /** The mail subject (letters and customer notices). */
  readonly subject: string;
  /** Lines of a postal address, for a window envelope (a letter with an address). */
  readonly address: readonly string[] | null;
  readonly blocks: ReadonlyArray<{ readonly heading: string | null; readonly paragraphs: readonly string[]; readonly items?: readonly string[] }>;
}

/** What the scope found for one tenant, as a notice needs it: counts and classes, never who. */
export interface TenantFacts {
  readonly tenant: { readonly id: string; readonly name: string };
  readonly incident: { readonly id: string; readonly title: string; readonly awareAt: number };
  readonly scopeHash: string;
  readonly window: { readonly from: number; readonly to: number };
  readonly suspect: string;
  readonly patients: number;
  readonly records: number;
  readonly readable: number;
  readonly encryptedOnly: number;
  readonly classesInClear: readonly string[];
  readonly classesEncrypted: readonly string[];
  readonly first: number | null;
  readonly last: number | null;
}

/** A tenant's facts from a frozen scope; undefined when the scope has no part of that tenant. */
export function tenantFacts(scope: Scope, tenant: { id: string; name: string }, incident: TenantFacts['incident']): TenantFacts | undefined {
  const part = scope.tenants.find((t) => t.tenantId === tenant.id);
  if (part === undefined) return undefined;
  // A loop, not Math.min(...list): a scope lists up to 100,000 patients, beyond a call's arguments.
  let first: number | null = null;
  let last: number | null = null;
  for (const p of part.patients.list) {
    if (p.first !== null && (first === null || p.first < first)) first = p.first;
    if (p.last !== null && (last === null || p.last > last)) last = p.last;
  }
  const disclosed = disclosureCounts(part);
  const { suspect } = scope.inputs;
  return {
    tenant,
    incident,
    scopeHash: scope.hash,
    window: { from: scope.inputs.from, to: scope.inputs.to },
    // The kind only: another tenant's key ids are not this tenant's business (frozen-scopes.ts).
    suspect: suspect.kind === 'raw-files' ? `raw-files (keys exposed: ${suspect.keysExposed ? 'yes' : 'no'})` : suspect.kind,
    patients: part.patients.count,
    records: part.records.count,
    readable: disclosed.inClear,
    encryptedOnly: disclosed.ciphertextOnly,
    classesInClear: part.classes.inClear,
    classesEncrypted: part.classes.ciphertextOnly,
    first,
    last,
  };
}

const locale: Record<NoticeLanguage, string> = { de: 'de-DE', en: 'en-GB' };

/** A day in words ("2. März 2026", "2 March 2026"), UTC. */
export const dayOf = (language: NoticeLanguage, ms: number): string => new Intl.DateTimeFormat(locale[language], { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(ms));
const stamp = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

/** The data classes in words; a class the register does not know is named as it is. */
export const classesInWords = (language: NoticeLanguage, classes: readonly string[]): string[] => classes.map((c) => classWords[language][c] ?? c);
const classesInReport = (language: NoticeLanguage, classes: readonly string[]): string[] => classes.map((c) => reportClassWords[language][c] ?? c);

const paragraphs = (text: string): string[] => text.split(/\n{2,}/).map((p) => p.trim()).filter((p) => p !== '');

/**
 * The letter to one affected person (GDPR Art. 34(2) with Art. 33(3)(b)–(d); HIPAA 45 CFR
 * 164.404(c)(1)(A)–(E)): what happened, when (this person's first and last access), which of
 * their data (their own classes in words — never record contents), whether it was readable,
 * what we do, what they can do, and whom to contact. The free text is the operator's; the
 * facts are the scope's.
 */
export function composeLetter(person: AffectedPerson, facts: TenantFacts, free: FreeText, ref: string): NoticeDocument {
  const language = person.language;
  const t = letterTexts[language];
  const values = { tenant: facts.tenant.name, name: person.name ?? '', ref };
  const readable = person.disclosure === 'in-clear';
  const when =
    person.first === null || person.last === null
      ? fill(t.whenFiles, { from: dayOf(language, facts.window.from), to: dayOf(language, facts.window.to) })
      : dayOf(language, person.first) === dayOf(language, person.last)
        ? fill(t.whenOne, { first: dayOf(language, person.first) })
        : fill(t.whenRange, { first: dayOf(language, person.first), last: dayOf(language, person.last) });
  const steps = readable
    ? [t.stepPhishing, ...(person.classes.includes('health') ? [t.stepHealth] : []), ...(person.classes.includes('payment') ? [t.stepPayment] : []), t.stepAsk]
    : [t.stepEncrypted, t.stepAsk];
  return {
    language,
    title: fill(t.subject, values),
    subject: fill(t.subject, values),
    address: person.postal === null ? null : [...(person.name === null ? [] : [person.name]), ...person.postal],
    blocks: [
      { heading: null, paragraphs: [person.name === null ? t.greetingNoName : fill(t.greeting, values), fill(t.intro, values)] },
      { heading: t.whatHappened, paragraphs: paragraphs(free.whatHappened) },
      { heading: t.when, paragraphs: [when] },
      { heading: t.which, paragraphs: [t.whichIntro], items: classesInWords(language, person.classes.length === 0 ? ['personal'] : person.classes) },
      { heading: null, paragraphs: [readable ? t.readable : t.encrypted] },
      { heading: t.measures, paragraphs: paragraphs(free.measures) },
      { heading: t.steps, paragraphs: [], items: steps },
      { heading: t.contact, paragraphs: paragraphs(free.contact) },
      { heading: null, paragraphs: [t.closing, fill(t.signature, values), fill(t.reference, values)] },
    ],
  };
}

function factRows(language: NoticeLanguage, facts: TenantFacts): string[] {
  const r = reportTexts[language];
  const classes = [...new Set([...facts.classesInClear, ...facts.classesEncrypted])];
  return [
    `${r.window}: ${stamp(facts.window.from)} – ${stamp(facts.window.to)}`,
    `${r.firstLast}: ${facts.first === null || facts.last === null ? r.none : `${stamp(facts.first)} – ${stamp(facts.last)}`}`,
    `${r.discovered}: ${stamp(facts.incident.awareAt)}`,
    `${r.subjects}: ${facts.patients}`,
    `${r.records}: ${facts.records}`,
    `${r.readableCount}: ${facts.readable}`,
    `${r.encryptedCount}: ${facts.encryptedOnly}`,
    `${r.categories}: ${classes.length === 0 ? r.none : classesInReport(language, classes).join('; ')}`,
    `${r.suspect}: ${facts.suspect}`,
    `${r.scopeHash}: ${facts.scopeHash}`,
  ];
}

/** The notice to the affected tenant (the controller): its own numbers only (GDPR Art. 33(2); HIPAA 164.410(c)). */
export function composeCustomerNotice(language: NoticeLanguage, facts: TenantFacts, free: FreeText): NoticeDocument {
  const r = reportTexts[language];
  const values = { tenant: facts.tenant.name };
  return {
    language,
    title: fill(r.customerTitle, values),
    subject: fill(r.customerTitle, values),
    address: null,
    blocks: [
      { heading: null, paragraphs: [fill(r.customerIntro, values)] },
      { heading: r.whatHappened, paragraphs: paragraphs(free.whatHappened) },
      { heading: r.facts, paragraphs: [], items: factRows(language, facts) },
      { heading: r.consequences, paragraphs: paragraphs(free.consequences) },
      { heading: r.measures, paragraphs: paragraphs(free.measures) },
      { heading: r.contact, paragraphs: paragraphs(free.contact) },
    ],
  };
}

/**
 * The report to the authority: the contents of GDPR Art. 33(3)(a)–(d) and the fields of the HHS
 * breach report form (type of breach, location of the information, number of individuals, dates
 * of breach and discovery, safeguards in place, actions taken; 45 CFR 164.408).
 */
export function composeAuthorityReport(language: NoticeLanguage, facts: TenantFacts, free: FreeText): NoticeDocument {
  const r = reportTexts[language];
  const values = { tenant: facts.tenant.name };
  const clear = facts.readable > 0;
  return {
    language,
    title: fill(r.authorityTitle, values),
    subject: fill(r.authorityTitle, values),
    address: null,
    blocks: [
      { heading: null, paragraphs: [r.authorityIntro] },
      { heading: r.nature, paragraphs: [clear ? r.natureClear : r.natureCipher, ...paragraphs(free.whatHappened)] },
      { heading: r.facts, paragraphs: [], items: factRows(language, facts) },
      { heading: r.hhsType, paragraphs: [clear ? r.hhsTypeClear : r.hhsTypeCipher] },
      { heading: r.hhsLocation, paragraphs: [r.hhsLocationValue] },
      { heading: r.safeguards, paragraphs: [r.safeguardsValue] },
      { heading: r.consequences, paragraphs: paragraphs(free.consequences) },
      { heading: r.measures, paragraphs: paragraphs(free.measures) },
      { heading: r.contact, paragraphs: paragraphs(free.contact) },
    ],
  };
}

/** The notice to prominent media (HIPAA 45 CFR 164.406(c): the contents of 164.404(c)); whether one is required is the assessment's call. */
export function composeMediaNotice(language: NoticeLanguage, facts: TenantFacts, free: FreeText): NoticeDocument {
  const r = reportTexts[language];
  const t = letterTexts[language];
  const values = { tenant: facts.tenant.name };
  const classes = [...new Set([...facts.classesInClear, ...facts.classesEncrypted])];
  const when = facts.first === null || facts.last === null ? fill(t.whenFiles, { from: dayOf(language, facts.window.from), to: dayOf(language, facts.window.to) }) : `${dayOf(language, facts.first)} – ${dayOf(language, facts.last)}`;
  return {
    language,
    title: fill(r.mediaTitle, values),
    subject: fill(r.mediaTitle, values),
    address: null,
    blocks: [
      { heading: null, paragraphs: [fill(r.mediaIntro, values)] },
      { heading: t.whatHappened, paragraphs: paragraphs(free.whatHappened) },
      { heading: t.when, paragraphs: [when, `${r.discovered}: ${dayOf(language, facts.incident.awareAt)}`] },
      { heading: r.categories, paragraphs: [`${r.subjects}: ${facts.patients}`], items: classesInReport(language, classes) },
      { heading: t.measures, paragraphs: paragraphs(free.measures) },
      { heading: t.steps, paragraphs: [], items: facts.readable > 0 ? [t.stepPhishing, t.stepPayment, t.stepAsk] : [t.stepEncrypted, t.stepAsk] },
      { heading: t.contact, paragraphs: paragraphs(free.contact) },
    ],
  };
}

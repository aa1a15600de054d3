import { dataRegister, platformRegister, protectionOf, type DataClass } from '../records/index.js';
import { matrix, roles, type Role } from '../identity/index.js';
import type { RopaRegion } from './ropa-regions.js';

/**
 * Records of processing activities (GDPR Art. 30; ISO/IEC 27701 7.2.8 for controllers, 8.2.6 for
 * processors) as data: one shape for JSON, Markdown, PDF and the console. Everything in it is
 * computed from the data register, the permission matrix, the configuration and the live system
 * when asked; nothing is typed in by hand.
 */
export interface RopaDocument {
  readonly format: 'tresor-ropa/1';
  /** `tenant`: the tenant as controller (Art. 30(1)); `platform`: the deployment's operator as processor (Art. 30(2)). */
  readonly scope: 'tenant' | 'platform';
  readonly generatedAt: string;
  readonly tresorVersion: string;
  readonly registerVersion: number;
  readonly controllers: readonly RopaParty[];
  readonly processor: RopaParty;
  readonly dataSubjects: ReadonlyArray<{ readonly category: string; readonly count: number; readonly source: string }>;
  readonly dataCategories: RopaDataCategories;
  readonly purposes: RopaPurposes;
  readonly recipients: readonly RopaRecipient[];
  readonly transfers: { readonly regions: readonly RopaRegion[]; readonly thirdCountries: ReadonlyArray<{ readonly recipient: string; readonly finding: string }> };
  readonly retention: RopaRetention;
  readonly measures: readonly RopaMeasure[];
  /** What this document cannot know: the controller adds it (docs/records-of-processing.md). */
  readonly toBeAdded: readonly string[];
}

export interface RopaParty {
  readonly name: string;
  readonly id?: string;
  readonly contact: readonly string[];
  readonly role: 'controller' | 'processor';
}

export interface RopaDataCategories {
  /** Per resource type: its elements by class. */
  readonly types: ReadonlyArray<{ readonly resourceType: string; readonly records: number | null; readonly classes: ReadonlyArray<{ readonly class: DataClass; readonly specialCategory: boolean; readonly protection: string; readonly elements: readonly string[] }> }>;
  /** Per class: the types holding it. */
  readonly classes: ReadonlyArray<{ readonly class: DataClass; readonly specialCategory: boolean; readonly protection: string; readonly types: readonly string[] }>;
  readonly platform: ReadonlyArray<{ readonly store: string; readonly field: string; readonly class: DataClass; readonly note: string }>;
  readonly fieldEncryptionEnforced: boolean;
}

export interface RopaPurposes {
  readonly roles: ReadonlyArray<{
    readonly role: Role;
    readonly description: string;
    readonly reach: string;
    readonly records: ReadonlyArray<{ readonly resourceType: string; readonly actions: readonly string[]; readonly reads: readonly DataClass[]; readonly writes: readonly DataClass[] }>;
    readonly capabilities: readonly string[];
  }>;
  readonly apps: ReadonlyArray<{ readonly clientId: string; readonly name: string; readonly publisher: string; readonly kind: string; readonly status: string; readonly scopes: readonly string[]; readonly role: string | null; readonly declaredPurpose: string | null }>;
  /** HL7 v3 PurposeOfUse codes stated in the audit trail over the last `sinceDays` days, with event counts. */
  readonly purposesOfUse: { readonly sinceDays: number; readonly counts: ReadonlyArray<{ readonly code: string; readonly events: number }> };
}

export interface RopaRecipient {
  readonly name: string;
  readonly kind: 'app' | 'audit-sink' | 'alert-webhook' | 'mail-relay' | 'backup-repository' | 'operators';
  /** Where it is: a host, a path; never a credential or a URL's path (which may carry a token). */
  readonly where: string;
  readonly receives: string;
}

export interface RopaRetention {
  readonly classes: ReadonlyArray<{ readonly class: DataClass; readonly period: string; readonly basis: string }>;
  readonly auditTrailDays: number;
  readonly backups: { readonly configured: boolean; readonly allForHours: number; readonly dailyForDays: number; readonly monthlyForMonths: number };
  readonly sessions: { readonly idleMinutes: number; readonly absoluteHours: number };
  readonly oauth: { readonly accessTokenMinutes: number; readonly refreshTokenIdleDays: number; readonly grantDays: number };
}

/** A technical or organisational measure (Art. 32) as it is now: `on` or `off`, and what was read. */
export interface RopaMeasure {
  readonly id: string;
  readonly title: string;
  readonly state: 'on' | 'off';
  readonly detail: string;
}

/** The classes of the register; `health` is a special category of personal data (GDPR Art. 9(1)). */
export const specialCategories: ReadonlySet<DataClass> = new Set<DataClass>(['health']);
const classOrder: readonly DataClass[] = ['public', 'internal', 'personal', 'health', 'payment', 'secret'];

/** Categories of personal data from the data register: every type and every class it uses. */
export function dataCategoriesOf(fieldEncryptionEnforced: boolean, counts: Readonly<Record<string, number>> | undefined): RopaDataCategories {
  const types = Object.entries(dataRegister).map(([resourceType, fields]) => {
    const byClass = new Map<DataClass, string[]>();
    for (const [element, dataClass] of Object.entries(fields)) byClass.set(dataClass, [...(byClass.get(dataClass) ?? []), element]);
    // The narrative, contained resources and extensions of every type are health data (data-register.ts).
    byClass.set('health', [...(byClass.get('health') ?? []), 'text', 'contained', 'extension', '(any other element)']);
    return {
      resourceType,
      records: counts === undefined ? null : (counts[resourceType] ?? 0),
      classes: classOrder.filter((c) => byClass.has(c)).map((c) => ({ class: c, specialCategory: specialCategories.has(c), protection: protectionOf[c], elements: byClass.get(c) ?? [] })),
    };
  });
  const used = new Set<DataClass>([...types.flatMap((t) => t.classes.map((c) => c.class)), ...platformRegister.map((r) => r.class)]);
  const classes = classOrder
    .filter((c) => used.has(c))
    .map((c) => ({ class: c, specialCategory: specialCategories.has(c), protection: protectionOf[c], types: types.filter((t) => t.classes.some((x) => x.class === c)).map((t) => t.resourceType) }));
  return { types, classes, platform: platformRegister.map((r) => ({ ...r })), fieldEncryptionEnforced };
}

const reachText = { tenant: 'every record of the tenant', care: 'patients in their care; others only by break-the-glass', own: "the patient's own records" } as const;

/** Purposes per role, from the permission matrix: what each role may read and write, by class, and its capabilities. */
export function rolePurposes(): RopaPurposes['roles'] {
  return roles.map((role) => {
    const d = matrix[role];
    return {
      role,
      description: d.description,
      reach: reachText[d.scope],
      records: Object.entries(d.records).flatMap(([resourceType, g]) => (g === undefined ? [] : [{ resourceType, actions: [...g.actions], reads: [...g.read], writes: [...g.write] }])),
      capabilities: [...d.capabilities],
    };
  });
}

/**
 * Third countries (Art. 30(1)(e)): Tresor cannot tell where a host is. A recipient outside the
 * deployment's own machines is named as not determined, never guessed; loopback and local paths
 * stay on the deployment's machines.
 */
export function thirdCountryFindings(recipients: readonly RopaRecipient[]): Array<{ recipient: string; finding: string }> {
  return recipients
    .filter((r) => r.kind !== 'operators' && !isLocal(r.where))
    .map((r) => ({ recipient: r.name, finding: `not determined automatically: ${r.name} at ${r.where}` }));
}

function isLocal(where: string): boolean {
  if (where.startsWith('local path')) return true;
  const host = where.replace(/^SFTP host /, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

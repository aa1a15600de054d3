import type { Scope, Suspect } from '../breach/index.js';
import type { Residency } from './people.js';

/** The legal regimes a deployment notifies under; `notification.regimes` turns off what does not apply. */
export const regimes = ['gdpr', 'hipaa', 'pci'] as const;
export type Regime = (typeof regimes)[number];

/**
 * The platform operator's part in the tenants' processing. `processor`: Tresor's operator hosts
 * the clinics' data on their behalf (GDPR Art. 28 processor, HIPAA business associate); each
 * tenant is the controller (covered entity). `controller`: the operator runs Tresor for its own
 * organisation and is the controller (covered entity) itself.
 */
export const platformRoles = ['processor', 'controller'] as const;
export type PlatformRole = (typeof platformRoles)[number];

/** `decide`: the scope cannot tell; a person must. */
export const answers = ['yes', 'no', 'not-applicable', 'decide'] as const;
export type Answer = (typeof answers)[number];

/** One tenant's part of a scope, as the rules need it: counts and classes, never patients. */
export interface TenantFacts {
  readonly tenantId: string;
  readonly suspect: Suspect;
  readonly window: { readonly from: number; readonly to: number };
  readonly patients: number;
  readonly patientsInClear: number;
  readonly patientsCiphertextOnly: number;
  readonly records: number;
  readonly attempts: number;
  readonly changes: number;
  readonly classesInClear: readonly string[];
  readonly classesCiphertextOnly: readonly string[];
  /** Affected people per jurisdiction; absent when nobody resolved their addresses (all unknown). */
  readonly residency: Residency | undefined;
}

/** What the rules are told besides the facts. */
export interface AssessmentContext {
  readonly role: PlatformRole;
  readonly awareAt: number;
  /** The effective answers (overrides applied) of the rules listed before this one, for the same tenant. */
  readonly prior: ReadonlyMap<string, Answer>;
}

/** When an item is due: a time span from awareness, or only the rule's words (and then perhaps a target of ours). */
export type Deadline =
  | { readonly kind: 'after'; readonly ms: number; readonly wording: string }
  | { readonly kind: 'at'; readonly at: number; readonly wording: string }
  | { readonly kind: 'wording'; readonly wording: string };

export interface RuleResult {
  readonly answer: Answer;
  /** Which numbers of the scope led there, in plain language. */
  readonly reasoning: string;
  /** Who must be told (by whom). */
  readonly notify: string;
  readonly deadline: Deadline;
  /** What the notice must contain (GDPR Art. 33(3), 45 CFR 164.404(c), …). */
  readonly contents?: readonly string[];
}

/**
 * A notification rule: data plus one pure function over one tenant's facts (house style, like
 * the detection rules). `severity` is how loud its deadline alerts are.
 */
export interface NotificationRule<C extends Readonly<Record<string, number>> = Readonly<Record<string, number>>> {
  readonly id: string;
  readonly regime: Regime;
  /** The provision cited, exactly: `GDPR Art. 33(1)`, `45 CFR 164.406(a)`. */
  readonly cite: string;
  readonly severity: 'medium' | 'high' | 'critical';
  /** The question, in plain language. */
  readonly describe: string;
  readonly defaults: C;
  evaluate(facts: TenantFacts, context: AssessmentContext, config: C): RuleResult;
}

/** One line of the checklist, computed. */
export interface ComputedItem extends RuleResult {
  /** `<rule id>@<tenant id>`: stable across recomputations. */
  readonly key: string;
  readonly rule: string;
  readonly regime: Regime;
  readonly cite: string;
  readonly question: string;
  readonly severity: NotificationRule['severity'];
  readonly tenantId: string;
  /** Absolute due time (ms), null when the rule fixes none. */
  readonly dueAt: number | null;
}

export interface AssessmentInput {
  readonly scope: Scope;
  readonly residency: Readonly<Record<string, Residency>>;
  readonly awareAt: number;
  readonly role: PlatformRole;
  readonly regimes: readonly Regime[];
  /** Effective answers set by a person, by item key: later rules build on them. */
  readonly overrides?: ReadonlyMap<string, Answer>;
}

import type { Severity } from '../detection/index.js';
import type { IncidentState } from './states.js';

/** Who may see a timeline entry or a task: the operators only, one affected tenant (and the operators), or everyone concerned. */
export type Visibility = 'operators' | 'all' | `tenant:${string}`;

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly state: IncidentState;
  /** An operator (realm `operators`) or a tenant admin of an affected tenant. */
  readonly owner: { readonly realm: string; readonly accountId: string };
  /** The actor id of who opened it (`operator:<id>`, `account:<id>`, `system`). */
  readonly openedBy: string;
  readonly openedAt: number;
  /** When the organisation became aware: GDPR Art. 33(1)'s 72 hours and HIPAA 164.404(a)(2)'s clock count from here. */
  readonly awareAt: number;
  readonly updatedAt: number;
  readonly closedAt: number | undefined;
  /** Whether a public update was ever published: later state changes are published too. */
  readonly published: boolean;
  /** Tenant ids; none for a platform-only incident. */
  readonly tenants: readonly string[];
}

export const entryKinds = ['opened', 'note', 'action', 'state', 'alert', 'task', 'update', 'scope'] as const;
export type EntryKind = (typeof entryKinds)[number];

export interface TimelineEntry {
  readonly seq: number;
  readonly kind: EntryKind;
  readonly at: number;
  readonly by: string;
  readonly visibleTo: Visibility;
  readonly text: string;
  /** Kind-specific facts: `{from, to}` of a state change, `{realm, alertId}` of a link, `{taskId}`, `{public, publicText}` of an update. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface Task {
  readonly id: string;
  readonly title: string;
  readonly assignee: string | undefined;
  readonly dueAt: number | undefined;
  readonly visibleTo: Visibility;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly doneAt: number | undefined;
  readonly doneBy: string | undefined;
}

export interface LinkedAlert {
  readonly realm: string;
  readonly alertId: string;
  readonly rule: string;
  readonly severity: Severity;
  readonly title: string;
  readonly subject: string;
  readonly summary: string;
  readonly state: string;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly linkedAt: number;
  readonly linkedBy: string;
}

/** One mail of a customer update: to an admin (their account id) or the tenant's security contact — never the address here. */
export interface Delivery {
  readonly seq: number;
  readonly tenant: string;
  readonly recipient: string;
  /**
   * `queued`: the notifier took it (its outbox retries until the relay accepts); `sent`: the mail
   * relay took it (it left the outbox — shown only with a relay configured); `failed`: the
   * notifier did not take it.
   */
  readonly status: 'queued' | 'sent' | 'failed';
  readonly at: number;
}

export interface IncidentDetail {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEntry[];
  readonly tasks: readonly Task[];
  readonly alerts: readonly LinkedAlert[];
  readonly deliveries: readonly Delivery[];
}

/**
 * The status page's vocabulary. States and indicators are Atlassian Statuspage's, so that
 * status clients and aggregators that know that shape read ours without a mapping.
 */
export const componentStates = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'] as const;
export type ComponentState = (typeof componentStates)[number];

export const componentIds = ['api', 'sign-in', 'oauth', 'backups', 'replication', 'certificate'] as const;
export type ComponentId = (typeof componentIds)[number];

/** A component as shown: its state now, and why (a short reason, never a secret or a tenant). */
export interface ComponentStatus {
  readonly id: ComponentId;
  readonly state: ComponentState;
  /** Why the state is what it is (a check's finding, or the operator's note). */
  readonly reason?: string;
  /** Set when an operator's override decides the state. */
  readonly override?: { readonly note: string; readonly until: number };
}

/** An operator's word on a component, until a time (audited in the operators' trail). */
export interface ComponentOverride {
  readonly component: ComponentId;
  readonly state: ComponentState;
  readonly note: string;
  readonly until: number;
}

export const incidentStatuses = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof incidentStatuses)[number];
export const maintenanceStates = ['scheduled', 'in_progress', 'completed'] as const;
export type MaintenanceState = (typeof maintenanceStates)[number];
export type Impact = 'none' | 'minor' | 'major' | 'critical';

export interface EntryUpdate {
  readonly at: number;
  /** The incident's status at this update (an incident), or the maintenance's state. */
  readonly status: string;
  readonly text: string;
}

/** Something the page publishes: an incident, a scheduled maintenance or a security notice. */
export interface StatusEntry {
  readonly id: string;
  readonly kind: 'incident' | 'maintenance' | 'notice';
  readonly title: string;
  readonly text: string;
  readonly components: readonly ComponentId[];
  /** incident: an IncidentStatus; maintenance: a MaintenanceState; notice: 'published'. */
  readonly status: string;
  readonly impact: Impact;
  /** Maintenance window; a notice's or incident's start. */
  readonly startsAt: number;
  readonly endsAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Newest first. */
  readonly updates: readonly EntryUpdate[];
}

/** Counts of probe samples per state, for one component and one UTC day. */
export interface DayBucket {
  readonly component: ComponentId;
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string;
  readonly counts: Readonly<Record<ComponentState, number>>;
}

/**
 * What the page and the JSON are rendered from, kept in memory and in a file so that they
 * answer while the database does not.
 */
export interface StatusSnapshot {
  readonly format: 'tresor-status/1';
  /** When the components were last checked. */
  readonly checkedAt: number;
  /** When the database last answered (the lists below are as of then). */
  readonly storedAt: number;
  /** The database did not answer at the last check. */
  readonly databaseDown: boolean;
  readonly components: readonly ComponentStatus[];
  readonly entries: readonly StatusEntry[];
  readonly days: readonly DayBucket[];
}

import type { DataClass } from '../records/data-register.js';
import { IdentityError } from './errors.js';

/**
 * The permission matrix (SPEC I5; OWASP ASVS 5 V8.1.1 asks for it to be documented, V8.2.1–3
 * for it to be enforced at function, data and field level): for each predefined role, which
 * resource types it may touch, with which actions, which data classes of them it sees and
 * which it may write, how far its reach goes (the whole tenant, the patients in its care, one
 * patient's own compartment), and what else it may do. This table is the truth: the FHIR
 * routes, Bundles and the account endpoints ask it, `tresor roles` and docs/permissions.md
 * print it, and the role × endpoint tests are generated from it.
 */

/** People's roles (staff and patients). */
export const personRoles = ['tenant-admin', 'clinician', 'front-desk', 'billing', 'auditor', 'patient'] as const;
export type PersonRole = (typeof personRoles)[number];

/** Roles an API key may hold: service roles, and the tenant-wide staff roles for integrations. */
export const keyRoles = ['service', 'service-reader', 'auditor', 'front-desk', 'billing', 'tenant-admin'] as const;
export type KeyRole = (typeof keyRoles)[number];

export const roles = [...personRoles, 'service', 'service-reader'] as const;
export type Role = (typeof roles)[number];

export const recordActions = ['read', 'search', 'history', 'create', 'update', 'delete'] as const;
export type RecordAction = (typeof recordActions)[number];

/** What a role may do besides records. */
export const capabilities = [
  /** Read the audit trail (never record contents). */
  'audit:read',
  /** Invite people, change roles, disable accounts, unlock sign-ins, end others' sessions. */
  'accounts:manage',
  /** Register third-party apps (OAuth clients), disable them, renew their secrets. */
  'apps:manage',
  /** Open a record outside the normal scope with a stated reason (break-the-glass). */
  'emergency:access',
  /** List break-the-glass accesses for review (SPEC I7: someone independent reviews them). */
  'emergency:review',
  /** See the tenant's alerts (detection): rule, subject, counts, the events that raised them — never record contents. */
  'alerts:read',
  /** Acknowledge and resolve alerts, and set who they reach and when (alert settings). */
  'alerts:manage',
  /** See the incidents that affect the tenant: state, timeline entries meant for it, customer updates, its tasks. */
  'incidents:read',
  /** Open incidents of the tenant, change them, add notes and tasks, link the tenant's alerts. */
  'incidents:manage',
  /** Read the breach notification checklist of the tenant's incidents: duties, reasons, deadlines (never patients). */
  'notification:read',
  /** Handle data subjects' requests (GDPR Art. 15–21): record, assign, extend, complete, reject them. */
  'privacy:manage',
  /** Read and download the tenant's records of processing (GDPR Art. 30): what is processed, by whom, where, how long, how protected. */
  'privacy:records',
  /** Erase a patient (GDPR Art. 17) once no legal hold or retention duty stands in the way; set and release legal holds; set retention periods. */
  'privacy:erase',
  /** Restrict and lift the restriction of a patient's processing (GDPR Art. 18); see who is restricted. */
  'privacy:restrict',
] as const;
export type Capability = (typeof capabilities)[number];

/**
 * How far a role reaches: `tenant` every record of the tenant; `care` records of patients in a
 * care relationship with the person's Practitioner (the patient's `generalPractitioner`, or an
 * Appointment of both) and records about no patient; `own` the patient's own compartment.
 */
export type Scope = 'tenant' | 'care' | 'own';

export interface Grant {
  readonly actions: readonly RecordAction[];
  /** Classes returned; elements of other classes are removed (and the resource tagged REDACTED). */
  readonly read: readonly DataClass[];
  /** Classes the role may set or change; the stored values of other classes are kept. */
  readonly write: readonly DataClass[];
  /**
   * Field level (OWASP ASVS 5 V8.2.3): when present, the only top-level elements the role may set
   * or change, within the classes above; every other element, `meta` included, must stay as
   * stored, and is kept when the body leaves it out.
   */
  readonly fields?: readonly string[];
}

export interface RoleDefinition {
  readonly description: string;
  readonly scope: Scope;
  readonly records: Readonly<Partial<Record<string, Grant>>>;
  readonly capabilities: readonly Capability[];
}

const all: readonly RecordAction[] = recordActions;
const reading: readonly RecordAction[] = ['read', 'search', 'history'];
const noDelete: readonly RecordAction[] = ['read', 'search', 'history', 'create', 'update'];
const clinical: readonly DataClass[] = ['public', 'internal', 'personal', 'health'];
const demographic: readonly DataClass[] = ['public', 'internal', 'personal'];
const everything: readonly DataClass[] = ['public', 'internal', 'personal', 'health', 'payment'];
const grant = (actions: readonly RecordAction[], read: readonly DataClass[], write: readonly DataClass[] = actions.some((a) => a === 'create' || a === 'update') ? read : []): Grant => ({ actions, read, write });

export const matrix: Readonly<Record<Role, RoleDefinition>> = {
  'tenant-admin': {
    description: 'Runs the tenant: people, roles, sessions, the staff directory and its alerts; no patient records.',
    scope: 'tenant',
    records: { Practitioner: grant(all, demographic) },
    capabilities: ['accounts:manage', 'apps:manage', 'alerts:read', 'alerts:manage', 'incidents:read', 'incidents:manage', 'notification:read', 'privacy:manage', 'privacy:records', 'privacy:erase', 'privacy:restrict'],
  },
  clinician: {
    description: 'Clinical records of the patients in their care; others only by break-the-glass; no payment data.',
    scope: 'care',
    records: {
      Patient: grant(all, clinical),
      Observation: grant(all, clinical),
      Appointment: grant(all, clinical),
      Consent: grant(all, clinical),
      Practitioner: grant(reading, demographic),
    },
    capabilities: ['emergency:access'],
  },
  'front-desk': {
    description: 'Demographics and appointments of every patient; no health values, no payment data.',
    scope: 'tenant',
    records: {
      Patient: grant(noDelete, demographic),
      Appointment: grant(all, demographic),
      Practitioner: grant(reading, demographic),
    },
    // The front desk answers patients' letters and corrects their demographics (GDPR Art. 16).
    capabilities: ['privacy:manage'],
  },
  billing: {
    description: 'Invoices: the payment class and the internal elements (references, status); nothing else.',
    scope: 'tenant',
    records: { Invoice: grant(all, ['public', 'internal', 'payment']) },
    capabilities: [],
  },
  auditor: {
    description: 'The audit trail, break-the-glass review and alerts; no record contents.',
    scope: 'tenant',
    records: {},
    capabilities: ['audit:read', 'emergency:review', 'alerts:read', 'alerts:manage', 'incidents:read', 'notification:read'],
  },
  patient: {
    description: 'Their own compartment: reads it all, writes their own contact details, their own observations and their own privacy consents.',
    scope: 'own',
    records: {
      // Contact details only: who the patient is (identifier, name, birthDate), who cares for them
      // (generalPractitioner), whether the record is live (active, link), its labels
      // (meta.security) and the people with a say over it (contact: guardians, next of kin) decide
      // identity and reach, so the clinic's staff change them.
      Patient: { actions: ['read', 'search', 'history', 'update'], read: clinical, write: ['internal', 'personal'], fields: ['telecom', 'address', 'communication'] },
      Observation: { actions: ['read', 'search', 'history', 'create'], read: clinical, write: clinical },
      Appointment: grant(reading, clinical),
      // Their own consents (GDPR Art. 7(3): withdrawing is as easy as giving): recorded and withdrawn
      // by new versions, never deleted, so the history shows what applied when.
      Consent: { actions: ['read', 'search', 'history', 'create', 'update'], read: clinical, write: clinical },
      Invoice: grant(reading, ['public', 'internal', 'payment']),
    },
    capabilities: [],
  },
  service: {
    description: 'A backend integration (API key): every record of the tenant, every class.',
    scope: 'tenant',
    records: Object.fromEntries(['Patient', 'Practitioner', 'Observation', 'Appointment', 'Consent', 'Invoice'].map((type) => [type, grant(all, everything)])),
    capabilities: [],
  },
  'service-reader': {
    description: 'A read-only integration (API key): reads every record of the tenant.',
    scope: 'tenant',
    records: Object.fromEntries(['Patient', 'Practitioner', 'Observation', 'Appointment', 'Consent', 'Invoice'].map((type) => [type, grant(reading, everything)])),
    capabilities: [],
  },
};

/** Who is calling: resolved once per request, carried to every check and audit event. */
export interface Principal {
  /** An API key of a service, or a person signed in with a session. */
  readonly kind: 'service-account' | 'person';
  /** The key id, or the account id. */
  readonly id: string;
  readonly tenantId: string;
  readonly role: Role;
  /** The key's label, or `session`. */
  readonly label: string;
  /** A patient account's own Patient (`Patient/<id>`). */
  readonly patient?: string;
  /** A staff account's Practitioner (`Practitioner/<id>`). */
  readonly practitioner?: string;
  /**
   * A third-party app acting through an OAuth access token: its client id, the token's SMART
   * scopes and its launch patient. The scopes narrow what the role allows, never widen it.
   */
  readonly client?: string;
  readonly smart?: { readonly scope: string; readonly patient?: string };
  /** For people: the session, and whether its login passed a second factor. */
  readonly sessionId?: string;
  readonly secondFactor?: boolean;
}

/** Staff are everyone but patients (for the tenant's second-factor policy). */
export const isStaff = (role: Role): boolean => role !== 'patient';

export function parseRole(value: string, allowed: readonly string[] = roles): Role {
  if (!allowed.includes(value)) {
    throw new IdentityError('role-invalid', `Unknown role "${value}"; one of: ${allowed.join(', ')}.`, { status: 400, expose: true });
  }
  return value as Role;
}

export function grantOf(role: Role, type: string): Grant | undefined {
  return matrix[role].records[type];
}

export function mayDo(role: Role, type: string, action: RecordAction): boolean {
  return grantOf(role, type)?.actions.includes(action) ?? false;
}

export function hasCapability(role: Role, capability: Capability): boolean {
  return matrix[role].capabilities.includes(capability);
}

const reachRank: Readonly<Record<Scope, number>> = { own: 0, care: 1, tenant: 2 };

/**
 * Whether `role` may do anything `of` may not: a capability, a record type, an action, a data
 * class read or written, or a wider reach. A tenant admin alone may grant only what it holds
 * itself; anything more needs a platform operator (separation of duties, OWASP ASVS 5 V8.2.1).
 */
export function exceedsReach(role: Role, of: Role): boolean {
  const wider = matrix[role];
  const own = matrix[of];
  if (wider.capabilities.some((c) => !own.capabilities.includes(c))) return true;
  return Object.entries(wider.records).some(([type, g]) => {
    const mine = own.records[type];
    if (g === undefined) return false;
    if (mine === undefined || reachRank[wider.scope] > reachRank[own.scope]) return true;
    return g.actions.some((x) => !mine.actions.includes(x)) || g.read.some((c) => !mine.read.includes(c)) || g.write.some((c) => !mine.write.includes(c));
  });
}

/** Whether a role can reach any record at all (the FHIR base is closed to the others). */
export function readsRecords(role: Role): boolean {
  return Object.keys(matrix[role].records).length > 0;
}

const reachText: Readonly<Record<Scope, string>> = {
  tenant: 'every record of the tenant',
  care: 'patients in their care (generalPractitioner or an Appointment with their Practitioner), records about no patient; others by break-the-glass',
  own: "the patient's own compartment",
};

/**
 * The matrix as Markdown: `tresor roles` prints it and docs/permissions.md is this text (a test
 * compares them), so the documentation cannot drift from what is enforced.
 */
export function matrixMarkdown(): string {
  const types = [...new Set(Object.values(matrix).flatMap((d) => Object.keys(d.records)))].sort();
  const lines = [
    '| role | reach | capabilities | ' + types.join(' | ') + ' |',
    '|---|---|---|' + types.map(() => '---').join('|') + '|',
  ];
  for (const role of roles) {
    const d = matrix[role];
    const cells = types.map((type) => {
      const g = d.records[type];
      if (g === undefined) return '—';
      const write = g.write.length === 0 ? '' : g.fields !== undefined ? `; writes only ${g.fields.join(', ')}` : `; writes ${g.write.filter((c) => c !== 'public').join(', ')}`;
      return `${g.actions.join(', ')}<br>sees ${g.read.filter((c) => c !== 'public').join(', ')}${write}`;
    });
    lines.push(`| \`${role}\` | ${reachText[d.scope]} | ${d.capabilities.length === 0 ? '—' : d.capabilities.join(', ')} | ${cells.join(' | ')} |`);
  }
  lines.push('', ...roles.map((role) => `- \`${role}\`${(keyRoles as readonly string[]).includes(role) ? ' (API keys may hold it)' : ''}: ${matrix[role].description}`));
  return `${lines.join('\n')}\n`;
}

import type { AuditAction, AuditOutcome, PurposeOfUse } from './events.js';
import type { StoredEvent } from './store.js';

/**
 * Audit events as FHIR R4 AuditEvents, shaped after IHE Basic Audit Log Patterns (BALP): a
 * RESTful-operation type, the interaction as subtype, the requesting agent, the resources and the
 * patients as entities, the purpose of use. Two readers get this shape: the auditor (every
 * field, `toAuditEvent`) and a patient reading who accessed their records (no internal ids, no
 * network addresses: `patientAuditEvent` in records builds its parts).
 */
const interaction: Readonly<Partial<Record<AuditAction, { code: string; action: 'C' | 'R' | 'U' | 'D' | 'E' }>>> = {
  'record.created': { code: 'create', action: 'C' },
  'record.read': { code: 'read', action: 'R' },
  'record.updated': { code: 'update', action: 'U' },
  'record.deleted': { code: 'delete', action: 'D' },
  'record.searched': { code: 'search-type', action: 'E' },
  'record.history-read': { code: 'history-instance', action: 'R' },
  'record.exported': { code: 'search-system', action: 'E' },
  'bundle.processed': { code: 'transaction', action: 'E' },
  'audit.read': { code: 'search-type', action: 'E' },
};

/** The requesting agent: who (an id for the auditor, a name for a patient), the app or key, the role, and where from (auditor only). */
export interface AuditAgentParts {
  readonly who: { readonly identifier: { readonly system: string; readonly value: string } } | { readonly display: string };
  /** The client: an app, a session, a key's label. */
  readonly name?: string;
  readonly role: string;
  /** The network address; left out for a patient, and when the event came from no network. */
  readonly sourceIp?: string;
}

/** What one AuditEvent says; the reader decides what goes in (`agent`, `entity`, `outcomeDesc`). */
export interface AuditEventParts {
  readonly seq: number;
  readonly at: number;
  readonly action: AuditAction;
  readonly outcome: AuditOutcome;
  /** The HTTP status, when the reader may tell a server failure ('8') from a refusal ('4'). */
  readonly status?: number;
  readonly outcomeDesc?: string;
  readonly purpose: PurposeOfUse;
  readonly agent: AuditAgentParts;
  readonly entity: ReadonlyArray<Record<string, unknown>>;
}

const systemObject = { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' };

/** A record touched (`what.reference`), or only its kind (`what.display`), with its data classes as security labels. */
export const objectEntity = (what: { readonly reference: string } | { readonly display: string }, classes?: readonly string[]): Record<string, unknown> => ({
  what,
  type: systemObject,
  ...(classes === undefined ? {} : { securityLabel: classes.map((dataClass) => ({ system: 'urn:tresor:data-class', code: dataClass })) }),
});

/** A patient the event concerned. */
export const patientEntity = (reference: string): Record<string, unknown> => ({
  what: { reference },
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
  role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
});

/** One BALP AuditEvent from its parts: the one shape both readers get. */
export function buildAuditEvent(parts: AuditEventParts): Record<string, unknown> {
  const rest = interaction[parts.action];
  const { who, name, role, sourceIp } = parts.agent;
  return {
    resourceType: 'AuditEvent',
    id: String(parts.seq),
    type: rest === undefined ? { system: 'urn:tresor:audit-action', code: parts.action } : { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [...(rest === undefined ? [] : [{ system: 'http://hl7.org/fhir/restful-interaction', code: rest.code }]), { system: 'urn:tresor:audit-action', code: parts.action }],
    action: rest?.action ?? 'E',
    recorded: new Date(parts.at).toISOString(),
    outcome: parts.outcome === 'failure' ? (parts.status !== undefined && parts.status >= 500 ? '8' : '4') : '0',
    ...(parts.outcomeDesc === undefined ? {} : { outcomeDesc: parts.outcomeDesc }),
    purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: parts.purpose }] }],
    agent: [
      {
        type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] },
        who,
        ...(name === undefined ? {} : { name }),
        role: [{ text: role }],
        requestor: true,
        ...(sourceIp === undefined ? {} : { network: { address: sourceIp, type: sourceIp.includes(':') ? '5' : '2' } }),
      },
    ],
    source: {
      observer: { display: 'Tresor' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: parts.entity,
  };
}

/** A stored event as the auditor's AuditEvent: every field, the principal's id and network address included. */
export function toAuditEvent(event: StoredEvent): Record<string, unknown> {
  return buildAuditEvent({
    seq: event.seq,
    at: event.at,
    action: event.action,
    outcome: event.outcome,
    status: event.status,
    ...(event.detail === '' ? {} : { outcomeDesc: event.detail }),
    purpose: event.purpose,
    agent: {
      who: { identifier: { system: 'urn:tresor:principal', value: event.actor.id } },
      ...(event.actor.client === '' ? {} : { name: event.actor.client }),
      role: event.actor.role,
      ...(event.sourceIp === '' || event.sourceIp === 'local' ? {} : { sourceIp: event.sourceIp }),
    },
    entity: [
      ...event.resources.map((reference) => objectEntity({ reference }, event.classes)),
      ...event.subjects.map(patientEntity),
      ...(event.requestId === '' ? [] : [{ what: { identifier: { system: 'urn:tresor:request-id', value: event.requestId } }, type: { system: 'urn:tresor:audit-entity', code: 'request' } }]),
    ],
  });
}

import type { StoredEvent } from './store.js';

/**
 * An audit event as a FHIR R4 AuditEvent, shaped after IHE Basic Audit Log Patterns (BALP):
 * a RESTful-operation type, the interaction as subtype, the requesting agent with its network
 * address, the resources and the patients as entities, the purpose of use.
 */
const interaction: Readonly<Record<string, { code: string; action: 'C' | 'R' | 'U' | 'D' | 'E' }>> = {
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

export function toAuditEvent(event: StoredEvent): Record<string, unknown> {
  const rest = interaction[event.action];
  const failed = event.outcome === 'failure';
  return {
    resourceType: 'AuditEvent',
    id: String(event.seq),
    type: rest === undefined ? { system: 'urn:tresor:audit-action', code: event.action } : { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [...(rest === undefined ? [] : [{ system: 'http://hl7.org/fhir/restful-interaction', code: rest.code }]), { system: 'urn:tresor:audit-action', code: event.action }],
    action: rest?.action ?? 'E',
    recorded: new Date(event.at).toISOString(),
    outcome: failed ? (event.status >= 500 ? '8' : '4') : '0',
    ...(event.detail === '' ? {} : { outcomeDesc: event.detail }),
    purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: event.purpose }] }],
    agent: [
      {
        type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] },
        who: { identifier: { system: 'urn:tresor:principal', value: event.actor.id } },
        ...(event.actor.client === '' ? {} : { name: event.actor.client }),
        role: [{ text: event.actor.role }],
        requestor: true,
        ...(event.sourceIp === '' || event.sourceIp === 'local' ? {} : { network: { address: event.sourceIp, type: event.sourceIp.includes(':') ? '5' : '2' } }),
      },
    ],
    source: {
      observer: { display: 'Tresor' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: [
      ...event.resources.map((reference) => ({
        what: { reference },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
        securityLabel: event.classes.map((dataClass) => ({ system: 'urn:tresor:data-class', code: dataClass })),
      })),
      ...event.subjects.map((reference) => ({
        what: { reference },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1', display: 'Person' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
      })),
      ...(event.requestId === '' ? [] : [{ what: { identifier: { system: 'urn:tresor:request-id', value: event.requestId } }, type: { system: 'urn:tresor:audit-entity', code: 'request' } }]),
    ],
  };
}

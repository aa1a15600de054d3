import type { DetectionEvent, RealmContext } from '../../src/detection/types.js';

/**
 * An audit event as the engine hands it to a rule, for the rules' unit tests: a clinic's
 * administrator acting from the console unless told otherwise.
 */
export function testEvent(fields: Partial<DetectionEvent> & Pick<DetectionEvent, 'action'>): DetectionEvent {
  return {
    outcome: 'success',
    status: 200,
    actor: { id: 'account:admin-1', role: 'tenant-admin', client: 'session' },
    purpose: 'HOPERAT',
    resources: [],
    subjects: [],
    classes: [],
    requestId: 'req-1',
    sourceIp: '192.0.2.10',
    detail: '',
    tenantId: 'clinic',
    seq: 1,
    at: Date.parse('2026-03-02T09:00:00Z'),
    ...fields,
  };
}

export const testRealm: RealmContext = {
  realm: 'clinic',
  operators: false,
  timeZone: 'Europe/Berlin',
  workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' },
};

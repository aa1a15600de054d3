import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toAuditEvent, type StoredEvent } from '../audit/index.js';
import { patientAuditEvent, type AccessEntry } from './access.js';

const stored: StoredEvent = {
  tenantId: 'clinic',
  seq: 7,
  at: Date.UTC(2026, 0, 2, 3, 4, 5),
  action: 'record.read',
  outcome: 'success',
  status: 200,
  actor: { id: 'account:a1', role: 'clinician', client: 'oauth:c1' },
  purpose: 'TREAT',
  resources: ['Observation/o1/_history/2'],
  subjects: ['Patient/p1'],
  classes: ['clinical'],
  requestId: 'req-1',
  sourceIp: '10.0.0.9',
  detail: '',
  hash: 'h',
};

const entry: AccessEntry = {
  seq: 7,
  at: stored.at,
  action: 'record.read',
  outcome: 'success',
  who: { kind: 'person', role: 'clinician', name: 'Dr Ada Berg', via: 'Sleep Diary' },
  types: ['Observation'],
  refs: ['Observation/o1/_history/2'],
  purpose: 'TREAT',
};

describe('patientAuditEvent', () => {
  it("has the auditor's AuditEvent shape, with the reader by name and without ids, request ids or network addresses", () => {
    const mine = patientAuditEvent(entry, 'Patient/p1');
    const auditors = toAuditEvent(stored);
    for (const key of ['resourceType', 'id', 'type', 'subtype', 'action', 'recorded', 'outcome', 'purposeOfEvent', 'source'] as const) assert.deepEqual(mine[key], auditors[key], key);
    assert.deepEqual(mine['agent'], [
      {
        type: { coding: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110153', display: 'Source Role ID' }] },
        who: { display: 'Dr Ada Berg' },
        name: 'Sleep Diary',
        role: [{ text: 'clinician' }],
        requestor: true,
      },
    ]);
    const text = JSON.stringify(mine);
    assert.doesNotMatch(text, /account:a1|urn:tresor:principal|10\.0\.0\.9|"network"|req-1|securityLabel/);
    assert.match(JSON.stringify(auditors), /urn:tresor:principal.*account:a1.*10\.0\.0\.9.*req-1/s);
  });

  it('names only the kinds of records when the access also concerned other patients', () => {
    const entity = patientAuditEvent({ ...entry, refs: [] }, 'Patient/p1')['entity'] as Array<{ what: Record<string, string> }>;
    assert.deepEqual(entity.map((e) => e.what), [{ display: 'Observation' }, { reference: 'Patient/p1' }]);
  });
});

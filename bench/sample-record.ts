/** The Observation, key and context the sealing micro-benchmarks share (sealing-formats.ts, worker-open.ts). */
import { randomBytes } from 'node:crypto';
import type { DataKey } from '../src/keys/index.js';
import type { SealContext } from '../src/records/sealing.js';

export const sampleKey: DataKey = { keyId: '0123456789abcdef', version: 1, subject: 'Patient/p1', key: randomBytes(32) };
export const sampleContext: SealContext = { tenantId: 'bench', type: 'Observation', id: '01HZX3J5K8M9N0P1Q2R3S4T5V6', versionId: 1 };
export const sampleObservation = {
  resourceType: 'Observation',
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs', display: 'Vital Signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
  subject: { reference: 'Patient/01HZX3J5K8M9N0P1Q2R3S4T5V7' },
  effectiveDateTime: '2024-03-05T07:00:00Z',
  valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
};

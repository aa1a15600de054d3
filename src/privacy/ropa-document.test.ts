import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matrix, roles } from '../identity/index.js';
import { dataRegister } from '../records/index.js';
import { dataCategoriesOf, rolePurposes, thirdCountryFindings } from './ropa-document.js';

describe('records of processing from the register and the matrix', () => {
  it('lists every type and every element of the register under its class; health is a special category', () => {
    const categories = dataCategoriesOf(true, { Patient: 4 });
    assert.deepEqual(categories.types.map((t) => t.resourceType), Object.keys(dataRegister));
    for (const [type, fields] of Object.entries(dataRegister)) {
      const listed = categories.types.find((t) => t.resourceType === type);
      for (const [element, dataClass] of Object.entries(fields)) assert.ok(listed?.classes.find((c) => c.class === dataClass)?.elements.includes(element), `${type}.${element} under ${dataClass}`);
    }
    assert.equal(categories.types.find((t) => t.resourceType === 'Patient')?.records, 4);
    assert.equal(categories.types.find((t) => t.resourceType === 'Invoice')?.records, 0);
    assert.deepEqual(categories.classes.filter((c) => c.specialCategory).map((c) => c.class), ['health']);
    assert.ok(categories.classes.some((c) => c.class === 'secret'), 'the platform register adds the hashed secrets');
  });

  it('states each role’s purposes as the matrix grants them', () => {
    const purposes = rolePurposes();
    assert.deepEqual(purposes.map((p) => p.role), [...roles]);
    const clinician = purposes.find((p) => p.role === 'clinician');
    assert.deepEqual(clinician?.records.find((r) => r.resourceType === 'Observation')?.reads, [...(matrix.clinician.records['Observation']?.read ?? [])]);
    assert.ok(!clinician?.records.some((r) => r.reads.includes('payment')), 'no payment data for clinicians');
  });

  it('names recipients off the machine as not determined, never guessing a country', () => {
    const findings = thirdCountryFindings([
      { name: 'mail relay', kind: 'mail-relay', where: 'relay.example.net:587', receives: '' },
      { name: 'backup repository', kind: 'backup-repository', where: 'local path /srv/b', receives: '' },
      { name: 'SIEM syslog sink', kind: 'audit-sink', where: '127.0.0.1:514', receives: '' },
      { name: 'platform operators', kind: 'operators', where: 'this deployment', receives: '' },
    ]);
    assert.deepEqual(findings, [{ recipient: 'mail relay', finding: 'not determined automatically: mail relay at relay.example.net:587' }]);
  });
});

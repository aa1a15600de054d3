import assert from 'node:assert/strict';
import { sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * A tenant whose disk flush is slow (held here in test code, after its COMMIT) delays only its
 * own acknowledgements: the event loop goes on serving every other tenant meanwhile.
 */
describe('a held disk flush on one tenant [sqlite]', () => {
  let t: TestApp;
  let holding = false;
  let reached: () => void = () => {};
  let release: () => void = () => {};
  const beforeWalSync = (file: string) => {
    if (!holding || !file.endsWith(`${sep}tenants${sep}clinic-a.db`)) return Promise.resolve();
    reached();
    return new Promise<void>((resolve) => (release = resolve));
  };
  let keyA = '';
  let keyB = '';
  let patientA = '';
  let patientB = '';

  before(async () => {
    t = await startTestApp('sqlite', {}, { sqlite: { beforeWalSync } });
    keyA = await t.tenant('clinic-a');
    keyB = await t.tenant('clinic-b');
    patientA = json(await t.inject({ method: 'POST', url: '/tenants/clinic-a/fhir/Patient', key: keyA, body: patient() }))['id'];
    patientB = json(await t.inject({ method: 'POST', url: '/tenants/clinic-b/fhir/Patient', key: keyB, body: patient() }))['id'];
  });
  after(() => t.close());

  it('answers another tenant’s reads and writes while the first waits, and acknowledges the first only after its flush', async () => {
    const held = new Promise<void>((resolve) => (reached = resolve));
    holding = true;
    let createdA: number | undefined;
    const createA = t.inject({ method: 'POST', url: '/tenants/clinic-a/fhir/Observation', key: keyA, body: observation(patientA) }).then((r) => (createdA = r.statusCode));
    await held;

    const createB = await t.inject({ method: 'POST', url: '/tenants/clinic-b/fhir/Observation', key: keyB, body: observation(patientB) });
    assert.equal(createB.statusCode, 201, 'the other tenant’s create is acknowledged');
    const readB = await t.inject({ method: 'GET', url: `/tenants/clinic-b/fhir/Patient/${patientB}`, key: keyB });
    assert.equal(readB.statusCode, 200, 'and its read answered');
    // A read in the held tenant is audited in the same file: its answer waits for that flush.
    let readA: number | undefined;
    const readingA = t.inject({ method: 'GET', url: `/tenants/clinic-a/fhir/Patient/${patientA}`, key: keyA }).then((r) => (readA = r.statusCode));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(createdA, undefined, 'the held tenant’s create is not acknowledged before its flush');
    assert.equal(readA, undefined, 'nor its read answered before its audit event is on disk');

    holding = false;
    release();
    await Promise.all([createA, readingA]);
    assert.equal(createdA, 201);
    assert.equal(readA, 200);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

/** The errors a developer meets in the first minutes: each says what to do. */
describe('first errors a developer meets', () => {
  let t: TestApp;
  let key: string;
  const base = '/tenants/clinic/fhir';

  before(async () => {
    t = await startTestApp('sqlite');
    key = await t.tenant('clinic');
  });
  after(() => t.close());

  it('a wrong but well-formed API key is told apart from a missing credential (RFC 6750 §3.1 invalid_token)', async () => {
    const wrong = `${key.slice(0, -4)}${key.endsWith('aaaa') ? 'bbbb' : 'aaaa'}`;
    const refused = await t.inject({ method: 'GET', url: `${base}/Patient`, key: wrong });
    const missing = await t.inject({ method: 'GET', url: `${base}/Patient` });
    assert.equal(refused.statusCode, 401);
    assert.equal(missing.statusCode, 401);
    assert.match(String(refused.headers['www-authenticate']), /error="invalid_token"/);
    assert.doesNotMatch(String(missing.headers['www-authenticate']), /error=/, 'no credential: no error code (RFC 6750 §3.1)');
    assert.notEqual(json(refused)['issue'][0].details.text, json(missing)['issue'][0].details.text);
    // A revoked key gets the same answer as an unknown one: nothing tells them apart.
    const created = await t.app.apiKeys.create({ tenantId: 'clinic', role: 'service' });
    await t.app.apiKeys.revoke(created.info.id);
    const revoked = await t.inject({ method: 'GET', url: `${base}/Patient`, key: created.key });
    assert.equal(revoked.statusCode, 401);
    assert.equal(revoked.headers['www-authenticate'], refused.headers['www-authenticate']);
    assert.equal(revoked.body, refused.body);
  });

  it('a resource sent without a JSON Content-Type is a 415 that names application/fhir+json', async () => {
    // curl -d sends application/x-www-form-urlencoded; some clients send none at all.
    for (const headers of [{ 'content-type': 'application/x-www-form-urlencoded' }, {}]) {
      const response = await t.app.http.inject({ method: 'POST', url: `${base}/Patient`, headers: { authorization: `Bearer ${key}`, ...headers }, payload: Buffer.from(JSON.stringify(patient())) });
      assert.equal(response.statusCode, 415, `${JSON.stringify(headers)}: ${response.body}`);
      assert.equal(errorCode(response), 'media-type-unsupported');
      assert.match(json(response)['issue'][0].details.text, /application\/fhir\+json/);
    }
  });

  it('reports every validation error, each with its expression, in words instead of a regular expression', async () => {
    const response = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ birthDate: '03.02.1980', gender: 'f', name: [{ family: 3 }] }) });
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(errorCode(response), 'resource-invalid');
    const issues = json(response)['issue'] as Array<{ expression: string[]; diagnostics: string }>;
    const byPath = new Map(issues.map((issue) => [issue.expression[0], issue.diagnostics]));
    assert.deepEqual([...byPath.keys()].sort(), ['Patient.birthDate', 'Patient.gender', 'Patient.name[0].family']);
    assert.match(byPath.get('Patient.birthDate') as string, /YYYY, YYYY-MM or YYYY-MM-DD/);
    assert.doesNotMatch(byPath.get('Patient.birthDate') as string, /\[0-9\]|\^/, 'no raw pattern');
    assert.match(byPath.get('Patient.gender') as string, /male, female, other, unknown/);
  });
});

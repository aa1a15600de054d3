import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionEvent, RealmContext } from '../types.js';
import { crossTenant } from './cross-tenant.js';

const realm: RealmContext = { realm: 'clinic', operators: false, timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };
const denied = (detail: string): DetectionEvent => ({
  action: 'access.denied', outcome: 'failure', status: 403, actor: { id: 'apikey:k1', role: 'service', client: 'lab sync' }, purpose: 'HOPERAT', resources: [], subjects: [], classes: [],
  requestId: 'r1', sourceIp: '10.0.0.1', detail, tenantId: 'clinic', seq: 7, at: 0,
});

describe('access.cross-tenant', () => {
  it('every attempt at another tenant is a finding about the principal, naming the tenant but not the path', () => {
    const { findings } = crossTenant.evaluate(denied('other-tenant rival GET /tenants/rival/fhir/Patient/abc'), undefined, crossTenant.defaults, realm);
    assert.equal(findings?.length, 1);
    assert.equal(findings?.[0]?.subject, 'apikey:k1 via lab sync');
    assert.match(findings?.[0]?.summary ?? '', /at tenant rival/);
    assert.ok(!(findings?.[0]?.summary ?? '').includes('/fhir/'));
  });

  it('another refusal is not its business', () => {
    assert.deepEqual(crossTenant.evaluate(denied('not-in-care'), undefined, crossTenant.defaults, realm), {});
    assert.deepEqual(crossTenant.evaluate(denied(''), undefined, crossTenant.defaults, realm), {});
  });

  it('keeps no state', () => {
    assert.equal(crossTenant.key, undefined);
  });
});

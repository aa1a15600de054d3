import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scopeFormat, scopeHash, type Scope, type TenantScope } from '../breach/index.js';
import { tenantPartOf } from './frozen-scopes.js';

const tenant = (tenantId: string, patients: number): TenantScope => ({
  tenantId,
  trail: { events: patients, firstSeq: 1, lastSeq: patients },
  patients: { count: patients, truncated: false, list: Array.from({ length: patients }, (_, i) => ({ patient: `Patient/${tenantId}-${i}`, disclosure: 'in-clear' as const, first: 1, last: 2, accesses: 1, classes: ['personal'] })) },
  records: { count: patients, truncated: false, list: Array.from({ length: patients }, (_, i) => `Patient/${tenantId}-${i}`) },
  classes: { inClear: patients > 0 ? ['personal'] : [], ciphertextOnly: [] },
  attempts: { count: 0, first: null, last: null, byAction: {} },
  changes: { count: 0, records: 0 },
  reasoning: { disclosedBy: {}, otherEvents: {}, sealedClasses: [], rules: [] },
});

describe('tenantPartOf', () => {
  const tenants = [tenant('north', 2), tenant('south', 3)];
  const body = { format: scopeFormat as typeof scopeFormat, inputs: { from: 0, to: 10, suspect: { kind: 'api-key' as const, values: ['key_north', 'key_south'] }, tenants: ['north', 'south'] }, tenants, totals: { tenants: 2, patients: 5, records: 5, attempts: 0, inClear: true } };
  const scope: Scope = { ...body, computedAt: 11, durationMs: 1, hash: scopeHash(body) };
  const row = { incidentId: 'i', id: 's', computedAt: 11, computedBy: 'operator:x', hash: scope.hash, json: JSON.stringify(scope) };

  it("gives a tenant its own results and totals, and nothing that names another tenant or its key", () => {
    const part = tenantPartOf(row, scope, 'north');
    assert.ok(part);
    assert.equal(part.tenant.tenantId, 'north');
    assert.deepEqual(part.totals, { tenants: 1, patients: 2, records: 2, attempts: 0, inClear: true });
    assert.equal(part.suspect, 'api-key (2)');
    const text = JSON.stringify(part);
    for (const other of ['south', 'key_south', 'key_north']) assert.ok(!text.includes(other), other);
  });

  it('gives nothing to a tenant the scope did not read', () => {
    assert.equal(tenantPartOf(row, scope, 'west'), undefined);
  });
});

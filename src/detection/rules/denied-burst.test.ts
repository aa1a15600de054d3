import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionEvent, RealmContext } from '../types.js';
import { deniedBurst } from './denied-burst.js';
import type { Window } from './window.js';

const realm: RealmContext = { realm: 'clinic', operators: false, timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };
const t0 = Date.parse('2026-03-02T08:00:00Z');
let seq = 0;
const denied = (at: number, detail = 'not-in-care'): DetectionEvent => ({
  action: 'access.denied', outcome: 'failure', status: 403, actor: { id: 'account:dr', role: 'clinician', client: 'session' }, purpose: 'TREAT', resources: ['Observation/o1'], subjects: [], classes: [],
  requestId: `r${seq}`, sourceIp: '10.0.0.1', detail, tenantId: 'clinic', seq: (seq += 1), at,
});

function run(events: DetectionEvent[]) {
  let state: Window | undefined;
  const findings = [];
  for (const event of events) {
    const outcome = deniedBurst.evaluate(event, state, deniedBurst.defaults, realm);
    if (outcome.state !== undefined) state = outcome.state ?? undefined;
    findings.push(...(outcome.findings ?? []));
  }
  return { findings, state };
}

describe('access.denied-burst', () => {
  it('fires at the tenth refusal within ten minutes, with the refusals as evidence', () => {
    const { findings } = run(Array.from({ length: 11 }, (_, i) => denied(t0 + i * 30_000)));
    assert.equal(findings.length, 2);
    assert.equal(findings[0]?.subject, 'account:dr');
    assert.equal(findings[0]?.evidence?.length, 10);
  });

  it('does not fire for a few refusals, nor for ten spread over an hour (windows end)', () => {
    assert.equal(run(Array.from({ length: 3 }, (_, i) => denied(t0 + i))).findings.length, 0);
    assert.equal(run(Array.from({ length: 10 }, (_, i) => denied(t0 + i * 6 * 60_000))).findings.length, 0);
  });

  it('leaves a credential used at another tenant to access.cross-tenant', () => {
    const other = denied(t0, 'other-tenant b GET /tenants/b/fhir/Patient');
    assert.equal(deniedBurst.key?.(other, deniedBurst.defaults), undefined);
    assert.deepEqual(deniedBurst.evaluate(other, undefined, deniedBurst.defaults, realm), {});
  });

  it('keeps its state bounded in a flood', () => {
    const { state } = run(Array.from({ length: 1000 }, (_, i) => denied(t0 + i)));
    assert.ok((state?.evidence.length ?? 0) <= 20 && state?.distinct.length === 0);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionEvent, RealmContext } from '../types.js';
import { emergencyAccess } from './emergency-access.js';
import type { Window } from './window.js';

const realm: RealmContext = { realm: 'clinic', operators: false, timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };
const t0 = Date.parse('2026-03-02T08:00:00Z');
const day = 24 * 3_600_000;
let seq = 0;
const grant = (at: number, requestId: string): DetectionEvent => ({
  action: 'access.emergency_granted', outcome: 'success', status: 200, actor: { id: 'account:dr', role: 'clinician', client: 'session' }, purpose: 'ETREAT', resources: ['Observation/o1'], subjects: ['Patient/p1'], classes: [],
  requestId, sourceIp: '10.0.0.1', detail: 'Unconscious, suspected diabetic coma', tenantId: 'clinic', seq: (seq += 1), at,
});

function run(events: DetectionEvent[]) {
  let state: Window | undefined;
  const findings = [];
  for (const event of events) {
    const outcome = emergencyAccess.evaluate(event, state, emergencyAccess.defaults, realm);
    if (outcome.state !== undefined) state = outcome.state ?? undefined;
    findings.push(...(outcome.findings ?? []));
  }
  return { findings, state };
}

describe('access.emergency', () => {
  it('every use is a finding pointing to the review page, never carrying the reason typed', () => {
    const { findings } = run([grant(t0, 'r1')]);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.severity, undefined, 'the rule’s own severity: medium');
    assert.match(findings[0]?.summary ?? '', /\/tenants\/clinic\/console\/review\//);
    assert.ok(!JSON.stringify(findings).includes('diabetic'));
  });

  it('the third use within seven days is critical; grants of one request are one use', () => {
    const { findings } = run([grant(t0, 'a'), grant(t0 + 1, 'a'), grant(t0 + day, 'b'), grant(t0 + 2 * day, 'c')]);
    assert.deepEqual(findings.map((f) => f.severity ?? 'medium'), ['medium', 'medium', 'medium', 'critical']);
    assert.match(findings[3]?.summary ?? '', /3 times within 7 days/);
  });

  it('uses more than seven days apart do not escalate (the window ends)', () => {
    const { findings } = run([grant(t0, 'a'), grant(t0 + 8 * day, 'b'), grant(t0 + 16 * day, 'c')]);
    assert.ok(findings.every((f) => f.severity === undefined));
  });

  it('keeps its state bounded', () => {
    const { state } = run(Array.from({ length: 500 }, (_, i) => grant(t0 + i, `r${i}`)));
    assert.ok((state?.distinct.length ?? 0) <= 100 && (state?.evidence.length ?? 0) <= 20);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionEvent, RealmContext } from '../types.js';
import { massRead, massReadLimit, type MassReadState } from './mass-read.js';

const realm: RealmContext = { realm: 'clinic', operators: false, timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };
const t0 = Date.parse('2026-03-02T08:00:00Z');
const hour = 3_600_000;
let seq = 0;
const read = (patient: number | number[], at: number, actor = { id: 'account:nurse', role: 'clinician', client: 'session' }): DetectionEvent => ({
  action: 'record.read', outcome: 'success', status: 200, actor, purpose: 'TREAT', resources: ['Observation/o1/_history/1'], subjects: (Array.isArray(patient) ? patient : [patient]).map((p) => `Patient/p${p}`), classes: ['health'],
  requestId: `r${seq}`, sourceIp: '10.0.0.1', detail: '', tenantId: 'clinic', seq: (seq += 1), at,
});

/** Runs the rule over the events as the engine would (state carried); returns the findings and the last state. */
function run(events: DetectionEvent[], config = massRead.defaults, start?: MassReadState) {
  let state = start;
  const findings = [];
  for (const event of events) {
    const outcome = massRead.evaluate(event, state, config, realm);
    if (outcome.state !== undefined) state = outcome.state ?? undefined;
    findings.push(...(outcome.findings ?? []));
  }
  return { findings, state };
}

describe('access.mass-read', () => {
  it('fires when one person reads the 200th distinct patient within a day, once, then counts on', () => {
    const events = Array.from({ length: 205 }, (_, i) => read(i, t0 + i * 60_000));
    const { findings } = run(events);
    assert.equal(findings.length, 6, 'the crossing and each read after it');
    assert.equal(findings[0]?.subject, 'account:nurse');
    assert.match(findings[0]?.summary ?? '', /200 or more different patients/);
    assert.equal(findings[0]?.evidence?.length, 20, 'the window’s first events as evidence');
  });

  it('does not fire for a busy day of 80 patients, read again and again', () => {
    const events = Array.from({ length: 600 }, (_, i) => read(i % 80, t0 + i * 30_000));
    assert.equal(run(events).findings.length, 0);
  });

  it('a window ends: 150 patients a day, day after day, never fire without a baseline', () => {
    const events = [];
    for (let day = 0; day < 3; day += 1) for (let i = 0; i < 150; i += 1) events.push(read(day * 1000 + i, t0 + day * 24 * hour + i * 60_000));
    const { findings, state } = run(events);
    assert.equal(findings.length, 0);
    assert.equal(state?.windows, 2, 'two windows closed into the baseline');
  });

  it('with a baseline of a few patients a day, three times the habit (at least the floor) fires', () => {
    const events = [];
    for (let day = 0; day < 6; day += 1) for (let i = 0; i < 10; i += 1) events.push(read(day * 100 + i, t0 + day * 24 * hour + i * 60_000));
    const { findings, state } = run(events);
    assert.equal(findings.length, 0);
    assert.equal(massReadLimit('clinician', state, massRead.defaults), 40, 'three times 10, lifted to the floor of 40');
    const spree = Array.from({ length: 45 }, (_, i) => read(5000 + i, t0 + 6 * 24 * hour + i * 60_000));
    const after = run(spree, massRead.defaults, state);
    assert.equal(after.findings.length, 6);
    assert.match(after.findings[0]?.summary ?? '', /usually about 10/);
  });

  it('holds service keys to their own ceiling, by role', () => {
    const key = { id: 'apikey:k1', role: 'service', client: 'lab sync' };
    const events = Array.from({ length: 30 }, (_, i) => read(Array.from({ length: 100 }, (_, j) => i * 100 + j), t0 + i * 60_000, key));
    assert.equal(run(events).findings.length, 0, '3000 patients: within a service key’s 5000');
    const { findings } = run(events, { ...massRead.defaults, servicePatients: 1000 });
    assert.equal(findings[0]?.subject, 'apikey:k1 via lab sync');
  });

  it('ignores failed accesses and accesses that name no patient', () => {
    const failed = { ...read(1, t0), outcome: 'failure' as const };
    assert.deepEqual(massRead.evaluate(failed, undefined, massRead.defaults, realm), {});
    assert.equal(massRead.key?.(failed, massRead.defaults), undefined);
    assert.deepEqual(massRead.evaluate({ ...read(1, t0), subjects: [] }, undefined, massRead.defaults, realm), {});
  });

  it('keeps its state bounded: a flood of patients never holds more than the limit', () => {
    const events = Array.from({ length: 50 }, (_, i) => read(Array.from({ length: 500 }, (_, j) => i * 500 + j), t0 + i * 1000));
    const { state } = run(events);
    assert.equal(state?.window?.distinct.length, 200);
    assert.ok(!JSON.stringify(state).includes('Patient/'), 'marks, not the ids, and about a third of their size');
    assert.ok((state?.window?.evidence.length ?? 0) <= 20);
  });

  it('a person in the session and the same person through an app are two principals', () => {
    assert.notEqual(massRead.key?.(read(1, t0), massRead.defaults), massRead.key?.(read(1, t0, { id: 'account:nurse', role: 'clinician', client: 'oauth:app1' }), massRead.defaults));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionEvent, RealmContext } from '../types.js';
import { offHours, stretchOf, type OffHoursState } from './off-hours.js';

const berlin: RealmContext = { realm: 'clinic', operators: false, timeZone: 'Europe/Berlin', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };
let seq = 0;
const read = (iso: string, actor = { id: 'account:dr', role: 'clinician', client: 'session' }): DetectionEvent => ({
  action: 'record.read', outcome: 'success', status: 200, actor, purpose: 'TREAT', resources: ['Observation/o1/_history/1'], subjects: ['Patient/p1'], classes: ['health'],
  requestId: `r${seq}`, sourceIp: '10.0.0.1', detail: '', tenantId: 'clinic', seq: (seq += 1), at: Date.parse(iso),
});

function run(events: DetectionEvent[], config = offHours.defaults) {
  let state: OffHoursState | undefined;
  const findings = [];
  for (const event of events) {
    const outcome = offHours.evaluate(event, state, config, berlin);
    if (outcome.state !== undefined) state = outcome.state ?? undefined;
    findings.push(...(outcome.findings ?? []));
  }
  return { findings, state };
}

describe('access.off-hours', () => {
  it('fires once per person per night, in the tenant’s time zone', () => {
    // Monday 2 March 2026: 22:30 and 23:10 in Berlin (UTC+1), then 02:00 Tuesday — one night.
    const { findings } = run([read('2026-03-02T21:30:00Z'), read('2026-03-02T22:10:00Z'), read('2026-03-03T01:00:00Z')]);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.subject, 'account:dr');
    assert.match(findings[0]?.summary ?? '', /first at 22:30 Europe\/Berlin \(off-hours beginning 2026-03-02\)/);
  });

  it('does not fire within working hours (08:00 Berlin is 07:00 UTC)', () => {
    assert.equal(run([read('2026-03-02T07:00:00Z'), read('2026-03-02T17:59:00Z')]).findings.length, 0);
  });

  it('the next night is a new alert; a weekend day is off-hours', () => {
    const { findings } = run([read('2026-03-02T21:30:00Z'), read('2026-03-03T21:30:00Z'), read('2026-03-07T10:00:00Z')]);
    assert.equal(findings.length, 3);
  });

  it('service keys and patients are left alone by default; configurable', () => {
    const key = { id: 'apikey:k1', role: 'service', client: 'backup' };
    assert.equal(run([read('2026-03-02T23:00:00Z', key), read('2026-03-02T23:00:00Z', { id: 'account:p', role: 'patient', client: 'session' })]).findings.length, 0);
    assert.equal(offHours.key?.(read('2026-03-02T23:00:00Z', key), offHours.defaults), undefined);
    assert.equal(run([read('2026-03-02T23:00:00Z', key)], { roles: ['service'] }).findings.length, 1);
  });

  it('keeps one date as its state, however many reads', () => {
    const { state } = run(Array.from({ length: 100 }, (_, i) => read(new Date(Date.parse('2026-03-02T21:00:00Z') + i * 60_000).toISOString())));
    assert.deepEqual(state, { stretch: '2026-03-02' });
  });

  it('a stretch runs from the end of one working day to the start of the next', () => {
    assert.equal(stretchOf(Date.parse('2026-03-03T05:59:00Z'), 'Europe/Berlin', '07:00'), '2026-03-02');
    assert.equal(stretchOf(Date.parse('2026-03-03T06:00:00Z'), 'Europe/Berlin', '07:00'), '2026-03-03');
  });
});

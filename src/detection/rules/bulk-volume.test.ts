import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectionEvent, RealmContext } from '../types.js';
import { bulkVolume } from './bulk-volume.js';
import type { Window } from './window.js';

const realm: RealmContext = { realm: 'clinic', operators: false, timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };
const t0 = Date.parse('2026-03-02T08:00:00Z');
let seq = 0;
const search = (returned: number, at: number, actor = { id: 'account:desk', role: 'front-desk', client: 'session' }): DetectionEvent => ({
  action: 'record.searched', outcome: 'success', status: 200, actor, purpose: 'HOPERAT', resources: Array.from({ length: returned }, (_, i) => `Patient/p${i}/_history/1`), subjects: [], classes: ['identity'],
  requestId: `r${seq}`, sourceIp: '10.0.0.1', detail: '', tenantId: 'clinic', seq: (seq += 1), at,
});

function run(events: DetectionEvent[], config = bulkVolume.defaults) {
  let state: Window | undefined;
  const findings = [];
  for (const event of events) {
    const outcome = bulkVolume.evaluate(event, state, config, realm);
    if (outcome.state !== undefined) state = outcome.state ?? undefined;
    findings.push(...(outcome.findings ?? []));
  }
  return { findings, state };
}

describe('access.bulk-volume', () => {
  it('fires when searches return 2000 resources to one person within an hour, counting resources not searches', () => {
    const { findings, state } = run([search(1000, t0), search(900, t0 + 60_000), search(100, t0 + 120_000), search(20, t0 + 180_000)]);
    assert.equal(findings.length, 2, 'the crossing and the search after it');
    assert.match(findings[0]?.summary ?? '', /received 2000 resources/);
    assert.deepEqual(findings[0]?.evidence?.length, 3);
    assert.equal(state?.count, 2020);
  });

  it('does not fire for a day of ordinary pages of 20', () => {
    assert.equal(run(Array.from({ length: 400 }, (_, i) => search(20, t0 + i * 90_000))).findings.length, 0);
  });

  it('a window ends: 1500 an hour apart stays quiet', () => {
    assert.equal(run([search(1500, t0), search(1500, t0 + 3_600_000)]).findings.length, 0);
  });

  it('service keys have their own ceiling', () => {
    const key = { id: 'apikey:k1', role: 'service-reader', client: 'nightly sync' };
    assert.equal(run(Array.from({ length: 20 }, (_, i) => search(1000, t0 + i * 1000, key))).findings.length, 0);
    assert.equal(run(Array.from({ length: 20 }, (_, i) => search(1000, t0 + i * 1000, key)), { ...bulkVolume.defaults, serviceResources: 5000 }).findings[0]?.subject, 'apikey:k1 via nightly sync');
  });

  it('keeps its state bounded however many searches', () => {
    const { state } = run(Array.from({ length: 500 }, (_, i) => search(10, t0 + i)));
    assert.ok((state?.evidence.length ?? 0) <= 20);
    assert.equal(state?.distinct.length, 0);
  });

  it('ignores failed searches and empty results', () => {
    assert.deepEqual(bulkVolume.evaluate({ ...search(5, t0), outcome: 'failure' }, undefined, bulkVolume.defaults, realm), {});
    assert.deepEqual(bulkVolume.evaluate(search(0, t0), undefined, bulkVolume.defaults, realm), {});
  });
});
